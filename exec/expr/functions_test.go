package expr

import "testing"

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
