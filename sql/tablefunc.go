package sql

import (
	"math/big"
	"regexp"
	"strconv"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/streamsql/streamsql/sql/sqlerr"
)

// argKind is what a table function argument must be.
type argKind uint8

const (
	argName     argKind = iota // a bare name
	argInterval                // INTERVAL ...
	argExpr                    // a scalar expression or an INTERVAL
)

type tableFuncSpec struct {
	name     string
	args     []argKind
	argNames []string
	min      int // arguments required; len(args) is the maximum
}

// tableFuncs are the table functions allowed in FROM.
var tableFuncs = map[string]*tableFuncSpec{
	"TUMBLE": {name: "TUMBLE", args: []argKind{argName, argName, argInterval},
		argNames: []string{"source", "time column", "size"}, min: 3},
	"HOP": {name: "HOP", args: []argKind{argName, argName, argInterval, argInterval},
		argNames: []string{"source", "time column", "slide", "size"}, min: 4},
	"SESSION": {name: "SESSION", args: []argKind{argName, argName, argInterval},
		argNames: []string{"source", "time column", "gap"}, min: 3},
	"GENERATE_SERIES": {name: "GENERATE_SERIES", args: []argKind{argExpr, argExpr, argExpr},
		argNames: []string{"start", "stop", "step"}, min: 2},
}

// signature renders "TUMBLE(source, time column, size)" for messages.
func (s *tableFuncSpec) signature() string {
	var b strings.Builder
	b.WriteString(s.name + "(")
	for i, n := range s.argNames {
		if i > 0 {
			b.WriteString(", ")
		}
		if i >= s.min {
			b.WriteString("[" + n + "]")
		} else {
			b.WriteString(n)
		}
	}
	return b.String() + ")"
}

// parseTableFunc reads the call whose name is token nameIdx and whose ')'
// is token close. buf is the rewritten query text starting at byte start;
// order numbers parameter markers.
// casts collects the targets of Postgres casts in argument expressions.
func (p *parser) parseTableFunc(spec *tableFuncSpec, nameIdx, close, start int, buf []byte, order map[int]int, casts *[]Cast) (*TableFunc, error) {
	nt := p.toks[nameIdx]
	tf := &TableFunc{Name: spec.name, Pos: p.pos(nt.start)}
	// Split the arguments at commas outside parentheses.
	var ranges [][2]int
	depth, a := 0, nameIdx+2
	for k := nameIdx + 2; k <= close; k++ {
		t := p.toks[k]
		switch {
		case t.punct("("):
			depth++
		case t.punct(")") && depth > 0:
			depth--
		case depth == 0 && (t.punct(",") || k == close):
			if k == a {
				if k == close && len(ranges) == 0 {
					break // no arguments at all
				}
				return nil, p.syntaxErr(t)
			}
			ranges = append(ranges, [2]int{a, k})
			a = k + 1
		}
	}
	if len(ranges) < spec.min || len(ranges) > len(spec.args) {
		want := strconv.Itoa(spec.min)
		if spec.min != len(spec.args) {
			want += " or " + strconv.Itoa(len(spec.args))
		}
		return nil, p.errAt(nt.start, sqlerr.UndefinedFunction, "%s takes %s arguments, %s; got %d",
			spec.name, want, spec.signature(), len(ranges))
	}
	for i, r := range ranges {
		first := p.toks[r[0]]
		arg := FuncArg{Pos: p.pos(first.start)}
		sub := p.sub(r[0], r[1])
		switch kind := spec.args[i]; {
		case kind == argName:
			if !first.isName() || r[1]-r[0] != 1 {
				return nil, p.errAt(first.start, sqlerr.SyntaxError, "argument %d of %s (the %s) must be a name",
					i+1, spec.name, spec.argNames[i])
			}
			arg.Ident = first.name()
		case first.is("interval"):
			iv, err := sub.parseInterval()
			if err != nil {
				return nil, err
			}
			if err := sub.expectEnd(); err != nil {
				return nil, err
			}
			arg.Interval = iv
		case kind == argInterval:
			return nil, p.errAt(first.start, sqlerr.DatatypeMismatch, "argument %d of %s (the %s) must be an interval such as INTERVAL '1' MINUTE",
				i+1, spec.name, spec.argNames[i])
		default:
			expr, err := p.parseArgExpr(r[0], r[1], start, buf, order, casts)
			if err != nil {
				return nil, err
			}
			arg.Expr = expr
		}
		tf.Args = append(tf.Args, arg)
	}
	if spec.name != "GENERATE_SERIES" {
		if err := p.checkWindowArgs(tf, ranges); err != nil {
			return nil, err
		}
	}
	return tf, nil
}

// checkWindowArgs requires window sizes to be positive fixed lengths and a
// HOP size to be a whole number of slides, so every row falls in exactly
// size/slide windows.
func (p *parser) checkWindowArgs(tf *TableFunc, ranges [][2]int) error {
	var micros []int64
	for i := 2; i < len(tf.Args); i++ {
		iv := tf.Args[i].Interval
		if iv.Months != 0 || iv.Micros <= 0 {
			return sqlerr.Newf(sqlerr.InvalidParameterValue,
				"%s %s must be a positive interval of fixed length (no months or years)",
				tf.Name, tableFuncs[tf.Name].argNames[i]).At(tf.Args[i].Pos)
		}
		micros = append(micros, iv.Micros)
	}
	if tf.Name == "HOP" && micros[1]%micros[0] != 0 {
		return sqlerr.Newf(sqlerr.InvalidParameterValue, "HOP size must be a whole multiple of its slide").At(tf.Args[3].Pos)
	}
	return nil
}

// sub returns a parser over tokens [from, to) of p.
func (p *parser) sub(from, to int) *parser {
	end := p.toks[to].start
	toks := append(p.toks[from:to:to], token{kind: tEOF, start: end, end: end})
	return &parser{src: p.src, chars: p.chars, toks: toks, comments: p.comments}
}

// parseArgExpr has TiDB parse tokens [from, to) of the rewritten query as
// one expression, by reading "SELECT " + the argument.
func (p *parser) parseArgExpr(from, to, start int, buf []byte, order map[int]int, casts *[]Cast) (ast.ExprNode, error) {
	const prefix = "SELECT "
	a := p.toks[from].start
	arg, m, err := p.rewritePostgres(from, to, start, buf, nil, casts)
	if err != nil {
		return nil, err
	}
	text := prefix + arg
	srcOff := func(off int) int {
		if off < len(prefix) {
			return a
		}
		return m.src(off - len(prefix))
	}
	stmts, err := p.tidbParse(text, srcOff, a)
	if err != nil {
		return nil, err
	}
	sel, ok := stmts[0].(*ast.SelectStmt)
	if len(stmts) != 1 || !ok || sel.From != nil || sel.Fields == nil || len(sel.Fields.Fields) != 1 || sel.Fields.Fields[0].Expr == nil {
		return nil, p.errAt(a, sqlerr.SyntaxError, "table function argument must be an expression")
	}
	expr := sel.Fields.Fields[0].Expr
	expr.Accept(&queryVisitor{order: order, srcOff: srcOff})
	return expr, nil
}

// interval units: microseconds, or months when months is set.
type intervalUnit struct {
	micros int64
	months int64
}

var intervalUnits = map[string]intervalUnit{
	"microsecond": {micros: 1},
	"millisecond": {micros: 1000},
	"second":      {micros: 1_000_000},
	"minute":      {micros: 60_000_000},
	"hour":        {micros: 3_600_000_000},
	"day":         {micros: 86_400_000_000},
	"week":        {micros: 7 * 86_400_000_000},
	"month":       {months: 1},
	"quarter":     {months: 3},
	"year":        {months: 12},
}

// compound units as MySQL spells them, with their fields in order.
var compoundUnits = map[string][]string{
	"minute_second": {"minute", "second"},
	"hour_minute":   {"hour", "minute"},
	"hour_second":   {"hour", "minute", "second"},
	"day_hour":      {"day", "hour"},
	"day_minute":    {"day", "hour", "minute"},
	"day_second":    {"day", "hour", "minute", "second"},
	"year_month":    {"year", "month"},
	// The units ending in MICROSECOND, as MySQL has them.
	"second_microsecond": {"second", "microsecond"},
	"minute_microsecond": {"minute", "second", "microsecond"},
	"hour_microsecond":   {"hour", "minute", "second", "microsecond"},
	"day_microsecond":    {"day", "hour", "minute", "second", "microsecond"},
}

func lookupUnit(w string) (intervalUnit, bool) {
	w = strings.ToLower(w)
	if u, ok := intervalUnits[w]; ok {
		return u, true
	}
	u, ok := intervalUnits[strings.TrimSuffix(w, "s")]
	return u, ok
}

// parseInterval reads INTERVAL 5 SECOND, INTERVAL '5' SECOND,
// INTERVAL '1:30' MINUTE_SECOND or INTERVAL '5 seconds'.
func (p *parser) parseInterval() (*Interval, error) {
	kw := p.next()
	if !kw.is("interval") {
		return nil, p.syntaxErr(kw)
	}
	vt := p.next()
	var val string
	switch {
	case vt.kind == tString || vt.kind == tNumber:
		val = vt.val
	case (vt.punct("-") || vt.punct("+")) && p.peek().kind == tNumber:
		val = strings.TrimPrefix(vt.text, "+") + p.next().val
	default:
		return nil, p.errAt(vt.start, sqlerr.SyntaxError, "expected an interval value such as '5' after INTERVAL, found %s", describe(vt))
	}
	ut := p.peek()
	if ut.kind != tIdent {
		if vt.kind == tString {
			iv, err := parsePostgresInterval(val)
			if err != nil {
				return nil, p.errAt(vt.start, sqlerr.InvalidDatetimeFormat, "invalid interval %q: %v", val, err)
			}
			return iv, nil
		}
		return nil, p.errAt(ut.start, sqlerr.SyntaxError, "expected an interval unit such as SECOND, found %s", describe(ut))
	}
	p.next()
	unit := strings.ToLower(ut.val)
	if fields, ok := compoundUnits[unit]; ok {
		iv, err := parseCompoundInterval(val, fields)
		if err != nil {
			return nil, p.errAt(vt.start, sqlerr.InvalidDatetimeFormat, "invalid %s interval %q: %v", strings.ToUpper(unit), val, err)
		}
		return iv, nil
	}
	u, ok := lookupUnit(unit)
	if !ok {
		return nil, p.errAt(ut.start, sqlerr.SyntaxError, "unknown interval unit %q; use MICROSECOND, MILLISECOND, SECOND, MINUTE, HOUR, DAY, WEEK, MONTH, QUARTER or YEAR", ut.val)
	}
	iv := &Interval{}
	if err := iv.add(strings.TrimSpace(val), u); err != nil {
		return nil, p.errAt(vt.start, sqlerr.InvalidDatetimeFormat, "invalid interval value %q: %v", val, err)
	}
	return iv, nil
}

// add adds val (a decimal number) of unit u to iv.
func (iv *Interval) add(val string, u intervalUnit) error {
	// The pattern first: big.Rat would also take "1/3" and "1e99999999".
	if !decimalText.MatchString(val) || len(val) > 40 {
		return errNotNumber
	}
	r, ok := new(big.Rat).SetString(val)
	if !ok {
		return errNotNumber
	}
	mul := u.micros
	if u.months != 0 {
		mul = u.months
	}
	r.Mul(r, new(big.Rat).SetInt64(mul))
	if !r.IsInt() {
		if u.months != 0 {
			return errFraction("a whole number of months")
		}
		return errFraction("a whole number of microseconds")
	}
	n := r.Num()
	if !n.IsInt64() {
		return errRange
	}
	sum := new(big.Int).Add(n, big.NewInt(iv.Micros))
	if u.months != 0 {
		sum = new(big.Int).Add(n, big.NewInt(iv.Months))
	}
	if !sum.IsInt64() {
		return errRange
	}
	if u.months != 0 {
		iv.Months = sum.Int64()
	} else {
		iv.Micros = sum.Int64()
	}
	return nil
}

var decimalText = regexp.MustCompile(`^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)$`)

type textError string

func (e textError) Error() string { return string(e) }

const (
	errNotNumber = textError("not a number")
	errRange     = textError("out of range")
)

func errFraction(what string) error { return textError("it must be " + what) }

// parseCompoundInterval reads '1:30' MINUTE_SECOND style values: fields
// separated by ':' or ' ', the last one may have a fraction.
func parseCompoundInterval(val string, fields []string) (*Interval, error) {
	val = strings.TrimSpace(val)
	neg := strings.HasPrefix(val, "-")
	val = strings.TrimPrefix(val, "-")
	parts := strings.FieldsFunc(val, func(r rune) bool { return r == ':' || r == ' ' || r == '-' })
	if len(parts) != len(fields) {
		return nil, textError("expected " + strings.Join(fields, ", ") + " separated by ':' or ' '")
	}
	iv := &Interval{}
	for i, part := range parts {
		if neg {
			part = "-" + part
		}
		if i < len(parts)-1 && strings.Contains(part, ".") {
			return nil, textError("only the last field may have a fraction")
		}
		if err := iv.add(part, intervalUnits[fields[i]]); err != nil {
			return nil, err
		}
	}
	return iv, nil
}

// parsePostgresInterval reads '5 seconds', '1 hour 30 minutes'.
func parsePostgresInterval(val string) (*Interval, error) {
	f := strings.Fields(val)
	if len(f) == 0 || len(f)%2 != 0 {
		return nil, textError("expected pairs of a number and a unit, such as '5 seconds'")
	}
	iv := &Interval{}
	for i := 0; i < len(f); i += 2 {
		u, ok := lookupUnit(f[i+1])
		if !ok {
			return nil, textError("unknown unit " + strconv.Quote(f[i+1]))
		}
		if err := iv.add(f[i], u); err != nil {
			return nil, err
		}
	}
	return iv, nil
}
