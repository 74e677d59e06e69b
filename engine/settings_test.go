package engine

import (
	"context"
	"strings"
	"testing"

	"github.com/streamsql/streamsql/sql/sqlerr"
)

// TestSession_ShowEverySetting checks that SHOW reads every parameter SET
// accepts, the engine-wide checkpoint_interval and checkpoint_min_interval
// too, and SHOW ALL lists them.
func TestSession_ShowEverySetting(t *testing.T) {
	eng := openTest(t, t.TempDir())
	ctx := context.Background()
	s := eng.NewSession()
	for _, q := range []string{"SET checkpoint_interval = '250ms'", "SHOW checkpoint_interval", "SHOW CHECKPOINT_INTERVAL"} {
		got, err := runAll(ctx, s, q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if strings.HasPrefix(q, "SHOW") && (len(got) != 1 || got[0] != "250ms") {
			t.Errorf("%s = %v, want [250ms]", q, got)
		}
	}
	all, err := runAll(ctx, s, "SHOW ALL")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, row := range all {
		found = found || row == "checkpoint_interval 250ms"
	}
	if !found {
		t.Errorf("SHOW ALL has no checkpoint_interval row: %v", all)
	}
	if _, err := runAll(ctx, s, "RESET checkpoint_interval"); err != nil {
		t.Fatal(err)
	}
	if got, err := runAll(ctx, s, "SHOW checkpoint_interval"); err != nil || len(got) != 1 || got[0] != DefaultCheckpointInterval.String() {
		t.Errorf("after RESET: %v, %v; want %s", got, err, DefaultCheckpointInterval)
	}
	// checkpoint_min_interval: engine-wide too, zero allowed, negative not.
	for _, c := range []struct {
		q, want string
		code    sqlerr.Code
	}{
		{"SHOW checkpoint_min_interval", DefaultCheckpointMinInterval.String(), ""},
		{"SET checkpoint_min_interval = '250ms'", "", ""},
		{"SHOW checkpoint_min_interval", "250ms", ""},
		{"SET checkpoint_min_interval = 0", "", ""},
		{"SHOW checkpoint_min_interval", "0s", ""},
		{"SET checkpoint_min_interval = '-1s'", "", sqlerr.InvalidParameterValue},
		{"SET checkpoint_min_interval = 'soon'", "", sqlerr.InvalidParameterValue},
		{"SHOW checkpoint_min_interval", "0s", ""},
		{"SET checkpoint_min_interval TO DEFAULT", "", ""},
		{"SHOW checkpoint_min_interval", DefaultCheckpointMinInterval.String(), ""},
		{"SET checkpoint_min_interval = '2s'", "", ""},
		{"RESET checkpoint_min_interval", "", ""},
		{"SHOW checkpoint_min_interval", DefaultCheckpointMinInterval.String(), ""},
	} {
		got, err := runAll(ctx, s, c.q)
		if c.code != "" {
			if sqlerr.CodeOf(err) != c.code {
				t.Errorf("%s: %v, want SQLSTATE %s", c.q, err, c.code)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.q, err)
		} else if c.want != "" && (len(got) != 1 || got[0] != c.want) {
			t.Errorf("%s = %v, want [%s]", c.q, got, c.want)
		}
	}
	// Every session parameter SET knows, SHOW knows.
	for name := range settingDefs {
		if _, err := runAll(ctx, s, "SHOW "+name); err != nil {
			t.Errorf("SHOW %s: %v", name, err)
		}
	}
	if _, err := runAll(ctx, s, "SHOW no_such_setting"); sqlerr.CodeOf(err) != sqlerr.UndefinedObject {
		t.Errorf("SHOW no_such_setting: %v, want 42704", err)
	}
}

// TestSession_Info checks that current_user, current_database() and
// pg_backend_pid() answer what the session was told, and version() has
// Postgres's shape with our name in it.
func TestSession_Info(t *testing.T) {
	eng := openTest(t, t.TempDir())
	ctx := context.Background()
	s := eng.NewSession()
	s.SetInfo(SessionInfo{User: "alice", Database: "shop", BackendPID: 4242})
	got, err := runAll(ctx, s, "SELECT current_user, session_user, user, current_user(), current_database(), current_catalog, current_schema, current_schema(), pg_backend_pid()")
	if err != nil {
		t.Fatal(err)
	}
	if want := "alice alice alice alice shop shop public public 4242"; len(got) != 1 || got[0] != want {
		t.Errorf("got %v, want [%s]", got, want)
	}
	got, err = runAll(ctx, s, "SELECT version()")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !strings.HasPrefix(got[0], "PostgreSQL 16.0 (streamsql ") {
		t.Errorf("version() = %v, want PostgreSQL 16.0 (streamsql ...", got)
	}
}
