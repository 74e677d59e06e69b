package cluster

import (
	"go/build"
	"strings"
	"testing"
)

// TestForbiddenImports keeps the arrows: the cluster implements interfaces
// the engine declares (so it imports the engine) and is wired up by the
// binary, so it never imports the root API, the wire server or cmd.
func TestForbiddenImports(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		if imp == "github.com/streamsql/streamsql" ||
			strings.HasPrefix(imp, "github.com/streamsql/streamsql/cmd") ||
			strings.HasPrefix(imp, "github.com/streamsql/streamsql/wire") {
			t.Errorf("cluster imports %s", imp)
		}
	}
}
