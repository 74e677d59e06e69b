package sql

import (
	"testing"

	"github.com/pingcap/tidb/pkg/parser/ast"
)

// TestParse_FullJoin: FULL [OUTER] JOIN reaches the AST as a LEFT join
// marked full, whatever its ON condition looks like, beside joins of
// other kinds and inside subqueries; positions in the text are kept.
func TestParse_FullJoin(t *testing.T) {
	tests := []struct {
		sql   string
		kinds string // the joins' kinds, in the AST's walk order: F full, L left, R right, I inner
	}{
		{"SELECT * FROM a FULL JOIN b ON a.x = b.y", "F"},
		{"SELECT * FROM a FULL OUTER JOIN b ON a.x = b.y", "F"},
		{"SELECT * FROM a full outer join b ON (a.x = b.y)", "F"},
		{"SELECT * FROM a FULL JOIN b ON a.x = b.y AND b.z > 3", "F"},
		{"SELECT * FROM a FULL JOIN b ON NOT a.x", "F"},
		{"SELECT * FROM a FULL JOIN b ON TRUE", "F"},
		{"SELECT * FROM a FULL JOIN b ON a.x IN (1, 2)", "F"},
		{"SELECT * FROM a FULL JOIN b ON a.x", "F"},
		{"SELECT * FROM a FULL JOIN b ON EXISTS (SELECT 1 FROM c LEFT JOIN d ON c.x = d.x)", "FL"},
		{"SELECT * FROM a LEFT JOIN b ON a.x = b.x FULL JOIN c ON a.x = c.x", "FL"},
		{"SELECT * FROM a FULL JOIN b ON a.x = b.x LEFT JOIN c ON a.x = c.x", "LF"},
		{"SELECT * FROM a FULL JOIN (b JOIN c ON b.x = c.x) ON a.x = b.x", "FI"},
		{"SELECT * FROM a FULL JOIN (SELECT * FROM b RIGHT JOIN c ON b.x = c.x) s ON a.x = s.x", "FR"},
		{"SELECT * FROM a LEFT JOIN b ON a.x = b.x", "L"},
		// Refused: mixed parameters (another error); a FULL JOIN whose
		// first ON is a nested join's, which cannot be told apart.
		{"SELECT * FROM a JOIN b ON a.x = $1 FULL JOIN c ON c.x = ?::int", ""},
		{"SELECT * FROM a FULL JOIN b JOIN c ON b.x = c.x ON a.x = b.x", ""},
	}
	for _, tt := range tests {
		t.Run(tt.sql, func(t *testing.T) {
			stmts, err := Parse(tt.sql)
			if tt.kinds == "" {
				if err == nil {
					t.Fatal("no error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			q := stmts[0].(*Select)
			var kinds string
			q.AST.Accept(&joinKinds{q: q, out: &kinds})
			if kinds != tt.kinds {
				t.Errorf("joins %q, want %q (text %q)", kinds, tt.kinds, q.Text)
			}
			if len(q.Text) != len(tt.sql) && q.Casts == nil {
				t.Errorf("text %q is not as long as the query", q.Text)
			}
		})
	}
}

type joinKinds struct {
	q   *Select
	out *string
}

func (v *joinKinds) Enter(n ast.Node) (ast.Node, bool) {
	if j, ok := n.(*ast.Join); ok && j.Right != nil {
		switch {
		case v.q.FullJoins[j]:
			*v.out += "F"
		case j.Tp == ast.LeftJoin:
			*v.out += "L"
		case j.Tp == ast.RightJoin:
			*v.out += "R"
		default:
			*v.out += "I"
		}
	}
	return n, false
}

func (v *joinKinds) Leave(n ast.Node) (ast.Node, bool) { return n, true }
