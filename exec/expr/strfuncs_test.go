package expr

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// TestStringFunctions_Warnings: results past max_allowed_packet and
// SHA2's bad lengths are NULL with MySQL's warning, and nothing is
// allocated for them.
func TestStringFunctions_Warnings(t *testing.T) {
	const huge = 100_000_000
	tests := []struct {
		fn   string
		args []Expr
		warn string
	}{
		{"repeat", []Expr{cs("ab"), ci(huge)}, "Result of repeat() was larger than max_allowed_packet (67108864) - truncated"},
		{"repeat", []Expr{cs("a"), ci(1 << 62)}, "Result of repeat() was larger than max_allowed_packet (67108864) - truncated"},
		{"repeat", []Expr{cs("abcd"), ci(maxAllowedPacket/4 + 1)}, "Result of repeat() was larger than max_allowed_packet (67108864) - truncated"},
		{"space", []Expr{ci(huge)}, "Result of space() was larger than max_allowed_packet (67108864) - truncated"},
		{"lpad", []Expr{cs("a"), ci(huge), cs("b")}, "Result of lpad() was larger than max_allowed_packet (67108864) - truncated"},
		{"rpad", []Expr{cs("a"), ci(1<<63 - 1), cs("b")}, "Result of rpad() was larger than max_allowed_packet (67108864) - truncated"},
		{"rpad", []Expr{cs("a"), ci(maxAllowedPacket/2 + 1), cs("日")}, "Result of rpad() was larger than max_allowed_packet (67108864) - truncated"},
		{"sha2", []Expr{cs("abc"), ci(1)}, "Incorrect parameters in the call to native function 'sha2'"},
		{"replace", []Expr{mustCall(t, "repeat", cs("a"), ci(1<<20)), cs("a"), mustCall(t, "repeat", cs("b"), ci(65))}, "Result of replace() was larger than max_allowed_packet (67108864) - truncated"},
		{"export_set", []Expr{ci(1), mustCall(t, "repeat", cs("y"), ci(1<<20+1)), cs("n")}, "Result of export_set() was larger than max_allowed_packet (67108864) - truncated"},
	}
	for _, tc := range tests {
		t.Run(tc.fn, func(t *testing.T) {
			f, err := Compile(mustCall(t, tc.fn, tc.args...))
			if err != nil {
				t.Fatal(err)
			}
			var warns []*sqlerr.Error
			v, err := f(nil, &Env{Warn: func(e *sqlerr.Error) { warns = append(warns, e) }})
			if err != nil || !v.IsNull() {
				t.Fatalf("got %v, %v; want NULL", v, err)
			}
			if len(warns) != 1 || warns[0].Message != tc.warn || warns[0].Code != sqlerr.Warning {
				t.Fatalf("warnings %v, want one 01000 %q", warns, tc.warn)
			}
		})
	}
	// Just under the limit is a value, not a warning.
	f, err := Compile(mustCall(t, "space", ci(maxAllowedPacket)))
	if err != nil {
		t.Fatal(err)
	}
	v, err := f(nil, &Env{Warn: func(e *sqlerr.Error) { t.Errorf("unexpected warning %v", e) }})
	if err != nil || len(v.Str()) != maxAllowedPacket {
		t.Fatalf("SPACE(max) = %d bytes, %v", len(v.Str()), err)
	}
}

// TestRegexp_NonConstant runs the REGEXP functions over patterns and
// flags from the row (the cached path) and checks their errors there.
func TestRegexp_NonConstant(t *testing.T) {
	text := types.TypeText
	s, p, fl := col(0, text), col(1, text), col(2, text)
	tests := []struct {
		name string
		e    Expr
		row  types.Row
		want string
		code sqlerr.Code
	}{
		{"like flags from row", mustCall(t, "regexp_like", s, p, fl), row3("ABC", "b", "i"), "t", ""},
		{"like c after i", mustCall(t, "regexp_like", s, p, fl), row3("ABC", "b", "ic"), "f", ""},
		{"substr from row", mustCall(t, "regexp_substr", s, p, ci(1), ci(2), fl), row3("a1b22c333", "[0-9]+", ""), "22", ""},
		{"replace group", mustCall(t, "regexp_replace", s, p, cs("<$1>")), row3("x=1, y=2", "([a-z])=", ""), "<x>1, <y>2", ""},
		{"replace nth", mustCall(t, "regexp_replace", s, p, cs("#"), ci(1), ci(2)), row3("a.b.c", `\.`, ""), "a.b#c", ""},
		{"instr end", mustCall(t, "regexp_instr", s, p, ci(1), ci(1), ci(1)), row3("日本語abc", "abc", ""), "7", ""},
		{"backreference", mustCall(t, "regexp_like", s, p), row3("aa", `(a)\1`, ""), "", sqlerr.InvalidRegularExpression},
		{"lookbehind", mustCall(t, "regexp_like", s, p), row3("ab", `(?<=a)b`, ""), "", sqlerr.InvalidRegularExpression},
		{"bad flag", mustCall(t, "regexp_like", s, p, fl), row3("a", "a", "z"), "", sqlerr.InvalidParameterValue},
		{"pos past end", mustCall(t, "regexp_substr", s, p, ci(5)), row3("abc", "a", ""), "", sqlerr.InvalidParameterValue},
		{"pos just past end", mustCall(t, "regexp_instr", s, p, ci(4)), row3("abc", "a", ""), "0", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := eval(t, tc.e, tc.row)
			if tc.code != "" {
				var se *sqlerr.Error
				if !errors.As(err, &se) || se.Code != tc.code {
					t.Fatalf("error %v, want SQLSTATE %s", err, tc.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := v.String(); got != tc.want {
				t.Fatalf("%s = %q, want %q", tc.e, got, tc.want)
			}
		})
	}
	// The error names what RE2 lacks.
	_, err := eval(t, mustCall(t, "regexp_like", s, p), row3("aa", `(a)\1`, ""))
	if err == nil || !strings.Contains(err.Error(), "backreferences") {
		t.Fatalf("error %v does not say backreferences", err)
	}
}

func row3(a, b, c string) types.Row {
	return types.Row{types.NewString(a), types.NewString(b), types.NewString(c)}
}

// TestCollate_Concurrent: a collated comparison may run on several
// goroutines at once (the collator keeps state per call); run with -race.
func TestCollate_Concurrent(t *testing.T) {
	text := types.TypeText
	coll := mustCall(t, "collate", col(0, text), cs("utf8mb4_0900_ai_ci"))
	f, err := Compile(mustCall(t, "=", coll, col(1, text)))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				v, err := f(types.Row{types.NewString("Ünïcode"), types.NewString("unicode")}, nil)
				if err != nil || !v.Bool() {
					t.Errorf("got %v, %v; want true", v, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// TestCollate_Checks: unknown collations and mixed explicit ones are
// refused at bind time.
func TestCollate_Checks(t *testing.T) {
	if _, err := NewCall("collate", 0, cs("a"), cs("latin1_swedish_ci")); sqlerr.CodeOf(err) != sqlerr.UndefinedObject {
		t.Fatalf("unknown collation: %v", err)
	}
	a := mustCall(t, "collate", cs("a"), cs("utf8mb4_0900_ai_ci"))
	b := mustCall(t, "collate", cs("A"), cs("utf8mb4_bin"))
	for _, op := range []string{"=", "like", "strcmp", "regexp_like"} {
		if _, err := NewCall(op, 0, a, b); sqlerr.CodeOf(err) != sqlerr.CollationMismatch {
			t.Errorf("%s: %v, want 42P21", op, err)
		}
	}
}
