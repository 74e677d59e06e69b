package types

import (
	"math"
	"strconv"
	"time"
)

// Value is one SQL value. Its layout is private so that it can change; the
// zero Value is NULL. Values are small and passed by value.
type Value struct {
	kind Kind // Unknown means NULL
	i    int64
	f    float64
	s    string
}

// Null is the SQL NULL.
var Null = Value{}

// NewBool returns a BOOLEAN value.
func NewBool(b bool) Value {
	v := Value{kind: Bool}
	if b {
		v.i = 1
	}
	return v
}

// NewInt returns an integer value.
func NewInt(i int64) Value { return Value{kind: Int, i: i} }

// NewFloat returns a floating-point value.
func NewFloat(f float64) Value { return Value{kind: Float, f: f} }

// NewDecimal returns a decimal from its canonical text, e.g. "-12.50".
// The caller has validated the text.
func NewDecimal(text string) Value { return Value{kind: Decimal, s: text} }

// NewString returns a character string value.
func NewString(s string) Value { return Value{kind: String, s: s} }

// NewBytes returns a byte string value. The bytes are copied.
func NewBytes(b []byte) Value { return Value{kind: Bytes, s: string(b)} }

// NewDate returns a DATE from days since 1970-01-01.
func NewDate(days int64) Value { return Value{kind: Date, i: days} }

// NewTimestamp returns a TIMESTAMP from microseconds since the Unix epoch (UTC).
func NewTimestamp(micros int64) Value { return Value{kind: Timestamp, i: micros} }

// NewTimestampFromTime returns a TIMESTAMP holding t, truncated to microseconds.
func NewTimestampFromTime(t time.Time) Value { return NewTimestamp(t.UnixMicro()) }

// NewJSON returns a JSON value from its text. The caller has validated it.
func NewJSON(text string) Value { return Value{kind: JSON, s: text} }

// NewInterval returns an interval of months plus microseconds.
func NewInterval(months, micros int64) Value {
	return Value{kind: Interval, i: micros, f: math.Float64frombits(uint64(months))}
}

// Kind returns the value's kind; Unknown for NULL.
func (v Value) Kind() Kind { return v.kind }

// IsNull reports whether v is NULL.
func (v Value) IsNull() bool { return v.kind == Unknown }

// Bool returns a BOOLEAN's value.
func (v Value) Bool() bool { return v.i != 0 }

// Int returns an integer's value.
func (v Value) Int() int64 { return v.i }

// Float returns a float's value.
func (v Value) Float() float64 { return v.f }

// Str returns the text of a String, Decimal or JSON value, or the bytes of a
// Bytes value as a string.
func (v Value) Str() string { return v.s }

// Days returns a DATE's days since the epoch.
func (v Value) Days() int64 { return v.i }

// Micros returns a TIMESTAMP's microseconds since the epoch.
func (v Value) Micros() int64 { return v.i }

// Time returns a TIMESTAMP as a UTC time.Time.
func (v Value) Time() time.Time { return time.UnixMicro(v.i).UTC() }

// IntervalParts returns an INTERVAL's months and microseconds.
func (v Value) IntervalParts() (months, micros int64) {
	return int64(math.Float64bits(v.f)), v.i
}

// String renders the value as text, the way the Postgres text format shows it
// (NULL renders as "NULL" here; wire sends a NULL as no bytes).
func (v Value) String() string {
	switch v.kind {
	case Unknown:
		return "NULL"
	case Bool:
		if v.i != 0 {
			return "t"
		}
		return "f"
	case Int:
		return strconv.FormatInt(v.i, 10)
	case Float:
		return FormatFloat(v.f)
	case Date:
		return time.Unix(v.i*86400, 0).UTC().Format("2006-01-02")
	case Timestamp:
		return FormatTimestamp(v.i)
	case Interval:
		m, us := v.IntervalParts()
		return FormatInterval(m, us)
	}
	return v.s
}

// FormatFloat renders a float the way Postgres does with extra_float_digits=1
// or more: the shortest text that reads back exactly.
func FormatFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case math.IsNaN(f):
		return "NaN"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// FormatTimestamp renders microseconds since the epoch as
// "2006-01-02 15:04:05[.ffffff]" with trailing zeros of the fraction removed.
func FormatTimestamp(micros int64) string {
	return time.UnixMicro(micros).UTC().Format("2006-01-02 15:04:05.999999")
}

// FormatInterval renders an interval in Postgres's style, e.g. "1 mon 00:00:05".
func FormatInterval(months, micros int64) string {
	var out []byte
	if months != 0 {
		out = strconv.AppendInt(out, months, 10)
		out = append(out, " mon "...)
	}
	neg := micros < 0
	if neg {
		micros = -micros
		out = append(out, '-')
	}
	d := time.Duration(micros) * time.Microsecond
	h := int64(d / time.Hour)
	d -= time.Duration(h) * time.Hour
	m := int64(d / time.Minute)
	d -= time.Duration(m) * time.Minute
	s := d.Seconds()
	if h < 10 {
		out = append(out, '0')
	}
	out = strconv.AppendInt(out, h, 10)
	out = append(out, ':')
	if m < 10 {
		out = append(out, '0')
	}
	out = strconv.AppendInt(out, m, 10)
	out = append(out, ':')
	if s < 10 {
		out = append(out, '0')
	}
	out = strconv.AppendFloat(out, s, 'f', -1, 64)
	return string(out)
}
