package expr

import (
	"sort"
	"strings"
)

// FunctionInfo describes a function users can call by name, for catalogs
// that list them (pg_proc).
type FunctionInfo struct {
	Name             string // lower case
	MinArgs, MaxArgs int    // MaxArgs < 0: variadic
	Aggregate        bool
}

// Functions lists the scalar functions (not the operators) and the
// aggregates, ordered by name.
func Functions() []FunctionInfo {
	var out []FunctionInfo
	for name, b := range builtins {
		if b.infix || !isFuncName(name) {
			continue
		}
		out = append(out, FunctionInfo{Name: name, MinArgs: b.minArgs, MaxArgs: b.maxArgs})
	}
	for _, name := range []string{"avg", "count", "max", "min", "sum", "json_arrayagg",
		"std", "stddev", "stddev_pop", "stddev_samp", "variance", "var_pop", "var_samp",
		"bit_and", "bit_or", "bit_xor"} {
		out = append(out, FunctionInfo{Name: name, MinArgs: 1, MaxArgs: 1, Aggregate: true})
	}
	out = append(out,
		FunctionInfo{Name: "group_concat", MinArgs: 1, MaxArgs: -1, Aggregate: true},
		FunctionInfo{Name: "json_objectagg", MinArgs: 2, MaxArgs: 2, Aggregate: true})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// operatorNames are builtins that implement operators and predicates
// (-x, IN, BETWEEN, LIKE, IS TRUE, INTERVAL arithmetic), not functions.
var operatorNames = map[string]bool{
	"neg": true, "collate": true, "collation_key": true, "in": true, "between": true, "like": true, "interval": true,
	"istrue": true, "isfalse": true, "isnottrue": true, "isnotfalse": true, "isnotnull": true,
	"json_memberof": true, // value MEMBER OF (array)
}

// isFuncName reports whether a builtin's name is one a query can call
// (a word), not an operator.
func isFuncName(name string) bool {
	// A leading underscore marks an internal builtin the planner rewrites
	// to (Postgres's ::time is __pgtime).
	if operatorNames[name] || strings.HasPrefix(name, "_") {
		return false
	}
	for _, c := range name {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
