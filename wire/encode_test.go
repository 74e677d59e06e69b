package wire

import (
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/streamsql/streamsql/sql/types"
)

// numericString renders a pgtype.Numeric as plain decimal text.
func numericString(n pgtype.Numeric) string {
	if n.NaN {
		return "NaN"
	}
	digits := new(big.Int).Abs(n.Int).String()
	neg := n.Int.Sign() < 0
	exp := int(n.Exp)
	var s string
	switch {
	case exp >= 0:
		s = digits + strings.Repeat("0", exp)
	case -exp >= len(digits):
		s = "0." + strings.Repeat("0", -exp-len(digits)) + digits
	default:
		s = digits[:len(digits)+exp] + "." + digits[len(digits)+exp:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

func TestNumericBinary(t *testing.T) {
	m := pgtype.NewMap()
	tests := []struct{ in, want string }{
		{"0", "0"},
		{"0.00", "0.00"},
		{"-0.5", "-0.5"},
		{"12345678901234567890.123", "12345678901234567890.123"},
		{"1e-20", "0.00000000000000000001"},
		{"0.00000000000000000001", "0.00000000000000000001"},
		{"10000", "10000"},
		{"-99999999.99990000", "-99999999.99990000"},
		{"1.5e10", "15000000000"},
		{"123.4567", "123.4567"},
		{"NaN", "NaN"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			b, err := appendNumericBinary(nil, tt.in)
			if err != nil {
				t.Fatal(err)
			}
			// pgx reads what we write...
			var n pgtype.Numeric
			if err := m.Scan(pgtype.NumericOID, pgtype.BinaryFormatCode, b, &n); err != nil {
				t.Fatalf("pgx cannot decode %x: %v", b, err)
			}
			if tt.want != "NaN" {
				got, want := new(big.Rat), new(big.Rat)
				got.SetString(numericString(n))
				want.SetString(tt.want)
				if got.Cmp(want) != 0 {
					t.Errorf("pgx decoded %s, want %s", numericString(n), tt.want)
				}
			} else if !n.NaN {
				t.Errorf("pgx decoded %+v, want NaN", n)
			}
			// ...we read back what we write, scale included...
			back, err := decodeNumericBinary(b)
			if err != nil || back != tt.want {
				t.Errorf("decode = %q, %v; want %q", back, err, tt.want)
			}
			// ...and we read what pgx writes.
			if tt.want == "NaN" {
				return
			}
			var src pgtype.Numeric
			if err := src.Scan(tt.want); err != nil {
				t.Fatal(err)
			}
			enc, err := m.Encode(pgtype.NumericOID, pgtype.BinaryFormatCode, src, nil)
			if err != nil {
				t.Fatal(err)
			}
			fromPgx, err := decodeNumericBinary(enc)
			if err != nil {
				t.Fatal(err)
			}
			got, want := new(big.Rat), new(big.Rat)
			got.SetString(fromPgx)
			want.SetString(tt.want)
			if got.Cmp(want) != 0 {
				t.Errorf("decoded pgx's %x as %s, want %s", enc, fromPgx, tt.want)
			}
		})
	}
}

func TestAppendTimestamp(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	values := []int64{0, -1, 1, 1704164645123456, -86400_000_000, 253402300799999999}
	for range 1000 {
		values = append(values, r.Int64N(2*253402300799999999)-253402300799999999/4)
	}
	for _, us := range values {
		if us < -62135596800000000 { // before year 1: Postgres writes BC, Go a negative year
			continue
		}
		if got, want := string(appendTimestamp(nil, us)), types.FormatTimestamp(us); got != want {
			t.Fatalf("appendTimestamp(%d) = %q, want %q", us, got, want)
		}
		days := us / microsPerDay
		if got, want := string(appendDate(nil, days)), types.NewDate(days).String(); got != want {
			t.Fatalf("appendDate(%d) = %q, want %q", days, got, want)
		}
	}
	if got := string(appendDate(nil, -719528)); got != "0001-01-01 BC" {
		t.Errorf("year 0 = %q", got)
	}
}

func TestParamRoundTrip(t *testing.T) {
	tests := []struct {
		t types.Type
		v types.Value
	}{
		{types.TypeBool, types.NewBool(true)},
		{types.TypeSmallInt, types.NewInt(-300)},
		{types.TypeInt, types.NewInt(1 << 30)},
		{types.TypeBigInt, types.NewInt(-1 << 60)},
		{types.TypeFloat, types.NewFloat(0.25)},
		{types.TypeDouble, types.NewFloat(-1e300)},
		{types.DecimalType(10, 2), types.NewDecimal("-1234.50")},
		{types.TypeText, types.NewString("héllo")},
		{types.TypeBytes, types.NewBytes([]byte{0, 255})},
		{types.TypeDate, types.NewDate(-1)},
		{types.TypeTimestamp, types.NewTimestamp(-1)},
		{types.TypeJSON, types.NewJSON(`[1,2]`)},
		{types.TypeInterval, types.NewInterval(-3, 7)},
	}
	for _, tt := range tests {
		t.Run(tt.t.String(), func(t *testing.T) {
			oid := describeType(tt.t).oid
			for _, binary := range []bool{false, true} {
				enc, err := colEncoder{oid: oid, binary: binary}.appendValue(nil, tt.v)
				if err != nil {
					t.Fatal(err)
				}
				format := int16(0)
				if binary {
					format = 1
				}
				got, err := decodeParam(oid, tt.t, format, enc, 1)
				if err != nil {
					t.Fatalf("decode %q (binary %v): %v", enc, binary, err)
				}
				if got.String() != tt.v.String() || got.Kind() != tt.v.Kind() {
					t.Errorf("binary %v: %v (%v) -> %q -> %v (%v)", binary, tt.v, tt.v.Kind(), enc, got, got.Kind())
				}
			}
		})
	}
}
