package streamsql

import (
	"go/build"
	"strings"
	"testing"
)

// TestImports keeps the root package the embedding API over engine: wire
// and the binary are built on it, so it imports neither.
func TestImports(t *testing.T) {
	const module = "github.com/streamsql/streamsql"
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		if strings.HasPrefix(imp, module+"/wire") || strings.HasPrefix(imp, module+"/cmd") {
			t.Errorf("streamsql imports %s", imp)
		}
	}
}
