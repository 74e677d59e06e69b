package exprdiff

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/streamsql/streamsql"
	"github.com/streamsql/streamsql/internal/mariadb"
	"github.com/streamsql/streamsql/wire"
)

// Environment variables of the test.
const (
	envSeed   = "STREAMSQL_EXPRDIFF_SEED"   // generator seed (default defaultSeed)
	envCount  = "STREAMSQL_EXPRDIFF_COUNT"  // expressions (default defaultCount)
	envReport = "STREAMSQL_EXPRDIFF_REPORT" // write every difference to this TSV file and pass
)

const (
	defaultSeed  = 15
	defaultCount = 4500
	// WARN_STRICT: fail on a warning-only difference too. Off at first:
	// streamsql's warnings are being filled in (issue 15).
	warnStrict = false
)

// mysql8SQLMode is MySQL 8.0's default sql_mode
// (https://dev.mysql.com/doc/refman/8.0/en/sql-mode.html#sql-mode-setting).
const mysql8SQLMode = "ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION"

func envInt(t *testing.T, name string, def uint64) uint64 {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		t.Fatalf("%s=%q: %v", name, s, err)
	}
	return v
}

// result is one expression's two answers and their verdict.
type result struct {
	tc     testCase
	my, ss outcome
	v      verdict
	listed string // "known_mariadb.txt:12" etc. when an entry applied
}

func TestExprDiff(t *testing.T) {
	seed := envInt(t, envSeed, defaultSeed)
	count := int(envInt(t, envCount, defaultCount))
	reportFile := os.Getenv(envReport)
	known, err := loadList("known_mariadb.txt", true)
	if err != nil {
		t.Fatal(err)
	}
	deliberate, err := loadList("deliberate.txt", false)
	if err != nil {
		t.Fatal(err)
	}
	cases := generate(seed, count)

	maria := mariadb.StartForTest(t)
	my := openMySQL(t, maria)
	ss := openStreamSQL(t)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	results := make([]result, 0, len(cases))
	for _, tc := range cases {
		r := result{tc: tc}
		r.my = my.eval(ctx, t, tc.Expr)
		r.ss = ss.eval(ctx, t, tc.Expr)
		ref := r.my
		if e := known.find(tc.Expr); e != nil {
			r.listed = fmt.Sprintf("%s:%d", known.file, e.line)
			var ok bool
			if ref, ok = e.apply(r.my); !ok {
				r.v = vSkipped
				results = append(results, r)
				continue
			}
		}
		r.v = compare(ref, r.ss)
		if r.v != vMatch {
			if e := deliberate.find(tc.Expr); e != nil {
				r.listed = fmt.Sprintf("%s:%d", deliberate.file, e.line)
				// A loose entry says how MySQL's answer may differ from
				// ours; any other gives our answer.
				base := r.ss
				if e.answer == "rounded" || e.answer == "unordered" {
					base = ref
				}
				if want, ok := e.apply(base); !ok {
					r.v = vSkipped
				} else {
					r.v = compare(want, r.ss)
				}
			}
		}
		results = append(results, r)
	}

	table, failed := summarise(results)
	t.Logf("seed %d, %d expressions\n%s", seed, len(results), table)
	for _, l := range []*list{known, deliberate} {
		for _, e := range l.entries {
			if e.used == 0 && count == defaultCount && seed == defaultSeed {
				t.Errorf("%s:%d matches no expression on the default seed: remove it", l.file, e.line)
			}
		}
	}
	if reportFile != "" {
		if err := writeReport(reportFile, results); err != nil {
			t.Fatal(err)
		}
		t.Logf("every difference written to %s (%s set: the test passes regardless)", reportFile, envReport)
		return
	}
	if failed {
		t.Errorf("expressions differ from MySQL 8 (table above; %s=<file> writes them all as TSV)", envReport)
	}
}

func failing(v verdict) bool {
	switch v {
	case vMatch, vSkipped:
		return false
	case vWarnOnly:
		return warnStrict
	}
	return true
}

// summarise prints the per-family table and the first ten differences of
// each family.
func summarise(results []result) (string, bool) {
	type row struct {
		n      int
		counts [nVerdicts]int
		first  []result
	}
	rows := map[string]*row{}
	var order []string
	total := &row{}
	failed := false
	for _, r := range results {
		w := rows[r.tc.Family]
		if w == nil {
			w = &row{}
			rows[r.tc.Family] = w
			order = append(order, r.tc.Family)
		}
		w.n++
		w.counts[r.v]++
		total.n++
		total.counts[r.v]++
		if r.v != vMatch && r.v != vSkipped && len(w.first) < 10 {
			w.first = append(w.first, r)
		}
		failed = failed || failing(r.v)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-11s %6s %7s %6s", "family", "exprs", "matched", "%")
	for v := vWarnOnly; v < nVerdicts; v++ {
		fmt.Fprintf(&b, " | %s", verdictNames[v])
	}
	b.WriteByte('\n')
	line := func(name string, w *row) {
		fmt.Fprintf(&b, "%-11s %6d %7d %5.1f%%", name, w.n, w.counts[vMatch], 100*float64(w.counts[vMatch])/float64(max(w.n, 1)))
		for v := vWarnOnly; v < nVerdicts; v++ {
			fmt.Fprintf(&b, " | %*d", len(verdictNames[v]), w.counts[v])
		}
		b.WriteByte('\n')
	}
	for _, f := range order {
		line(f, rows[f])
	}
	line("all", total)
	for _, f := range order {
		if len(rows[f].first) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n%s: first differences (MySQL 8 → streamsql)\n", f)
		for _, r := range rows[f].first {
			fmt.Fprintf(&b, "  [%s] SELECT %s\n      MySQL 8:   %v\n      streamsql: %v\n", verdictNames[r.v], r.tc.Expr, r.my, r.ss)
		}
	}
	return b.String(), failed
}

func writeReport(file string, results []result) error {
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	clean := func(s string) string { return strings.NewReplacer("\t", `\t`, "\n", `\n`).Replace(s) }
	fmt.Fprintln(f, "family\tverdict\texpression\tmysql8\tstreamsql\tlist_entry")
	for _, r := range results {
		if r.v == vMatch {
			continue
		}
		fmt.Fprintf(f, "%s\t%s\t%s\t%s\t%s\t%s\n", r.tc.Family, verdictNames[r.v], clean(r.tc.Expr),
			clean(r.my.String()), clean(r.ss.String()), r.listed)
	}
	return f.Close()
}

// mysqlSide evaluates on MariaDB over one connection set to MySQL 8's
// defaults.
type mysqlSide struct {
	db   *sql.DB
	conn *sql.Conn
}

func openMySQL(t *testing.T, s *mariadb.Server) *mysqlSide {
	cfg, err := mysql.ParseDSN(s.DSN())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Collation = "utf8mb4_bin" // SET NAMES utf8mb4 COLLATE utf8mb4_bin: streamsql compares binary
	cfg.Params = map[string]string{
		// TIME_ROUND_FRACTIONAL: MySQL 8 rounds fractional seconds it
		// drops (https://dev.mysql.com/doc/refman/8.0/en/fractional-seconds.html),
		// MariaDB truncates unless told
		// (https://mariadb.com/kb/en/sql-mode/#time_round_fractional).
		"sql_mode":  "'" + mysql8SQLMode + ",TIME_ROUND_FRACTIONAL'",
		"time_zone": "'+00:00'",
	}
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	m := &mysqlSide{db: db}
	m.reconnect(t)
	return m
}

func (m *mysqlSide) reconnect(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if m.conn != nil {
		_ = m.conn.Close()
	}
	c, err := m.db.Conn(ctx)
	if err != nil {
		t.Fatalf("connect to MariaDB: %v", err)
	}
	m.conn = c
}

func (m *mysqlSide) eval(ctx context.Context, t *testing.T, expr string) outcome {
	qctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	// MariaDB keeps the warnings of the last statement that read a table
	// across table-less SELECTs (MySQL 8 clears them per statement): a
	// statement over a derived table empties the list first.
	if _, err := m.conn.ExecContext(qctx, clearWarnings); err != nil {
		t.Fatalf("%s: %v", clearWarnings, err)
	}
	o := m.query(qctx, expr)
	if o.Kind == kError && o.Code == "" {
		// the connection broke: a fresh one for the next expression
		m.reconnect(t)
		return o
	}
	var n int
	if err := m.conn.QueryRowContext(qctx, "SHOW COUNT(*) WARNINGS").Scan(&n); err != nil {
		t.Fatalf("SHOW COUNT(*) WARNINGS after SELECT %s: %v", expr, err)
	}
	o.Warn = n > 0 && o.Kind != kError
	return o
}

const clearWarnings = "SELECT * FROM (SELECT 1) AS clear_warnings"

func (m *mysqlSide) query(ctx context.Context, expr string) outcome {
	rows, err := m.conn.QueryContext(ctx, "SELECT "+expr)
	if err != nil {
		return mysqlError(err)
	}
	defer rows.Close()
	types, err := rows.ColumnTypes()
	if err != nil {
		return mysqlError(err)
	}
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return mysqlError(err)
		}
		return outcome{Kind: kError, Code: "norows", Text: "no row"}
	}
	var v sql.RawBytes
	if err := rows.Scan(&v); err != nil {
		return mysqlError(err)
	}
	o := outcome{Kind: kValue, Text: string(v)}
	if v == nil {
		o = outcome{Kind: kNull}
	}
	switch types[0].DatabaseTypeName() {
	case "DOUBLE", "FLOAT":
		o.Double = true
	}
	for rows.Next() {
	}
	if err := rows.Err(); err != nil {
		return mysqlError(err)
	}
	return o
}

func mysqlError(err error) outcome {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return outcome{Kind: kError, Code: strconv.Itoa(int(me.Number)), Text: me.Message}
	}
	return outcome{Kind: kError, Text: err.Error()}
}

// ssSide evaluates on streamsql: the engine and its wire server on a free
// loopback port, one pgconn connection over the simple protocol.
type ssSide struct {
	cfg    *pgconn.Config
	conn   *pgconn.PgConn
	warned atomic.Bool
}

func openStreamSQL(t *testing.T) *ssSide {
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	eng, err := streamsql.Open(ctx, streamsql.Config{DataDir: t.TempDir(), Logger: logger})
	if err != nil {
		t.Fatalf("open engine: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = eng.Close()
		t.Fatalf("listen: %v", err)
	}
	srv := wire.NewServer(wire.EngineBackend(eng), wire.Options{Logger: logger})
	serveCtx, cancel := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(serveCtx, ln) }()
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		if err := srv.Shutdown(sctx); err != nil {
			t.Errorf("shutdown wire server: %v", err)
		}
		cancel()
		select {
		case <-served:
		case <-sctx.Done():
			t.Errorf("Serve did not return after Shutdown")
		}
		if err := eng.Close(); err != nil {
			t.Errorf("close engine: %v", err)
		}
	})
	cfg, err := pgconn.ParseConfig(fmt.Sprintf("postgres://tester@%s/streamsql?sslmode=disable&connect_timeout=10", ln.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	s := &ssSide{cfg: cfg}
	cfg.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) {
		if n.Severity == "WARNING" {
			s.warned.Store(true)
		}
	}
	s.reconnect(t)
	t.Cleanup(func() { _ = s.conn.Close(context.Background()) })
	return s
}

func (s *ssSide) reconnect(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if s.conn != nil {
		_ = s.conn.Close(ctx)
	}
	c, err := pgconn.ConnectConfig(ctx, s.cfg)
	if err != nil {
		t.Fatalf("connect to streamsql: %v", err)
	}
	s.conn = c
}

func (s *ssSide) eval(ctx context.Context, t *testing.T, expr string) outcome {
	qctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	s.warned.Store(false)
	res, err := s.conn.Exec(qctx, "SELECT "+expr).ReadAll()
	if err == nil && len(res) > 0 {
		err = res[0].Err
	}
	if err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) {
			return outcome{Kind: kError, Code: pe.Code, Text: pe.Message}
		}
		// the session ended (a panic ends a session): a fresh one
		s.reconnect(t)
		return outcome{Kind: kError, Code: "session", Text: err.Error()}
	}
	if len(res) != 1 || len(res[0].Rows) != 1 || len(res[0].Rows[0]) != 1 {
		return outcome{Kind: kError, Code: "shape", Text: fmt.Sprintf("%d results, not one row of one column", len(res))}
	}
	v := res[0].Rows[0][0]
	o := outcome{Kind: kValue, Text: string(v), Warn: s.warned.Load()}
	if v == nil {
		o.Kind, o.Text = kNull, ""
	}
	switch res[0].FieldDescriptions[0].DataTypeOID {
	case 16:
		o.Bool = true
	case 700, 701:
		o.Double = true
	}
	return o
}
