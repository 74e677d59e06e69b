package engine

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/streamsql/streamsql/sql/sqlerr"
)

func TestCheckTimeout(t *testing.T) {
	tests := []struct {
		in, want string
		code     sqlerr.Code // of the error, "" for none
	}{
		{in: "0", want: "0"},
		{in: "1500", want: "1500ms"},
		{in: " 1500 ", want: "1500ms"},
		{in: "1500ms", want: "1500ms"},
		{in: "1.5s", want: "1500ms"},
		{in: "2s", want: "2s"},
		{in: "2000", want: "2s"},
		{in: "2min", want: "2min"},
		{in: "120 s", want: "2min"},
		{in: "60000", want: "1min"},
		{in: "90min", want: "90min"},
		{in: "1.5h", want: "90min"},
		{in: "1h", want: "1h"},
		{in: "48h", want: "2d"},
		{in: "1d", want: "1d"},
		{in: "1e3", want: "1s"},
		{in: "2500us", want: "3ms"}, // rounded to a whole millisecond, as Postgres does
		{in: "100us", want: "0"},
		{in: "1.4", want: "1ms"},
		{in: "2147483647", want: "2147483647ms"},
		{in: "2147483648", code: sqlerr.InvalidParameterValue},
		{in: "-1", code: sqlerr.InvalidParameterValue},
		{in: "", code: sqlerr.InvalidParameterValue},
		{in: "abc", code: sqlerr.InvalidParameterValue},
		{in: "5 parsecs", code: sqlerr.InvalidParameterValue},
		{in: "1 2", code: sqlerr.InvalidParameterValue},
		{in: "NaN", code: sqlerr.InvalidParameterValue},
		{in: "s", code: sqlerr.InvalidParameterValue},
	}
	for _, tt := range tests {
		got, err := checkTimeout(tt.in)
		if code := sqlerr.CodeOf(err); code != tt.code || got != tt.want {
			t.Errorf("checkTimeout(%q) = %q, %v; want %q, code %q", tt.in, got, err, tt.want, tt.code)
		}
	}
}

// runAll runs one statement on s and reads all its rows.
func runAll(ctx context.Context, s *Session, q string) ([]string, error) {
	sts, err := s.Prepare(ctx, q)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, st := range sts {
		rows, err := s.Execute(ctx, st, nil)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			out = append(out, rows.Row().String())
		}
		_ = rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// TestSession_StatementTimeout checks statement_timeout as an embedded
// user meets it: SET and SHOW, and a long statement ended with 57014.
func TestSession_StatementTimeout(t *testing.T) {
	eng := openTest(t, t.TempDir())
	ctx := context.Background()
	s := eng.NewSession()
	show := func() string {
		t.Helper()
		got, err := runAll(ctx, s, "SHOW statement_timeout")
		if err != nil || len(got) != 1 {
			t.Fatalf("SHOW statement_timeout: %v, %v", got, err)
		}
		return got[0]
	}
	if got := show(); got != "0" {
		t.Errorf("default statement_timeout %q, want 0", got)
	}
	for _, set := range []struct{ sql, want string }{
		{"SET statement_timeout = 1500", "1500ms"},
		{"SET statement_timeout = '1500'", "1500ms"},
		{"SET statement_timeout TO '1.5s'", "1500ms"},
		{"SET statement_timeout = '2min'", "2min"},
		{"SET statement_timeout = 0", "0"},
	} {
		if _, err := runAll(ctx, s, set.sql); err != nil {
			t.Fatalf("%s: %v", set.sql, err)
		}
		if got := show(); got != set.want {
			t.Errorf("after %s: SHOW statement_timeout = %q, want %q", set.sql, got, set.want)
		}
	}
	if _, err := runAll(ctx, s, "SET statement_timeout = '1 fortnight'"); sqlerr.CodeOf(err) != sqlerr.InvalidParameterValue {
		t.Errorf("a bad unit: %v, want 22023", err)
	}
	all, err := runAll(ctx, s, "SHOW ALL")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, row := range all {
		found = found || row == "statement_timeout 0"
	}
	if !found {
		t.Errorf("SHOW ALL has no statement_timeout row: %v", all)
	}

	// A statement that runs for hours ends at the timeout.
	if _, err := runAll(ctx, s, "SET statement_timeout = 200"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = runAll(ctx, s, "SELECT SUM(generate_series) FROM generate_series(1, 1000000000000)")
	took := time.Since(start)
	var e *sqlerr.Error
	if !errors.As(err, &e) || e.Code != sqlerr.QueryCanceled || e.Message != "canceling statement due to statement timeout" {
		t.Fatalf("long statement under a 200ms timeout: %v, want 57014 canceling statement due to statement timeout", err)
	}
	if took < 200*time.Millisecond || took > 10*time.Second {
		t.Errorf("the statement ended after %v, want about 200ms", took)
	}
	// The next statement gets its own 200ms.
	if got, err := runAll(ctx, s, "SELECT 1 + 1"); err != nil || len(got) != 1 {
		t.Fatalf("after the timeout: %v, %v", got, err)
	}
	// A cancel of the caller's context is a cancel, not a timeout.
	cctx, cancel := context.WithCancel(ctx)
	time.AfterFunc(20*time.Millisecond, cancel)
	if _, err := runAll(cctx, s, "SELECT SUM(generate_series) FROM generate_series(1, 1000000000000)"); !errors.As(err, &e) ||
		e.Code != sqlerr.QueryCanceled || e.Message != "canceling statement due to user request" {
		t.Fatalf("cancelled statement: %v, want 57014 canceling statement due to user request", err)
	}
}
