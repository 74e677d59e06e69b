package exec

import (
	"go/build"
	"strings"
	"testing"
)

// TestRowIterImports keeps exec below the parser and the wire: of ours it
// may import sql/types, sql/sqlerr, exec/... and state, never sql itself.
func TestRowIterImports(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		if strings.Contains(imp, "pingcap") || imp == "github.com/streamsql/streamsql/sql" ||
			strings.HasPrefix(imp, "github.com/streamsql/streamsql/wire") || strings.HasPrefix(imp, "github.com/streamsql/streamsql/planner") {
			t.Errorf("exec imports %s", imp)
		}
	}
}
