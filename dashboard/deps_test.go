package dashboard

import (
	"go/build"
	"strings"
	"testing"
)

// TestImports keeps dashboard a leaf: the engine imports it for the
// Overview types, so it may import nothing of ours.
func TestImports(t *testing.T) {
	const module = "github.com/streamsql/streamsql"
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		if imp == module || strings.HasPrefix(imp, module+"/") {
			t.Errorf("dashboard imports %s", imp)
		}
	}
}
