package expr

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"unicode"
)

// MySQL 8 matches with ICU, whose character classes are Unicode's: \d is
// any decimal digit, \s any white space, \w any letter, mark, digit or
// connector, and the POSIX names in brackets ([[:alpha:]], [[:upper:]]...)
// are the Unicode properties of UTS #18's Annex C. RE2's are ASCII. So
// before compiling, icuClasses spells each of them out as the Unicode
// ranges ICU means, built from Go's unicode tables.

// runeRange is an inclusive range of code points.
type runeRange struct{ lo, hi rune }

// runeSet is a sorted list of disjoint, non-adjacent ranges.
type runeSet []runeRange

func newRuneSet(tables []*unicode.RangeTable, extra ...runeRange) runeSet {
	var rs []runeRange
	for _, t := range tables {
		for _, r := range t.R16 {
			rs = appendStrided(rs, rune(r.Lo), rune(r.Hi), rune(r.Stride))
		}
		for _, r := range t.R32 {
			rs = appendStrided(rs, rune(r.Lo), rune(r.Hi), rune(r.Stride))
		}
	}
	rs = append(rs, extra...)
	sort.Slice(rs, func(i, j int) bool { return rs[i].lo < rs[j].lo })
	var out runeSet
	for _, r := range rs {
		if n := len(out); n > 0 && r.lo <= out[n-1].hi+1 {
			out[n-1].hi = max(out[n-1].hi, r.hi)
			continue
		}
		out = append(out, r)
	}
	return out
}

func appendStrided(rs []runeRange, lo, hi, stride rune) []runeRange {
	if stride == 1 {
		return append(rs, runeRange{lo, hi})
	}
	for c := lo; c <= hi; c += stride {
		rs = append(rs, runeRange{c, c})
	}
	return rs
}

// not is the complement of s over all code points.
func (s runeSet) not() runeSet {
	var out runeSet
	next := rune(0)
	for _, r := range s {
		if r.lo > next {
			out = append(out, runeRange{next, r.lo - 1})
		}
		next = r.hi + 1
	}
	if next <= unicode.MaxRune {
		out = append(out, runeRange{next, unicode.MaxRune})
	}
	return out
}

// items is s as RE2 character class items (no brackets).
func (s runeSet) items() string {
	var b strings.Builder
	for _, r := range s {
		if r.lo == r.hi {
			fmt.Fprintf(&b, `\x{%x}`, r.lo)
		} else {
			fmt.Fprintf(&b, `\x{%x}-\x{%x}`, r.lo, r.hi)
		}
	}
	return b.String()
}

func tables(ts ...*unicode.RangeTable) []*unicode.RangeTable { return ts }

// icuSets are ICU's classes by their POSIX names, with the escapes \d \s
// \w under "digit", "space" and "word" (ICU's regular expression
// documentation and UTS #18 Annex C).
var icuSets = sync.OnceValue(func() map[string]runeSet {
	alpha := tables(unicode.L, unicode.Nl, unicode.Other_Alphabetic)
	tab := runeRange{'\t', '\t'}
	sets := map[string]runeSet{
		"alpha":  newRuneSet(alpha),
		"lower":  newRuneSet(tables(unicode.Ll, unicode.Other_Lowercase)),
		"upper":  newRuneSet(tables(unicode.Lu, unicode.Other_Uppercase)),
		"digit":  newRuneSet(tables(unicode.Nd)),
		"xdigit": newRuneSet(tables(unicode.Nd, unicode.Hex_Digit)),
		"alnum":  newRuneSet(append(alpha, unicode.Nd)),
		"punct":  newRuneSet(tables(unicode.P)),
		"space":  newRuneSet(tables(unicode.White_Space)),
		"blank":  newRuneSet(tables(unicode.Zs), tab),
		"cntrl":  newRuneSet(tables(unicode.Cc)),
		"word":   newRuneSet(append(alpha, unicode.M, unicode.Nd, unicode.Pc, unicode.Join_Control)),
	}
	// graph: anything but white space, controls, surrogates and unassigned
	// code points; print: graph and blank, less controls (the tab).
	assigned := make([]*unicode.RangeTable, 0, len(unicode.Categories))
	for name, t := range unicode.Categories {
		if len(name) == 2 && name != "Cc" && name != "Cs" && name != "Cn" {
			assigned = append(assigned, t)
		}
	}
	notSpace := newRuneSet(tables(unicode.White_Space)).not()
	sets["graph"] = intersect(newRuneSet(assigned), notSpace)
	sets["print"] = newRuneSet(tables(unicode.Zs), sets["graph"]...)
	return sets
})

// intersect is the code points in both a and b.
func intersect(a, b runeSet) runeSet {
	var out runeSet
	for i, j := 0, 0; i < len(a) && j < len(b); {
		lo, hi := max(a[i].lo, b[j].lo), min(a[i].hi, b[j].hi)
		if lo <= hi {
			out = append(out, runeRange{lo, hi})
		}
		if a[i].hi < b[j].hi {
			i++
		} else {
			j++
		}
	}
	return out
}

// escapeSets are the class escapes ICU reads as Unicode classes.
var escapeSets = map[byte]string{'d': "digit", 's': "space", 'w': "word"}

// icuClasses rewrites the Unicode classes of an ICU pattern as ranges RE2
// reads the same way: \d \s \w (and \D \S \W) anywhere, [:name:] and
// [:^name:] inside brackets. Everything else is left as written.
func icuClasses(p string) string {
	if !strings.ContainsAny(p, `\[`) {
		return p
	}
	var b strings.Builder
	inClass := false
	for i := 0; i < len(p); i++ {
		ch := p[i]
		switch {
		case ch == '\\' && i+1 < len(p):
			next := p[i+1]
			if next == 'Q' {
				end := strings.Index(p[i:], `\E`)
				if end < 0 {
					b.WriteString(p[i:])
					return b.String()
				}
				b.WriteString(p[i : i+end+2])
				i += end + 1
				continue
			}
			lower := next | 0x20
			if name, ok := escapeSets[lower]; ok {
				set := icuSets()[name]
				negated := next != lower
				switch {
				case inClass && negated:
					b.WriteString(set.not().items())
				case inClass:
					b.WriteString(set.items())
				case negated:
					b.WriteString("[^" + set.items() + "]")
				default:
					b.WriteString("[" + set.items() + "]")
				}
				i++
				continue
			}
			b.WriteByte(ch)
			b.WriteByte(next)
			i++
		case !inClass && ch == '[':
			inClass = true
			b.WriteByte(ch)
			if i+1 < len(p) && p[i+1] == '^' {
				b.WriteByte('^')
				i++
			}
			if i+1 < len(p) && p[i+1] == ']' {
				b.WriteByte(']')
				i++
			}
		case inClass && ch == '[' && strings.HasPrefix(p[i:], "[:"):
			end := strings.Index(p[i+2:], ":]")
			if end < 0 {
				b.WriteByte(ch)
				continue
			}
			name := p[i+2 : i+2+end]
			negated := strings.HasPrefix(name, "^")
			set, ok := icuSets()[strings.TrimPrefix(name, "^")]
			if !ok {
				b.WriteByte(ch)
				continue
			}
			if negated {
				set = set.not()
			}
			b.WriteString(set.items())
			i += 2 + end + 1
		case inClass && ch == ']':
			inClass = false
			b.WriteByte(ch)
		default:
			b.WriteByte(ch)
		}
	}
	return b.String()
}
