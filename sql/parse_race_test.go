package sql

import (
	"sync"
	"testing"

	"github.com/pingcap/tidb/pkg/parser/ast"
)

// positions reads the text position of every expression, as the planner
// does when it reports an error.
type positions struct{ sum int }

func (p *positions) Enter(n ast.Node) (ast.Node, bool) {
	if e, ok := n.(ast.ExprNode); ok {
		p.sum += e.OriginTextPosition()
	}
	return n, false
}

func (p *positions) Leave(n ast.Node) (ast.Node, bool) { return n, true }

// A statement parsed on one goroutine is read on it while other sessions
// parse: nothing the parsers share may still point into it (run with
// -race; TiDB's parsers keep symbols of their last parse unless reset).
func TestParse_ConcurrentSessionsShareNoNodes(t *testing.T) {
	queries := []string{
		"CREATE MATERIALIZED VIEW v AS SELECT k, COUNT(*) AS n FROM s WHERE -a > 1 GROUP BY k HAVING SUM(a) > 2",
		"SELECT a, b + 1 FROM s WHERE b IN (1, 2, 3) ORDER BY a LIMIT 5",
		"CREATE MATERIALIZED VIEW w AS SELECT k FROM s UNION ALL SELECT k FROM t",
	}
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				stmts, err := Parse(queries[(g+i)%len(queries)])
				if err != nil {
					t.Error(err)
					return
				}
				var sel *Select
				switch s := stmts[0].(type) {
				case *CreateView:
					sel = s.Query
				case *Select:
					sel = s
				}
				for range 3 {
					sel.AST.Accept(&positions{})
				}
			}
		}()
	}
	wg.Wait()
}
