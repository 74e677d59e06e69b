package exprdiff

import (
	"encoding/json"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// kind is what a statement answered.
type kind int

const (
	kValue kind = iota
	kNull
	kError
)

// outcome is one server's answer to one expression.
type outcome struct {
	Kind   kind
	Text   string // the value's text (kValue) or the error's message (kError)
	Code   string // SQLSTATE or MySQL error number (kError)
	Double bool   // the value is a DOUBLE/FLOAT (MySQL) or float4/float8 (streamsql)
	Bool   bool   // streamsql: the value is a pgwire boolean (t/f)
	Warn   bool   // the statement produced at least one warning
	// Loose, set on MySQL's side by a list entry, is how much of the
	// value the list says MariaDB shows of MySQL 8's: "" all of it.
	Loose loose
}

// loose says what a list entry lets differ between MariaDB's value and
// MySQL 8's.
type loose int

const (
	exact loose = iota
	// rounded: MariaDB shows MySQL 8's DOUBLE rounded to fewer digits;
	// streamsql's rounded to as many must equal it.
	rounded
	// unordered: the same elements (of a comma list or a JSON array) in
	// an order MySQL leaves undefined.
	unordered
)

func (o outcome) String() string {
	s := ""
	switch o.Kind {
	case kValue:
		s = strconv.Quote(o.Text)
	case kNull:
		s = "NULL"
	case kError:
		s = "ERROR " + o.Code + " " + o.Text
	}
	if o.Warn {
		s += " +warning"
	}
	return s
}

// verdict classifies one comparison.
type verdict int

const (
	vMatch       verdict = iota
	vWarnOnly            // same answer, warnings present on one side only
	vWrongValue          // both answered, differently (NULL counts as a value)
	vErrAnswered         // streamsql errors where MySQL answers
	vValueErrors         // streamsql answers where MySQL errors
	vMissingFunc         // streamsql has no such function (42883)
	vSkipped             // a known-difference entry says skip
	nVerdicts
)

var verdictNames = [nVerdicts]string{"matched", "warning only", "wrong value",
	"error where MySQL answers", "value where MySQL errors", "missing function", "skipped"}

// undefinedFunction is the SQLSTATE streamsql sends for an unknown function.
const undefinedFunction = "42883"

// compare says how streamsql's answer ss relates to MySQL 8's answer my.
// Only representation is normalised: a pgwire boolean t/f is MySQL's 1/0,
// and a DOUBLE on MySQL's side is compared as a number (the same float64,
// or within 1e-15 relative). Everything else is exact text; errors match
// errors whatever their codes.
func compare(my, ss outcome) verdict {
	switch {
	case my.Kind == kError && ss.Kind == kError:
		return vMatch // warnings do not go with errors
	case ss.Kind == kError && ss.Code == undefinedFunction:
		return vMissingFunc
	case ss.Kind == kError:
		return vErrAnswered
	case my.Kind == kError:
		return vValueErrors
	}
	if !sameValue(my, ss) {
		return vWrongValue
	}
	if my.Warn != ss.Warn {
		return vWarnOnly
	}
	return vMatch
}

func sameValue(my, ss outcome) bool {
	if my.Kind != ss.Kind {
		return false
	}
	if my.Kind == kNull {
		return true
	}
	st := ss.Text
	if ss.Bool {
		switch st {
		case "t":
			st = "1"
		case "f":
			st = "0"
		}
	}
	mt := trimFraction(my.Text)
	st = trimFraction(st)
	if st == mt {
		return true
	}
	switch my.Loose {
	case rounded:
		return roundedTo(st, mt)
	case unordered:
		a, b := elements(mt), elements(st)
		sort.Strings(a)
		sort.Strings(b)
		return strings.Join(a, "\x00") == strings.Join(b, "\x00")
	}
	if !my.Double {
		return false
	}
	a, err1 := strconv.ParseFloat(my.Text, 64)
	b, err2 := strconv.ParseFloat(st, 64)
	if err1 != nil || err2 != nil {
		return false
	}
	if a == b {
		return true
	}
	if math.IsInf(a, 0) || math.IsInf(b, 0) || math.IsNaN(a) || math.IsNaN(b) {
		return false
	}
	return math.Abs(a-b) <= 1e-15*math.Max(math.Abs(a), math.Abs(b))
}

// timeFraction is a datetime's or a time's fraction of a second.
var timeFraction = regexp.MustCompile(`^(-?[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}|-?[0-9]{2,3}:[0-9]{2}:[0-9]{2})\.([0-9]*)$`)

// trimFraction drops the trailing zeros of a datetime's or time's
// fraction: MySQL shows a DATETIME(6) with all six digits, Postgres's text
// (and so streamsql's) without the zeros; the instant is the same.
func trimFraction(s string) string {
	m := timeFraction.FindStringSubmatch(s)
	if m == nil {
		return s
	}
	if f := strings.TrimRight(m[2], "0"); f != "" {
		return m[1] + "." + f
	}
	return m[1]
}

// roundedTo reports whether the number ss, rounded to as many digits after
// the point as shown has, is shown.
func roundedTo(ss, shown string) bool {
	a, err1 := strconv.ParseFloat(ss, 64)
	if _, err2 := strconv.ParseFloat(shown, 64); err1 != nil || err2 != nil {
		return false
	}
	digits := 0
	if i := strings.IndexByte(shown, '.'); i >= 0 {
		digits = len(shown) - i - 1
	}
	return strconv.FormatFloat(a, 'f', digits, 64) == shown
}

// elements splits a JSON array into its elements (printed as MySQL 8
// prints them) or anything else at its commas.
func elements(s string) []string {
	if strings.HasPrefix(s, "[") {
		d := json.NewDecoder(strings.NewReader(s))
		d.UseNumber()
		var arr []any
		if err := d.Decode(&arr); err == nil {
			out := make([]string, len(arr))
			for i, e := range arr {
				var b strings.Builder
				writeJSON(&b, e)
				out[i] = b.String()
			}
			return out
		}
	}
	return strings.Split(s, ",")
}
