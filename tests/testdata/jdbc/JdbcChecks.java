import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.Date;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.sql.Types;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * What a JDBC tool does with streamsql, through pgjdbc: DatabaseMetaData, typed parameters and a
 * fetch-size cursor, over the dataset of tests/client_orders_test.go. Each check prints "ok NAME"
 * or "FAIL NAME: why"; "done" comes last. The expected answers are what Postgres gives for the same
 * tables (how our objects appear as relations: see TABLE_TYPES).
 *
 * <p>Usage: java -Duser.timezone=UTC -cp DIR:postgresql.jar JdbcChecks HOST PORT
 */
public class JdbcChecks {
  interface Check {
    void run() throws Exception;
  }

  static Connection conn;

  /** Runs one check; a failure is reported and the next check runs on a clean transaction. */
  static void check(String name, Check c) {
    try {
      c.run();
      System.out.println("ok " + name);
    } catch (Throwable e) {
      System.out.println("FAIL " + name + ": " + describe(e));
      try {
        if (!conn.getAutoCommit()) {
          conn.rollback();
          conn.setAutoCommit(true);
        }
      } catch (SQLException ignored) {
        // The next check reports what is wrong with the connection.
      }
    }
  }

  static String describe(Throwable e) {
    String s = e.getClass().getSimpleName() + " " + e.getMessage();
    if (e instanceof SQLException) {
      s = "SQLSTATE " + ((SQLException) e).getSQLState() + " " + e.getMessage();
    }
    return s.replace('\n', ' ');
  }

  static void eq(String what, Object got, Object want) {
    if (!Objects.equals(got, want)) {
      throw new AssertionError(what + ": got " + got + ", want " + want);
    }
  }

  /** The first column of every row, as strings (ids, names). */
  static List<String> column(ResultSet rs) throws SQLException {
    List<String> out = new ArrayList<>();
    try (rs) {
      while (rs.next()) {
        out.add(rs.getString(1));
      }
    }
    return out;
  }

  static List<String> list(String... s) {
    return Arrays.asList(s);
  }

  /** Runs a prepared query whose parameters were set by bind and returns its first column. */
  interface Binder {
    void bind(PreparedStatement ps) throws SQLException;
  }

  static List<String> ids(String sql, Binder bind) throws SQLException {
    try (PreparedStatement ps = conn.prepareStatement(sql)) {
      bind.bind(ps);
      return column(ps.executeQuery());
    }
  }

  /*
   * What pgjdbc's getTables reports for each of our objects: it derives TABLE_TYPE from
   * pg_class.relkind. A source is an append-only table over a stream ('r', so JDBC tools and
   * psql's \dt list it with the tables); a view is a materialized view ('m'); a sink has the
   * columns it writes and no rows to read, and lives elsewhere: a foreign table ('f').
   */
  static final Map<String, String> TABLE_TYPES = new TreeMap<>(Map.of(
      "orders", "TABLE",
      "orders_v", "MATERIALIZED VIEW",
      "order_totals", "MATERIALIZED VIEW",
      "orders_out", "FOREIGN TABLE"));

  /** The relation types a JDBC tool asks for when it lists tables (no indexes, no sequences). */
  static final String[] RELATION_TYPES = {"TABLE", "VIEW", "MATERIALIZED VIEW", "FOREIGN TABLE"};

  public static void main(String[] args) throws Exception {
    String url = "jdbc:postgresql://" + args[0] + ":" + args[1] + "/streamsql?sslmode=disable&connectTimeout=10";
    conn = DriverManager.getConnection(url, "tester", "");
    DatabaseMetaData md = conn.getMetaData();

    check("getTables", () -> {
      Map<String, String> got = new TreeMap<>();
      try (ResultSet rs = md.getTables(null, "public", "%", RELATION_TYPES)) {
        while (rs.next()) {
          eq("TABLE_SCHEM of " + rs.getString("TABLE_NAME"), rs.getString("TABLE_SCHEM"), "public");
          got.put(rs.getString("TABLE_NAME"), rs.getString("TABLE_TYPE"));
        }
      }
      eq("TABLE_NAME -> TABLE_TYPE", got, TABLE_TYPES);
    });

    check("getTables of every type", () -> {
      // With no types, every relation of the schema is listed (indexes too, as in Postgres):
      // ours must be among them with their types.
      Map<String, String> got = new TreeMap<>();
      try (ResultSet rs = md.getTables(null, "public", "%", null)) {
        while (rs.next()) {
          if (TABLE_TYPES.containsKey(rs.getString("TABLE_NAME"))) {
            got.put(rs.getString("TABLE_NAME"), rs.getString("TABLE_TYPE"));
          }
        }
      }
      eq("TABLE_NAME -> TABLE_TYPE", got, TABLE_TYPES);
    });

    check("getTables of type TABLE", () -> {
      List<String> got = new ArrayList<>();
      try (ResultSet rs = md.getTables(null, null, "%", new String[] {"TABLE"})) {
        while (rs.next()) {
          got.add(rs.getString("TABLE_SCHEM") + "." + rs.getString("TABLE_NAME"));
        }
      }
      eq("tables", got, list("public.orders"));
    });

    check("getTables of type MATERIALIZED VIEW", () -> {
      List<String> got = new ArrayList<>();
      try (ResultSet rs = md.getTables(null, null, "%", new String[] {"MATERIALIZED VIEW"})) {
        while (rs.next()) {
          got.add(rs.getString("TABLE_SCHEM") + "." + rs.getString("TABLE_NAME"));
        }
      }
      eq("materialized views", got, list("public.order_totals", "public.orders_v"));
    });

    check("getTables of one name", () -> {
      List<String> got = new ArrayList<>();
      try (ResultSet rs = md.getTables(null, null, "orders_out", null)) {
        while (rs.next()) {
          got.add(rs.getString("TABLE_NAME") + " " + rs.getString("TABLE_TYPE"));
        }
      }
      eq("tables named orders_out", got, list("orders_out FOREIGN TABLE"));
    });

    check("getColumns of the source", () -> {
      // name, DATA_TYPE, TYPE_NAME, ORDINAL_POSITION, COLUMN_SIZE (-1: not checked), DECIMAL_DIGITS
      Object[][] want = {
        {"id", Types.INTEGER, "int4", 1, -1, -1},
        {"qty", Types.BIGINT, "int8", 2, -1, -1},
        {"customer", Types.VARCHAR, "varchar", 3, 32, -1},
        {"ts", Types.TIMESTAMP, "timestamp", 4, -1, -1},
        {"day", Types.DATE, "date", 5, -1, -1},
        {"price", Types.NUMERIC, "numeric", 6, 10, 2},
        {"paid", Types.BIT, "bool", 7, -1, -1},
        {"score", Types.DOUBLE, "float8", 8, -1, -1},
        {"tag", Types.BINARY, "bytea", 9, -1, -1},
      };
      checkColumns(md, "orders", want);
    });

    check("getColumns of a view", () -> {
      // Postgres: COUNT(*) is bigint, SUM of a bigint is numeric.
      Object[][] want = {
        {"customer", Types.VARCHAR, "varchar", 1, 32, -1},
        {"n", Types.BIGINT, "int8", 2, -1, -1},
        {"qty", Types.NUMERIC, "numeric", 3, -1, -1},
      };
      checkColumns(md, "order_totals", want);
    });

    check("getSchemas", () -> {
      List<String> got = column(md.getSchemas());
      for (String s : list("information_schema", "pg_catalog", "public")) {
        if (!got.contains(s)) {
          throw new AssertionError("getSchemas " + got + " lacks " + s);
        }
      }
    });

    check("getTypeInfo", () -> {
      // Tools read the type list once (DBeaver, DataGrip): the types our columns use are there.
      Map<String, Integer> got = new TreeMap<>();
      try (ResultSet rs = md.getTypeInfo()) {
        while (rs.next()) {
          got.put(rs.getString("TYPE_NAME"), rs.getInt("DATA_TYPE"));
        }
      }
      Map<String, Integer> want = new TreeMap<>(Map.of("int4", Types.INTEGER, "int8", Types.BIGINT,
          "varchar", Types.VARCHAR, "text", Types.VARCHAR, "timestamp", Types.TIMESTAMP, "date", Types.DATE,
          "numeric", Types.NUMERIC, "bool", Types.BIT, "float8", Types.DOUBLE, "bytea", Types.BINARY));
      Map<String, Integer> ours = new TreeMap<>(got);
      ours.keySet().retainAll(want.keySet());
      eq("our types in getTypeInfo (TYPE_NAME -> DATA_TYPE)", ours, want);
    });

    check("getPrimaryKeys of a view", () -> {
      // A view grouped by customer has that key; a catalog that does not expose it returns no
      // rows, and that is no error either.
      List<String> got = new ArrayList<>();
      try (ResultSet rs = md.getPrimaryKeys(null, "public", "order_totals")) {
        while (rs.next()) {
          got.add(rs.getString("TABLE_NAME") + "." + rs.getString("COLUMN_NAME") + " " + rs.getInt("KEY_SEQ")
              + " " + rs.getString("PK_NAME"));
        }
      }
      System.out.println("# getPrimaryKeys(order_totals): " + got);
      if (!got.isEmpty()) {
        // Named as Postgres names a primary key it creates.
        eq("primary key of order_totals", got, list("order_totals.customer 1 order_totals_pkey"));
      }
    });

    check("getIndexInfo of a view", () -> {
      // The index behind the view's key, when the catalog exposes one (GUI tools list it).
      List<String> got = new ArrayList<>();
      try (ResultSet rs = md.getIndexInfo(null, "public", "order_totals", false, false)) {
        while (rs.next()) {
          got.add(rs.getString("INDEX_NAME") + " " + rs.getString("COLUMN_NAME") + " unique="
              + !rs.getBoolean("NON_UNIQUE") + " " + rs.getInt("ORDINAL_POSITION"));
        }
      }
      System.out.println("# getIndexInfo(order_totals): " + got);
      if (!got.isEmpty()) {
        eq("indexes of order_totals", got, list("order_totals_pkey customer unique=true 1"));
      }
    });

    check("getPrimaryKeys of a source", () -> {
      List<String> got = column(md.getPrimaryKeys(null, "public", "orders"));
      eq("primary key of orders", got, list());
    });

    check("setInt", () -> eq("ids", ids("SELECT id FROM orders_v WHERE id = ?", ps -> ps.setInt(1, 3)), list("3")));

    check("setInt server-prepared", () -> {
      // pgjdbc turns a statement run 5 times (prepareThreshold) into a named server-side one
      // and, from then on, sends int4 in binary.
      try (PreparedStatement ps = conn.prepareStatement("SELECT customer FROM orders_v WHERE id = ?")) {
        List<String> got = new ArrayList<>();
        for (int id = 1; id <= 6; id++) {
          ps.setInt(1, id);
          got.addAll(column(ps.executeQuery()));
        }
        eq("customers", got, list("ann", "bob", "ann", "cy, inc", "bob", "d'arcy"));
      }
    });

    check("setLong", () -> eq("ids",
        ids("SELECT id FROM orders_v WHERE qty = ?", ps -> ps.setLong(1, 5000000000L)), list("2")));

    check("setString", () -> eq("ids",
        ids("SELECT id FROM orders_v WHERE customer = ? ORDER BY id", ps -> ps.setString(1, "ann")), list("1", "3")));

    check("setString with a quote", () -> eq("ids",
        ids("SELECT id FROM orders_v WHERE customer = ?", ps -> ps.setString(1, "d'arcy")), list("6")));

    check("setTimestamp", () -> eq("ids",
        ids("SELECT id FROM orders_v WHERE ts = ?",
            ps -> ps.setTimestamp(1, Timestamp.valueOf("2026-01-02 09:15:00.25"))), list("3")));

    check("setTimestamp range", () -> eq("ids",
        ids("SELECT id FROM orders_v WHERE ts >= ? AND ts < ? ORDER BY id", ps -> {
          ps.setTimestamp(1, Timestamp.valueOf("2026-01-01 11:00:00"));
          ps.setTimestamp(2, Timestamp.valueOf("2026-01-03 00:00:00"));
        }), list("2", "3", "4")));

    check("setDate", () -> eq("ids",
        ids("SELECT id FROM orders_v WHERE day = ? ORDER BY id", ps -> ps.setDate(1, Date.valueOf("2026-01-02"))),
        list("3", "4")));

    check("setBigDecimal", () -> eq("ids",
        ids("SELECT id FROM orders_v WHERE price = ? ORDER BY id", ps -> ps.setBigDecimal(1, new BigDecimal("12.50"))),
        list("1", "5")));

    check("setBoolean", () -> eq("ids",
        ids("SELECT id FROM orders_v WHERE paid = ? ORDER BY id", ps -> ps.setBoolean(1, false)), list("2", "4")));

    check("setDouble", () -> eq("ids",
        ids("SELECT id FROM orders_v WHERE score > ? ORDER BY id", ps -> ps.setDouble(1, 1.0)), list("1", "2", "4")));

    check("setBytes", () -> eq("ids",
        ids("SELECT id FROM orders_v WHERE tag = ?", ps -> ps.setBytes(1, "b2".getBytes(StandardCharsets.UTF_8))),
        list("2")));

    check("setShort", () -> eq("ids",
        ids("SELECT id FROM orders_v WHERE id = ?", ps -> ps.setShort(1, (short) 4)), list("4")));

    check("setFloat", () -> eq("ids",
        ids("SELECT id FROM orders_v WHERE score > ? ORDER BY id", ps -> ps.setFloat(1, 1.0f)), list("1", "2", "4")));

    check("setNull", () -> eq("ids",
        ids("SELECT id FROM orders_v WHERE paid IS NOT DISTINCT FROM ?", ps -> ps.setNull(1, Types.BOOLEAN)),
        list("6")));

    check("setObject LocalDate", () -> eq("ids",
        ids("SELECT id FROM orders_v WHERE day = ? ORDER BY id", ps -> ps.setObject(1, LocalDate.of(2026, 1, 2))),
        list("3", "4")));

    check("setObject LocalDateTime", () -> eq("ids",
        ids("SELECT id FROM orders_v WHERE ts = ?",
            ps -> ps.setObject(1, LocalDateTime.of(2026, 1, 2, 9, 15, 0, 250_000_000))), list("3")));

    check("setObject OffsetDateTime", () -> eq("ids",
        // A timestamptz compared with a timestamp: the timestamp is read in the session's time
        // zone, UTC (pgjdbc sends the JVM's, and the JVM runs in UTC).
        ids("SELECT id FROM orders_v WHERE ts = ?",
            ps -> ps.setObject(1, OffsetDateTime.of(2026, 1, 2, 10, 15, 0, 250_000_000, ZoneOffset.ofHours(1)))),
        list("3")));

    check("setObject LocalTime", () -> eq("ids",
        ids("SELECT id FROM orders_v WHERE CAST(ts AS TIME) = ?", ps -> ps.setObject(1, LocalTime.of(23, 59, 59))),
        list("4")));

    check("several typed parameters", () -> eq("ids",
        ids("SELECT id FROM orders_v WHERE customer = ? AND day >= ? AND price < ? AND paid = ? ORDER BY id", ps -> {
          ps.setString(1, "bob");
          ps.setDate(2, Date.valueOf("2026-01-01"));
          ps.setBigDecimal(3, new BigDecimal("100"));
          ps.setBoolean(4, true);
        }), list("5")));

    check("typed getters", () -> {
      try (PreparedStatement ps = conn.prepareStatement(
          "SELECT id, qty, customer, ts, day, price, paid, score, tag FROM orders_v WHERE id = ?")) {
        ps.setInt(1, 3);
        try (ResultSet rs = ps.executeQuery()) {
          if (!rs.next()) {
            throw new AssertionError("no row for id 3");
          }
          eq("getInt(id)", rs.getInt("id"), 3);
          eq("getLong(qty)", rs.getLong("qty"), 1L);
          eq("getString(customer)", rs.getString("customer"), "ann");
          eq("getTimestamp(ts)", rs.getTimestamp("ts"), Timestamp.valueOf("2026-01-02 09:15:00.25"));
          eq("getDate(day)", rs.getDate("day"), Date.valueOf("2026-01-02"));
          eq("getBigDecimal(price)", rs.getBigDecimal("price"), new BigDecimal("100.00"));
          eq("getBoolean(paid)", rs.getBoolean("paid"), true);
          eq("getDouble(score)", rs.getDouble("score"), -0.5);
          eq("getBytes(tag)", new String(rs.getBytes("tag"), StandardCharsets.UTF_8), "a3");
          eq("more rows", rs.next(), false);
        }
      }
    });

    check("getLong of a bigint", () -> {
      try (PreparedStatement ps = conn.prepareStatement("SELECT qty, paid FROM orders_v WHERE id = ? OR id = ? ORDER BY id")) {
        ps.setInt(1, 2);
        ps.setInt(2, 6);
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          eq("qty of order 2", rs.getLong(1), 5000000000L);
          rs.next();
          eq("paid of order 6", rs.getObject(2), null);
        }
      }
    });

    check("fetchSize cursor", () -> {
      conn.setAutoCommit(false);
      List<String> got = new ArrayList<>();
      try (PreparedStatement ps = conn.prepareStatement("SELECT id, customer FROM orders_v ORDER BY id")) {
        ps.setFetchSize(2);
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            got.add(rs.getInt(1) + " " + rs.getString(2));
          }
        }
      }
      conn.commit();
      conn.setAutoCommit(true);
      eq("rows", got, list("1 ann", "2 bob", "3 ann", "4 cy, inc", "5 bob", "6 d'arcy"));
    });

    check("fetchSize cursor with a statement in between", () -> {
      // The cursor's portal must outlive the other statement (and its Sync) in the transaction.
      conn.setAutoCommit(false);
      List<String> got = new ArrayList<>();
      try (Statement st = conn.createStatement()) {
        st.setFetchSize(3);
        try (ResultSet rs = st.executeQuery("SELECT * FROM generate_series(1, 8)")) {
          for (int i = 0; i < 4 && rs.next(); i++) {
            got.add(rs.getString(1));
          }
          try (PreparedStatement other = conn.prepareStatement("SELECT COUNT(*) FROM orders_v WHERE paid = ?")) {
            other.setBoolean(1, true);
            eq("count in between", column(other.executeQuery()), list("3"));
          }
          while (rs.next()) {
            got.add(rs.getString(1));
          }
        }
      }
      conn.commit();
      conn.setAutoCommit(true);
      eq("rows", got, list("1", "2", "3", "4", "5", "6", "7", "8"));
    });

    check("functions tools call on connect", () -> {
      try (Statement st = conn.createStatement();
          ResultSet rs = st.executeQuery(
              "SELECT current_database(), current_schema(), current_user, session_user, version()")) {
        rs.next();
        eq("current_database()", rs.getString(1), "streamsql");
        eq("current_schema()", rs.getString(2), "public");
        eq("current_user", rs.getString(3), "tester");
        eq("session_user", rs.getString(4), "tester");
        if (!rs.getString(5).contains("streamsql")) {
          throw new AssertionError("version() does not name streamsql: " + rs.getString(5));
        }
      }
    });

    check("connection still usable", () -> {
      try (Statement st = conn.createStatement()) {
        eq("SELECT 1", column(st.executeQuery("SELECT 1")), list("1"));
      }
    });

    conn.close();
    System.out.println("done");
  }

  static void checkColumns(DatabaseMetaData md, String table, Object[][] want) throws SQLException {
    List<String> got = new ArrayList<>();
    try (ResultSet rs = md.getColumns(null, "public", table, "%")) {
      while (rs.next()) {
        got.add(describeColumn(rs.getString("COLUMN_NAME"), rs.getInt("DATA_TYPE"), rs.getString("TYPE_NAME"),
            rs.getInt("ORDINAL_POSITION"), rs.getInt("COLUMN_SIZE"), rs.getInt("DECIMAL_DIGITS"), want));
      }
    }
    List<String> wanted = new ArrayList<>();
    for (Object[] w : want) {
      wanted.add(describeColumn((String) w[0], (Integer) w[1], (String) w[2], (Integer) w[3], (Integer) w[4],
          (Integer) w[5], want));
    }
    eq("columns of " + table + " (name DATA_TYPE TYPE_NAME ordinal [size] [digits])", got, wanted);
  }

  /** One column as text, with COLUMN_SIZE and DECIMAL_DIGITS only where want checks them. */
  static String describeColumn(String name, int dataType, String typeName, int ordinal, int size, int digits,
      Object[][] want) {
    String s = name + " " + dataType + " " + typeName + " " + ordinal;
    for (Object[] w : want) {
      if (w[0].equals(name)) {
        if ((Integer) w[4] >= 0) {
          s += " size=" + size;
        }
        if ((Integer) w[5] >= 0) {
          s += " digits=" + digits;
        }
      }
    }
    return s;
  }
}
