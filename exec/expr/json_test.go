package expr

import "testing"

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
	for _, bad := range []string{``, `{`, `[1,]`, `1 2`, `1]`, `{"a" 1}`, `'a'`, `1e999`} {
		if _, err := decodeJSON(bad); err == nil {
			t.Errorf("%q: decoded", bad)
		}
	}
}
