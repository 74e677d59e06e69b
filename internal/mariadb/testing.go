package mariadb

import (
	"context"
	"errors"
	"os"
	"time"
)

// SkipEnv, set to 1, lets a test skip when MariaDB is not installed; without
// it a missing MariaDB fails the test (CI must not pass by skipping).
const SkipEnv = "STREAMSQL_SKIP_MARIADB"

// TB is the part of testing.TB that StartForTest uses; the package does not
// import testing.
type TB interface {
	Helper()
	Cleanup(func())
	Fatalf(format string, args ...any)
	Skipf(format string, args ...any)
	Errorf(format string, args ...any)
}

// StartForTest starts a server stopped when the test ends. A missing
// MariaDB fails the test naming the package, or skips it when SkipEnv=1.
func StartForTest(t TB) *Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := Start(ctx, Options{})
	if err != nil {
		if errors.Is(err, ErrMissing) && os.Getenv(SkipEnv) == "1" {
			t.Skipf("%v (skipped: %s=1)", err, SkipEnv)
		}
		t.Fatalf("start MariaDB: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("stop MariaDB: %v", err)
		}
	})
	return s
}
