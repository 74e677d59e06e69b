package expr

import (
	"strings"
	"testing"

	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// GROUP_CONCAT cuts its result to group_concat_max_len bytes, at a
// character boundary, with MySQL's warning.
func TestGroupConcatCut(t *testing.T) {
	tests := []struct {
		name    string
		value   string
		rows    int
		sep     string
		wantLen int
		warned  bool
	}{
		// 300 values of 4 bytes and 299 commas: 1499 bytes.
		{"ascii", "abcd", 300, ",", 1024, true},
		// "é" and "x" repeat every 3 bytes: byte 1024 is the middle of the
		// 342nd "é", so the cut keeps 1023 bytes.
		{"multibyte", "é", 400, "x", 1023, true},
		// 204 values of 4 bytes and 203 commas: 1019 bytes, no cut.
		{"short", "abcd", 204, ",", 1019, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := NewMultiAgg("group_concat", false, []Expr{&ColumnRef{Typ: types.TypeText}}, nil, nil, tt.sep, 0)
			if err != nil {
				t.Fatal(err)
			}
			f, err := Compile(a.Arg)
			if err != nil {
				t.Fatal(err)
			}
			var warnings []*sqlerr.Error
			env := &Env{Warn: func(e *sqlerr.Error) { warnings = append(warnings, e) }}
			st := a.NewState(env)
			for range tt.rows {
				v, err := f(types.Row{types.NewString(tt.value)}, env)
				if err != nil {
					t.Fatal(err)
				}
				if err := st.Add(v); err != nil {
					t.Fatal(err)
				}
			}
			got, err := st.Result()
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Str()) != tt.wantLen {
				t.Errorf("length %d, want %d", len(got.Str()), tt.wantLen)
			}
			if !strings.HasPrefix(strings.Repeat(tt.value+tt.sep, tt.rows), got.Str()) {
				t.Errorf("result is not a prefix of the full concatenation")
			}
			if tt.warned != (len(warnings) == 1) || (tt.warned && !strings.Contains(warnings[0].Error(), "was cut by GROUP_CONCAT()")) {
				t.Errorf("warnings %v, want one: %v", warnings, tt.warned)
			}
		})
	}
}

// A retraction below zero or a count of zero leaves a value out, and
// DISTINCT counts each value once.
func TestMultiResultCounts(t *testing.T) {
	items := func() []MultiItem {
		return []MultiItem{{V: types.NewInt(4), N: 2}, {V: types.NewInt(1), N: 1}, {V: types.NewInt(8), N: 0}, {V: types.NewInt(2), N: -1}}
	}
	tests := []struct {
		name     string
		distinct bool
		want     string
	}{
		{"bit_xor", false, "1"},   // 4 ^ 4 ^ 1
		{"bit_xor", true, "5"},    // 4 ^ 1
		{"bit_or", false, "5"},    // 4 | 1
		{"var_pop", false, "2"},   // 4, 4, 1: mean 3, (1 + 1 + 4) / 3
		{"var_samp", true, "4.5"}, // 4, 1: mean 2.5, 4.5 / 1
		{"bit_and", false, "0"},   // 4 & 1
	}
	for _, tt := range tests {
		a, err := NewAgg(tt.name, tt.distinct, &ColumnRef{Typ: types.TypeBigInt}, 0)
		if err != nil {
			t.Fatal(err)
		}
		in := items()
		if a.Arg.Type().Kind == types.Float {
			for i := range in {
				in[i].V = types.NewFloat(float64(in[i].V.Int()))
			}
		}
		got, err := a.MultiResult(in, nil)
		if err != nil || got.String() != tt.want {
			t.Errorf("%s: got %v, %v; want %s", a, got, err, tt.want)
		}
	}
}
