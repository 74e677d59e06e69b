package slt

import (
	goparser "go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The runner talks to the engine only over the wire, through a client
// library, as users do: it must not import the engine, the wire server or
// anything below them. Of ours it may use only the emulator harness.
func TestForbiddenImports(t *testing.T) {
	allowed := map[string]bool{"github.com/streamsql/streamsql/internal/emulator": true}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := goparser.ParseFile(fset, f, nil, goparser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range af.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(path, "github.com/streamsql/streamsql") && !allowed[path] {
				t.Errorf("%s imports %s: the slt runner reaches the engine only over pgwire", f, path)
			}
		}
	}
}
