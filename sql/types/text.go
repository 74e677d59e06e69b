package types

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/streamsql/streamsql/sql/sqlerr"
)

// ParseText reads s in the Postgres text input syntax of t: what a client
// sends as a text-format parameter and what CAST('...' AS t) accepts. Bad
// input is a coded error (22P02, 22007, 22003, 22001, 22008) whose message
// reads like Postgres's, e.g. `invalid input syntax for type integer: "x"`.
// An Unknown type reads s as text: the consumer decides later.
func ParseText(t Type, s string) (Value, error) {
	switch t.Kind {
	case Unknown:
		return NewString(s), nil
	case String:
		return parseString(t, s)
	case Bool:
		return parseBool(s)
	case Int:
		return parseInt(t, s)
	case Float:
		return parseFloat(t, s)
	case Decimal:
		return parseDecimal(t, s)
	case Bytes:
		return parseBytes(s)
	case Date:
		return parseDate(s)
	case Timestamp:
		return parseTimestamp(s)
	case JSON:
		if !json.Valid([]byte(s)) {
			return Null, syntaxError(t, s)
		}
		return NewJSON(s), nil
	case Interval:
		return parseInterval(s)
	}
	return Null, sqlerr.Newf(sqlerr.FeatureNotSupported, "cannot read text input for type %s", t)
}

// PGName returns the name Postgres gives t in messages, e.g. "integer".
func PGName(t Type) string {
	switch t.Kind {
	case Bool:
		return "boolean"
	case Int:
		switch t.Width {
		case 8:
			return "tinyint"
		case 16:
			return "smallint"
		case 32:
			return "integer"
		}
		return "bigint"
	case Float:
		if t.Width == 32 {
			return "real"
		}
		return "double precision"
	case Decimal:
		return "numeric"
	case String:
		if t.Length > 0 {
			return "character varying"
		}
		return "text"
	case Bytes:
		return "bytea"
	case Date:
		return "date"
	case Timestamp:
		return "timestamp without time zone"
	case JSON:
		return "json"
	case Interval:
		return "interval"
	}
	return "unknown"
}

func syntaxError(t Type, s string) error {
	return sqlerr.Newf(sqlerr.InvalidTextRepresentation, "invalid input syntax for type %s: %q", PGName(t), s)
}

func datetimeSyntaxError(t Type, s string) error {
	return sqlerr.Newf(sqlerr.InvalidDatetimeFormat, "invalid input syntax for type %s: %q", PGName(t), s)
}

func outOfRange(t Type, s string) error {
	return sqlerr.Newf(sqlerr.NumericValueOutOfRange, "value %q is out of range for type %s", s, PGName(t))
}

func parseString(t Type, s string) (Value, error) {
	if t.Length > 0 && utf8.RuneCountInString(s) > t.Length {
		// Postgres lets trailing spaces go silently; anything else is an error.
		trimmed := strings.TrimRight(s, " ")
		if utf8.RuneCountInString(trimmed) > t.Length {
			return Null, sqlerr.Newf(sqlerr.StringDataRightTruncation,
				"value too long for type character varying(%d)", t.Length)
		}
		s = string([]rune(s)[:t.Length])
	}
	return NewString(s), nil
}

func parseBool(s string) (Value, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "t", "true", "y", "yes", "on", "1":
		return NewBool(true), nil
	case "f", "false", "n", "no", "off", "0":
		return NewBool(false), nil
	}
	return Null, syntaxError(TypeBool, s)
}

func parseInt(t Type, s string) (Value, error) {
	trimmed := strings.TrimSpace(s)
	bits := t.Width
	if bits != 8 && bits != 16 && bits != 32 {
		bits = 64
	}
	i, err := strconv.ParseInt(trimmed, 10, bits)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return Null, outOfRange(t, s)
		}
		return Null, syntaxError(t, s)
	}
	return NewInt(i), nil
}

func parseFloat(t Type, s string) (Value, error) {
	trimmed := strings.TrimSpace(s)
	// strconv also reads hex floats and underscores, which Postgres does not.
	if trimmed == "" || strings.ContainsAny(trimmed, "xX_pP") {
		return Null, syntaxError(t, s)
	}
	bits := 64
	if t.Width == 32 {
		bits = 32
	}
	f, err := strconv.ParseFloat(trimmed, bits)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return Null, outOfRange(t, s)
		}
		return Null, syntaxError(t, s)
	}
	return NewFloat(f), nil
}

// maxDecimalExponent bounds the exponent of numeric input so that a short
// text cannot ask for a huge string; Postgres's own limits are similar.
const maxDecimalExponent = 16383

func parseDecimal(t Type, s string) (Value, error) {
	trimmed := strings.TrimSpace(s)
	if strings.EqualFold(trimmed, "nan") {
		return NewDecimal("NaN"), nil
	}
	text, err := CanonicalDecimal(trimmed)
	if err != nil {
		if sqlerr.CodeOf(err) == sqlerr.NumericValueOutOfRange {
			return Null, err
		}
		return Null, syntaxError(t, s)
	}
	if t.Precision > 0 {
		text = roundDecimal(text, t.Scale)
		intDigits := strings.IndexByte(text, '.')
		if intDigits < 0 {
			intDigits = len(text)
		}
		digits := strings.TrimLeft(strings.TrimPrefix(text[:intDigits], "-"), "0")
		if len(digits) > t.Precision-t.Scale {
			return Null, sqlerr.Newf(sqlerr.NumericValueOutOfRange, "numeric field overflow").
				WithDetail("A field with precision %d, scale %d must round to an absolute value less than 10^%d.",
					t.Precision, t.Scale, t.Precision-t.Scale)
		}
	}
	return NewDecimal(text), nil
}

// CanonicalDecimal rewrites a decimal number (optional sign, digits, point,
// exponent) as plain decimal text without exponent or superfluous leading
// zeros, keeping the scale the input implies: "1.50" stays "1.50", "15e-3"
// becomes "0.015", "-0.0" becomes "0.0".
func CanonicalDecimal(s string) (string, error) {
	i, neg := 0, false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	start := i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	intPart := s[start:i]
	fracPart := ""
	if i < len(s) && s[i] == '.' {
		i++
		fs := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		fracPart = s[fs:i]
	}
	if intPart == "" && fracPart == "" {
		return "", sqlerr.Newf(sqlerr.InvalidTextRepresentation, "invalid decimal %q", s)
	}
	exp := 0
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		e, err := strconv.Atoi(s[i+1:])
		if err != nil || s[i+1:] == "" {
			return "", sqlerr.Newf(sqlerr.InvalidTextRepresentation, "invalid decimal %q", s)
		}
		if e > maxDecimalExponent || e < -maxDecimalExponent {
			return "", sqlerr.Newf(sqlerr.NumericValueOutOfRange, "value overflows numeric format")
		}
		exp = e
		i = len(s)
	}
	if i != len(s) {
		return "", sqlerr.Newf(sqlerr.InvalidTextRepresentation, "invalid decimal %q", s)
	}
	digits := intPart + fracPart
	point := len(intPart) + exp
	scale := max(len(fracPart)-exp, 0)
	var b strings.Builder
	b.Grow(len(digits) + 4)
	switch {
	case point <= 0:
		b.WriteString("0.")
		b.WriteString(strings.Repeat("0", -point))
		b.WriteString(digits)
	case point >= len(digits):
		b.WriteString(digits)
		b.WriteString(strings.Repeat("0", point-len(digits)))
	default:
		b.WriteString(digits[:point])
		b.WriteByte('.')
		b.WriteString(digits[point:])
	}
	out := b.String()
	// Trim the fraction to the implied scale (a positive exponent may have
	// moved digits into the integer part) and leading zeros of the integer.
	if dot := strings.IndexByte(out, '.'); dot >= 0 {
		if scale == 0 {
			out = out[:dot]
		} else if len(out)-dot-1 > scale {
			out = out[:dot+1+scale]
		}
	}
	intEnd := strings.IndexByte(out, '.')
	if intEnd < 0 {
		intEnd = len(out)
	}
	lead := 0
	for lead < intEnd-1 && out[lead] == '0' {
		lead++
	}
	out = out[lead:]
	if neg && strings.Trim(out, "0.") != "" {
		out = "-" + out
	}
	return out, nil
}

// roundDecimal rounds canonical decimal text to scale fractional digits,
// half away from zero, padding with zeros as Postgres's numeric(p, s) does.
func roundDecimal(text string, scale int) string {
	neg := strings.HasPrefix(text, "-")
	if neg {
		text = text[1:]
	}
	intPart, frac, _ := strings.Cut(text, ".")
	if len(frac) <= scale {
		frac += strings.Repeat("0", scale-len(frac))
	} else {
		roundUp := frac[scale] >= '5'
		frac = frac[:scale]
		if roundUp {
			d := []byte(intPart + frac)
			j := len(d) - 1
			for ; j >= 0; j-- {
				if d[j] == '9' {
					d[j] = '0'
					continue
				}
				d[j]++
				break
			}
			if j < 0 {
				d = append([]byte{'1'}, d...)
			}
			intPart, frac = string(d[:len(d)-scale]), string(d[len(d)-scale:])
		}
	}
	out := intPart
	if scale > 0 {
		out += "." + frac
	}
	if neg && strings.Trim(out, "0.") != "" {
		out = "-" + out
	}
	return out
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func parseBytes(s string) (Value, error) {
	if strings.HasPrefix(s, `\x`) {
		h := s[2:]
		out := make([]byte, 0, len(h)/2)
		for i := 0; i < len(h); {
			if h[i] == ' ' || h[i] == '\t' || h[i] == '\n' || h[i] == '\r' {
				i++
				continue
			}
			if i+1 >= len(h) {
				return Null, syntaxError(TypeBytes, s)
			}
			hi, ok1 := unhex(h[i])
			lo, ok2 := unhex(h[i+1])
			if !ok1 || !ok2 {
				return Null, syntaxError(TypeBytes, s)
			}
			out = append(out, hi<<4|lo)
			i += 2
		}
		return NewBytes(out), nil
	}
	// Escape format: \\ is a backslash, \ooo an octal byte, the rest literal.
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		switch {
		case i+1 < len(s) && s[i+1] == '\\':
			out = append(out, '\\')
			i++
		case i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) && s[i+1] <= '3':
			out = append(out, (s[i+1]-'0')<<6|(s[i+2]-'0')<<3|(s[i+3]-'0'))
			i += 3
		default:
			return Null, syntaxError(TypeBytes, s)
		}
	}
	return NewBytes(out), nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

// scanner reads the fixed-width numeric fields of dates and times.
type scanner struct {
	s string
	i int
}

func (sc *scanner) digits(min, max int) (int, bool) {
	start := sc.i
	for sc.i < len(sc.s) && sc.i-start < max && isDigit(sc.s[sc.i]) {
		sc.i++
	}
	if sc.i-start < min {
		return 0, false
	}
	n, err := strconv.Atoi(sc.s[start:sc.i])
	return n, err == nil
}

func (sc *scanner) byte(c byte) bool {
	if sc.i < len(sc.s) && sc.s[sc.i] == c {
		sc.i++
		return true
	}
	return false
}

func (sc *scanner) done() bool { return sc.i == len(sc.s) }

// scanDate reads YYYY-MM-DD and returns the days since 1970-01-01.
func (sc *scanner) date() (int64, bool, error) {
	y, ok := sc.digits(4, 6)
	if !ok || !sc.byte('-') {
		return 0, false, nil
	}
	m, ok := sc.digits(1, 2)
	if !ok || !sc.byte('-') {
		return 0, false, nil
	}
	d, ok := sc.digits(1, 2)
	if !ok {
		return 0, false, nil
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if m < 1 || m > 12 || d < 1 || t.Day() != d {
		return 0, true, sqlerr.Newf(sqlerr.DatetimeFieldOverflow, "date/time field value out of range: %q", sc.s)
	}
	return t.Unix() / 86400, true, nil
}

func parseDate(s string) (Value, error) {
	trimmed := strings.TrimSpace(s)
	if strings.EqualFold(trimmed, "epoch") {
		return NewDate(0), nil
	}
	sc := scanner{s: trimmed}
	days, ok, err := sc.date()
	if err != nil {
		return Null, err
	}
	if !ok {
		return Null, datetimeSyntaxError(TypeDate, s)
	}
	if !sc.done() {
		// Like Postgres, accept a full timestamp and keep its date as written.
		if _, err := parseTimestamp(trimmed); err != nil {
			return Null, datetimeSyntaxError(TypeDate, s)
		}
	}
	return NewDate(days), nil
}

const microsPerDay = 86400 * 1_000_000

func parseTimestamp(s string) (Value, error) {
	trimmed := strings.TrimSpace(s)
	if strings.EqualFold(trimmed, "epoch") {
		return NewTimestamp(0), nil
	}
	bad := func() (Value, error) { return Null, datetimeSyntaxError(TypeTimestamp, s) }
	sc := scanner{s: trimmed}
	days, ok, err := sc.date()
	if err != nil {
		return Null, err
	}
	if !ok {
		return bad()
	}
	micros := days * microsPerDay
	if sc.done() {
		return NewTimestamp(micros), nil
	}
	if !sc.byte(' ') && !sc.byte('T') && !sc.byte('t') {
		return bad()
	}
	for sc.byte(' ') {
	}
	h, ok := sc.digits(1, 2)
	if !ok || !sc.byte(':') {
		return bad()
	}
	mi, ok := sc.digits(2, 2)
	if !ok {
		return bad()
	}
	sec, frac := 0, int64(0)
	if sc.byte(':') {
		if sec, ok = sc.digits(2, 2); !ok {
			return bad()
		}
		if sc.byte('.') {
			start := sc.i
			for sc.i < len(sc.s) && isDigit(sc.s[sc.i]) {
				sc.i++
			}
			f := sc.s[start:sc.i]
			if f == "" {
				return bad()
			}
			frac = FractionMicros(f)
		}
	}
	if h > 24 || mi > 59 || sec > 60 || (h == 24 && (mi != 0 || sec != 0 || frac != 0)) {
		return Null, sqlerr.Newf(sqlerr.DatetimeFieldOverflow, "date/time field value out of range: %q", s)
	}
	micros += (int64(h)*3600+int64(mi)*60+int64(sec))*1_000_000 + frac
	rest := strings.TrimSpace(sc.s[sc.i:])
	if rest == "" {
		return NewTimestamp(micros), nil
	}
	offset, ok := parseZone(rest, micros)
	if !ok {
		return bad()
	}
	return NewTimestamp(micros - offset*1_000_000), nil
}

// FractionMicros turns the digits after a decimal point into microseconds,
// rounding half up at the seventh digit (as MySQL does too).
func FractionMicros(f string) int64 {
	var us int64
	for i := 0; i < 6; i++ {
		us *= 10
		if i < len(f) {
			us += int64(f[i] - '0')
		}
	}
	if len(f) > 6 && f[6] >= '5' {
		us++
	}
	return us
}

// parseZone reads a time zone suffix and returns its offset east of UTC in
// seconds at the given local time.
func parseZone(z string, localMicros int64) (int64, bool) {
	switch strings.ToUpper(z) {
	case "Z", "UTC", "GMT", "ZULU":
		return 0, true
	}
	if z[0] == '+' || z[0] == '-' {
		sign := int64(1)
		if z[0] == '-' {
			sign = -1
		}
		sc := scanner{s: z[1:]}
		h, ok := sc.digits(1, 2)
		if !ok || h > 15 {
			return 0, false
		}
		m, s := 0, 0
		if sc.byte(':') {
			if m, ok = sc.digits(2, 2); !ok {
				return 0, false
			}
			if sc.byte(':') {
				if s, ok = sc.digits(2, 2); !ok {
					return 0, false
				}
			}
		} else if !sc.done() {
			if m, ok = sc.digits(2, 2); !ok {
				return 0, false
			}
		}
		if !sc.done() || m > 59 || s > 59 {
			return 0, false
		}
		return sign * int64(h*3600+m*60+s), true
	}
	loc, err := time.LoadLocation(z)
	if err != nil || z == "Local" {
		return 0, false
	}
	// The offset that applies at this wall-clock time in that zone.
	secs := localMicros / 1_000_000
	t := time.Unix(secs, 0).UTC()
	local := time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, loc)
	_, off := local.Zone()
	return int64(off), true
}

// Interval units in months or microseconds.
var intervalUnits = map[string]struct {
	months float64
	micros float64
}{
	"microsecond": {0, 1}, "microseconds": {0, 1}, "us": {0, 1}, "usec": {0, 1}, "usecs": {0, 1},
	"millisecond": {0, 1e3}, "milliseconds": {0, 1e3}, "ms": {0, 1e3}, "msec": {0, 1e3}, "msecs": {0, 1e3},
	"second": {0, 1e6}, "seconds": {0, 1e6}, "s": {0, 1e6}, "sec": {0, 1e6}, "secs": {0, 1e6},
	"minute": {0, 60e6}, "minutes": {0, 60e6}, "m": {0, 60e6}, "min": {0, 60e6}, "mins": {0, 60e6},
	"hour": {0, 3600e6}, "hours": {0, 3600e6}, "h": {0, 3600e6}, "hr": {0, 3600e6}, "hrs": {0, 3600e6},
	"day": {0, 86400e6}, "days": {0, 86400e6}, "d": {0, 86400e6},
	"week": {0, 7 * 86400e6}, "weeks": {0, 7 * 86400e6}, "w": {0, 7 * 86400e6},
	"month": {1, 0}, "months": {1, 0}, "mon": {1, 0}, "mons": {1, 0},
	"year": {12, 0}, "years": {12, 0}, "y": {12, 0}, "yr": {12, 0}, "yrs": {12, 0},
	"decade": {120, 0}, "decades": {120, 0},
	"century": {1200, 0}, "centuries": {1200, 0},
	"millennium": {12000, 0}, "millennia": {12000, 0},
}

// parseInterval reads Postgres's interval input: "1 year 2 mons 3 days
// 04:05:06.5", "@ 5 minutes ago", "-00:00:05", a bare number of seconds, or
// ISO 8601 "P1Y2M3DT4H5M6S". Days become 24 hours: our intervals have no
// separate day field.
func parseInterval(s string) (Value, error) {
	bad := func() (Value, error) { return Null, datetimeSyntaxError(TypeInterval, s) }
	trimmed := strings.TrimSpace(s)
	if strings.HasPrefix(trimmed, "P") || strings.HasPrefix(trimmed, "-P") {
		months, micros, ok := parseISOInterval(trimmed)
		if !ok {
			return bad()
		}
		return NewInterval(months, micros), nil
	}
	fields := strings.Fields(strings.ToLower(trimmed))
	if len(fields) > 0 && fields[0] == "@" {
		fields = fields[1:]
	}
	ago := false
	if len(fields) > 0 && fields[len(fields)-1] == "ago" {
		ago = true
		fields = fields[:len(fields)-1]
	}
	if len(fields) == 0 {
		return bad()
	}
	var months, micros float64
	for i := 0; i < len(fields); i++ {
		f := fields[i]
		if strings.Contains(f, ":") {
			us, ok := parseClock(f)
			if !ok {
				return bad()
			}
			micros += us
			continue
		}
		// "5days" and "5 days" are both accepted.
		num, unit := splitNumberUnit(f)
		if num == "" {
			return bad()
		}
		n, err := strconv.ParseFloat(num, 64)
		if err != nil {
			return bad()
		}
		if unit == "" && i+1 < len(fields) {
			if _, ok := intervalUnits[fields[i+1]]; ok {
				unit = fields[i+1]
				i++
			}
		}
		if unit == "" {
			unit = "second"
		}
		u, ok := intervalUnits[unit]
		if !ok {
			return bad()
		}
		if u.months != 0 {
			whole := math.Trunc(n * u.months)
			months += whole
			// A fraction of a month becomes days of 30, as in Postgres.
			micros += (n*u.months - whole) * 30 * 86400e6
		} else {
			micros += n * u.micros
		}
	}
	if ago {
		months, micros = -months, -micros
	}
	if math.Abs(micros) > math.MaxInt64/2 || math.Abs(months) > math.MaxInt32 {
		return Null, sqlerr.Newf(sqlerr.DatetimeFieldOverflow, "interval out of range")
	}
	return NewInterval(int64(months), int64(math.Round(micros))), nil
}

func splitNumberUnit(f string) (string, string) {
	i := 0
	if i < len(f) && (f[i] == '+' || f[i] == '-') {
		i++
	}
	for i < len(f) && (isDigit(f[i]) || f[i] == '.') {
		i++
	}
	if i == 0 || (i == 1 && (f[0] == '+' || f[0] == '-')) {
		return "", ""
	}
	return f[:i], f[i:]
}

// parseClock reads [-]H:MM[:SS[.f]] as microseconds.
func parseClock(f string) (float64, bool) {
	neg := false
	if f[0] == '-' || f[0] == '+' {
		neg = f[0] == '-'
		f = f[1:]
	}
	parts := strings.Split(f, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, false
	}
	h, err1 := strconv.ParseUint(parts[0], 10, 32)
	m, err2 := strconv.ParseUint(parts[1], 10, 8)
	if err1 != nil || err2 != nil || m > 59 {
		return 0, false
	}
	us := float64(h)*3600e6 + float64(m)*60e6
	if len(parts) == 3 {
		sec, err := strconv.ParseFloat(parts[2], 64)
		if err != nil || sec < 0 || sec >= 60 || strings.ContainsAny(parts[2], "eE+-") {
			return 0, false
		}
		us += sec * 1e6
	}
	if neg {
		us = -us
	}
	return us, true
}

func parseISOInterval(s string) (int64, int64, bool) {
	neg := false
	if s[0] == '-' {
		neg = true
		s = s[1:]
	}
	s = s[1:] // the P
	var months, micros float64
	inTime := false
	for s != "" {
		if s[0] == 'T' {
			inTime = true
			s = s[1:]
			continue
		}
		i := 0
		for i < len(s) && (isDigit(s[i]) || s[i] == '.' || s[i] == '-') {
			i++
		}
		if i == 0 || i == len(s) {
			return 0, 0, false
		}
		n, err := strconv.ParseFloat(s[:i], 64)
		if err != nil {
			return 0, 0, false
		}
		switch unit := s[i]; {
		case unit == 'Y' && !inTime:
			months += n * 12
		case unit == 'M' && !inTime:
			months += n
		case unit == 'W' && !inTime:
			micros += n * 7 * 86400e6
		case unit == 'D' && !inTime:
			micros += n * 86400e6
		case unit == 'H' && inTime:
			micros += n * 3600e6
		case unit == 'M' && inTime:
			micros += n * 60e6
		case unit == 'S' && inTime:
			micros += n * 1e6
		default:
			return 0, 0, false
		}
		s = s[i+1:]
	}
	whole := math.Trunc(months)
	micros += (months - whole) * 30 * 86400e6
	if neg {
		whole, micros = -whole, -micros
	}
	return int64(whole), int64(math.Round(micros)), true
}
