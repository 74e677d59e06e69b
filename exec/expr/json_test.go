package expr

import (
	"strings"
	"testing"

	"github.com/streamsql/streamsql/sql/sqlerr"
)

// TestJSONText_MySQLForm: documents print as MySQL 8 prints them (answers
// from the MySQL 8 manual's examples and MySQL's printing rules).
func TestJSONText_MySQLForm(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`{"a":1,"b":[1,2]}`, `{"a": 1, "b": [1, 2]}`},
		// Keys by length, then bytewise; the last duplicate wins.
		{`{"bb":1,"a":2,"c":3,"B":4}`, `{"B": 4, "a": 2, "c": 3, "bb": 1}`},
		{`{"x":1,"x":2}`, `{"x": 2}`},
		// Doubles as MySQL prints them, integral ones with ".0".
		{`[2.50, 1e3, 1e15, 1e14, 1.5e-5, 1e-16, -0.25]`, `[2.5, 1000.0, 1e15, 100000000000000.0, 0.000015, 1e-16, -0.25]`},
		{`[9223372036854775807, 18446744073709551615, 18446744073709551616]`, `[9223372036854775807, 18446744073709551615, 1.8446744073709552e19]`},
		// Only MySQL's escapes: '/', '<' and non-ASCII stay as they are.
		{`"a/b<c>\u00e9\n\u0001\"\\"`, `"a/b<c>é\n\u0001\"\\"`},
		{`"\ud83d\ude00"`, `"😀"`},
		// An escaped backslash before 'u' is no escape.
		{`"\\ud83d"`, `"\\ud83d"`},
		{` [ ] `, `[]`},
		{`{}`, `{}`},
	} {
		v, err := decodeJSON(c.in)
		if err != nil {
			t.Fatalf("%s: %v", c.in, err)
		}
		if got := jsonText(v); got != c.want {
			t.Errorf("%s: got %s, want %s", c.in, got, c.want)
		}
	}
	deep := strings.Repeat("[", 101) + strings.Repeat("]", 101)
	if _, err := decodeJSON(deep[1 : len(deep)-1]); err != nil {
		t.Errorf("depth 100: %v", err)
	}
	for _, bad := range []string{``, `{`, `[1,]`, `1 2`, `1]`, `{"a" 1}`, `'a'`, `1e999`, deep, `"\ud83d"`, `"\ude00x"`, `["\ud83dx"]`, `"\ud83d\u0041"`} {
		if _, err := decodeJSON(bad); err == nil {
			t.Errorf("%q: decoded", bad)
		}
	}
}

// TestParseJSONPath: MySQL 8's path language; the bad ones fail with
// 42601 (MySQL 3143).
func TestParseJSONPath(t *testing.T) {
	for _, c := range []struct {
		path     string
		legs     int
		wild, ok bool
	}{
		{"$", 0, false, true},
		{" $ . a [ 1 ] ", 2, false, true},
		{`$."a b".c`, 2, false, true},
		{"$[last]", 1, false, true},
		{"$[last - 2]", 1, false, true},
		{"$[1 to 3]", 1, true, true},
		{"$[last-3 to last-1]", 1, true, true},
		{"$.*", 1, true, true},
		{"$[*]", 1, true, true},
		{"$**.b", 2, true, true},
		{"$.é_1$", 1, false, true},
		{"", 0, false, false},
		{"a", 0, false, false},
		{"$a", 0, false, false},
		{"$.", 0, false, false},
		{"$.1a", 0, false, false},
		{"$[", 0, false, false},
		{"$[-1]", 0, false, false},
		{"$[a]", 0, false, false},
		{"$[3 to 1]", 0, false, false},
		{"$[last-1 to last-3]", 0, false, false},
		{"$**", 0, false, false},
		{"$*", 0, false, false},
		{`$."a`, 0, false, false},
	} {
		p, err := parseJSONPath(c.path)
		if (err == nil) != c.ok {
			t.Errorf("%q: err %v", c.path, err)
			continue
		}
		if err != nil {
			if e, ok := err.(*sqlerr.Error); !ok || e.Code != sqlerr.SyntaxError {
				t.Errorf("%q: %v, want 42601", c.path, err)
			}
			continue
		}
		if len(p.legs) != c.legs || p.wild != c.wild {
			t.Errorf("%q: %d legs wild %v, want %d %v", c.path, len(p.legs), p.wild, c.legs, c.wild)
		}
	}
}

// TestMySQLDoubleText: my_gcvt's choice of notation, worked out from its
// rule (fixed unless the decimal exponent is below -14, or above 15 with
// no fraction digits).
func TestMySQLDoubleText(t *testing.T) {
	for _, c := range []struct {
		f    float64
		want string
	}{
		{1, "1"}, {-2.5, "-2.5"}, {0.30000000000000004, "0.30000000000000004"},
		{1e14, "100000000000000"}, {1e15, "1e15"}, {123456789012345680000, "1.2345678901234568e20"},
		{1234567890123456.7, "1234567890123456.8"},
		{1e-4, "0.0001"}, {1.5e-7, "0.00000015"}, {1e-15, "0.000000000000001"}, {1e-16, "1e-16"},
		{-1.25e-20, "-1.25e-20"}, {1e308, "1e308"}, {0, "0"},
	} {
		if got := mysqlDoubleText(c.f); got != c.want {
			t.Errorf("%v: got %s, want %s", c.f, got, c.want)
		}
	}
}
