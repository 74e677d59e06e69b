"""What a Python program does with streamsql through psycopg2 (Debian's, run by /usr/bin/python3).

psycopg2 interpolates parameters on the client: a datetime goes out as
'2026-01-02T09:15:00.250000'::timestamp, a date as '...'::date, a time as '...'::time, a
timedelta as '0 days 43200.000000 seconds'::interval, bytes as '\\x6232'::bytea, a Decimal, an
int or a float as a bare number, a bool as true/false, a str as a quoted literal. It opens a
transaction (BEGIN) before the first statement. A named cursor is DECLARE ... CURSOR / FETCH
FORWARD n / CLOSE; copy_expert is COPY ... TO STDOUT.

Over the dataset of tests/client_orders_test.go; the answers are what Postgres gives. Each check
prints "ok NAME" or "FAIL NAME: why"; "done" comes last.

Usage: /usr/bin/python3 psycopg2_checks.py HOST PORT
"""

import datetime
import decimal
import io
import sys

import psycopg2

conn = psycopg2.connect(host=sys.argv[1], port=sys.argv[2], user="tester", dbname="streamsql",
                        sslmode="disable", connect_timeout=10)


def check(name, fn):
    try:
        fn()
        print("ok " + name)
    except Exception as e:  # report every failure and go on with the next check
        why = "%s %s" % (type(e).__name__, e)
        if isinstance(e, psycopg2.Error) and e.pgcode:
            why = "SQLSTATE %s %s" % (e.pgcode, e)
        print("FAIL %s: %s" % (name, " ".join(why.split())))
        try:
            conn.rollback()
        except psycopg2.Error:
            pass  # the next check reports what is wrong with the connection
    sys.stdout.flush()


def eq(what, got, want):
    if got != want:
        raise AssertionError("%s: got %r, want %r" % (what, got, want))


def rows(sql, params=None):
    with conn.cursor() as cur:
        cur.execute(sql, params)
        out = cur.fetchall()
    conn.commit()
    return out


def ids(where, params):
    return [r[0] for r in rows("SELECT id FROM orders_v WHERE " + where + " ORDER BY id", params)]


D = datetime


def where(name, clause, params, want):
    check(name, lambda: eq(clause, ids(clause, params), want))


where("datetime", "ts = %s", (D.datetime(2026, 1, 2, 9, 15, 0, 250000),), [3])
where("datetime range", "ts >= %s AND ts < %s", (D.datetime(2026, 1, 1, 11), D.datetime(2026, 1, 3)), [2, 3, 4])
where("date", "day = %s", (D.date(2026, 1, 2),), [3, 4])
where("time", "CAST(ts AS TIME) = %s", (D.time(9, 15, 0, 250000),), [3])
where("timedelta", "ts >= %s - %s", (D.datetime(2026, 1, 3, 12), D.timedelta(hours=12)), [5, 6])
where("Decimal", "price = %s", (decimal.Decimal("12.50"),), [1, 5])
where("bytes", "tag = %s", (b"b2",), [2])
where("bool", "paid = %s", (False,), [2, 4])
where("int", "qty = %s", (5000000000,), [2])
where("small int", "id <= %s", (2,), [1, 2])
where("float", "score > %s", (1.0,), [1, 2, 4])
where("str", "customer = %s", ("ann",), [1, 3])
where("str with a quote", "customer = %s", ("d'arcy",), [6])
where("several", "customer = %s AND day >= %s AND price < %s AND paid = %s",
      ("bob", D.date(2026, 1, 1), decimal.Decimal("100"), True), [5])
where("None", "paid IS NOT DISTINCT FROM %s", (None,), [6])
where("tuple for IN", "id IN %s", ((1, 3, 9),), [1, 3])
where("named parameters", "customer = %(who)s OR id = %(id)s", {"who": "bob", "id": 1}, [1, 2, 5])


def round_trips():
    # Each value comes back as the Python type psycopg2 makes of its Postgres type.
    values = (D.datetime(2026, 1, 2, 9, 15, 0, 250000), D.date(2026, 1, 2), D.timedelta(hours=12),
              decimal.Decimal("12.50"), True, 42, 1.5, "d'arcy")
    got = rows("SELECT " + ", ".join(["%s"] * len(values)), values)
    eq("round trip", got, [values])


check("parameters round trip", round_trips)


def time_round_trip():
    # psycopg2 sends '09:15:30'::time. We have no TIME type: a time of day is
    # text (docs/sql.md, Postgres compatibility), where Postgres gives a time.
    eq("time", rows("SELECT %s", (D.time(9, 15, 30),)), [("09:15:30",)])
    eq("time with micros", rows("SELECT %s", (D.time(9, 15, 30, 250000),)), [("09:15:30.25",)])


check("time round trip", time_round_trip)


def bytes_round_trip():
    got = rows("SELECT %s", (b"\x00\xffb2",))[0][0]
    eq("bytea", bytes(got), b"\x00\xffb2")


check("bytes round trip", bytes_round_trip)


def result_types():
    got = rows("SELECT id, qty, customer, ts, day, price, paid, score, tag FROM orders_v WHERE id = %s", (3,))
    eq("row count", len(got), 1)
    r = got[0]
    eq("row", tuple(r[:8]), (3, 1, "ann", D.datetime(2026, 1, 2, 9, 15, 0, 250000), D.date(2026, 1, 2),
                             decimal.Decimal("100.00"), True, -0.5))
    eq("tag", bytes(r[8]), b"a3")


check("result types", result_types)


def type_codes():
    # cursor.description's type_code is the column's type OID, as Postgres describes the
    # columns of these tables: int4, int8, varchar, timestamp, date, numeric, bool, float8, bytea.
    with conn.cursor() as cur:
        cur.execute("SELECT id, qty, customer, ts, day, price, paid, score, tag FROM orders_v WHERE id = 1")
        got = [(d.name, d.type_code) for d in cur.description]
    conn.commit()
    eq("description", got, [("id", 23), ("qty", 20), ("customer", 1043), ("ts", 1114), ("day", 1082),
                            ("price", 1700), ("paid", 16), ("score", 701), ("tag", 17)])


check("description type codes", type_codes)


def named(name, body):
    """Runs body on a named cursor, then closes it (CLOSE); a failure of body is reported, not
    the CLOSE that follows it."""
    cur = conn.cursor(name=name)
    try:
        out = body(cur)
    except Exception:
        try:
            cur.close()
        except psycopg2.Error:
            pass
        raise
    cur.close()
    return out


def named_cursor():
    def body(cur):
        cur.itersize = 2
        cur.execute("SELECT id, customer FROM orders_v ORDER BY id")
        return [tuple(r) for r in cur]
    got = named("orders_cur", body)
    conn.commit()
    eq("rows", got, [(1, "ann"), (2, "bob"), (3, "ann"), (4, "cy, inc"), (5, "bob"), (6, "d'arcy")])


check("named cursor itersize 2", named_cursor)



def named_cursor_fetchmany():
    def body(cur):
        cur.execute("SELECT * FROM generate_series(1, 5)")
        first = cur.fetchmany(2)
        # Another statement in the same transaction while the cursor is open.
        eq("count in between", rows_in_tx("SELECT COUNT(*) FROM orders_v"), [(6,)])
        return first + cur.fetchall()
    got = named("series_cur", body)
    conn.commit()
    eq("rows", [r[0] for r in got], [1, 2, 3, 4, 5])


def rows_in_tx(sql):
    with conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall()


check("named cursor with a statement in between", named_cursor_fetchmany)


def named_cursor_unused():
    # Closing a named cursor that never ran makes psycopg2 ask pg_cursors
    # whether the server has one by that name; then it sends nothing.
    cur = conn.cursor(name="never_run")
    cur.close()
    # While one is open, pg_cursors lists it.
    with conn.cursor(name="open_cur") as cur:
        cur.execute("SELECT id FROM orders_v ORDER BY id")
        eq("first", cur.fetchone(), (1,))
        eq("pg_cursors", rows_in_tx("SELECT name, is_holdable, is_scrollable FROM pg_catalog.pg_cursors"),
           [("open_cur", False, False)])
    conn.commit()


check("named cursor closed unused, and pg_cursors", named_cursor_unused)


def copy_csv():
    buf = io.StringIO()
    with conn.cursor() as cur:
        cur.copy_expert("COPY (SELECT id, customer, ts, day, price, paid, score FROM orders_v ORDER BY id) "
                        "TO STDOUT WITH CSV HEADER", buf)
    conn.commit()
    eq("CSV", buf.getvalue(),
       "id,customer,ts,day,price,paid,score\n"
       "1,ann,2026-01-01 10:00:00,2026-01-01,12.50,t,1.5\n"
       "2,bob,2026-01-01 11:30:00,2026-01-01,7.25,f,2.25\n"
       "3,ann,2026-01-02 09:15:00.25,2026-01-02,100.00,t,-0.5\n"
       "4,\"cy, inc\",2026-01-02 23:59:59,2026-01-02,0.99,f,1000\n"
       "5,bob,2026-01-03 00:00:00,2026-01-03,12.50,t,0\n"
       "6,d'arcy,2026-01-03 12:00:00,2026-01-03,3.10,,0.75\n")


check("copy_expert CSV HEADER", copy_csv)


def copy_csv_options():
    buf = io.StringIO()
    with conn.cursor() as cur:
        cur.copy_expert("COPY (SELECT id, customer, paid FROM orders_v WHERE id >= 4 ORDER BY id) "
                        "TO STDOUT WITH (FORMAT csv, HEADER, DELIMITER ';', NULL 'NULL')", buf)
    conn.commit()
    eq("CSV", buf.getvalue(), "id;customer;paid\n4;cy, inc;f\n5;bob;t\n6;d'arcy;NULL\n")


check("copy_expert CSV options", copy_csv_options)


def copy_text():
    buf = io.StringIO()
    with conn.cursor() as cur:
        cur.copy_expert("COPY (SELECT id, customer, paid FROM orders_v WHERE id >= 4 ORDER BY id) TO STDOUT", buf)
    conn.commit()
    eq("text", buf.getvalue(), "4\tcy, inc\tf\n5\tbob\tt\n6\td'arcy\t\\N\n")


check("copy_expert text", copy_text)


def backend():
    # pg_backend_pid() is the process id the server gave the connection in BackendKeyData.
    got = rows("SELECT pg_backend_pid(), current_database(), current_user")
    eq("pid, database, user", got, [(conn.get_backend_pid(), "streamsql", "tester")])


check("pg_backend_pid and current_database", backend)


def still_usable():
    eq("SELECT 1", rows("SELECT 1"), [(1,)])


check("connection still usable", still_usable)

conn.close()
print("done")
