package exprdiff

import (
	"math"
	"strconv"
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
}

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
	if st == my.Text {
		return true
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
