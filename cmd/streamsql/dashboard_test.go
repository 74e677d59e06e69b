package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/streamsql/streamsql"
	"github.com/streamsql/streamsql/dashboard"
)

// mountDashboard serves the page and its JSON on a mux that also has the
// listener's own paths, which keep theirs.
func TestMountDashboard(t *testing.T) {
	ctx := context.Background()
	eng, err := streamsql.Open(ctx, streamsql.Config{DataDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	for _, q := range []string{
		"CREATE SOURCE gen (n BIGINT) WITH (connector = 'datagen', number_of_rows = 4, rows_per_second = 0, fields.n.kind = 'sequence', fields.n.start = 1, fields.n.end = 4)",
		"CREATE MATERIALIZED VIEW nums AS SELECT COUNT(*) AS c FROM gen",
	} {
		if err := eng.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// FLUSH commits the view's rows: the checkpoint card has bytes.
	if err := eng.Exec(ctx, "FLUSH"); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })
	mountDashboard(mux, eng)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	get := func(path string) string {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
		}
		return string(b)
	}
	if body := get("/healthz"); body != "ok" {
		t.Errorf("GET /healthz = %q, want the listener's own handler", body)
	}
	if body := get("/"); !strings.Contains(body, "<title>streamsql dashboard</title>") {
		t.Errorf("GET / is not the dashboard: %.100q", body)
	}
	var r dashboard.Response
	if err := json.Unmarshal([]byte(get("/api/overview")), &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Current.Views) != 1 || r.Current.Views[0].Name != "nums" || len(r.Current.Views[0].Graph.Nodes) < 2 ||
		!strings.HasPrefix(r.Current.Views[0].Graph.Nodes[0].Label, "Materialize") {
		t.Errorf("views = %+v, want nums with its operator graph, Materialize first", r.Current.Views)
	}
	if cp := r.Current.Checkpoints; cp.LastBytes <= 0 || cp.Bytes < cp.LastBytes {
		t.Errorf("checkpoints = %+v, want the last one's bytes written, and at least that in all", cp)
	}
	if len(r.Current.Sources) != 1 || r.Current.Sources[0].Name != "gen" {
		t.Errorf("sources = %+v, want gen", r.Current.Sources)
	}
}
