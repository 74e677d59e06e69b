package exprdiff

import "testing"

// TestCompare pins the comparer: a deliberately wrong answer must be
// reported, and only representation is normalised.
func TestCompare(t *testing.T) {
	val := func(s string) outcome { return outcome{Kind: kValue, Text: s} }
	dbl := func(s string) outcome { return outcome{Kind: kValue, Text: s, Double: true} }
	boo := func(s string) outcome { return outcome{Kind: kValue, Text: s, Bool: true} }
	warn := func(o outcome) outcome { o.Warn = true; return o }
	loosely := func(o outcome, l loose) outcome { o.Loose = l; return o }
	null := outcome{Kind: kNull}
	myErr := outcome{Kind: kError, Code: "1690", Text: "BIGINT value is out of range"}
	ssErr := outcome{Kind: kError, Code: "22003", Text: "out of range"}
	ssMissing := outcome{Kind: kError, Code: "42883", Text: "unknown function lpad"}
	cases := []struct {
		name   string
		my, ss outcome
		want   verdict
	}{
		{"same text", val("1.0000"), val("1.0000"), vMatch},
		{"decimal scale differs", val("1.0000"), val("1.000"), vWrongValue},
		{"wrong integer", val("52"), val("V"), vWrongValue},
		{"bool true is 1", val("1"), boo("t"), vMatch},
		{"bool false is 0", val("0"), boo("f"), vMatch},
		{"bool true is not 0", val("0"), boo("t"), vWrongValue},
		{"t as text is not 1", val("1"), val("t"), vWrongValue},
		{"truex is not 1x", val("1x"), val("truex"), vWrongValue},
		{"double same number", dbl("1e308"), val("1e+308"), vMatch},
		{"double last ulp", dbl("0.30000000000000004"), val("0.3"), vMatch},
		{"double different", dbl("1.2599210498948732"), val("1.2598919398"), vWrongValue},
		{"double vs text", dbl("1"), val("one"), vWrongValue},
		{"not double: exact text", val("1e308"), val("1e+308"), vWrongValue},
		{"null vs null", null, null, vMatch},
		{"null vs value", null, val("0"), vWrongValue},
		{"value vs null", val(""), null, vWrongValue},
		{"empty string is not null", val(""), val(""), vMatch},
		{"both errors", myErr, ssErr, vMatch},
		{"error where MySQL answers", val("1"), ssErr, vErrAnswered},
		{"missing function", val("  a"), ssMissing, vMissingFunc},
		{"missing function where MySQL errors too", myErr, ssMissing, vMatch},
		{"value where MySQL errors", myErr, val("9223372036854775808"), vValueErrors},
		{"warning only on MySQL's side", warn(val("12")), val("12"), vWarnOnly},
		{"warning only on ours", val("12"), warn(val("12")), vWarnOnly},
		{"warnings both", warn(null), warn(null), vMatch},
		{"wrong value beats warning", warn(val("3")), val("12"), vWrongValue},
		{"datetime fraction zeros", val("1999-12-31 00:00:01.000000"), val("1999-12-31 00:00:01"), vMatch},
		{"time fraction zeros", val("-838:59:59.500000"), val("-838:59:59.5"), vMatch},
		{"datetime fraction differs", val("1999-12-31 00:00:01.000001"), val("1999-12-31 00:00:01"), vWrongValue},
		{"decimal zeros are not trimmed", val("1.000000"), val("1"), vWrongValue},
		{"rounded", loosely(val("3.6056"), rounded), val("3.605551275463989"), vMatch},
		{"rounded, wrong", loosely(val("3.6056"), rounded), val("3.6051"), vWrongValue},
		{"rounded, more digits", loosely(val("146.647"), rounded), val("146.64696837416494"), vMatch},
		{"unordered list", loosely(val("10,7"), unordered), val("7,10"), vMatch},
		{"unordered list, other element", loosely(val("10,7"), unordered), val("7,1"), vWrongValue},
		{"unordered list, one more", loosely(val("7,7"), unordered), val("7"), vWrongValue},
		{"unordered json", loosely(val("[255,-1]"), unordered), val("[-1, 255]"), vMatch},
		{"unordered json, other", loosely(val("[255,-1]"), unordered), val("[-1, 25]"), vWrongValue},
	}
	for _, c := range cases {
		if got := compare(c.my, c.ss); got != c.want {
			t.Errorf("%s: compare(%v, %v) = %s, want %s", c.name, c.my, c.ss, verdictNames[got], verdictNames[c.want])
		}
	}
}
