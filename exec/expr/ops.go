package expr

import (
	"math"
	"strings"
	"unicode/utf8"

	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

func registerOps() {
	for _, op := range []string{"+", "-", "*", "/", "div", "%"} {
		register(op, &builtin{minArgs: 2, maxArgs: 2, infix: true, check: checkArith, compile: compileArith})
	}
	builtins["mod"] = &builtin{minArgs: 2, maxArgs: 2, check: checkArith, compile: compileArith}
	register("neg", &builtin{minArgs: 1, maxArgs: 1, check: checkNeg, compile: compileNeg})
	for _, op := range []string{"=", "<>", "!=", "<", "<=", ">", ">=", "<=>"} {
		register(op, &builtin{minArgs: 2, maxArgs: 2, infix: true, check: checkCompare, compile: compileCompare})
	}
	register("and", &builtin{minArgs: 2, maxArgs: 2, infix: true, check: checkLogic, compile: compileAnd})
	register("or", &builtin{minArgs: 2, maxArgs: 2, infix: true, check: checkLogic, compile: compileOr})
	register("xor", &builtin{minArgs: 2, maxArgs: 2, infix: true, check: checkLogic, compile: compileXor})
	register("not", &builtin{minArgs: 1, maxArgs: 1, infix: true, check: checkLogic, compile: compileNot})
	register("isnull", &builtin{minArgs: 1, maxArgs: 1, check: checkIsNull, compile: compileIsNull})
	register("isnotnull", &builtin{minArgs: 1, maxArgs: 1, check: checkIsNull, compile: compileIsNull})
	for _, n := range []string{"istrue", "isfalse", "isnottrue", "isnotfalse"} {
		register(n, &builtin{minArgs: 1, maxArgs: 1, check: checkLogic, compile: compileIsTruth})
	}
	register("in", &builtin{minArgs: 2, maxArgs: -1, check: checkIn, compile: compileIn})
	register("between", &builtin{minArgs: 3, maxArgs: 3, check: checkIn, compile: compileBetween})
	register("like", &builtin{minArgs: 2, maxArgs: 3, check: checkLike, compile: compileLike})
}

// ---- arithmetic ----

func checkArith(c *Call) error {
	a, b := c.Args[0].Type(), c.Args[1].Type()
	if a.Kind == types.Interval || b.Kind == types.Interval || isTimeKind(a.Kind) || isTimeKind(b.Kind) {
		return checkTimeArith(c)
	}
	for _, t := range []types.Type{a, b} {
		if !isNumericKind(t.Kind) && !isStringKind(t.Kind) && t.Kind != types.Unknown && t.Kind != types.Bytes {
			return mismatch("operator does not exist: %s %s %s", a, c.Name, b)
		}
	}
	k := numericType(a, b)
	switch k {
	case types.Float:
		c.Typ = types.TypeDouble
		c.Args[0], c.Args[1] = coerceKind(c.Args[0], types.TypeDouble), coerceKind(c.Args[1], types.TypeDouble)
	case types.Int:
		c.Typ = types.TypeBigInt
		c.Args[0], c.Args[1] = coerceKind(c.Args[0], types.TypeBigInt), coerceKind(c.Args[1], types.TypeBigInt)
	case types.Decimal:
		da, db := asDecimal(a), asDecimal(b)
		if a.Kind == types.Unknown {
			da = db
		}
		if b.Kind == types.Unknown {
			db = da
		}
		c.Args[0], c.Args[1] = coerceKind(c.Args[0], da), coerceKind(c.Args[1], db)
		if c.Args[0].Type().Precision == 0 || c.Args[1].Type().Precision == 0 {
			// An unconstrained DECIMAL (a parameter) makes the result
			// unconstrained: its scale follows the values, as Postgres's
			// numeric does.
			c.Typ = types.Type{Kind: types.Decimal}
			break
		}
		switch c.Name {
		case "+", "-":
			s := max(da.Scale, db.Scale)
			c.Typ = clampDecimal(max(da.Precision-da.Scale, db.Precision-db.Scale)+s+1, s)
		case "*":
			c.Typ = clampDecimal(da.Precision+db.Precision, da.Scale+db.Scale)
		case "%", "mod":
			s := max(da.Scale, db.Scale)
			c.Typ = clampDecimal(max(da.Precision-da.Scale, db.Precision-db.Scale)+s, s)
		}
	}
	switch c.Name {
	case "/":
		if k != types.Float {
			da, db := asDecimal(c.Args[0].Type()), asDecimal(c.Args[1].Type())
			c.Args[0], c.Args[1] = coerceKind(c.Args[0], da), coerceKind(c.Args[1], db)
			if c.Args[0].Type().Precision == 0 || c.Args[1].Type().Precision == 0 {
				c.Typ = types.Type{Kind: types.Decimal}
				break
			}
			s := da.Scale + divScaleIncrement
			c.Typ = clampDecimal(da.Precision-da.Scale+db.Scale+s, s)
		}
	case "div":
		c.Typ = types.TypeBigInt
	}
	return nil
}

func checkNeg(c *Call) error {
	t := c.Args[0].Type()
	switch {
	case t.Kind == types.Int || t.Kind == types.Bool || t.Kind == types.Unknown:
		c.Args[0] = coerceKind(c.Args[0], types.TypeBigInt)
		c.Typ = types.TypeBigInt
	case t.Kind == types.Decimal || t.Kind == types.Float:
		c.Typ = t
	case isStringKind(t.Kind):
		c.Args[0] = coerce(c.Args[0], types.TypeDouble)
		c.Typ = types.TypeDouble
	case t.Kind == types.Interval:
		c.Typ = t
	default:
		return mismatch("operator does not exist: - %s", t)
	}
	return nil
}

func errOverflow(typ, op string) error {
	return sqlerr.Newf(sqlerr.NumericValueOutOfRange, "%s value is out of range in '%s'", typ, op)
}

func compileArith(c *Call, args []Func) (Func, error) {
	a, b := args[0], args[1]
	op := c.Name
	if op == "/" || op == "div" || op == "%" || op == "mod" {
		b = warnZeroDivisor(b)
	}
	switch c.Typ.Kind {
	case types.Int:
		if c.Args[0].Type().Kind != types.Int {
			// DIV over DECIMAL or DOUBLE operands: divide exactly, then
			// truncate to BIGINT.
			return compileDivNonInt(c, a, b)
		}
		return compileIntArith(op, a, b), nil
	case types.Float:
		return compileFloatArith(op, a, b), nil
	case types.Decimal:
		if c.inner && op == "/" {
			return null2(a, b, func(x, y types.Value) (types.Value, error) { return decimalDivInner(x.Str(), y.Str()) }), nil
		}
		if c.Typ.Precision == 0 || c.inner {
			return compileDecimalArith(op, dynamicScale, a, b), nil
		}
		return compileDecimalArith(op, c.Typ.Scale, a, b), nil
	}
	return nil, mismatch("cannot compile %s over %s", op, c.Typ)
}

func compileIntArith(op string, a, b Func) Func {
	switch op {
	case "+":
		return func(row types.Row, env *Env) (types.Value, error) {
			x, err := a(row, env)
			if err != nil || x.IsNull() {
				return types.Null, err
			}
			y, err := b(row, env)
			if err != nil || y.IsNull() {
				return types.Null, err
			}
			i, j := x.Int(), y.Int()
			r := i + j
			if (i > 0 && j > 0 && r < 0) || (i < 0 && j < 0 && r >= 0) {
				return types.Null, errOverflow("BIGINT", "+")
			}
			return types.NewInt(r), nil
		}
	case "-":
		return func(row types.Row, env *Env) (types.Value, error) {
			x, err := a(row, env)
			if err != nil || x.IsNull() {
				return types.Null, err
			}
			y, err := b(row, env)
			if err != nil || y.IsNull() {
				return types.Null, err
			}
			i, j := x.Int(), y.Int()
			r := i - j
			if (i >= 0 && j < 0 && r < 0) || (i < 0 && j > 0 && r >= 0) {
				return types.Null, errOverflow("BIGINT", "-")
			}
			return types.NewInt(r), nil
		}
	case "*":
		return func(row types.Row, env *Env) (types.Value, error) {
			x, err := a(row, env)
			if err != nil || x.IsNull() {
				return types.Null, err
			}
			y, err := b(row, env)
			if err != nil || y.IsNull() {
				return types.Null, err
			}
			i, j := x.Int(), y.Int()
			r := i * j
			if i != 0 && (r/i != j || (i == -1 && j == math.MinInt64) || (j == -1 && i == math.MinInt64)) {
				return types.Null, errOverflow("BIGINT", "*")
			}
			return types.NewInt(r), nil
		}
	case "div":
		return null2(a, b, func(x, y types.Value) (types.Value, error) {
			i, j := x.Int(), y.Int()
			if j == 0 {
				return types.Null, nil
			}
			if i == math.MinInt64 && j == -1 {
				return types.Null, errOverflow("BIGINT", "DIV")
			}
			return types.NewInt(i / j), nil
		})
	default: // "%", "mod"
		return null2(a, b, func(x, y types.Value) (types.Value, error) {
			i, j := x.Int(), y.Int()
			if j == 0 {
				return types.Null, nil
			}
			if j == -1 {
				return types.NewInt(0), nil
			}
			return types.NewInt(i % j), nil
		})
	}
}

func compileFloatArith(op string, a, b Func) Func {
	var f func(x, y float64) (float64, bool)
	switch op {
	case "+":
		f = func(x, y float64) (float64, bool) { return x + y, true }
	case "-":
		f = func(x, y float64) (float64, bool) { return x - y, true }
	case "*":
		f = func(x, y float64) (float64, bool) { return x * y, true }
	case "/":
		f = func(x, y float64) (float64, bool) { return x / y, y != 0 }
	default:
		f = func(x, y float64) (float64, bool) { return math.Mod(x, y), y != 0 }
	}
	return func(row types.Row, env *Env) (types.Value, error) {
		x, err := a(row, env)
		if err != nil || x.IsNull() {
			return types.Null, err
		}
		y, err := b(row, env)
		if err != nil || y.IsNull() {
			return types.Null, err
		}
		r, ok := f(x.Float(), y.Float())
		if !ok {
			return types.Null, nil
		}
		if math.IsInf(r, 0) || math.IsNaN(r) {
			return types.Null, errOverflow("DOUBLE", op)
		}
		return types.NewFloat(r), nil
	}
}

func compileDivNonInt(c *Call, a, b Func) (Func, error) {
	if c.Args[0].Type().Kind == types.Float {
		return null2(a, b, func(x, y types.Value) (types.Value, error) {
			if y.Float() == 0 {
				return types.Null, nil
			}
			q := math.Trunc(x.Float() / y.Float())
			if q >= 9.223372036854775807e18 || q < -9.223372036854775808e18 || math.IsNaN(q) {
				return types.Null, errOverflow("BIGINT", "DIV")
			}
			return types.NewInt(int64(q)), nil
		}), nil
	}
	return null2(a, b, decimalIntDiv), nil
}

func compileNeg(c *Call, args []Func) (Func, error) {
	switch c.Typ.Kind {
	case types.Int:
		return null1(args[0], func(v types.Value) (types.Value, error) {
			if v.Int() == math.MinInt64 {
				return types.Null, errOverflow("BIGINT", "-")
			}
			return types.NewInt(-v.Int()), nil
		}), nil
	case types.Float:
		return null1(args[0], func(v types.Value) (types.Value, error) { return types.NewFloat(-v.Float()), nil }), nil
	case types.Decimal:
		return null1(args[0], decimalNeg), nil
	case types.Interval:
		return null1(args[0], func(v types.Value) (types.Value, error) {
			m, us := v.IntervalParts()
			return types.NewInterval(-m, -us), nil
		}), nil
	}
	return nil, mismatch("cannot negate %s", c.Typ)
}

// ---- comparison ----

const (
	opEQ = iota
	opNE
	opLT
	opLE
	opGT
	opGE
	opNullSafeEQ
)

var cmpOps = map[string]int{"=": opEQ, "<>": opNE, "!=": opNE, "<": opLT, "<=": opLE, ">": opGT, ">=": opGE, "<=>": opNullSafeEQ}

func checkCompare(c *Call) error {
	t, err := compareType(c.Args[0].Type(), c.Args[1].Type())
	if err != nil {
		return err
	}
	c.Args[0], c.Args[1] = coerceKind(c.Args[0], t), coerceKind(c.Args[1], t)
	c.Typ = types.TypeBool
	return checkCollations(c.Args)
}

func testCmp(op, c int) bool {
	switch op {
	case opEQ, opNullSafeEQ:
		return c == 0
	case opNE:
		return c != 0
	case opLT:
		return c < 0
	case opLE:
		return c <= 0
	case opGT:
		return c > 0
	}
	return c >= 0
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpFloat64(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// comparer returns the three-way comparison for non-NULL values of kind k.
func comparer(k types.Kind) func(a, b types.Value) int {
	switch k {
	case types.Int, types.Bool, types.Date, types.Timestamp:
		return func(a, b types.Value) int { return cmpInt64(a.Int(), b.Int()) }
	case types.Float:
		return func(a, b types.Value) int { return cmpFloat64(a.Float(), b.Float()) }
	case types.Decimal:
		return decimalCmp
	case types.Interval:
		return func(a, b types.Value) int { return cmpFloat64(intervalLength(a), intervalLength(b)) }
	}
	return func(a, b types.Value) int { return strings.Compare(a.Str(), b.Str()) }
}

// argsComparer is the comparison of an operator's arguments, all of one
// kind: comparer's, or a COLLATE clause's order for strings.
func argsComparer(args []Expr) func(a, b types.Value) int {
	k := args[0].Type().Kind
	if coll := collationOfArgs(args); coll != nil && k == types.String {
		return coll.compare
	}
	return comparer(k)
}

// Compare orders two values of the same kind; NULL sorts after every value
// (Postgres's default for ascending order).
func Compare(a, b types.Value) int {
	switch {
	case a.IsNull() && b.IsNull():
		return 0
	case a.IsNull():
		return 1
	case b.IsNull():
		return -1
	}
	return comparer(a.Kind())(a, b)
}

func compileCompare(c *Call, args []Func) (Func, error) {
	a, b := args[0], args[1]
	op := cmpOps[c.Name]
	if op == opNullSafeEQ {
		cmp := argsComparer(c.Args)
		return func(row types.Row, env *Env) (types.Value, error) {
			x, err := a(row, env)
			if err != nil {
				return types.Null, err
			}
			y, err := b(row, env)
			if err != nil {
				return types.Null, err
			}
			if x.IsNull() || y.IsNull() {
				return types.NewBool(x.IsNull() && y.IsNull()), nil
			}
			return types.NewBool(cmp(x, y) == 0), nil
		}, nil
	}
	if k, ok := c.Args[1].(*Const); ok && !k.Value.IsNull() {
		// x op constant, the usual filter: one closure call per row.
		switch c.Args[0].Type().Kind {
		case types.Int, types.Bool, types.Date, types.Timestamp:
			y := k.Value.Int()
			return func(row types.Row, env *Env) (types.Value, error) {
				x, err := a(row, env)
				if err != nil || x.IsNull() {
					return types.Null, err
				}
				return types.NewBool(testCmp(op, cmpInt64(x.Int(), y))), nil
			}, nil
		case types.Float:
			y := k.Value.Float()
			return func(row types.Row, env *Env) (types.Value, error) {
				x, err := a(row, env)
				if err != nil || x.IsNull() {
					return types.Null, err
				}
				return types.NewBool(testCmp(op, cmpFloat64(x.Float(), y))), nil
			}, nil
		}
	}
	switch c.Args[0].Type().Kind {
	case types.Int, types.Bool, types.Date, types.Timestamp:
		// The hot path: no indirect comparison call.
		return func(row types.Row, env *Env) (types.Value, error) {
			x, err := a(row, env)
			if err != nil || x.IsNull() {
				return types.Null, err
			}
			y, err := b(row, env)
			if err != nil || y.IsNull() {
				return types.Null, err
			}
			return types.NewBool(testCmp(op, cmpInt64(x.Int(), y.Int()))), nil
		}, nil
	case types.Float:
		return func(row types.Row, env *Env) (types.Value, error) {
			x, err := a(row, env)
			if err != nil || x.IsNull() {
				return types.Null, err
			}
			y, err := b(row, env)
			if err != nil || y.IsNull() {
				return types.Null, err
			}
			return types.NewBool(testCmp(op, cmpFloat64(x.Float(), y.Float()))), nil
		}, nil
	}
	cmp := argsComparer(c.Args)
	return null2(a, b, func(x, y types.Value) (types.Value, error) {
		return types.NewBool(testCmp(op, cmp(x, y))), nil
	}), nil
}

// ---- logic ----

func checkLogic(c *Call) error {
	for i, a := range c.Args {
		b, err := toBool(a)
		if err != nil {
			return err
		}
		c.Args[i] = b
	}
	c.Typ = types.TypeBool
	return nil
}

var (
	vTrue  = types.NewBool(true)
	vFalse = types.NewBool(false)
)

func compileAnd(_ *Call, args []Func) (Func, error) {
	a, b := args[0], args[1]
	return func(row types.Row, env *Env) (types.Value, error) {
		x, err := a(row, env)
		if err != nil {
			return types.Null, err
		}
		if !x.IsNull() && !x.Bool() {
			return vFalse, nil
		}
		y, err := b(row, env)
		if err != nil {
			return types.Null, err
		}
		if !y.IsNull() && !y.Bool() {
			return vFalse, nil
		}
		if x.IsNull() || y.IsNull() {
			return types.Null, nil
		}
		return vTrue, nil
	}, nil
}

func compileOr(_ *Call, args []Func) (Func, error) {
	a, b := args[0], args[1]
	return func(row types.Row, env *Env) (types.Value, error) {
		x, err := a(row, env)
		if err != nil {
			return types.Null, err
		}
		if !x.IsNull() && x.Bool() {
			return vTrue, nil
		}
		y, err := b(row, env)
		if err != nil {
			return types.Null, err
		}
		if !y.IsNull() && y.Bool() {
			return vTrue, nil
		}
		if x.IsNull() || y.IsNull() {
			return types.Null, nil
		}
		return vFalse, nil
	}, nil
}

func compileXor(_ *Call, args []Func) (Func, error) {
	return null2(args[0], args[1], func(x, y types.Value) (types.Value, error) {
		return types.NewBool(x.Bool() != y.Bool()), nil
	}), nil
}

func compileNot(_ *Call, args []Func) (Func, error) {
	return null1(args[0], func(v types.Value) (types.Value, error) { return types.NewBool(!v.Bool()), nil }), nil
}

func checkIsNull(c *Call) error {
	c.Typ = types.TypeBool
	return nil
}

func compileIsNull(c *Call, args []Func) (Func, error) {
	a, want := args[0], c.Name == "isnull"
	return func(row types.Row, env *Env) (types.Value, error) {
		v, err := a(row, env)
		if err != nil {
			return types.Null, err
		}
		return types.NewBool(v.IsNull() == want), nil
	}, nil
}

func compileIsTruth(c *Call, args []Func) (Func, error) {
	a := args[0]
	want := c.Name == "istrue" || c.Name == "isnottrue"
	negate := c.Name == "isnottrue" || c.Name == "isnotfalse"
	return func(row types.Row, env *Env) (types.Value, error) {
		v, err := a(row, env)
		if err != nil {
			return types.Null, err
		}
		r := !v.IsNull() && v.Bool() == want
		return types.NewBool(r != negate), nil
	}, nil
}

// ---- IN, BETWEEN ----

func checkIn(c *Call) error {
	if c.Name == "in" {
		pairs := make([]types.Type, len(c.Args)-1)
		mixed := false
		for i, a := range c.Args[1:] {
			var err error
			if pairs[i], err = compareType(c.Args[0].Type(), a.Type()); err != nil {
				return err
			}
			mixed = mixed || pairs[i].Kind != pairs[0].Kind
		}
		if mixed {
			for i, t := range pairs {
				c.Args[i+1] = coerceKind(c.Args[i+1], t)
			}
			c.pairwise, c.Typ = pairs, types.TypeBool
			return checkCollations(c.Args)
		}
	}
	t := c.Args[0].Type()
	for _, a := range c.Args[1:] {
		var err error
		if t, err = compareType(t, a.Type()); err != nil {
			return err
		}
	}
	for i := range c.Args {
		c.Args[i] = coerceKind(c.Args[i], t)
	}
	c.Typ = types.TypeBool
	return checkCollations(c.Args)
}

func compileBetween(c *Call, args []Func) (Func, error) {
	cmp := argsComparer(c.Args)
	x, lo, hi := args[0], args[1], args[2]
	return func(row types.Row, env *Env) (types.Value, error) {
		v, err := x(row, env)
		if err != nil || v.IsNull() {
			return types.Null, err
		}
		l, err := lo(row, env)
		if err != nil {
			return types.Null, err
		}
		h, err := hi(row, env)
		if err != nil {
			return types.Null, err
		}
		// Three-valued: a NULL bound decides only if the other bound fails.
		geLo := types.Null
		if !l.IsNull() {
			geLo = types.NewBool(cmp(v, l) >= 0)
		}
		leHi := types.Null
		if !h.IsNull() {
			leHi = types.NewBool(cmp(v, h) <= 0)
		}
		if (!geLo.IsNull() && !geLo.Bool()) || (!leHi.IsNull() && !leHi.Bool()) {
			return vFalse, nil
		}
		if geLo.IsNull() || leHi.IsNull() {
			return types.Null, nil
		}
		return vTrue, nil
	}, nil
}

// ---- LIKE ----

func checkLike(c *Call) error {
	for i, a := range c.Args {
		k := a.Type().Kind
		if k == types.Interval {
			return mismatch("LIKE does not apply to %s", a.Type())
		}
		c.Args[i] = coerceKind(a, types.TypeText)
	}
	c.Typ = types.TypeBool
	return checkCollations(c.Args)
}

func compileLike(c *Call, args []Func) (Func, error) {
	s, p := args[0], args[1]
	fold, foldP := false, foldString
	if coll := collationOfArgs(c.Args); coll != nil && coll.insensitive {
		fold = true
		if k, ok := c.Args[1].(*Const); ok && !k.Value.IsNull() {
			// A constant pattern is folded once.
			folded := types.NewString(foldString(k.Value.Str()))
			p = func(types.Row, *Env) (types.Value, error) { return folded, nil }
			foldP = func(s string) string { return s }
		}
	}
	esc := func(types.Row, *Env) (types.Value, error) { return types.NewString(`\`), nil }
	if len(args) == 3 {
		esc = args[2]
	}
	return func(row types.Row, env *Env) (types.Value, error) {
		sv, err := s(row, env)
		if err != nil || sv.IsNull() {
			return types.Null, err
		}
		pv, err := p(row, env)
		if err != nil || pv.IsNull() {
			return types.Null, err
		}
		ev, err := esc(row, env)
		if err != nil {
			return types.Null, err
		}
		e := rune(-1)
		if !ev.IsNull() && ev.Str() != "" {
			r, n := utf8.DecodeRuneInString(ev.Str())
			if n != len(ev.Str()) {
				return types.Null, sqlerr.Newf(sqlerr.InvalidParameterValue, "invalid escape string: must be one character")
			}
			e = r
		}
		if fold {
			return types.NewBool(likeMatch(foldString(sv.Str()), foldP(pv.Str()), foldRune(e))), nil
		}
		return types.NewBool(likeMatch(sv.Str(), pv.Str(), e)), nil
	}, nil
}

// likeMatch matches s against a LIKE pattern: % is any run of characters, _
// one character, esc makes the next pattern character literal. It
// backtracks only to the last %, so it runs in O(len(s)*len(p)) at worst.
func likeMatch(s, p string, esc rune) bool {
	var starP, starS = -1, -1
	i, j := 0, 0
	for i < len(s) {
		if j < len(p) {
			pr, pn := utf8.DecodeRuneInString(p[j:])
			switch {
			case pr == '%':
				starP, starS = j+pn, i
				j += pn
				continue
			case pr == esc && j+pn < len(p):
				lr, ln := utf8.DecodeRuneInString(p[j+pn:])
				sr, sn := utf8.DecodeRuneInString(s[i:])
				if lr == sr {
					i += sn
					j += pn + ln
					continue
				}
			case pr == '_':
				_, sn := utf8.DecodeRuneInString(s[i:])
				i += sn
				j += pn
				continue
			default:
				sr, sn := utf8.DecodeRuneInString(s[i:])
				if pr == sr {
					i += sn
					j += pn
					continue
				}
			}
		}
		if starP < 0 {
			return false
		}
		_, sn := utf8.DecodeRuneInString(s[starS:])
		starS += sn
		i, j = starS, starP
	}
	for j < len(p) && p[j] == '%' {
		j++
	}
	return j == len(p)
}

// warnZeroDivisor wraps a divisor so that a zero one warns, as MySQL's
// ERROR_FOR_DIVISION_BY_ZERO does in a SELECT; the quotient is NULL.
func warnZeroDivisor(b Func) Func {
	return func(row types.Row, env *Env) (types.Value, error) {
		y, err := b(row, env)
		if err == nil && isZero(y) {
			env.Warnf(sqlerr.DivisionByZero, "Division by 0")
		}
		return y, err
	}
}

// isZero reports whether a numeric value is zero (of any sign and scale).
func isZero(v types.Value) bool {
	switch v.Kind() {
	case types.Int:
		return v.Int() == 0
	case types.Float:
		return v.Float() == 0
	case types.Decimal:
		return strings.Trim(v.Str(), "-0.") == ""
	}
	return false
}
