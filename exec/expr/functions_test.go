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
	documented, operators := documentedFunctions(t, string(text))
	// Written as functions but bound by the planner, not registered here.
	for _, name := range []string{"case", "interval", "timestampadd"} {
		if !documented[name] {
			t.Errorf("%s is no longer documented: drop it from this list", strings.ToUpper(name))
		}
		delete(documented, name)
	}
	for _, f := range Functions() {
		if operators[f.Name] {
			// MOD, ISNULL, CAST and the like: rows of the Operators table.
			delete(documented, f.Name)
			continue
		}
		if !documented[f.Name] {
			t.Errorf("%s is registered but has no row in docs/sql.md's function tables", strings.ToUpper(f.Name))
		}
		delete(documented, f.Name)
	}
	for name := range documented {
		t.Errorf("docs/sql.md documents %s, which is not a registered function", strings.ToUpper(name))
	}
}

// documentedFunctions reads the rows of the function tables, the
// subsections of "## Functions and operators" other than Operators, and
// the names of the Operators table written as calls.
func documentedFunctions(t *testing.T, doc string) (functions, operators map[string]bool) {
	start := strings.Index(doc, "\n## Functions and operators\n")
	if start < 0 {
		t.Fatal(`docs/sql.md has no "## Functions and operators" section`)
	}
	section := doc[start+1:]
	if end := strings.Index(section[3:], "\n## "); end >= 0 {
		section = section[:end+3]
	}
	row := regexp.MustCompile("^\\| `([A-Z][A-Z0-9_]*)")
	functions, operators = map[string]bool{}, map[string]bool{}
	sub := ""
	for _, line := range strings.Split(section, "\n") {
		if strings.HasPrefix(line, "### ") {
			sub = strings.TrimPrefix(line, "### ")
			continue
		}
		if m := row.FindStringSubmatch(line); m != nil {
			if sub == "Operators" {
				operators[strings.ToLower(m[1])] = true
			} else {
				functions[strings.ToLower(m[1])] = true
			}
		}
	}
	return functions, operators
}
