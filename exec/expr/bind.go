package expr

import (
	"strconv"
	"strings"

	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// builtin is one function or operator: how it types and coerces its
// arguments at bind time and how it compiles once they are fixed.
type builtin struct {
	minArgs, maxArgs int // maxArgs < 0: variadic
	infix            bool
	// check validates c.Args' types, rewrites them with the casts the
	// operator needs, and sets c.Typ.
	check func(c *Call) error
	// compile returns the evaluator given the compiled arguments.
	compile func(c *Call, args []Func) (Func, error)
}

var builtins map[string]*builtin

func register(names string, b *builtin) {
	for _, n := range strings.Split(names, " ") {
		builtins[n] = b
	}
}

func init() {
	builtins = map[string]*builtin{}
	registerOps()
	registerBits()
	registerConds()
	registerStrings()
	registerSplit()
	registerMath()
	registerMathMore()
	registerJSON()
	registerTime()
	registerAggTuple()
}

// HasFunction reports whether name (any case) is a builtin scalar function.
func HasFunction(name string) bool {
	_, ok := builtins[strings.ToLower(name)]
	return ok
}

// NewCall binds a call of the builtin name (any case) to args: it checks
// the argument count and types, inserts the implicit casts MySQL would do,
// and computes the result type. pos is the call's 1-based position in the
// client's text (0 when unknown); errors carry it.
func NewCall(name string, pos int, args ...Expr) (*Call, error) {
	return NewUnitCall(name, "", pos, args...)
}

// NewUnitCall is NewCall for calls that take a time unit keyword
// (interval, extract, timestampdiff).
func NewUnitCall(name, unit string, pos int, args ...Expr) (*Call, error) {
	lname := strings.ToLower(name)
	def, ok := builtins[lname]
	if !ok {
		return nil, sqlerr.Newf(sqlerr.UndefinedFunction, "function %s does not exist", lname).At(pos)
	}
	if len(args) < def.minArgs || (def.maxArgs >= 0 && len(args) > def.maxArgs) {
		return nil, sqlerr.Newf(sqlerr.UndefinedFunction, "function %s(%s) does not exist", lname, argTypes(args)).
			WithHint("%s takes %s", lname, arity(def)).At(pos)
	}
	c := &Call{Name: lname, Args: append([]Expr(nil), args...), Pos: pos, def: def, Unit: strings.ToUpper(unit)}
	if err := def.check(c); err != nil {
		if e, ok := err.(*sqlerr.Error); ok && e.Position == 0 {
			return nil, e.At(pos)
		}
		return nil, err
	}
	if computesOn[lname] {
		for i, a := range c.Args {
			c.Args[i] = innerOf(a)
		}
	}
	return c, nil
}

// computesOn names the calls that compute on their numeric arguments, so
// that a quotient among them keeps MySQL's internal digits (innerOf).
// Others (text, dates, JSON) see the quotient as shown; the calls that hand
// an argument on as their value (ABS, IF, GREATEST...) keep its digits only
// when their own value is computed on.
var computesOn = func() map[string]bool {
	m := map[string]bool{}
	for _, n := range strings.Fields(`+ - * / div % mod = <> != < <= > >= <=> in between
		round truncate floor ceil ceiling power pow sqrt sign ln log log2 log10 exp
		sin cos tan cot asin acos atan atan2 degrees radians rand conv bin oct format`) {
		m[n] = true
	}
	return m
}()

// innerOf returns e with the DECIMAL arithmetic under it marked inner,
// as its value is computed on rather than shown. MySQL keeps a quotient to
// whole 9-digit words (1/3 is 0.333333333 inside, 0.3333 shown) and adds
// and multiplies such values exactly, rounding only what it sends, so
// 1/3*3 = 1.0000 and POWER(2, 1/3) sees 0.333333333. A cast to text is
// shown (CONCAT(1/3) is '0.3333'), so it stops the marking. Marked nodes
// are copies: an expression the planner shares with an output column is
// left as it was.
func innerOf(e Expr) Expr {
	switch x := e.(type) {
	case *Call:
		if x.Typ.Kind != types.Decimal || x.inner {
			return e
		}
		switch x.Name {
		case "+", "-", "*", "/", "%", "mod":
			cp := *x
			cp.inner = true
			return &cp
		case "neg", "abs", "if", "ifnull", "coalesce", "nullif", "greatest", "least":
			cp := *x
			cp.inner = true
			cp.Args = make([]Expr, len(x.Args))
			for i, a := range x.Args {
				cp.Args[i] = innerOf(a)
			}
			return &cp
		}
	case *Case:
		if x.Typ.Kind != types.Decimal {
			return e
		}
		cp := *x
		cp.Whens = append([]When(nil), x.Whens...)
		for i := range cp.Whens {
			cp.Whens[i].Result = innerOf(cp.Whens[i].Result)
		}
		if cp.Else != nil {
			cp.Else = innerOf(cp.Else)
		}
		return &cp
	case *Cast:
		if k := x.To.Kind; k == types.Decimal || k == types.Float || k == types.Int || k == types.Bool {
			if a := innerOf(x.Arg); a != x.Arg {
				cp := *x
				cp.Arg = a
				return &cp
			}
		}
	}
	return e
}

func argTypes(args []Expr) string {
	var b strings.Builder
	for i, a := range args {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strings.ToLower(a.Type().String()))
	}
	return b.String()
}

func arity(def *builtin) string {
	switch {
	case def.maxArgs < 0:
		return "at least " + itoa(def.minArgs) + " arguments"
	case def.minArgs == def.maxArgs:
		return itoa(def.minArgs) + " arguments"
	}
	return itoa(def.minArgs) + " to " + itoa(def.maxArgs) + " arguments"
}

func itoa(i int) string { return strconv.Itoa(i) }

func mismatch(format string, args ...any) error {
	return sqlerr.Newf(sqlerr.DatatypeMismatch, format, args...)
}

// NewCast binds CAST(e AS to). Every kind converts to every kind at bind
// time except where no conversion exists (e.g. INTERVAL to BIGINT), which
// is 42804.
func NewCast(e Expr, to types.Type, pos int) (Expr, error) {
	if _, err := castFunc(e.Type(), to); err != nil {
		return nil, sqlerr.Wrap(err, sqlerr.DatatypeMismatch, "cannot cast").At(pos)
	}
	if c, ok := e.(*Const); ok && c.Value.IsNull() {
		return &Const{Value: types.Null, Typ: to}, nil
	}
	return innerOf(&Cast{Arg: e, To: to, Pos: pos}), nil
}

// UnsignedType is the type of CAST(x AS UNSIGNED): streamsql has no
// unsigned integers, and DECIMAL(20,0) holds every BIGINT UNSIGNED.
var UnsignedType = types.DecimalType(20, 0)

// NewUnsignedCast binds CAST(e AS UNSIGNED): a number rounded to an
// integer, a negative BIGINT wrapped to 2^64 + e, anything else below 0
// or above 2^64-1 clamped with a warning.
func NewUnsignedCast(e Expr, pos int) (Expr, error) {
	if _, err := castFunc(e.Type(), types.TypeBigInt); err != nil {
		return nil, sqlerr.Wrap(err, sqlerr.DatatypeMismatch, "cannot cast").At(pos)
	}
	if c, ok := e.(*Const); ok && c.Value.IsNull() {
		return &Const{Value: types.Null, Typ: UnsignedType}, nil
	}
	return &Cast{Arg: e, To: UnsignedType, Pos: pos, Unsigned: true}, nil
}

// NewCase binds CASE [operand] WHEN ... THEN ... [ELSE ...] END. With an
// operand, each WHEN value is compared to it with =.
func NewCase(operand Expr, whens []When, els Expr, pos int) (Expr, error) {
	out := &Case{}
	results := make([]types.Type, 0, len(whens)+1)
	for _, w := range whens {
		cond := w.Cond
		if operand != nil {
			c, err := NewCall("=", pos, operand, w.Cond)
			if err != nil {
				return nil, err
			}
			cond = c
		} else {
			var err error
			if cond, err = toBool(cond); err != nil {
				return nil, err
			}
		}
		out.Whens = append(out.Whens, When{Cond: cond, Result: w.Result})
		results = append(results, w.Result.Type())
	}
	if els != nil {
		results = append(results, els.Type())
	}
	out.Typ = CommonType(results...)
	for i := range out.Whens {
		out.Whens[i].Result = coerce(out.Whens[i].Result, out.Typ)
	}
	if els != nil {
		out.Else = coerce(els, out.Typ)
	}
	return out, nil
}

// toBool coerces a condition to BOOLEAN, as MySQL reads any number or
// string as a truth value.
func toBool(e Expr) (Expr, error) {
	k := e.Type().Kind
	switch {
	case k == types.Bool || k == types.Unknown:
		return coerce(e, types.TypeBool), nil
	case isStringKind(k) || k == types.Bytes:
		// MySQL reads a string condition as a number: 'a' is 0 (with a
		// warning), '1abc' is 1; 'true' is 0 too.
		return &Cast{Arg: coerce(e, types.TypeDouble), To: types.TypeBool}, nil
	case isNumericKind(k) || isTimeKind(k):
		return &Cast{Arg: e, To: types.TypeBool}, nil
	}
	return nil, mismatch("argument of type %s cannot be used as a condition", e.Type())
}

// ToBool is toBool for the planner's WHERE and HAVING: the condition must
// read as a truth value.
func ToBool(e Expr, pos int) (Expr, error) {
	b, err := toBool(e)
	if err != nil {
		return nil, sqlerr.Flatten(err).At(pos)
	}
	return b, nil
}
