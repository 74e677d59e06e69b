package format

import (
	"go/build"
	"strings"
	"testing"
)

// format knows only the SQL leaves (ARCHITECTURE.md dependency direction).
func TestForbiddenImports(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	const mod = "github.com/streamsql/streamsql"
	for _, imp := range pkg.Imports {
		if strings.HasPrefix(imp, mod) && imp != mod+"/sql/types" && imp != mod+"/sql/sqlerr" {
			t.Errorf("format imports %s", imp)
		}
	}
}
