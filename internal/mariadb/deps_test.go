package mariadb

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The harness is a leaf for tests: it imports nothing of ours, and not
// testing (StartForTest takes a small interface instead).
func TestForbiddenImports(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range af.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(path, "github.com/streamsql/streamsql") || path == "testing" {
				t.Errorf("%s imports %s: internal/mariadb imports nothing of ours, nor testing", f, path)
			}
		}
	}
}
