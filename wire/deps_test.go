package wire

import (
	"go/build"
	"strings"
	"testing"
)

// TestImports keeps wire on top of the stack: of our packages it may use
// only the root API and the sql leaves, never the layers below them.
func TestImports(t *testing.T) {
	const module = "github.com/streamsql/streamsql"
	allowed := map[string]bool{
		module:                 true,
		module + "/sql/types":  true,
		module + "/sql/sqlerr": true,
	}
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		if (imp == module || strings.HasPrefix(imp, module+"/")) && !allowed[imp] {
			t.Errorf("wire imports %s", imp)
		}
	}
}
