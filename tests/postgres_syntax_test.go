package tests

import (
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// TestPgx_PostgresSyntax sends, through the server and pgx, the Postgres
// spellings drivers and people use: casts with Postgres type names, typed
// parameters, interval text, E'...' strings, and the functions tools call on
// connect, answered from the session's startup.
func TestPgx_PostgresSyntax(t *testing.T) {
	srv := startServer(t)
	conn := connect(t, srv.Addr)
	ctx := testContext(t, time.Minute)

	// Integer literals that fit 32 bits are int4 (node-postgres reads them
	// as numbers); arithmetic is int8.
	rows, err := conn.Query(ctx, "SELECT 1, 1 + 1, 42::text, '7'::int, now()::date, 3000000000")
	if err != nil {
		t.Fatal(err)
	}
	fds := rows.FieldDescriptions()
	rows.Close()
	want := []struct {
		name string
		oid  uint32
	}{{"?column?", pgtype.Int4OID}, {"?column?", pgtype.Int8OID}, {"text", pgtype.TextOID},
		{"int4", pgtype.Int4OID}, {"now", pgtype.DateOID}, {"?column?", pgtype.Int8OID}}
	if len(fds) != len(want) {
		t.Fatalf("%d columns, want %d", len(fds), len(want))
	}
	for i, w := range want {
		if fds[i].Name != w.name || fds[i].DataTypeOID != w.oid {
			t.Errorf("column %d: %s (oid %d), want %s (oid %d)", i+1, fds[i].Name, fds[i].DataTypeOID, w.name, w.oid)
		}
	}

	// int4 values read back as int4, in pgx's binary format and in text.
	var one, minus int32
	if err := conn.QueryRow(ctx, "SELECT 1, -2147483648").Scan(&one, &minus); err != nil || one != 1 || minus != -2147483648 {
		t.Errorf("SELECT 1, -2147483648 = %d, %d, %v", one, minus, err)
	}
	if err := conn.QueryRow(ctx, "SELECT 7", pgx.QueryExecModeSimpleProtocol).Scan(&one); err != nil || one != 7 {
		t.Errorf("SELECT 7 (simple protocol) = %d, %v", one, err)
	}

	// Session functions answer the startup's user and database and the
	// process id the server gave in BackendKeyData.
	var user, sessUser, db, schema, version string
	var pid int32
	if err := conn.QueryRow(ctx, "SELECT current_user, session_user, current_database(), current_schema(), pg_backend_pid(), version()").
		Scan(&user, &sessUser, &db, &schema, &pid, &version); err != nil {
		t.Fatal(err)
	}
	if user != "tester" || sessUser != "tester" || db != "streamsql" || schema != "public" {
		t.Errorf("user %q, session_user %q, database %q, schema %q; want tester, tester, streamsql, public", user, sessUser, db, schema)
	}
	if want := int32(conn.PgConn().PID()); pid != want {
		t.Errorf("pg_backend_pid() = %d, want %d (BackendKeyData)", pid, want)
	}
	if len(version) < 20 || version[:len("PostgreSQL 16.0 (streamsql ")] != "PostgreSQL 16.0 (streamsql " {
		t.Errorf("version() = %q", version)
	}

	// Parameters cast as psycopg2 sends them: '...'::timestamp and friends.
	var ts, tstz time.Time
	var iv pgtype.Interval
	var n int32
	var s string
	if err := conn.QueryRow(ctx, "SELECT $1::timestamp, $2::timestamptz, $3::interval, $4::int4 + 0, E'a\\tb' || $5::text",
		"2026-03-04 05:06:07", "2026-03-04 05:06:07+02", "1 day 2 hours", "41", "!").Scan(&ts, &tstz, &iv, &n, &s); err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC); !ts.Equal(want) {
		t.Errorf("$1::timestamp = %v, want %v", ts, want)
	}
	if want := time.Date(2026, 3, 4, 3, 6, 7, 0, time.UTC); !tstz.Equal(want) {
		t.Errorf("$2::timestamptz = %v, want %v (UTC)", tstz, want)
	}
	if got := time.Duration(iv.Microseconds)*time.Microsecond + time.Duration(iv.Days)*24*time.Hour; got != 26*time.Hour || iv.Months != 0 {
		t.Errorf("$3::interval = %+v, want 26 hours", iv)
	}
	if n != 41 || s != "a\tb!" {
		t.Errorf("got %d, %q; want 41, \"a\\tb!\"", n, s)
	}
}
