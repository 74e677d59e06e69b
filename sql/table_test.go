package sql

import (
	"strings"
	"testing"
)

func TestParse_Temporal(t *testing.T) {
	tests := []struct {
		q         string
		alias     string
		want      Temporal
		blankedAt string // the text the clause leaves, spaces trimmed
	}{
		{"SELECT * FROM s JOIN t FOR SYSTEM_TIME AS OF PROCTIME() AS x ON s.k = x.k", "x",
			Temporal{ProcTime: true, Pos: 24}, "SELECT * FROM s JOIN t AS x ON s.k = x.k"},
		{"SELECT * FROM s LEFT JOIN t FOR SYSTEM_TIME AS OF s.p t2 ON s.k = t2.k", "t2",
			Temporal{Qualifier: "s", Column: "p", Pos: 29}, "SELECT * FROM s LEFT JOIN t t2 ON s.k = t2.k"},
		{"SELECT * FROM s JOIN Tab FOR SYSTEM_TIME AS OF proc ON s.k = tab.k", "tab",
			Temporal{Column: "proc", Pos: 26}, "SELECT * FROM s JOIN tab ON s.k = tab.k"},
	}
	for _, tc := range tests {
		t.Run(tc.q, func(t *testing.T) {
			sts, err := Parse(tc.q)
			if err != nil {
				t.Fatal(err)
			}
			sel := sts[0].(*Select)
			got, ok := sel.Temporal[tc.alias]
			if !ok || *got != tc.want {
				t.Fatalf("Temporal %v, want %q: %+v", sel.Temporal, tc.alias, tc.want)
			}
			// Blanked in place: every other byte keeps its offset.
			if len(sel.Text) != len(tc.q) {
				t.Errorf("text %q changed length", sel.Text)
			}
			if f := fields(sel.Text); f != strings.ToLower(tc.blankedAt) {
				t.Errorf("text %q, want %q", f, tc.blankedAt)
			}
		})
	}
}

func TestParse_DML(t *testing.T) {
	sts, err := Parse("INSERT INTO t (a, b) VALUES (1, 'x'), ($1, 2) ON DUPLICATE KEY UPDATE b = VALUES(b), a = a + 1")
	if err != nil {
		t.Fatal(err)
	}
	ins := sts[0].(*Insert)
	if ins.Table != "t" || strings.Join(ins.Columns, ",") != "a,b" || ins.ColumnPos[1] != 19 || ins.Query.NumParams != 1 {
		t.Errorf("insert %+v", ins)
	}
	if got := fields(ins.Query.Text); got != "select 1, 'x' union all select ? , 2" {
		t.Errorf("VALUES as %q", got)
	}
	if up := ins.Upsert; up == nil || strings.Join(up.Set, ",") != "b,a" || up.Values.QualifiedOnly != "excluded" ||
		fields(up.Values.Text) != "select excluded.b, a + 1 from t, t as excluded" {
		t.Errorf("upsert %+v", up)
	}

	sts, err = Parse("UPDATE t SET a = b * 2, c = 'z' WHERE d > 1")
	if err != nil {
		t.Fatal(err)
	}
	upd := sts[0].(*Update)
	if got := fields(upd.Query.Text); got != "select *, b * 2, 'z' from t where d > 1" {
		t.Errorf("UPDATE as %q", got)
	}
	// A position in the query is one in the statement: b is at 18.
	if p := upd.Query.Position(strings.Index(upd.Query.Text, "b * 2")); p != 18 {
		t.Errorf("b at %d, want 18", p)
	}

	sts, err = Parse("DELETE FROM t")
	if err != nil {
		t.Fatal(err)
	}
	if got := fields(sts[0].(*Delete).Query.Text); got != "select * from t" {
		t.Errorf("DELETE as %q", got)
	}
}

// fields is text with its runs of spaces made one (the query texts our
// rewrites make keep offsets with spaces).
func fields(text string) string { return strings.Join(strings.Fields(text), " ") }
