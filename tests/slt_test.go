package tests

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/streamsql/streamsql"
	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/internal/emulator"
	"github.com/streamsql/streamsql/tests/slt"
)

// sltFiles lists every .slt file under tests/, sorted.
func sltFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(path, ".slt") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("find .slt files: %v", err)
	}
	sort.Strings(files)
	return files
}

// TestSLT runs every tests/**/*.slt file as a subtest, each against its own
// engine (fresh data directory) over pgwire with pgx, with its own
// kinesalite started when the file first needs one. Queries run with both
// the simple and the extended protocol; both must give the file's rows.
//
// Run one file: go test ./tests -run 'TestSLT/slt/ddl.slt'
// SLT_SIMPLE_ONLY=1 runs queries with the simple protocol only.
func TestSLT(t *testing.T) {
	files := sltFiles(t)
	if len(files) == 0 {
		t.Fatal("no .slt files under tests/")
	}
	protocols := []slt.Protocol{slt.Simple, slt.Extended}
	if os.Getenv("SLT_SIMPLE_ONLY") != "" {
		protocols = protocols[:1]
	}
	for _, file := range files {
		t.Run(filepath.ToSlash(file), func(t *testing.T) {
			t.Parallel()
			records, err := slt.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			clock := &testClock{} // the real one until a clock set
			srv := startServerConfig(t, streamsql.Config{Clock: clock.Now})
			conn := connect(t, srv.Addr)
			r := &slt.Runner{
				DB:             &slt.PgxDB{Conn: conn},
				QueryProtocols: protocols,
				SetClock:       clock.Set,
				StartKinesis: func(ctx context.Context) (slt.Kinesis, error) {
					e, err := emulator.Start(ctx, emulator.Options{})
					if err != nil {
						return nil, err
					}
					t.Cleanup(func() {
						if err := e.Stop(); err != nil {
							t.Errorf("stop kinesalite: %v", err)
						}
					})
					return e, nil
				},
			}
			if testing.Verbose() {
				r.Logf = t.Logf
			}
			for _, f := range r.Run(ctx, records) {
				t.Error(f.Error())
			}
		})
	}
}

// TestSLT_EveryFunction: every function a query can call is exercised by
// some .slt file, so none is documented and registered but never run.
func TestSLT_EveryFunction(t *testing.T) {
	var all strings.Builder
	for _, file := range sltFiles(t) {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		all.WriteString(strings.ToLower(string(b)))
		all.WriteByte('\n')
	}
	text := all.String()
	for _, f := range expr.Functions() {
		if !regexp.MustCompile(`\b` + regexp.QuoteMeta(f.Name) + `\b`).MatchString(text) {
			t.Errorf("no .slt file calls %s", strings.ToUpper(f.Name))
		}
	}
}
