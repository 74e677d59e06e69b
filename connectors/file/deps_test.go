package file

import (
	"go/build"
	"strings"
	"testing"
)

// A connector knows only the SQL leaves and the formats; never the parser,
// planner, wire or the root API (ARCHITECTURE.md, dependency direction).
func TestForbiddenImports(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	const mod = "github.com/streamsql/streamsql"
	allowed := map[string]bool{mod + "/sql/types": true, mod + "/sql/sqlerr": true, mod + "/connectors/format": true}
	for _, imp := range pkg.Imports {
		if strings.HasPrefix(imp, mod) && !allowed[imp] {
			t.Errorf("file imports %s", imp)
		}
	}
}
