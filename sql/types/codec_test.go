package types

import (
	"errors"
	"testing"
)

func TestAppendValue_RoundTrip(t *testing.T) {
	values := []Value{
		Null, NewInt(-7), NewInt(1 << 62), NewBool(true), NewBool(false), NewFloat(-2.5),
		NewDate(19782), NewTimestamp(-1), NewInterval(-3, 1_500_000), NewString(""),
		NewString("héllo"), NewDecimal("-0.0001"), NewJSON(`{"a": [1, 2]}`), NewBytes([]byte{0, 1, 255}),
	}
	var b []byte
	for _, v := range values {
		b = AppendValue(b, v)
	}
	for i, want := range values {
		got, rest, err := ReadValue(b)
		if err != nil {
			t.Fatalf("value %d: %v", i, err)
		}
		if got.Kind() != want.Kind() || got.String() != want.String() {
			t.Errorf("value %d: got %v (%v), want %v (%v)", i, got, got.Kind(), want, want.Kind())
		}
		b = rest
	}
	if len(b) != 0 {
		t.Errorf("%d bytes left over", len(b))
	}
	// Every cut of an encoding short of its end is an error, never a
	// wrong value or a panic.
	full := AppendValue(nil, NewString("abcdef"))
	for n := 0; n < len(full); n++ {
		if _, _, err := ReadValue(full[:n]); !errors.Is(err, ErrShortValue) {
			t.Errorf("cut at %d: err %v, want ErrShortValue", n, err)
		}
	}
}
