package wire

import (
	"io"
	"log/slog"
	"testing"

	streamsql "github.com/streamsql/streamsql"
)

// TestEngineBackend runs the real engine behind the server.
func TestEngineBackend(t *testing.T) {
	ctx := testCtx(t)
	e, err := streamsql.Open(ctx, streamsql.Config{DataDir: t.TempDir(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	_, addr := testServer(t, EngineBackend(e), Options{})
	conn := connect(t, addr, "application_name=e2e")

	if got := conn.PgConn().ParameterStatus("application_name"); got != "e2e" {
		t.Errorf("application_name = %q", got)
	}
	var one int
	if err := conn.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("SELECT 1 = %d, %v", one, err)
	}
	if _, err := conn.Exec(ctx, "SET TimeZone = 'Europe/Paris'"); err != nil {
		t.Fatal(err)
	}
	if got := conn.PgConn().ParameterStatus("TimeZone"); got != "Europe/Paris" {
		t.Errorf("TimeZone reported as %q", got)
	}
	var tz string
	if err := conn.QueryRow(ctx, "SHOW TimeZone").Scan(&tz); err != nil || tz != "Europe/Paris" {
		t.Errorf("SHOW TimeZone = %q, %v", tz, err)
	}
	_, err = conn.Exec(ctx, "SELEC 1")
	if pe := pgErr(t, err); pe.Code != "42601" {
		t.Errorf("syntax error = %+v", pe)
	}
	if err := conn.Ping(ctx); err != nil {
		t.Errorf("ping: %v", err)
	}
}
