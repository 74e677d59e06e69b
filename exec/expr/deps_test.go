package expr

import (
	"go/build"
	"strings"
	"testing"
)

// TestForbiddenImports keeps exec/expr below the parser: it may import
// sql/types and sql/sqlerr of ours, nothing else.
func TestForbiddenImports(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		if strings.HasPrefix(imp, "github.com/streamsql/streamsql/") &&
			imp != "github.com/streamsql/streamsql/sql/types" && imp != "github.com/streamsql/streamsql/sql/sqlerr" {
			t.Errorf("exec/expr imports %s", imp)
		}
		if strings.Contains(imp, "pingcap") {
			t.Errorf("exec/expr imports the parser: %s", imp)
		}
	}
}
