package mariadb

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

// TestStartStop starts a server, runs a query, stops it and checks that its
// directory is gone.
func TestStartStop(t *testing.T) {
	s := StartForTest(t)
	db, err := sql.Open("mysql", s.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var v string
	if err := db.QueryRowContext(ctx, "SELECT CONCAT('a', 1+1)").Scan(&v); err != nil {
		t.Fatal(err)
	}
	if v != "a2" {
		t.Fatalf("SELECT CONCAT('a', 1+1) = %q, want a2", v)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("%s still there after Stop: %v", s.dir, err)
	}
}

// A missing binary is ErrMissing, and the message names the package to
// install.
func TestMissingBinary(t *testing.T) {
	_, err := lookBinary("mariadbd-that-is-not-installed")
	if !errors.Is(err, ErrMissing) {
		t.Fatalf("lookBinary of a missing binary: %v, want ErrMissing", err)
	}
	if !strings.Contains(err.Error(), Package) {
		t.Fatalf("error %q does not name %s", err, Package)
	}
}
