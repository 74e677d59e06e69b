package wire

import "testing"

func TestEscapeCopyText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain", "plain"},
		{"", ""},
		{"a\tb", `a\tb`},
		{"line\nnext\r", `line\nnext\r`},
		{`back\slash`, `back\\slash`},
		{"\b\f\v", `\b\f\v`},
	} {
		b := escapeCopyText(append([]byte("x|"), tc.in...), 2)
		if got := string(b); got != "x|"+tc.want {
			t.Errorf("escape %q: %q, want %q", tc.in, got, "x|"+tc.want)
		}
	}
}
