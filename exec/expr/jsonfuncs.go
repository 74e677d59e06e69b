package expr

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// MySQL 8's JSON functions over decoded documents (json.go). Arguments
// MySQL reads as documents are parsed (22032 when invalid); arguments it
// reads as values become JSON as MySQL converts SQL values (sqlToJSON).

func registerJSONFuncs() {
	register("json_valid", &builtin{minArgs: 1, maxArgs: 1, check: checkJSONValid, compile: compileJSONValid})
	register("json_type", &builtin{minArgs: 1, maxArgs: 1, check: checkJSONDocs(types.TypeText, 0), compile: compileDocFunc(jsonTypeOf)})
	register("json_depth", &builtin{minArgs: 1, maxArgs: 1, check: checkJSONDocs(types.TypeBigInt, 0), compile: compileDocFunc(jsonDepthOf)})
	register("json_length", &builtin{minArgs: 1, maxArgs: 2, check: checkJSONDocs(types.TypeBigInt, 0), compile: compileDocPathFunc(jsonLengthOf)})
	register("json_keys", &builtin{minArgs: 1, maxArgs: 2, check: checkJSONDocs(types.TypeJSON, 0), compile: compileDocPathFunc(jsonKeysOf)})
	register("json_quote", &builtin{minArgs: 1, maxArgs: 1, check: checkJSONQuote, compile: compileJSONQuote})
	register("json_array", &builtin{minArgs: 0, maxArgs: -1, check: checkJSONValues, compile: compileJSONArray})
	register("json_object", &builtin{minArgs: 0, maxArgs: -1, check: checkJSONValues, compile: compileJSONObject})
	register("json_contains", &builtin{minArgs: 2, maxArgs: 3, check: checkJSONDocs(types.TypeBigInt, 0, 1), compile: compileJSONContains})
	register("json_contains_path", &builtin{minArgs: 3, maxArgs: -1, check: checkJSONDocs(types.TypeBigInt, 0), compile: compileJSONContainsPath})
	register("json_search", &builtin{minArgs: 3, maxArgs: -1, check: checkJSONDocs(types.TypeJSON, 0), compile: compileJSONSearch})
	register("json_set", &builtin{minArgs: 3, maxArgs: -1, check: checkJSONModify, compile: compileJSONModify(modSet)})
	register("json_insert", &builtin{minArgs: 3, maxArgs: -1, check: checkJSONModify, compile: compileJSONModify(modInsert)})
	register("json_replace", &builtin{minArgs: 3, maxArgs: -1, check: checkJSONModify, compile: compileJSONModify(modReplace)})
	register("json_array_append", &builtin{minArgs: 3, maxArgs: -1, check: checkJSONModify, compile: compileJSONModify(modAppend)})
	register("json_array_insert", &builtin{minArgs: 3, maxArgs: -1, check: checkJSONModify, compile: compileJSONModify(modArrayInsert)})
	register("json_remove", &builtin{minArgs: 2, maxArgs: -1, check: checkJSONDocs(types.TypeJSON, 0), compile: compileJSONRemove})
	register("json_merge_preserve json_merge", &builtin{minArgs: 2, maxArgs: -1, check: checkAllJSONDocs, compile: compileJSONMerge(mergePreserve, false)})
	register("json_merge_patch", &builtin{minArgs: 2, maxArgs: -1, check: checkAllJSONDocs, compile: compileJSONMerge(mergePatch, true)})
	register("json_overlaps", &builtin{minArgs: 2, maxArgs: 2, check: checkJSONDocs(types.TypeBigInt, 0, 1), compile: compileJSONOverlaps})
	// value MEMBER OF (json_array): the parser names it json_memberof.
	register("json_memberof", &builtin{minArgs: 2, maxArgs: 2, check: checkJSONMemberOf, compile: compileJSONMemberOf})
}

// sqlToJSON converts a SQL value to JSON as MySQL 8 does where it wants a
// value: JSON as it is, booleans true/false, numbers as numbers (DECIMAL
// keeps its digits), text as a string, dates and times as their text, NULL
// as null.
func sqlToJSON(v types.Value) (any, error) {
	switch v.Kind() {
	case types.Unknown:
		return nil, nil
	case types.JSON:
		return decodeJSON(v.Str())
	case types.Bool:
		return v.Bool(), nil
	case types.Int:
		return v.Int(), nil
	case types.Float:
		return v.Float(), nil
	case types.Decimal:
		return jsonDecimal(v.String()), nil
	case types.String, types.Bytes:
		return v.Str(), nil
	case types.Timestamp:
		return v.Time().Format("2006-01-02 15:04:05.000000"), nil
	}
	return v.String(), nil
}

func jsonResult(v any) types.Value { return types.NewJSON(jsonText(v)) }

func jsonBool(b bool) types.Value {
	if b {
		return types.NewInt(1)
	}
	return types.NewInt(0)
}

// checkJSONDocs checks the document arguments docs and coerces the rest
// (paths, modes) to text.
func checkJSONDocs(result types.Type, docs ...int) func(c *Call) error {
	return func(c *Call) error {
		isDoc := map[int]bool{}
		for _, i := range docs {
			if err := checkJSONDoc(c, i); err != nil {
				return err
			}
			isDoc[i] = true
		}
		for i := range c.Args {
			if !isDoc[i] {
				c.Args[i] = coerceKind(c.Args[i], types.TypeText)
			}
		}
		c.Typ = result
		return nil
	}
}

func checkAllJSONDocs(c *Call) error {
	for i := range c.Args {
		if err := checkJSONDoc(c, i); err != nil {
			return err
		}
	}
	c.Typ = types.TypeJSON
	return nil
}

// nullAfterDocs is nullN for a JSON function whose first docs arguments
// are documents. MySQL reads the arguments in order, so a document that
// does not parse is an error even when a later argument is NULL
// (JSON_CONTAINS('x', NULL) is 3141), and NULL when an earlier one is.
func nullAfterDocs(name string, docs int, args []Func, f func(vs []types.Value) (types.Value, error)) Func {
	return func(row types.Row, env *Env) (types.Value, error) {
		vs := make([]types.Value, len(args))
		for i, a := range args {
			v, err := a(row, env)
			if err != nil {
				return types.Null, err
			}
			if v.IsNull() {
				return types.Null, checkDocsBefore(vs[:i], docs, name)
			}
			vs[i] = v
		}
		return f(vs)
	}
}

// checkDocsBefore is the error of the first of the leading docs documents
// in vs that does not parse, stopping at a NULL one.
func checkDocsBefore(vs []types.Value, docs int, name string) error {
	for i := 0; i < docs && i < len(vs); i++ {
		if vs[i].IsNull() {
			return nil
		}
		if _, err := docArg(vs[i], name, i+1); err != nil {
			return err
		}
	}
	return nil
}

// anyNullConst tells whether one of args is a constant NULL.
func anyNullConst(args []Expr) bool {
	for _, a := range args {
		if k, ok := a.(*Const); ok && k.Value.IsNull() {
			return true
		}
	}
	return false
}

// noWildcards is MySQL's error 3149 for a path that may match several
// values where one place is needed.
func noWildcards(p jsonPath) error {
	if p.wild {
		return sqlerr.Newf(sqlerr.InvalidParameterValue, "In this situation, path expressions may not contain the * and ** tokens or an array range.")
	}
	return nil
}

func compileDocFunc(f func(doc any) types.Value) func(c *Call, args []Func) (Func, error) {
	return func(c *Call, args []Func) (Func, error) {
		name := c.Name
		return null1(args[0], func(v types.Value) (types.Value, error) {
			doc, err := docArg(v, name, 1)
			if err != nil {
				return types.Null, err
			}
			return f(doc), nil
		}), nil
	}
}

// compileDocPathFunc is a function of a document and an optional path
// without wildcards; a path that leads nowhere gives NULL.
func compileDocPathFunc(f func(doc any) types.Value) func(c *Call, args []Func) (Func, error) {
	return func(c *Call, args []Func) (Func, error) {
		name := c.Name
		fixed, err := constPaths(c.Args[1:], c.Args[:1])
		if err != nil {
			return nil, err
		}
		for _, p := range fixed {
			if p != nil {
				if err := noWildcards(*p); err != nil {
					return nil, err
				}
			}
		}
		return nullAfterDocs(name, 1, args, func(vs []types.Value) (types.Value, error) {
			doc, err := docArg(vs[0], name, 1)
			if err != nil {
				return types.Null, err
			}
			if len(vs) == 2 {
				p, err := pathArg(fixed[0], vs[1])
				if err == nil {
					err = noWildcards(p)
				}
				if err != nil {
					return types.Null, err
				}
				found := seekJSON(doc, p.legs, nil)
				if len(found) == 0 {
					return types.Null, nil
				}
				doc = found[0]
			}
			return f(doc), nil
		}), nil
	}
}

func checkJSONValid(c *Call) error {
	c.Typ = types.TypeBigInt
	return nil
}

// compileJSONValid: 1 for JSON and text that parses, 0 for other text and
// for values of other types.
func compileJSONValid(c *Call, args []Func) (Func, error) {
	return null1(args[0], func(v types.Value) (types.Value, error) {
		switch v.Kind() {
		case types.JSON:
			return jsonBool(true), nil
		case types.String, types.Bytes:
			_, err := decodeJSON(v.Str())
			return jsonBool(err == nil), nil
		}
		return jsonBool(false), nil
	}), nil
}

// jsonTypeName is JSON_TYPE's name for a value.
func jsonTypeName(v any) string {
	switch v.(type) {
	case nil:
		return "NULL"
	case bool:
		return "BOOLEAN"
	case string:
		return "STRING"
	case int64:
		return "INTEGER"
	case uint64:
		return "UNSIGNED INTEGER"
	case float64:
		return "DOUBLE"
	case jsonDecimal:
		return "DECIMAL"
	case []any:
		return "ARRAY"
	case map[string]any:
		return "OBJECT"
	}
	return "OPAQUE"
}

func jsonTypeOf(doc any) types.Value { return types.NewString(jsonTypeName(doc)) }

func jsonDepth(v any) int64 {
	d := int64(0)
	switch v := v.(type) {
	case []any:
		for _, e := range v {
			d = max(d, jsonDepth(e))
		}
	case map[string]any:
		for _, e := range v {
			d = max(d, jsonDepth(e))
		}
	}
	return d + 1
}

func jsonDepthOf(doc any) types.Value { return types.NewInt(jsonDepth(doc)) }

func jsonLengthOf(doc any) types.Value {
	switch v := doc.(type) {
	case []any:
		return types.NewInt(int64(len(v)))
	case map[string]any:
		return types.NewInt(int64(len(v)))
	}
	return types.NewInt(1)
}

func jsonKeysOf(doc any) types.Value {
	m, ok := doc.(map[string]any)
	if !ok {
		return types.Null
	}
	keys := sortedKeys(m)
	out := make([]any, len(keys))
	for i, k := range keys {
		out[i] = k
	}
	return jsonResult(out)
}

func checkJSONQuote(c *Call) error {
	if k := c.Args[0].Type().Kind; k != types.String && k != types.Unknown && k != types.Bytes {
		// MySQL: ER_INCORRECT_TYPE for a non-string argument.
		return mismatch("Incorrect type for argument 1 in function json_quote: %s", c.Args[0].Type())
	}
	c.Typ = types.TypeText
	return nil
}

func compileJSONQuote(_ *Call, args []Func) (Func, error) {
	return null1(args[0], func(v types.Value) (types.Value, error) {
		var b bytes.Buffer
		writeJSONString(&b, v.Str())
		return types.NewString(b.String()), nil
	}), nil
}

// checkJSONValues keeps the arguments as they are: each becomes a JSON
// value by its own type.
func checkJSONValues(c *Call) error {
	if c.Name == "json_object" && len(c.Args)%2 != 0 {
		return sqlerr.Newf(sqlerr.UndefinedFunction, "Incorrect parameter count in the call to native function 'json_object'")
	}
	c.Typ = types.TypeJSON
	return nil
}

// evalAll evaluates every argument, NULLs included.
func evalAll(args []Func, row types.Row, env *Env) ([]types.Value, error) {
	vs := make([]types.Value, len(args))
	for i, a := range args {
		v, err := a(row, env)
		if err != nil {
			return nil, err
		}
		vs[i] = v
	}
	return vs, nil
}

func compileJSONArray(_ *Call, args []Func) (Func, error) {
	return func(row types.Row, env *Env) (types.Value, error) {
		vs, err := evalAll(args, row, env)
		if err != nil {
			return types.Null, err
		}
		out := make([]any, len(vs))
		for i, v := range vs {
			if out[i], err = sqlToJSON(v); err != nil {
				return types.Null, err
			}
		}
		return jsonResult(out), nil
	}, nil
}

// compileJSONObject: keys are read as text (NULL is MySQL's error 3158);
// a repeated key keeps its last value, as everywhere in MySQL 8.
func compileJSONObject(_ *Call, args []Func) (Func, error) {
	return func(row types.Row, env *Env) (types.Value, error) {
		vs, err := evalAll(args, row, env)
		if err != nil {
			return types.Null, err
		}
		out := make(map[string]any, len(vs)/2)
		for i := 0; i < len(vs); i += 2 {
			if vs[i].IsNull() {
				return types.Null, invalidJSON("JSON documents may not contain NULL member names.")
			}
			var k string
			switch vs[i].Kind() {
			case types.String, types.Bytes, types.JSON:
				k = vs[i].Str()
			case types.Bool:
				// A comparison as a key is MySQL's 1 or 0.
				k = strconv.Itoa(int(vs[i].Int()))
			default:
				k = valueText(vs[i])
			}
			if out[k], err = sqlToJSON(vs[i+1]); err != nil {
				return types.Null, err
			}
		}
		return jsonResult(out), nil
	}, nil
}

// jsonNumber returns a JSON number as a float64 for comparison.
func jsonNumber(v any) (float64, bool) {
	switch v := v.(type) {
	case int64:
		return float64(v), true
	case uint64:
		return float64(v), true
	case float64:
		return v, true
	case jsonDecimal:
		f, err := strconv.ParseFloat(string(v), 64)
		return f, err == nil
	}
	return 0, false
}

// jsonEqual is equality of JSON values: numbers by value whatever their
// type, arrays element by element, objects key by key.
func jsonEqual(a, b any) bool {
	if x, ok := jsonNumber(a); ok {
		y, ok := jsonNumber(b)
		if ok && x == y {
			// Two large integers that round to the same double differ.
			ai, aInt := a.(int64)
			bi, bInt := b.(int64)
			return !(aInt && bInt) || ai == bi
		}
		return false
	}
	switch a := a.(type) {
	case nil:
		return b == nil
	case bool:
		y, ok := b.(bool)
		return ok && a == y
	case string:
		y, ok := b.(string)
		return ok && a == y
	case []any:
		y, ok := b.([]any)
		if !ok || len(a) != len(y) {
			return false
		}
		for i := range a {
			if !jsonEqual(a[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(a) != len(y) {
			return false
		}
		for k, e := range a {
			f, ok := y[k]
			if !ok || !jsonEqual(e, f) {
				return false
			}
		}
		return true
	}
	return false
}

// jsonContains is MySQL's containment: a scalar contains an equal scalar;
// an array contains an array whose every element it contains, and a
// non-array its elements contain; an object contains an object whose every
// key it has with a value that contains the candidate's.
func jsonContains(target, cand any) bool {
	switch t := target.(type) {
	case []any:
		if c, ok := cand.([]any); ok {
			for _, e := range c {
				if !jsonContains(t, e) {
					return false
				}
			}
			return true
		}
		for _, e := range t {
			if jsonContains(e, cand) {
				return true
			}
		}
		return false
	case map[string]any:
		c, ok := cand.(map[string]any)
		if !ok {
			return false
		}
		for k, cv := range c {
			tv, ok := t[k]
			if !ok || !jsonContains(tv, cv) {
				return false
			}
		}
		return true
	}
	switch cand.(type) {
	case []any, map[string]any:
		return false
	}
	// Scalars compare as MySQL compares JSON values: numbers by value
	// whatever their JSON type (MySQL's code does so, though the manual's
	// wording suggests a DOUBLE is not comparable with an INTEGER).
	return jsonEqual(target, cand)
}

func compileJSONContains(c *Call, args []Func) (Func, error) {
	fixed, err := constPaths(c.Args[2:], c.Args[:2])
	if err != nil {
		return nil, err
	}
	if len(fixed) > 0 && fixed[0] != nil {
		if err := noWildcards(*fixed[0]); err != nil {
			return nil, err
		}
	}
	return nullAfterDocs("json_contains", 2, args, func(vs []types.Value) (types.Value, error) {
		target, err := docArg(vs[0], "json_contains", 1)
		if err != nil {
			return types.Null, err
		}
		cand, err := docArg(vs[1], "json_contains", 2)
		if err != nil {
			return types.Null, err
		}
		if len(vs) == 3 {
			p, err := pathArg(fixed[0], vs[2])
			if err == nil {
				err = noWildcards(p)
			}
			if err != nil {
				return types.Null, err
			}
			found := seekJSON(target, p.legs, nil)
			if len(found) == 0 {
				return types.Null, nil
			}
			target = found[0]
		}
		return jsonBool(jsonContains(target, cand)), nil
	}), nil
}

// oneOrAll reads JSON_CONTAINS_PATH's and JSON_SEARCH's mode (MySQL's
// error 3150 otherwise).
func oneOrAll(fn string, v types.Value) (all bool, err error) {
	switch strings.ToLower(v.Str()) {
	case "one":
		return false, nil
	case "all":
		return true, nil
	}
	return false, sqlerr.Newf(sqlerr.InvalidParameterValue, "The oneOrAll argument to %s may take these values: 'one' or 'all'.", fn)
}

func compileJSONContainsPath(c *Call, args []Func) (Func, error) {
	fixed, err := constPaths(c.Args[2:], c.Args[:2])
	if err != nil {
		return nil, err
	}
	return nullAfterDocs("json_contains_path", 1, args, func(vs []types.Value) (types.Value, error) {
		doc, err := docArg(vs[0], "json_contains_path", 1)
		if err != nil {
			return types.Null, err
		}
		all, err := oneOrAll("json_contains_path", vs[1])
		if err != nil {
			return types.Null, err
		}
		for i, pv := range vs[2:] {
			p, err := pathArg(fixed[i], pv)
			if err != nil {
				return types.Null, err
			}
			found := len(seekJSON(doc, p.legs, nil)) > 0
			if found && !all {
				return jsonBool(true), nil
			}
			if !found && all {
				return jsonBool(false), nil
			}
		}
		return jsonBool(all), nil
	}), nil
}

// searchJSON appends the paths (as MySQL prints them) of the strings under
// v that match the LIKE pattern.
func searchJSON(v any, prefix []byte, pat string, esc rune, all bool, out []any) []any {
	if !all && len(out) > 0 {
		return out
	}
	switch v := v.(type) {
	case string:
		if likeMatch(v, pat, esc) {
			out = append(out, string(prefix))
		}
	case []any:
		for i, e := range v {
			out = searchJSON(e, pathIndex(prefix, i), pat, esc, all, out)
		}
	case map[string]any:
		for _, k := range sortedKeys(v) {
			out = searchJSON(v[k], pathKey(prefix, k), pat, esc, all, out)
		}
	}
	return out
}

// compileJSONSearch: JSON_SEARCH(doc, one_or_all, pattern [, escape [,
// path ...]]). The pattern is LIKE's; the escape defaults to '\' (also
// when NULL or empty); without a match (or with a NULL doc, mode or
// pattern) the result is NULL.
func compileJSONSearch(c *Call, args []Func) (Func, error) {
	var fixed []*jsonPath
	if len(c.Args) > 4 {
		var err error
		if fixed, err = constPaths(c.Args[4:], c.Args[:3]); err != nil {
			return nil, err
		}
	}
	return func(row types.Row, env *Env) (types.Value, error) {
		vs, err := evalAll(args, row, env)
		if err != nil {
			return types.Null, err
		}
		for i, v := range vs {
			if v.IsNull() && i != 3 {
				return types.Null, checkDocsBefore(vs[:i], 1, "json_search")
			}
		}
		doc, err := docArg(vs[0], "json_search", 1)
		if err != nil {
			return types.Null, err
		}
		all, err := oneOrAll("json_search", vs[1])
		if err != nil {
			return types.Null, err
		}
		esc := '\\'
		if len(vs) > 3 && !vs[3].IsNull() && vs[3].Str() != "" {
			r := []rune(vs[3].Str())
			if len(r) != 1 {
				return types.Null, sqlerr.Newf(sqlerr.InvalidParameterValue, "Incorrect arguments to ESCAPE")
			}
			esc = r[0]
		}
		var found []any
		if len(vs) <= 4 {
			found = searchJSON(doc, []byte("$"), vs[2].Str(), esc, all, nil)
		}
		for i, pv := range vs[min(4, len(vs)):] {
			p, err := pathArg(fixed[i], pv)
			if err != nil {
				return types.Null, err
			}
			// Each match of the path is searched under its own path.
			walkPath(doc, p.legs, []byte("$"), true, func(v any, path []byte) {
				found = searchJSON(v, path, vs[2].Str(), esc, all, found)
			})
		}
		found = dedupStrings(found)
		switch {
		case len(found) == 0:
			return types.Null, nil
		case len(found) == 1 || !all:
			return jsonResult(found[0]), nil
		}
		return jsonResult(found), nil
	}, nil
}

func dedupStrings(xs []any) []any {
	seen := map[any]bool{}
	out := xs[:0]
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

type modMode uint8

const (
	modSet modMode = iota
	modInsert
	modReplace
	modAppend
	modArrayInsert
)

var modNames = [...]string{"json_set", "json_insert", "json_replace", "json_array_append", "json_array_insert"}

func checkJSONModify(c *Call) error {
	if len(c.Args)%2 != 1 {
		return sqlerr.Newf(sqlerr.UndefinedFunction, "Incorrect parameter count in the call to native function '%s'", c.Name)
	}
	if err := checkJSONDoc(c, 0); err != nil {
		return err
	}
	for i := 1; i < len(c.Args); i += 2 {
		c.Args[i] = coerceKind(c.Args[i], types.TypeText)
	}
	c.Typ = types.TypeJSON
	return nil
}

// updateAt returns v with the single value at legs replaced by f(value);
// a path that leads nowhere leaves v as it is.
func updateAt(v any, legs []jsonLeg, f func(any) any) any {
	if len(legs) == 0 {
		return f(v)
	}
	l, rest := legs[0], legs[1:]
	switch l.kind {
	case legKey:
		if m, ok := v.(map[string]any); ok {
			if c, ok := m[l.key]; ok {
				m[l.key] = updateAt(c, rest, f)
			}
		}
	case legIndex:
		a, ok := v.([]any)
		if !ok {
			if l.from.resolve(1) == 0 {
				return updateAt(v, rest, f)
			}
			return v
		}
		if k := l.from.resolve(len(a)); k >= 0 && k < len(a) {
			a[k] = updateAt(a[k], rest, f)
		}
	}
	return v
}

// modifyLast applies JSON_SET, JSON_INSERT, JSON_REPLACE or
// JSON_ARRAY_INSERT's change at the last leg l of a path to its parent.
func modifyLast(parent any, l jsonLeg, val any, mode modMode) any {
	switch l.kind {
	case legKey:
		m, ok := parent.(map[string]any)
		if !ok {
			return parent
		}
		_, exists := m[l.key]
		if exists && mode != modInsert || !exists && mode != modReplace {
			m[l.key] = val
		}
		return m
	case legIndex:
		a, isArr := parent.([]any)
		if mode == modArrayInsert {
			if !isArr {
				return parent
			}
			k := max(l.from.resolve(len(a)), 0)
			if k >= len(a) {
				return append(a, val)
			}
			a = append(a, nil)
			copy(a[k+1:], a[k:])
			a[k] = val
			return a
		}
		if !isArr {
			// A non-array reads as an array of one.
			switch k := l.from.resolve(1); {
			case k == 0 && mode != modInsert:
				return val
			case k > 0 && mode != modReplace:
				return []any{parent, val}
			}
			return parent
		}
		k := l.from.resolve(len(a))
		switch {
		case k >= 0 && k < len(a) && mode != modInsert:
			a[k] = val
		case k >= len(a) && mode != modReplace:
			a = append(a, val)
		}
		return a
	}
	return parent
}

func compileJSONModify(mode modMode) func(c *Call, args []Func) (Func, error) {
	name := modNames[mode]
	checkPath := func(p jsonPath) error {
		if err := noWildcards(p); err != nil {
			return err
		}
		if mode == modArrayInsert && (len(p.legs) == 0 || p.legs[len(p.legs)-1].kind != legIndex) {
			return sqlerr.Newf(sqlerr.InvalidParameterValue, "A path expression is not a path to a cell in an array.")
		}
		return nil
	}
	return func(c *Call, args []Func) (Func, error) {
		pathExprs := make([]Expr, 0, len(c.Args)/2)
		for i := 1; i < len(c.Args); i += 2 {
			pathExprs = append(pathExprs, c.Args[i])
		}
		fixed, err := constPaths(pathExprs, c.Args[:1])
		if err != nil {
			return nil, err
		}
		for _, p := range fixed {
			if p != nil {
				if err := checkPath(*p); err != nil {
					return nil, err
				}
			}
		}
		return func(row types.Row, env *Env) (types.Value, error) {
			vs, err := evalAll(args, row, env)
			if err != nil {
				return types.Null, err
			}
			// A NULL document or path is NULL; a NULL value is null.
			for i := -1; i < len(vs); i += 2 {
				if j := max(i, 0); vs[j].IsNull() {
					return types.Null, checkDocsBefore(vs[:j], 1, name)
				}
			}
			doc, err := docArg(vs[0], name, 1)
			if err != nil {
				return types.Null, err
			}
			for i := 1; i < len(vs); i += 2 {
				p, err := pathArg(fixed[i/2], vs[i])
				if err == nil {
					err = checkPath(p)
				}
				if err != nil {
					return types.Null, err
				}
				val, err := sqlToJSON(vs[i+1])
				if err != nil {
					return types.Null, err
				}
				if mode == modAppend {
					doc = updateAt(doc, p.legs, func(t any) any {
						if a, ok := t.([]any); ok {
							return append(a, val)
						}
						return []any{t, val}
					})
					continue
				}
				if len(p.legs) == 0 {
					if mode == modSet || mode == modReplace {
						doc = val
					}
					continue
				}
				last := p.legs[len(p.legs)-1]
				doc = updateAt(doc, p.legs[:len(p.legs)-1], func(parent any) any {
					return modifyLast(parent, last, val, mode)
				})
			}
			return jsonResult(doc), nil
		}, nil
	}
}

func compileJSONRemove(c *Call, args []Func) (Func, error) {
	check := func(p jsonPath) error {
		if len(p.legs) == 0 {
			return sqlerr.Newf(sqlerr.InvalidParameterValue, "The path expression '$' is not allowed in this context.")
		}
		return noWildcards(p)
	}
	fixed, err := constPaths(c.Args[1:], c.Args[:1])
	if err != nil {
		return nil, err
	}
	for _, p := range fixed {
		if p != nil {
			if err := check(*p); err != nil {
				return nil, err
			}
		}
	}
	return nullAfterDocs("json_remove", 1, args, func(vs []types.Value) (types.Value, error) {
		doc, err := docArg(vs[0], "json_remove", 1)
		if err != nil {
			return types.Null, err
		}
		for i, pv := range vs[1:] {
			p, err := pathArg(fixed[i], pv)
			if err == nil {
				err = check(p)
			}
			if err != nil {
				return types.Null, err
			}
			last := p.legs[len(p.legs)-1]
			doc = updateAt(doc, p.legs[:len(p.legs)-1], func(parent any) any {
				switch t := parent.(type) {
				case map[string]any:
					if last.kind == legKey {
						delete(t, last.key)
					}
				case []any:
					if k := last.from.resolve(len(t)); last.kind == legIndex && k >= 0 && k < len(t) {
						return append(t[:k:k], t[k+1:]...)
					}
				}
				return parent
			})
		}
		return jsonResult(doc), nil
	}), nil
}

// mergePreserve is JSON_MERGE_PRESERVE of two values: arrays concatenate,
// objects merge (a key in both merges its values), and otherwise a
// non-array is read as an array of one.
func mergePreserve(a, b any) any {
	ma, aObj := a.(map[string]any)
	mb, bObj := b.(map[string]any)
	if aObj && bObj {
		for k, v := range mb {
			if old, ok := ma[k]; ok {
				ma[k] = mergePreserve(old, v)
			} else {
				ma[k] = v
			}
		}
		return ma
	}
	return append(asArray(a), asArray(b)...)
}

func asArray(v any) []any {
	if a, ok := v.([]any); ok {
		return a
	}
	return []any{v}
}

// mergePatch is RFC 7396's merge patch, as JSON_MERGE_PATCH applies it.
func mergePatch(target, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	t, ok := target.(map[string]any)
	if !ok {
		t = map[string]any{}
	}
	for k, v := range p {
		if v == nil {
			delete(t, k)
			continue
		}
		t[k] = mergePatch(t[k], v)
	}
	return t
}

func compileJSONMerge(merge func(a, b any) any, patch bool) func(c *Call, args []Func) (Func, error) {
	return func(c *Call, args []Func) (Func, error) {
		name := c.Name
		return func(row types.Row, env *Env) (types.Value, error) {
			vs, err := evalAll(args, row, env)
			if err != nil {
				return types.Null, err
			}
			var out any
			unknown := false
			for i, v := range vs {
				if v.IsNull() {
					if !patch {
						return types.Null, nil
					}
					// JSON_MERGE_PATCH: the result so far is unknown, but a
					// later patch that is not an object replaces it anyway.
					unknown = true
					continue
				}
				doc, err := docArg(v, name, i+1)
				if err != nil {
					return types.Null, err
				}
				_, isObj := doc.(map[string]any)
				switch {
				case i == 0:
					out = doc
				case patch && !isObj:
					out, unknown = doc, false
				case unknown:
				default:
					out = merge(out, doc)
				}
			}
			if unknown {
				return types.Null, nil
			}
			return jsonResult(out), nil
		}, nil
	}
}

// jsonOverlaps: arrays overlap when they share an element, objects when
// they share a key with equal values; a scalar next to an array is read
// as an array of one; two scalars when equal.
func jsonOverlaps(a, b any) bool {
	_, aArr := a.([]any)
	_, bArr := b.([]any)
	if aArr || bArr {
		for _, x := range asArray(a) {
			for _, y := range asArray(b) {
				if jsonEqual(x, y) {
					return true
				}
			}
		}
		return false
	}
	ma, aObj := a.(map[string]any)
	mb, bObj := b.(map[string]any)
	if aObj || bObj {
		if !aObj || !bObj {
			return false
		}
		for k, v := range ma {
			if w, ok := mb[k]; ok && jsonEqual(v, w) {
				return true
			}
		}
		return false
	}
	return jsonEqual(a, b)
}

func compileJSONOverlaps(_ *Call, args []Func) (Func, error) {
	return null2(args[0], args[1], func(x, y types.Value) (types.Value, error) {
		a, err := docArg(x, "json_overlaps", 1)
		if err != nil {
			return types.Null, err
		}
		b, err := docArg(y, "json_overlaps", 2)
		if err != nil {
			return types.Null, err
		}
		return jsonBool(jsonOverlaps(a, b)), nil
	}), nil
}

func checkJSONMemberOf(c *Call) error {
	if err := checkJSONDoc(c, 1); err != nil {
		return err
	}
	c.Typ = types.TypeBigInt
	return nil
}

// compileJSONMemberOf: value MEMBER OF (array) is 1 when the value (a SQL
// value converted as JSON_ARRAY converts it) is an element of the array,
// or equals it when it is not an array.
func compileJSONMemberOf(_ *Call, args []Func) (Func, error) {
	return null2(args[0], args[1], func(x, y types.Value) (types.Value, error) {
		v, err := sqlToJSON(x)
		if err != nil {
			return types.Null, err
		}
		arr, err := docArg(y, "member of", 2)
		if err != nil {
			return types.Null, err
		}
		for _, e := range asArray(arr) {
			if jsonEqual(v, e) {
				return jsonBool(true), nil
			}
		}
		return jsonBool(false), nil
	}), nil
}
