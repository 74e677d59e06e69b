package eval

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps keeps the evaluator a leaf above sql/types and sql/sqlerr: it
// knows nothing of streamsql's objects (package pgcatalog gives it a Catalog).
func TestDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	allowed := map[string]bool{
		"github.com/streamsql/streamsql/pgcatalog/eval": true,
		"github.com/streamsql/streamsql/sql/types":      true,
		"github.com/streamsql/streamsql/sql/sqlerr":     true,
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "github.com/streamsql/streamsql") && !allowed[dep] {
			t.Errorf("pgcatalog/eval imports %s", dep)
		}
	}
}
