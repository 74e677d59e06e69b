package expr

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// JSON values as MySQL 8 holds them. A decoded value is one of: nil (null),
// bool, string, int64, uint64, float64 (DOUBLE), jsonDecimal (a DECIMAL
// that came from SQL and keeps its digits), []any, map[string]any. Text
// documents are decoded with encoding/json (the standard library: well
// kept, and it already does what MySQL's parser does with duplicate keys,
// the last one wins, and with surrogate pairs); numbers are then typed as
// MySQL types them: an integer that fits int64 or uint64 stays an integer,
// anything else is a DOUBLE.
type jsonDecimal string

func invalidJSON(format string, args ...any) error {
	return sqlerr.Newf(sqlerr.InvalidJSONText, format, args...)
}

// decodeJSON parses a JSON document (error 22032 "Invalid JSON text").
func decodeJSON(s string) (any, error) {
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, invalidJSON("Invalid JSON text: The document is empty.")
		}
		return nil, invalidJSON("Invalid JSON text: %v", err)
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, invalidJSON("Invalid JSON text: The document root must not be followed by other values.")
	}
	if badSurrogate(s) {
		return nil, invalidJSON("Invalid JSON text: The surrogate pair in string is invalid.")
	}
	return typeNumbers(v, 1)
}

// badSurrogate reports a \uXXXX escape of half a surrogate pair without
// its other half, which MySQL's parser rejects (encoding/json would read
// it as U+FFFD).
func badSurrogate(s string) bool {
	hex4 := func(i int) (int, bool) {
		if i+6 > len(s) || s[i] != '\\' || s[i+1] != 'u' {
			return 0, false
		}
		n, err := strconv.ParseUint(s[i+2:i+6], 16, 16)
		return int(n), err == nil
	}
	for i := strings.Index(s, `\u`); i >= 0 && i < len(s); {
		if i > 0 && backslashesBefore(s, i)%2 == 1 {
			// An escaped backslash followed by 'u': not an escape.
			i = nextEscape(s, i+2)
			continue
		}
		c, ok := hex4(i)
		switch {
		case !ok:
		case c >= 0xD800 && c <= 0xDBFF:
			lo, ok := hex4(i + 6)
			if !ok || lo < 0xDC00 || lo > 0xDFFF {
				return true
			}
			i += 6
		case c >= 0xDC00 && c <= 0xDFFF:
			return true
		}
		i = nextEscape(s, i+2)
	}
	return false
}

func nextEscape(s string, from int) int {
	if from >= len(s) {
		return -1
	}
	k := strings.Index(s[from:], `\u`)
	if k < 0 {
		return -1
	}
	return from + k
}

// backslashesBefore counts the backslashes just before s[i].
func backslashesBefore(s string, i int) int {
	n := 0
	for i > 0 && s[i-1] == '\\' {
		n++
		i--
	}
	return n
}

// maxJSONDepth is MySQL's limit on nesting (error 3157).
const maxJSONDepth = 100

// typeNumbers replaces the decoder's json.Number by MySQL's number types
// and enforces MySQL's depth limit.
func typeNumbers(v any, depth int) (any, error) {
	if depth > maxJSONDepth {
		return nil, invalidJSON("The JSON document exceeds the maximum depth of %d.", maxJSONDepth)
	}
	switch v := v.(type) {
	case json.Number:
		s := string(v)
		if !strings.ContainsAny(s, ".eE") {
			if i, err := strconv.ParseInt(s, 10, 64); err == nil {
				return i, nil
			}
			if u, err := strconv.ParseUint(s, 10, 64); err == nil {
				return u, nil
			}
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil && (math.IsInf(f, 0) || math.IsNaN(f)) {
			return nil, invalidJSON("Invalid JSON text: Number too big to be stored in double: %s", s)
		}
		return f, nil
	case []any:
		for i, e := range v {
			t, err := typeNumbers(e, depth+1)
			if err != nil {
				return nil, err
			}
			v[i] = t
		}
	case map[string]any:
		for k, e := range v {
			t, err := typeNumbers(e, depth+1)
			if err != nil {
				return nil, err
			}
			v[k] = t
		}
	}
	return v, nil
}

// jsonKeyLess is MySQL 8's order of object keys: shorter first, then
// bytewise. Its binary JSON stores them so and prints them in that order.
func jsonKeyLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return jsonKeyLess(keys[i], keys[j]) })
	return keys
}

// writeJSON renders v as MySQL 8 prints a JSON value: ", " between
// elements, ": " after keys, keys in MySQL's order, doubles as MySQL prints
// them (with ".0" when integral), strings with only the escapes MySQL uses.
// JSON_ARRAYAGG and JSON_OBJECTAGG render their results with it too.
func writeJSON(b *bytes.Buffer, v any) {
	switch v := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		if v {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case string:
		writeJSONString(b, v)
	case int64:
		b.WriteString(strconv.FormatInt(v, 10))
	case uint64:
		b.WriteString(strconv.FormatUint(v, 10))
	case float64:
		s := mysqlDoubleText(v)
		b.WriteString(s)
		if !strings.ContainsAny(s, ".e") {
			b.WriteString(".0")
		}
	case jsonDecimal:
		b.WriteString(string(v))
	case json.Number:
		// Exact digits from elsewhere, printed as they are (sqlToJSON
		// gives jsonDecimal or int64 instead).
		b.WriteString(string(v))
	case map[string]any:
		b.WriteByte('{')
		for i, k := range sortedKeys(v) {
			if i > 0 {
				b.WriteString(", ")
			}
			writeJSONString(b, k)
			b.WriteString(": ")
			writeJSON(b, v[k])
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteString(", ")
			}
			writeJSON(b, e)
		}
		b.WriteByte(']')
	}
}

// writeJSONString quotes s as MySQL does: \" \\ \b \f \n \r \t, other
// control characters as \u00XX, everything else (non-ASCII, '/', '<') as is.
func writeJSONString(b *bytes.Buffer, s string) {
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if c < 0x20 {
				b.WriteString(`\u00`)
				b.WriteByte(hex[c>>4])
				b.WriteByte(hex[c&15])
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('"')
}

func jsonText(v any) string {
	var b bytes.Buffer
	writeJSON(&b, v)
	return b.String()
}

// mysqlDoubleText prints a double as MySQL does (my_gcvt with its widest
// field): the shortest digits that read back, in fixed notation unless the
// decimal exponent is below -14 or above 15, exponents without '+'.
func mysqlDoubleText(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case f == 0:
		if math.Signbit(f) {
			return "-0"
		}
		return "0"
	}
	e := strconv.FormatFloat(f, 'e', -1, 64)
	neg := e[0] == '-'
	if neg {
		e = e[1:]
	}
	mant, exp, _ := strings.Cut(e, "e")
	digits := strings.Replace(mant, ".", "", 1)
	x, _ := strconv.Atoi(exp)
	decpt := x + 1
	var out strings.Builder
	if neg {
		out.WriteByte('-')
	}
	n := len(digits)
	switch {
	case decpt < -14 || (decpt > 15 && n <= decpt):
		out.WriteByte(digits[0])
		if n > 1 {
			out.WriteByte('.')
			out.WriteString(digits[1:])
		}
		out.WriteByte('e')
		out.WriteString(strconv.Itoa(x))
	case decpt <= 0:
		out.WriteString("0.")
		out.WriteString(strings.Repeat("0", -decpt))
		out.WriteString(digits)
	case decpt < n:
		out.WriteString(digits[:decpt])
		out.WriteByte('.')
		out.WriteString(digits[decpt:])
	default:
		out.WriteString(digits)
		out.WriteString(strings.Repeat("0", decpt-n))
	}
	return out.String()
}

// jsonStep is one leg of a simple JSON path, the kind the scanner
// (jsonscan.go) follows without decoding: a member name or an array index.
type jsonStep struct {
	key   string
	index int
	isKey bool
}

type legKind uint8

const (
	legKey       legKind = iota // .name
	legIndex                    // [n], [last], [last-n]
	legRange                    // [m to n]
	legKeyWild                  // .*
	legIndexWild                // [*]
	legEllipsis                 // **
)

// arrayPos is an array position in a path: n, or last-n when fromLast.
type arrayPos struct {
	n        int
	fromLast bool
}

func (p arrayPos) resolve(length int) int {
	if p.fromLast {
		return length - 1 - p.n
	}
	return p.n
}

type jsonLeg struct {
	kind     legKind
	key      string
	from, to arrayPos
}

// jsonPath is a parsed MySQL 8 path: $ then legs.
type jsonPath struct {
	legs []jsonLeg
	// wild: the path may match several values (*, **, a range).
	wild bool
}

func (p jsonPath) hasEllipsis() bool {
	for _, l := range p.legs {
		if l.kind == legEllipsis {
			return true
		}
	}
	return false
}

// steps returns the path as scanner steps when it has only names and
// plain indexes.
func (p jsonPath) steps() ([]jsonStep, bool) {
	out := make([]jsonStep, 0, len(p.legs))
	for _, l := range p.legs {
		switch {
		case l.kind == legKey:
			out = append(out, jsonStep{key: l.key, isKey: true})
		case l.kind == legIndex && !l.from.fromLast:
			out = append(out, jsonStep{index: l.from.n})
		default:
			return nil, false
		}
	}
	return out, true
}

func badPath(pos int) error {
	return sqlerr.Newf(sqlerr.SyntaxError, "Invalid JSON path expression. The error is around character position %d.", pos)
}

func isIdentByte(c byte, first bool) bool {
	return c == '_' || c == '$' || c >= 0x80 || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || !first && c >= '0' && c <= '9'
}

// parseJSONPath reads MySQL 8's path language: $ followed by .name,
// ."quoted name", .*, [n], [last], [last-n], [m to n], [*] and ** legs.
// Errors are 42601 with MySQL's message (MySQL: 3143, SQLSTATE 42000).
func parseJSONPath(s string) (jsonPath, error) {
	var p jsonPath
	i := skipSpace(s, 0)
	if i >= len(s) || s[i] != '$' {
		return p, badPath(i + 1)
	}
	i++
	for {
		i = skipSpace(s, i)
		if i >= len(s) {
			break
		}
		switch s[i] {
		case '.':
			i = skipSpace(s, i+1)
			switch {
			case i >= len(s):
				return p, badPath(i)
			case s[i] == '*':
				p.legs = append(p.legs, jsonLeg{kind: legKeyWild})
				p.wild = true
				i++
			case s[i] == '"':
				end, ok := skipString(s, i)
				if !ok {
					return p, badPath(len(s))
				}
				key, err := unquoteJSONString(s[i:end])
				if err != nil {
					return p, badPath(i + 1)
				}
				p.legs = append(p.legs, jsonLeg{kind: legKey, key: key})
				i = end
			default:
				start := i
				for i < len(s) && isIdentByte(s[i], i == start) {
					i++
				}
				if i == start {
					return p, badPath(i + 1)
				}
				p.legs = append(p.legs, jsonLeg{kind: legKey, key: s[start:i]})
			}
		case '[':
			i = skipSpace(s, i+1)
			if i < len(s) && s[i] == '*' {
				i = skipSpace(s, i+1)
				if i >= len(s) || s[i] != ']' {
					return p, badPath(i + 1)
				}
				p.legs = append(p.legs, jsonLeg{kind: legIndexWild})
				p.wild = true
				i++
				continue
			}
			from, next, ok := parseArrayPos(s, i)
			if !ok {
				return p, badPath(i + 1)
			}
			i = skipSpace(s, next)
			leg := jsonLeg{kind: legIndex, from: from}
			if strings.HasPrefix(s[i:], "to") && i+2 < len(s) && (s[i+2] == ' ' || s[i+2] == '\t') {
				to, next, ok := parseArrayPos(s, skipSpace(s, i+2))
				if !ok || badRange(from, to) {
					return p, badPath(i + 1)
				}
				leg = jsonLeg{kind: legRange, from: from, to: to}
				p.wild = true
				i = skipSpace(s, next)
			}
			if i >= len(s) || s[i] != ']' {
				return p, badPath(i + 1)
			}
			p.legs = append(p.legs, leg)
			i++
		case '*':
			if i+1 >= len(s) || s[i+1] != '*' {
				return p, badPath(i + 1)
			}
			p.legs = append(p.legs, jsonLeg{kind: legEllipsis})
			p.wild = true
			i += 2
		default:
			return p, badPath(i + 1)
		}
	}
	if n := len(p.legs); n > 0 && p.legs[n-1].kind == legEllipsis {
		// MySQL: a path may not end in **.
		return p, badPath(len(s))
	}
	return p, nil
}

// badRange reports a range MySQL rejects when parsing: [3 to 1],
// [last-1 to last-3].
func badRange(from, to arrayPos) bool {
	switch {
	case from.fromLast != to.fromLast:
		return false
	case from.fromLast:
		return from.n < to.n
	}
	return from.n > to.n
}

// parseArrayPos reads n, last or last-n at s[i].
func parseArrayPos(s string, i int) (arrayPos, int, bool) {
	var p arrayPos
	if strings.HasPrefix(s[i:], "last") {
		p.fromLast = true
		i = skipSpace(s, i+4)
		if i >= len(s) || s[i] != '-' {
			return p, i, true
		}
		i = skipSpace(s, i+1)
	}
	start := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == start {
		return p, i, false
	}
	n, err := strconv.Atoi(s[start:i])
	if err != nil || n > math.MaxUint32 {
		return p, i, false
	}
	p.n = n
	return p, i, true
}

// walkPath calls fn with every value at legs under v, in document order
// (objects in MySQL's key order). With paths, fn also gets the concrete
// path of each value as MySQL prints paths ($, .key or ."key", [n]), path
// being that of v; without, it gets nil and nothing is built.
func walkPath(v any, legs []jsonLeg, path []byte, paths bool, fn func(v any, path []byte)) {
	if len(legs) == 0 {
		fn(v, path)
		return
	}
	key := func(k string) []byte {
		if !paths {
			return nil
		}
		return pathKey(path, k)
	}
	idx := func(i int) []byte {
		if !paths {
			return nil
		}
		return pathIndex(path, i)
	}
	l, rest := legs[0], legs[1:]
	switch l.kind {
	case legKey:
		if m, ok := v.(map[string]any); ok {
			if c, ok := m[l.key]; ok {
				walkPath(c, rest, key(l.key), paths, fn)
			}
		}
	case legKeyWild:
		if m, ok := v.(map[string]any); ok {
			for _, k := range sortedKeys(m) {
				walkPath(m[k], rest, key(k), paths, fn)
			}
		}
	case legIndexWild:
		if a, ok := v.([]any); ok {
			for i, c := range a {
				walkPath(c, rest, idx(i), paths, fn)
			}
		}
	case legIndex, legRange:
		a, isArr := v.([]any)
		if !isArr {
			// MySQL 8 reads a non-array as an array of one (auto-wrapping);
			// its one cell is the value itself, at the same path.
			a = []any{v}
		}
		lo := l.from.resolve(len(a))
		hi := lo
		if l.kind == legRange {
			hi = min(l.to.resolve(len(a)), len(a)-1)
			lo = max(lo, 0)
		}
		for k := lo; k <= hi; k++ {
			if k < 0 || k >= len(a) {
				continue
			}
			p := path
			if isArr {
				p = idx(k)
			}
			walkPath(a[k], rest, p, paths, fn)
		}
	case legEllipsis:
		walkPath(v, rest, path, paths, fn)
		switch c := v.(type) {
		case map[string]any:
			for _, k := range sortedKeys(c) {
				walkPath(c[k], legs, key(k), paths, fn)
			}
		case []any:
			for i, e := range c {
				walkPath(e, legs, idx(i), paths, fn)
			}
		}
	}
}

// pathKey is path followed by the member k, as MySQL prints it: bare when
// k is an identifier, quoted otherwise.
func pathKey(path []byte, k string) []byte {
	ident := k != ""
	for i := 0; i < len(k); i++ {
		if !isIdentByte(k[i], i == 0) {
			ident = false
			break
		}
	}
	b := bytes.NewBuffer(append(path[:len(path):len(path)], '.'))
	if ident {
		b.WriteString(k)
	} else {
		writeJSONString(b, k)
	}
	return b.Bytes()
}

// pathIndex is path followed by the cell [i].
func pathIndex(path []byte, i int) []byte {
	return append(append(append(path[:len(path):len(path)], '['), strconv.Itoa(i)...), ']')
}

// seekJSON appends to out every value at legs under v.
func seekJSON(v any, legs []jsonLeg, out []any) []any {
	walkPath(v, legs, nil, false, func(x any, _ []byte) { out = append(out, x) })
	return out
}

// extractJSON is JSON_EXTRACT over a decoded document: one value for one
// path without wildcards, else an array of every match; nil, false when
// nothing matched.
func extractJSON(doc any, paths []jsonPath) (any, bool) {
	var found []any
	for _, p := range paths {
		if !p.hasEllipsis() {
			found = seekJSON(doc, p.legs, found)
			continue
		}
		// ** reaches a value by several routes (a scalar is also its own
		// [0]); MySQL reports each value once.
		seen := map[string]bool{}
		walkPath(doc, p.legs, []byte("$"), true, func(v any, path []byte) {
			if !seen[string(path)] {
				seen[string(path)] = true
				found = append(found, v)
			}
		})
	}
	switch {
	case len(found) == 0:
		return nil, false
	case len(paths) == 1 && !paths[0].wild:
		return found[0], true
	}
	return found, true
}

func registerJSON() {
	register("json_extract", &builtin{minArgs: 2, maxArgs: -1, check: checkJSONExtract, compile: compileJSONExtract})
	register("json_unquote", &builtin{minArgs: 1, maxArgs: 1, check: checkJSONUnquote, compile: compileJSONUnquote})
	registerJSONFuncs()
}

// checkJSONDoc checks that argument i is one MySQL reads as a JSON
// document: JSON, or text to parse. Other types are MySQL's error 3146.
func checkJSONDoc(c *Call, i int) error {
	switch c.Args[i].Type().Kind {
	case types.JSON, types.String, types.Bytes, types.Unknown:
		return nil
	}
	return invalidJSON("Invalid data type for JSON data in argument %d to function %s; a JSON string or JSON type is required.", i+1, c.Name)
}

func checkJSONExtract(c *Call) error {
	if err := checkJSONDoc(c, 0); err != nil {
		return err
	}
	for i := 1; i < len(c.Args); i++ {
		c.Args[i] = coerceKind(c.Args[i], types.TypeText)
	}
	c.Typ = types.TypeJSON
	return nil
}

// checkJSONUnquote takes JSON or text; MySQL rejects other types
// (ER_INCORRECT_TYPE).
func checkJSONUnquote(c *Call) error {
	switch c.Args[0].Type().Kind {
	case types.JSON, types.String, types.Bytes:
	case types.Unknown:
		c.Args[0] = coerceKind(c.Args[0], types.TypeText)
	default:
		return mismatch("Incorrect type for argument 1 in function json_unquote: %s", c.Args[0].Type())
	}
	c.Typ = types.TypeText
	return nil
}

// docArg decodes argument n (1-based) of function fn, a JSON document.
func docArg(v types.Value, fn string, n int) (any, error) {
	doc, err := decodeJSON(v.Str())
	if err != nil {
		e := sqlerr.Flatten(err)
		msg := strings.TrimPrefix(e.Message, "Invalid JSON text: ")
		return nil, invalidJSON("Invalid JSON text in argument %d to function %s: %q.", n, fn, msg)
	}
	return doc, nil
}

// constPaths parses the constant path arguments at bind time (nil entries
// for the others), so that a bad constant path fails the statement early.
// MySQL reads the arguments before the paths (the document first) and
// returns NULL for a NULL one without looking at the paths, so when one
// of before is a constant NULL nothing is parsed here.
func constPaths(args, before []Expr) ([]*jsonPath, error) {
	out := make([]*jsonPath, len(args))
	if anyNullConst(before) {
		return out, nil
	}
	for i, a := range args {
		if k, ok := a.(*Const); ok && !k.Value.IsNull() {
			p, err := parseJSONPath(k.Value.Str())
			if err != nil {
				return nil, err
			}
			out[i] = &p
		}
	}
	return out, nil
}

// pathArg is the parsed path of a path argument: the constant one, or v's.
func pathArg(fixed *jsonPath, v types.Value) (jsonPath, error) {
	if fixed != nil {
		return *fixed, nil
	}
	return parseJSONPath(v.Str())
}

func compileJSONExtract(c *Call, args []Func) (Func, error) {
	fixed, err := constPaths(c.Args[1:], c.Args[:1])
	if err != nil {
		return nil, err
	}
	if len(args) == 2 && fixed[0] != nil && c.Args[0].Type().Kind == types.JSON {
		if steps, ok := fixed[0].steps(); ok {
			return compileScannedExtract(args, steps), nil
		}
	}
	return nullAfterDocs("json_extract", 1, args, func(vs []types.Value) (types.Value, error) {
		doc, err := docArg(vs[0], "json_extract", 1)
		if err != nil {
			return types.Null, err
		}
		paths := make([]jsonPath, len(vs)-1)
		for i, p := range vs[1:] {
			if paths[i], err = pathArg(fixed[i], p); err != nil {
				return types.Null, err
			}
		}
		v, ok := extractJSON(doc, paths)
		if !ok {
			return types.Null, nil
		}
		return types.NewJSON(jsonText(v)), nil
	}), nil
}

// compileScannedExtract is the common case, doc -> '$.path' over a JSON
// column with a simple path: scan the text for the value instead of
// decoding the document. JSON values are valid by construction (they were
// checked on the way in).
func compileScannedExtract(args []Func, steps []jsonStep) Func {
	return null2(args[0], args[1], func(doc, _ types.Value) (types.Value, error) {
		raw, found, ok := scanJSONPath(doc.Str(), steps)
		switch {
		case !ok:
			return extractDecoded(doc.Str(), steps)
		case !found:
			return types.Null, nil
		case isPlainScalar(raw) || plainJSONString(raw):
			return types.NewJSON(raw), nil
		}
		v, err := decodeJSON(raw)
		if err != nil {
			return types.Null, err
		}
		return types.NewJSON(jsonText(v)), nil
	})
}

// extractDecoded is JSON_EXTRACT of one simple path by decoding the
// document.
func extractDecoded(text string, steps []jsonStep) (types.Value, error) {
	doc, err := decodeJSON(text)
	if err != nil {
		return types.Null, err
	}
	legs := make([]jsonLeg, len(steps))
	for i, st := range steps {
		if st.isKey {
			legs[i] = jsonLeg{kind: legKey, key: st.key}
		} else {
			legs[i] = jsonLeg{kind: legIndex, from: arrayPos{n: st.index}}
		}
	}
	v, ok := extractJSON(doc, []jsonPath{{legs: legs}})
	if !ok {
		return types.Null, nil
	}
	return types.NewJSON(jsonText(v)), nil
}

// compileJSONUnquote is MySQL 8's JSON_UNQUOTE: of a JSON string its
// text, of other JSON its text as printed; of a string that starts and
// ends with '"' the string it spells as a JSON string literal (not one:
// 22032); of any other string ('"a' too) the string itself.
func compileJSONUnquote(c *Call, args []Func) (Func, error) {
	isJSON := c.Args[0].Type().Kind == types.JSON
	return null1(args[0], func(v types.Value) (types.Value, error) {
		s := v.Str()
		if len(s) < 2 || s[0] != '"' || !isJSON && s[len(s)-1] != '"' {
			return types.NewString(s), nil
		}
		if plainJSONString(s) && s[len(s)-1] == '"' {
			return types.NewString(s[1 : len(s)-1]), nil
		}
		out, err := unquoteJSONString(s)
		if err != nil {
			return types.Null, invalidJSON("Invalid JSON text in argument 1 to function json_unquote: %q.", err.Error())
		}
		return types.NewString(out), nil
	}), nil
}

// unquoteJSONString reads a JSON string literal (the whole of s): escapes
// \" \\ \/ \b \f \n \r \t and \uXXXX with surrogate pairs.
func unquoteJSONString(s string) (string, error) {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return "", errors.New("Missing a closing quotation mark in string")
	}
	var out string
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		return "", errors.New("Invalid escape or character in string")
	}
	if badSurrogate(s) {
		return "", errors.New("The surrogate pair in string is invalid")
	}
	return out, nil
}
