package expr

import (
	"regexp"
	"testing"
	"unicode"
)

// TestICUClasses checks each rewritten class against the Unicode
// properties ICU gives it (UTS #18 Annex C), code point by code point.
func TestICUClasses(t *testing.T) {
	in := func(ts ...*unicode.RangeTable) func(rune) bool {
		return func(r rune) bool { return unicode.In(r, ts...) }
	}
	alpha := in(unicode.L, unicode.Nl, unicode.Other_Alphabetic)
	graph := func(r rune) bool {
		return !unicode.In(r, unicode.White_Space, unicode.Cc, unicode.Cs) && unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Z, unicode.Cf, unicode.Co)
	}
	cases := []struct {
		pattern string
		want    func(rune) bool
	}{
		{`[[:alpha:]]`, alpha},
		{`[[:^alpha:]]`, func(r rune) bool { return !alpha(r) }},
		{`[[:digit:]]`, in(unicode.Nd)},
		{`[[:alnum:]]`, func(r rune) bool { return alpha(r) || unicode.Is(unicode.Nd, r) }},
		{`[[:upper:]]`, in(unicode.Lu, unicode.Other_Uppercase)},
		{`[[:lower:]]`, in(unicode.Ll, unicode.Other_Lowercase)},
		{`[[:space:]]`, in(unicode.White_Space)},
		{`[[:blank:]]`, func(r rune) bool { return r == '\t' || unicode.Is(unicode.Zs, r) }},
		{`[[:punct:]]`, in(unicode.P)},
		{`[[:cntrl:]]`, in(unicode.Cc)},
		{`[[:xdigit:]]`, in(unicode.Nd, unicode.Hex_Digit)},
		{`[[:graph:]]`, graph},
		{`[[:print:]]`, func(r rune) bool { return graph(r) || unicode.Is(unicode.Zs, r) }},
		{`\d`, in(unicode.Nd)},
		{`\s`, in(unicode.White_Space)},
		{`\w`, func(r rune) bool {
			return alpha(r) || unicode.In(r, unicode.M, unicode.Nd, unicode.Pc, unicode.Join_Control)
		}},
		{`\W`, func(r rune) bool {
			return !alpha(r) && !unicode.In(r, unicode.M, unicode.Nd, unicode.Pc, unicode.Join_Control)
		}},
		{`[x\D]`, func(r rune) bool { return r == 'x' || !unicode.Is(unicode.Nd, r) }},
		{`[^[:digit:]a]`, func(r rune) bool { return r != 'a' && !unicode.Is(unicode.Nd, r) }},
	}
	for _, c := range cases {
		re, err := compileRegexp("^"+c.pattern+"$", 0)
		if err != nil {
			t.Fatalf("%s: %v", c.pattern, err)
		}
		for r := rune(0); r <= 0x2ffff; r++ {
			if r >= 0xd800 && r <= 0xdfff {
				continue // not in a Go string
			}
			if got, want := re.MatchString(string(r)), c.want(r); got != want {
				t.Errorf("%s on U+%04X: %v, want %v", c.pattern, r, got, want)
				break
			}
		}
	}
}

// TestICUClassesLeaveTheRest: escapes, \Q...\E, a leading ] and unknown
// names pass through as written.
func TestICUClassesLeaveTheRest(t *testing.T) {
	for _, p := range []string{`a\.b`, `\Q[[:alpha:]]\d\E`, `[]a]`, `[^]a]`, `[[:nope:]]`, `\p{L}+`, `[\]x]`, `(?i)abc`} {
		if got := icuClasses(p); got != p {
			t.Errorf("icuClasses(%q) = %q", p, got)
		}
	}
	re := regexp.MustCompile(icuClasses(`\Q[[:alpha:]]\E`))
	if !re.MatchString("[[:alpha:]]") {
		t.Errorf(`\Q...\E is no longer literal`)
	}
}
