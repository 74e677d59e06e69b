package engine

import (
	"context"
	"io"
	"log/slog"
	"testing"
)

// showCreate returns the create_sql column of SHOW CREATE kind name.
func showCreate(t *testing.T, eng *Engine, kind, name string) string {
	t.Helper()
	rows, err := eng.Query(context.Background(), "SHOW CREATE "+kind+" "+name)
	if err != nil {
		t.Fatalf("SHOW CREATE %s %s: %v", kind, name, err)
	}
	defer rows.Close()
	if !rows.Next() {
		t.Fatalf("SHOW CREATE %s %s: no row (%v)", kind, name, rows.Err())
	}
	return rows.Row()[1].String()
}

// Kinesis sources and sinks without an endpoint get the engine's default
// written into their definition, so SHOW CREATE shows what they use and a
// restart with another default does not move them; a written endpoint and
// other connectors are left alone.
func TestKinesisEndpoint_DefaultIsPinned(t *testing.T) {
	const def = "http://127.0.0.1:4567"
	dir := t.TempDir()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	eng, err := Open(context.Background(), Config{DataDir: dir, Logger: quiet, KinesisEndpoint: def})
	if err != nil {
		t.Fatal(err)
	}
	// Several statements in one text (positions are the text's, not the
	// statement's) and a name of two-byte characters before the options.
	err = eng.Exec(context.Background(), `SELECT 1;
CREATE SOURCE "café" (a BIGINT) WITH (connector = 'kinesis', stream = 's', validate = false);
CREATE SOURCE own (a BIGINT) WITH (connector = 'kinesis', stream = 's', endpoint = 'http://127.0.0.1:9', validate = false);
CREATE SOURCE gen (a BIGINT) WITH (connector = 'datagen', rows_per_second = 1);
CREATE SINK out FROM "café" WITH (connector = 'kinesis', stream = 'o', validate = false)`)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ kind, name, sql string }{
		{"SOURCE", `"café"`, `CREATE SOURCE "café" (a BIGINT) WITH (endpoint = 'http://127.0.0.1:4567', connector = 'kinesis', stream = 's', validate = false)`},
		{"SOURCE", "own", `CREATE SOURCE own (a BIGINT) WITH (connector = 'kinesis', stream = 's', endpoint = 'http://127.0.0.1:9', validate = false)`},
		{"SOURCE", "gen", `CREATE SOURCE gen (a BIGINT) WITH (connector = 'datagen', rows_per_second = 1)`},
		{"SINK", "out", `CREATE SINK out FROM "café" WITH (endpoint = 'http://127.0.0.1:4567', connector = 'kinesis', stream = 'o', validate = false)`},
	}
	check := func(eng *Engine) {
		t.Helper()
		for _, w := range want {
			if got := showCreate(t, eng, w.kind, w.name); got != w.sql {
				t.Errorf("SHOW CREATE %s %s\n got %s\nwant %s", w.kind, w.name, got, w.sql)
			}
		}
	}
	check(eng)
	if err := eng.Close(); err != nil {
		t.Fatal(err)
	}
	eng, err = Open(context.Background(), Config{DataDir: dir, Logger: quiet, KinesisEndpoint: "http://127.0.0.1:5555"})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	check(eng)
}

func TestKinesisEndpoint_BadDefaultRefused(t *testing.T) {
	_, err := Open(context.Background(), Config{DataDir: t.TempDir(), KinesisEndpoint: "127.0.0.1:4567"})
	if err == nil {
		t.Fatal("Open accepted a KinesisEndpoint without a scheme")
	}
}
