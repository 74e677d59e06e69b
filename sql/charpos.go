package sql

import "unicode/utf8"

// charIndexStep is how many bytes of text one mark of a charIndex covers.
const charIndexStep = 256

// charIndex converts byte offsets in one text to 1-based character
// positions. Every node of a bound query asks for its position, so counting
// runes from the start each time would make binding quadratic in the text
// (a long IN list); the index counts them once.
type charIndex struct {
	text  string
	ascii bool
	// marks[k] is the first rune start at or after byte k*charIndexStep,
	// with the number of runes before it; marks[0] is offset 0.
	marks []charMark
}

type charMark struct{ off, runes int }

func newCharIndex(text string) *charIndex {
	x := &charIndex{text: text, ascii: true}
	for i := 0; i < len(text); i++ {
		if text[i] >= utf8.RuneSelf {
			x.ascii = false
			break
		}
	}
	if x.ascii {
		return x
	}
	n := 0
	for i := range text {
		for len(x.marks)*charIndexStep <= i {
			x.marks = append(x.marks, charMark{off: i, runes: n})
		}
		n++
	}
	return x
}

// pos returns the 1-based character position of byte offset off, clamped
// to the text.
func (x *charIndex) pos(off int) int {
	off = min(max(off, 0), len(x.text))
	if x.ascii {
		return off + 1
	}
	k := min(off/charIndexStep, len(x.marks)-1)
	for k > 0 && x.marks[k].off > off {
		k--
	}
	m := x.marks[k]
	return m.runes + utf8.RuneCountInString(x.text[m.off:off]) + 1
}
