package datagen

import (
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// Kind is how a column is filled.
type Kind uint8

const (
	// Random draws each value: within [Min, Max], from Values, or a string
	// of Length characters.
	Random Kind = iota
	// Sequence counts from Start to End, one step per row; the source ends
	// when a sequence does.
	Sequence
)

func (k Kind) String() string {
	if k == Sequence {
		return "sequence"
	}
	return "random"
}

// Field is the rule of one column.
type Field struct {
	Kind Kind
	// Min and Max bound random numbers, dates and timestamps (inclusive).
	// Null means the type's default range.
	Min, Max types.Value
	// Start and End bound a sequence (inclusive); Step is a timestamp
	// sequence's step (default one second).
	Start, End types.Value
	Step       time.Duration
	// Length is the length of random strings and bytes (default 100).
	Length int
	// Values, when not empty, are what a random column picks from.
	Values []types.Value
	// MaxPast makes a random timestamp or date without Min/Max fall in
	// [now - MaxPast, now], as Flink's datagen does.
	MaxPast time.Duration
	// NullRate is the share of NULLs, in [0, 1].
	NullRate float64
}

// DefaultStringLength is a random string's length when none is given.
const DefaultStringLength = 100

// fieldOptions are the per-column option names, after "fields.<col>.".
var fieldOptions = []string{"kind", "min", "max", "start", "end", "step", "length", "values", "max_past", "null_rate"}

// parseField reads the options of column c; opt(name) returns an option's
// value and whether it was given.
func parseField(c types.Column, opt func(string) (string, bool)) (Field, error) {
	var f Field
	bad := func(name, format string, args ...any) error {
		return sqlerr.Newf(sqlerr.InvalidParameterValue, "option fields.%s.%s: "+format, append([]any{c.Name, name}, args...)...)
	}
	value := func(name string, t types.Type) (types.Value, error) {
		s, ok := opt(name)
		if !ok {
			return types.Null, nil
		}
		v, err := parseValue(t, s)
		if err != nil {
			return types.Null, bad(name, "%v", err)
		}
		return v, nil
	}
	if k, ok := opt("kind"); ok {
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "random":
		case "sequence":
			f.Kind = Sequence
		default:
			return f, bad("kind", "'%s' is not one of random, sequence", k)
		}
	}
	var err error
	if f.Min, err = value("min", c.Type); err != nil {
		return f, err
	}
	if f.Max, err = value("max", c.Type); err != nil {
		return f, err
	}
	if f.Start, err = value("start", c.Type); err != nil {
		return f, err
	}
	if f.End, err = value("end", c.Type); err != nil {
		return f, err
	}
	if s, ok := opt("step"); ok {
		if f.Step, err = time.ParseDuration(strings.TrimSpace(s)); err != nil || f.Step <= 0 {
			return f, bad("step", "'%s' is not a positive duration such as '1s'", s)
		}
	}
	if s, ok := opt("max_past"); ok {
		if f.MaxPast, err = time.ParseDuration(strings.TrimSpace(s)); err != nil || f.MaxPast < 0 {
			return f, bad("max_past", "'%s' is not a duration such as '5s'", s)
		}
	}
	if s, ok := opt("length"); ok {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 0 || n > 1<<20 {
			return f, bad("length", "'%s' is not a length between 0 and 1048576", s)
		}
		f.Length = n
	} else {
		f.Length = DefaultStringLength
		if c.Type.Kind == types.String && c.Type.Length > 0 {
			f.Length = min(f.Length, c.Type.Length)
		}
	}
	if s, ok := opt("values"); ok {
		for _, part := range strings.Split(s, ",") {
			v, err := parseValue(c.Type, strings.TrimSpace(part))
			if err != nil {
				return f, bad("values", "%v", err)
			}
			f.Values = append(f.Values, v)
		}
	}
	if s, ok := opt("null_rate"); ok {
		r, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || r < 0 || r > 1 || math.IsNaN(r) {
			return f, bad("null_rate", "'%s' is not a number between 0 and 1", s)
		}
		f.NullRate = r
	}
	return f, f.check(c)
}

// parseValue reads an option value in the column's type; timestamps may
// also be written as epoch milliseconds, like every timestamp option.
func parseValue(t types.Type, s string) (types.Value, error) {
	if t.Kind == types.Timestamp {
		if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
			return types.NewTimestamp(ms * 1000), nil
		}
		if tm, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return types.NewTimestampFromTime(tm), nil
		}
	}
	return types.ParseText(t, s)
}

// check refuses rules the column's type cannot follow.
func (f *Field) check(c types.Column) error {
	bad := func(format string, args ...any) error {
		return sqlerr.Newf(sqlerr.InvalidParameterValue, "column %s: "+format, append([]any{c.Name}, args...)...)
	}
	k := c.Type.Kind
	if f.Kind == Sequence {
		switch k {
		case types.Int, types.Float, types.Decimal, types.String, types.Timestamp, types.Date:
		default:
			return bad("a sequence needs a number, string, date or timestamp column, not %s", c.Type)
		}
		if f.Start.IsNull() || f.End.IsNull() {
			return bad("a sequence needs fields.%s.start and fields.%s.end", c.Name, c.Name)
		}
		if k == types.String {
			// A string sequence counts in integers.
			for _, v := range []*types.Value{&f.Start, &f.End} {
				if v.Kind() != types.String {
					continue // already read
				}
				n, err := strconv.ParseInt(v.Str(), 10, 64)
				if err != nil {
					return bad("a string sequence counts integers; '%s' is not one", v.Str())
				}
				*v = types.NewInt(n)
			}
		}
		if f.Step == 0 {
			f.Step = time.Second
		}
		if f.seqLen() <= 0 {
			return bad("sequence start %s is after its end %s", f.Start, f.End)
		}
		return nil
	}
	if len(f.Values) > 0 {
		return nil
	}
	switch k {
	case types.Bool, types.Int, types.Float, types.Decimal, types.String, types.Bytes, types.Date, types.Timestamp:
	default:
		return bad("random values of type %s need fields.%s.values", c.Type, c.Name)
	}
	if !f.Min.IsNull() && !f.Max.IsNull() && compare(f.Min, f.Max) > 0 {
		return bad("min %s is above max %s", f.Min, f.Max)
	}
	return nil
}

// seqLen is the number of values of a sequence; negative if empty.
func (f *Field) seqLen() int64 {
	switch f.Start.Kind() {
	case types.Float:
		return int64(math.Floor(f.End.Float()-f.Start.Float())) + 1
	case types.Decimal:
		a, b := decimalInt(f.Start), decimalInt(f.End)
		return new(big.Int).Sub(b, a).Int64() + 1
	case types.Timestamp:
		return (f.End.Micros()-f.Start.Micros())/max(f.Step, time.Microsecond).Microseconds() + 1
	case types.Date:
		return f.End.Days() - f.Start.Days() + 1
	}
	return f.End.Int() - f.Start.Int() + 1
}

// decimalInt is the integer part of a decimal value.
func decimalInt(v types.Value) *big.Int {
	s, _, _ := strings.Cut(v.Str(), ".")
	n, _ := new(big.Int).SetString(s, 10)
	if n == nil {
		n = new(big.Int)
	}
	return n
}

func compare(a, b types.Value) int {
	switch a.Kind() {
	case types.Int, types.Timestamp, types.Date:
		return cmp64(a.Int(), b.Int())
	case types.Float:
		switch {
		case a.Float() < b.Float():
			return -1
		case a.Float() > b.Float():
			return 1
		}
		return 0
	case types.Decimal:
		x, _ := new(big.Float).SetString(a.Str())
		y, _ := new(big.Float).SetString(b.Str())
		if x == nil || y == nil {
			return 0
		}
		return x.Cmp(y)
	}
	return 0
}

func cmp64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
