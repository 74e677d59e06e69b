package planner

import (
	"go/build"
	"strings"
	"testing"
)

// TestForbiddenImports keeps the arrows: planner may use sql, the TiDB AST
// and exec, but never wire, the engine or the root API.
func TestForbiddenImports(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		if strings.HasPrefix(imp, "github.com/streamsql/streamsql/wire") ||
			imp == "github.com/streamsql/streamsql" ||
			imp == "github.com/streamsql/streamsql/engine" ||
			strings.HasPrefix(imp, "github.com/streamsql/streamsql/state") ||
			strings.HasPrefix(imp, "github.com/streamsql/streamsql/connectors") {
			t.Errorf("planner imports %s", imp)
		}
	}
}
