package expr

import (
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
	"golang.org/x/text/collate"
	"golang.org/x/text/language"
	"golang.org/x/text/unicode/norm"
)

// Strings compare binary by default (utf8mb4_bin, TiDB's default, and
// what Postgres's "C" collation does): cheap, and a view's groups do not
// depend on a collation table. `expr COLLATE name` asks for one of MySQL's
// Unicode collations instead; comparisons, IN, BETWEEN, LIKE, STRCMP,
// FIELD and the REGEXP functions whose argument carries it honour it.
// The orders come from golang.org/x/text/collate (the Go project's
// implementation of the Unicode Collation Algorithm over CLDR's root
// order, close to MySQL's UCA 9.0.0 tables); utf8mb4_general_ci and
// utf8mb4_unicode_ci, which MySQL builds from older tables, are read as
// the same accent- and case-insensitive order with trailing spaces
// ignored (their PAD SPACE).

// collation is a comparison of strings other than the binary one.
type collation struct {
	name     string
	padSpace bool // trailing spaces do not count (MySQL's PAD SPACE)
	// insensitive: accents and case do not count (primary strength); LIKE
	// and the REGEXP functions fold characters instead of comparing them.
	insensitive bool
	pool        sync.Pool // *collate.Collator, which keeps state per call
}

// binaryCollations are the names that mean the default comparison.
var binaryCollations = map[string]bool{"utf8mb4_bin": true, "binary": true, "utf8_bin": true}

var collations = func() map[string]*collation {
	m := map[string]*collation{}
	add := func(name string, padSpace, insensitive bool) {
		c := &collation{name: name, padSpace: padSpace, insensitive: insensitive}
		c.pool.New = func() any {
			if insensitive {
				return collate.New(language.Und, collate.Loose)
			}
			return collate.New(language.Und)
		}
		m[name] = c
	}
	add("utf8mb4_0900_ai_ci", false, true)
	add("utf8mb4_0900_as_cs", false, false)
	add("utf8mb4_general_ci", true, true)
	add("utf8mb4_unicode_ci", true, true)
	add("utf8mb4_unicode_520_ci", true, true)
	return m
}()

// CheckCollation validates a COLLATE name (any case) and returns it in
// lower case.
func CheckCollation(name string) (string, error) {
	n := strings.ToLower(name)
	if _, ok := collations[n]; ok || binaryCollations[n] {
		return n, nil
	}
	return "", sqlerr.Newf(sqlerr.UndefinedObject, "collation %q is not supported", name).
		WithHint("supported: utf8mb4_0900_ai_ci, utf8mb4_0900_as_cs, utf8mb4_general_ci, utf8mb4_unicode_ci, utf8mb4_bin, binary")
}

func (c *collation) compare(a, b types.Value) int {
	x, y := a.Str(), b.Str()
	if c.padSpace {
		x, y = strings.TrimRight(x, " "), strings.TrimRight(y, " ")
	}
	coll := c.pool.Get().(*collate.Collator)
	r := coll.CompareString(x, y)
	c.pool.Put(coll)
	return r
}

// fold maps s to what LIKE and the REGEXP functions match under an
// insensitive collation: each character to its lower-case base letter
// (accents dropped), one character for one, so that _ still counts
// characters. ASCII, the usual case, needs no decomposition.
func foldString(s string) string {
	return strings.Map(foldRune, s)
}

func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}
	var buf [utf8.UTFMax]byte
	n := utf8.EncodeRune(buf[:], r)
	var out [32]byte
	d := norm.NFD.Append(out[:0], buf[:n]...)
	base, _ := utf8.DecodeRune(d)
	return unicode.ToLower(base)
}

// collationName returns the collation e carries explicitly (a COLLATE
// call), or "".
func collationName(e Expr) string {
	if c, ok := e.(*Call); ok && c.Name == "collate" {
		return c.Args[1].(*Const).Value.Str()
	}
	return ""
}

// checkCollations refuses arguments with two different explicit
// collations, as MySQL does ("Illegal mix of collations").
func checkCollations(args []Expr) error {
	first := ""
	for _, a := range args {
		n := collationName(a)
		switch {
		case n == "":
		case first == "":
			first = n
		case n != first:
			return sqlerr.Newf(sqlerr.CollationMismatch, "illegal mix of collations (%s) and (%s)", first, n)
		}
	}
	return nil
}

// collationOfArgs returns the non-binary collation the arguments carry,
// nil for the binary default.
func collationOfArgs(args []Expr) *collation {
	for _, a := range args {
		if n := collationName(a); n != "" {
			return collations[n]
		}
	}
	return nil
}

// registerCollate registers the node `expr COLLATE name`: the value of
// expr as text, unchanged; it tells the operators above it how to compare.
func registerCollate() {
	register("collate", &builtin{minArgs: 2, maxArgs: 2, check: checkCollate, compile: compileCollate})
	register("collation_key", &builtin{minArgs: 1, maxArgs: 1, check: checkCollationKey, compile: compileCollationKey})
}

func checkCollate(c *Call) error {
	k, ok := c.Args[1].(*Const)
	if !ok || k.Value.Kind() != types.String {
		return mismatch("COLLATE takes a collation name")
	}
	if _, err := CheckCollation(k.Value.Str()); err != nil {
		return err
	}
	if c.Args[0].Type().Kind != types.Bytes {
		c.Args[0] = coerceKind(c.Args[0], types.TypeText)
	}
	c.Typ = c.Args[0].Type()
	return nil
}

func compileCollate(_ *Call, args []Func) (Func, error) { return args[0], nil }

// Collated reports whether e is `x COLLATE name` with a collation other
// than the binary default, whose order a sort must take from
// CollationKey.
func Collated(e Expr) bool {
	return collations[collationName(e)] != nil
}

// CollationKey returns the sort key of e, a Collated expression: a binary
// string whose byte order is the collation's order, so that ORDER BY sorts
// by it as it sorts any value.
func CollationKey(e Expr, pos int) (Expr, error) {
	return NewCall("collation_key", pos, e)
}

func checkCollationKey(c *Call) error {
	if !Collated(c.Args[0]) {
		return mismatch("collation_key takes a COLLATE expression")
	}
	c.Typ = types.TypeBytes
	return nil
}

func compileCollationKey(c *Call, args []Func) (Func, error) {
	coll := collations[collationName(c.Args[0])]
	return null1(args[0], func(v types.Value) (types.Value, error) {
		s := v.Str()
		if coll.padSpace {
			s = strings.TrimRight(s, " ")
		}
		k := coll.pool.Get().(*collate.Collator)
		var buf collate.Buffer
		key := k.KeyFromString(&buf, s)
		coll.pool.Put(k)
		return types.NewBytes(key), nil
	}), nil
}
