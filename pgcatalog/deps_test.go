package pgcatalog

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps keeps pgcatalog beside sql: of our packages it may import only
// the sql leaves and its evaluator; the root package imports it, not the
// reverse.
func TestDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	const module = "github.com/streamsql/streamsql"
	allowed := map[string]bool{
		module + "/pgcatalog":      true,
		module + "/pgcatalog/eval": true,
		module + "/sql/types":      true,
		module + "/sql/sqlerr":     true,
	}
	for _, dep := range strings.Fields(string(out)) {
		if (dep == module || strings.HasPrefix(dep, module+"/")) && !allowed[dep] {
			t.Errorf("pgcatalog imports %s", dep)
		}
	}
}
