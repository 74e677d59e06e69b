package sql

import (
	"math/rand"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestCharIndex checks the index against counting runes from the start,
// at every offset of texts with and without multi-byte characters.
func TestCharIndex(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	pieces := []string{"a", "é", "€", "😀", " ", "\xff"}
	texts := []string{"", "abc", "é", strings.Repeat("x", 3*charIndexStep+7)}
	for n := 0; n < 20; n++ {
		var b strings.Builder
		for size := rng.Intn(4*charIndexStep) + 1; b.Len() < size; {
			b.WriteString(pieces[rng.Intn(len(pieces))])
		}
		texts = append(texts, b.String())
	}
	for _, text := range texts {
		x := newCharIndex(text)
		for off := -1; off <= len(text)+1; off++ {
			if off >= 0 && off < len(text) && !utf8.RuneStart(text[off]) {
				continue // offsets come from tokens: always at a rune start
			}
			want := utf8.RuneCountInString(text[:min(max(off, 0), len(text))]) + 1
			if got := x.pos(off); got != want {
				t.Fatalf("text %q: pos(%d) = %d, want %d", text, off, got, want)
			}
		}
	}
}
