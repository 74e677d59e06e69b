package expr

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

func TestFunctions(t *testing.T) {
	got := map[string]FunctionInfo{}
	for _, f := range Functions() {
		got[f.Name] = f
	}
	want := []FunctionInfo{
		{Name: "abs", MinArgs: 1, MaxArgs: 1},
		{Name: "round", MinArgs: 1, MaxArgs: 2},
		{Name: "concat", MinArgs: 1, MaxArgs: -1},
		{Name: "count", MinArgs: 1, MaxArgs: 1, Aggregate: true},
	}
	for _, w := range want {
		if got[w.Name] != w {
			t.Errorf("%s: got %+v, want %+v", w.Name, got[w.Name], w)
		}
	}
	for _, op := range []string{"+", "=", "and", "neg", "in", "between", "like", "istrue"} {
		if _, ok := got[op]; ok {
			t.Errorf("operator %q listed as a function", op)
		}
	}
}

// TestFunctionDocs holds docs/sql.md's function tables to the registry:
// every function a query can call has a row, and every row names one.
func TestFunctionDocs(t *testing.T) {
	text, err := os.ReadFile("../../docs/sql.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := documentedFunctions(t, string(text))
	for _, f := range Functions() {
		if !documented[f.Name] {
			t.Errorf("%s is registered but has no row in docs/sql.md's function tables", strings.ToUpper(f.Name))
		}
		delete(documented, f.Name)
	}
	for name := range documented {
		t.Errorf("docs/sql.md documents %s, which is not a registered function", strings.ToUpper(name))
	}
}

// documentedFunctions reads the rows of the function tables: the
// subsections of "## Functions and operators" other than Operators.
func documentedFunctions(t *testing.T, doc string) map[string]bool {
	start := strings.Index(doc, "\n## Functions and operators\n")
	if start < 0 {
		t.Fatal(`docs/sql.md has no "## Functions and operators" section`)
	}
	section := doc[start+1:]
	if end := strings.Index(section[3:], "\n## "); end >= 0 {
		section = section[:end+3]
	}
	row := regexp.MustCompile("^\\| `([A-Z][A-Z0-9_]*)")
	out := map[string]bool{}
	sub := ""
	for _, line := range strings.Split(section, "\n") {
		if strings.HasPrefix(line, "### ") {
			sub = strings.TrimPrefix(line, "### ")
			continue
		}
		if sub == "Operators" {
			continue
		}
		if m := row.FindStringSubmatch(line); m != nil {
			out[strings.ToLower(m[1])] = true
		}
	}
	return out
}
