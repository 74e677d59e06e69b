package emulator

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// Each AWS stand-in starts on a free loopback port, answers its API, and is
// gone after Stop (s3rver's temporary directory with it).
func TestStart_DynaliteAndS3rver(t *testing.T) {
	for _, tc := range []struct {
		name  string
		start func(context.Context, TB) *Emulator
		dir   bool
	}{
		{KindDynalite, StartDynalite, false},
		{KindS3rver, StartS3rver, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t, 2*time.Minute)
			e := tc.start(ctx, t)
			if !strings.HasPrefix(e.Endpoint(), "http://127.0.0.1:") {
				t.Fatalf("Endpoint() = %q, want http://127.0.0.1:PORT", e.Endpoint())
			}
			if got := e.Dir() != ""; got != tc.dir {
				t.Fatalf("Dir() = %q, want a directory: %v", e.Dir(), tc.dir)
			}
			k := kinds[tc.name]
			if err := k.probe(ctx, e.Endpoint()); err != nil {
				t.Fatalf("%s: %v\n%s", k.probeName, err, e.Output())
			}
			if _, err := e.Client(); err == nil {
				t.Fatal("Client() (Kinesis) on a non-Kinesis emulator did not fail")
			}
			if err := e.Stop(); err != nil {
				t.Fatal(err)
			}
			if err := k.probe(ctx, e.Endpoint()); err == nil {
				t.Fatalf("%s still answers after Stop", tc.name)
			}
			if tc.dir {
				if _, err := os.Stat(e.Dir()); !os.IsNotExist(err) {
					t.Fatalf("temporary directory %s left after Stop: %v", e.Dir(), err)
				}
			}
		})
	}
}

// dynalite keeps its tables in memory: a Dir is refused rather than
// silently ignored, so a caller expecting persistence learns it at once.
func TestStart_DynaliteRefusesDir(t *testing.T) {
	_, err := Start(testCtx(t, time.Minute), Options{Kind: KindDynalite, Dir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "in memory") {
		t.Fatalf("Start(dynalite, Dir) = %v, want an error saying it keeps data in memory", err)
	}
}
