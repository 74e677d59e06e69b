package emulator

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The emulator harness is used by the binary's demo and by every package's
// tests, so it must not import any package of ours: nothing it imports can
// then import it back through a test.
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
			if strings.HasPrefix(path, "github.com/streamsql/streamsql") {
				t.Errorf("%s imports %s: internal/emulator imports nothing of ours", f, path)
			}
			if path == "testing" {
				t.Errorf("%s imports testing: the binary links this package", f)
			}
		}
	}
}
