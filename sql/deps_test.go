package sql

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps keeps sql a layer below planner: of our packages it may import
// only the leaves sql/types and sql/sqlerr.
func TestDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	allowed := map[string]bool{
		"github.com/streamsql/streamsql/sql":        true,
		"github.com/streamsql/streamsql/sql/types":  true,
		"github.com/streamsql/streamsql/sql/sqlerr": true,
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "github.com/streamsql/streamsql") && !allowed[dep] {
			t.Errorf("sql imports %s", dep)
		}
		if strings.Contains(dep, "pgproto3") {
			t.Errorf("sql imports %s; only wire may", dep)
		}
	}
}
