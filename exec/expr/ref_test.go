package expr

// A slow reference evaluator, written apart from the compiler, and a test
// that compares the two on random expressions (vitess's
// TestCompilerReference idea). The reference works on exact rationals
// (math/big) for every number and re-derives NULL and three-valued logic
// from truth tables, so a slip in a specialised closure shows up as a
// difference.

import (
	"flag"
	"fmt"
	"math"
	"math/big"
	"math/rand"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

type refErr struct{ code sqlerr.Code }

func (e refErr) Error() string { return string(e.code) }

func rfail(c sqlerr.Code) (types.Value, error) { return types.Null, refErr{c} }

var (
	minInt = new(big.Rat).SetInt64(math.MinInt64)
	maxInt = new(big.Rat).SetInt64(math.MaxInt64)
)

// ratOf reads a non-NULL numeric value exactly.
func ratOf(v types.Value) *big.Rat {
	switch v.Kind() {
	case types.Int, types.Bool:
		return new(big.Rat).SetInt64(v.Int())
	case types.Float:
		return new(big.Rat).SetFloat64(v.Float())
	case types.Decimal:
		r, _ := new(big.Rat).SetString(v.Str())
		return r
	}
	panic("ratOf " + v.Kind().String())
}

// roundRat rounds half away from zero to scale digits and renders it.
func roundRat(r *big.Rat, scale int) string {
	p := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)
	x := new(big.Rat).Mul(r, new(big.Rat).SetInt(p))
	num, den := x.Num(), x.Denom()
	q, m := new(big.Int).QuoRem(new(big.Int).Abs(num), den, new(big.Int))
	if new(big.Int).Mul(m, big.NewInt(2)).Cmp(den) >= 0 {
		q.Add(q, big.NewInt(1))
	}
	s := q.String()
	if scale > 0 {
		for len(s) <= scale {
			s = "0" + s
		}
		s = s[:len(s)-scale] + "." + s[len(s)-scale:]
	}
	if num.Sign() < 0 && strings.Trim(s, "0.") != "" {
		s = "-" + s
	}
	return s
}

// refFloatPrefix and refIntPrefix are MySQL's numeric prefix of a string
// (issue 15): what CAST and implicit conversions read of '12abc'.
var (
	refFloatPrefix = regexp.MustCompile(`^[ \t\n\r\v\f]*([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)`)
	refIntPrefix   = regexp.MustCompile(`^[ \t\n\r\v\f]*([+-]?[0-9]+)`)
)

// refNumPrefix reads a string's numeric prefix exactly; "" reads as 0.
func refNumPrefix(s string, integer bool) *big.Rat {
	re := refFloatPrefix
	if integer {
		re = refIntPrefix
	}
	m := re.FindStringSubmatch(s)
	if m == nil {
		return new(big.Rat)
	}
	t := strings.TrimPrefix(m[1], "+")
	t = strings.Replace(t, ".e", ".0e", 1)
	if strings.HasSuffix(t, ".") {
		t += "0"
	}
	if i := strings.IndexAny(t, "eE"); i >= 0 {
		// An exponent past any DECIMAL's and DOUBLE's range reads as one
		// just past it (or 0), which clamps (or rounds) the same.
		if x, err := strconv.Atoi(t[i+1:]); err != nil || x > 400 {
			t = t[:i] + "e400"
		} else if x < -400 {
			t = "0"
		}
	}
	r, ok := new(big.Rat).SetString(t)
	if !ok {
		panic("refNumPrefix: " + t)
	}
	return r
}

// refFloatText is MySQL's text of a DOUBLE: plain between 1e-15 and 1e15,
// 1.5e15 outside.
func refFloatText(f float64) string {
	a := math.Abs(f)
	if f == 0 {
		return "0" // -0 too, as MariaDB prints -0e0
	}
	if a >= 1e-15 && a < 1e15 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	s := strconv.FormatFloat(f, 'e', -1, 64)
	s = strings.Replace(s, "e+", "e", 1)
	s = strings.Replace(s, "e0", "e", 1)
	return strings.Replace(s, "e-0", "e-", 1)
}

// refRoundEven rounds a rational half to even (MySQL's rint of a DOUBLE).
func refRoundEven(r *big.Rat) *big.Rat {
	fl := new(big.Int).Div(r.Num(), r.Denom()) // floor (Euclidean, den > 0)
	rem := new(big.Rat).Sub(r, new(big.Rat).SetInt(fl))
	switch rem.Cmp(big.NewRat(1, 2)) {
	case 1:
		fl.Add(fl, big.NewInt(1))
	case 0:
		if fl.Bit(0) == 1 {
			fl.Add(fl, big.NewInt(1))
		}
	}
	return new(big.Rat).SetInt(fl)
}

func refCast(v types.Value, to types.Type) (types.Value, error) {
	if v.IsNull() {
		return types.Null, nil
	}
	from := v.Kind()
	if from == to.Kind && to.Kind != types.Decimal && to.Kind != types.String && to.Kind != types.Int {
		return v, nil
	}
	switch to.Kind {
	case types.String:
		s := v.String()
		switch from {
		case types.Bool:
			s = map[bool]string{true: "1", false: "0"}[v.Bool()]
		case types.Float:
			s = refFloatText(v.Float())
		}
		return types.NewString(s), nil
	case types.Bool:
		if from == types.String {
			switch strings.ToLower(strings.TrimSpace(v.Str())) {
			case "t", "true", "y", "yes", "on", "1":
				return types.NewBool(true), nil
			case "f", "false", "n", "no", "off", "0":
				return types.NewBool(false), nil
			}
			f, _ := refNumPrefix(v.Str(), false).Float64()
			return types.NewBool(f != 0), nil
		}
		return types.NewBool(ratOf(v).Sign() != 0), nil
	}
	var r *big.Rat
	switch {
	case from == types.String && to.Kind == types.Float:
		f, _ := refNumPrefix(v.Str(), false).Float64()
		if math.IsInf(f, 0) {
			f = math.Copysign(math.MaxFloat64, f)
		}
		return types.NewFloat(f), nil
	case from == types.String:
		r = refNumPrefix(v.Str(), to.Kind == types.Int)
	case from == types.Float && to.Kind == types.Decimal:
		// A double converts to DECIMAL through its shortest text.
		r, _ = new(big.Rat).SetString(strconv.FormatFloat(v.Float(), 'f', -1, 64))
	case from == types.Float && to.Kind == types.Int:
		r = refRoundEven(ratOf(v))
	default:
		r = ratOf(v)
	}
	switch to.Kind {
	case types.Float:
		f, _ := r.Float64()
		return types.NewFloat(f), nil
	case types.Int:
		rounded, _ := new(big.Rat).SetString(roundRat(r, 0))
		if to.Width > 0 && to.Width < 64 {
			lo := new(big.Rat).SetInt64(-1 << (to.Width - 1))
			hi := new(big.Rat).SetInt64(1<<(to.Width-1) - 1)
			if rounded.Cmp(lo) < 0 || rounded.Cmp(hi) > 0 {
				return rfail(sqlerr.NumericValueOutOfRange)
			}
		}
		// BIGINT clamps, as MySQL's CAST AS SIGNED does.
		if rounded.Cmp(minInt) < 0 {
			rounded = minInt
		} else if rounded.Cmp(maxInt) > 0 {
			rounded = maxInt
		}
		return types.NewInt(rounded.Num().Int64()), nil
	case types.Decimal:
		s := roundRat(r, to.Scale)
		if to.Precision > 0 {
			intPart := strings.TrimLeft(strings.Split(strings.TrimPrefix(s, "-"), ".")[0], "0")
			if len(intPart) > to.Precision-to.Scale {
				// DECIMAL(p,s) clamps to its largest value of that sign.
				m := new(big.Rat).SetFrac(new(big.Int).Sub(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(to.Precision)), nil), big.NewInt(1)),
					new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(to.Scale)), nil))
				if r.Sign() < 0 {
					m.Neg(m)
				}
				s = roundRat(m, to.Scale)
			}
		}
		return types.NewDecimal(s), nil
	}
	return rfail(sqlerr.DatatypeMismatch)
}

// truth reads a BOOLEAN as 0 false, 1 true, 2 unknown.
func truth(v types.Value) int {
	if v.IsNull() {
		return 2
	}
	if v.Bool() {
		return 1
	}
	return 0
}

func fromTruth(t int) types.Value {
	if t == 2 {
		return types.Null
	}
	return types.NewBool(t == 1)
}

func refCompare(a, b types.Value) int {
	switch a.Kind() {
	case types.String:
		return strings.Compare(a.Str(), b.Str())
	case types.Float:
		x, y := a.Float(), b.Float()
		if x < y {
			return -1
		} else if x > y {
			return 1
		}
		return 0
	}
	return ratOf(a).Cmp(ratOf(b))
}

func refEval(e Expr, row types.Row, env *Env) (types.Value, error) {
	switch e := e.(type) {
	case *Const:
		return e.Value, nil
	case *ColumnRef:
		return row[e.Index], nil
	case *Cast:
		v, err := refEval(e.Arg, row, env)
		if err != nil {
			return v, err
		}
		return refCast(v, e.To)
	case *Case:
		for _, w := range e.Whens {
			c, err := refEval(w.Cond, row, env)
			if err != nil {
				return c, err
			}
			if truth(c) == 1 {
				return refEval(w.Result, row, env)
			}
		}
		if e.Else == nil {
			return types.Null, nil
		}
		return refEval(e.Else, row, env)
	case *Call:
		return refCall(e, row, env)
	}
	panic(fmt.Sprintf("refEval %T", e))
}

func refCall(c *Call, row types.Row, env *Env) (types.Value, error) {
	// Lazy forms first: they do not evaluate every argument.
	switch c.Name {
	case "and", "or":
		a, err := refEval(c.Args[0], row, env)
		if err != nil {
			return a, err
		}
		ta := truth(a)
		if (c.Name == "and" && ta == 0) || (c.Name == "or" && ta == 1) {
			return fromTruth(ta), nil
		}
		b, err := refEval(c.Args[1], row, env)
		if err != nil {
			return b, err
		}
		tb := truth(b)
		and := [3][3]int{{0, 0, 0}, {0, 1, 2}, {0, 2, 2}}
		or := [3][3]int{{0, 1, 2}, {1, 1, 1}, {2, 1, 2}}
		if c.Name == "and" {
			return fromTruth(and[ta][tb]), nil
		}
		return fromTruth(or[ta][tb]), nil
	case "coalesce", "ifnull":
		for _, a := range c.Args {
			v, err := refEval(a, row, env)
			if err != nil || !v.IsNull() {
				return v, err
			}
		}
		return types.Null, nil
	case "if":
		cond, err := refEval(c.Args[0], row, env)
		if err != nil {
			return cond, err
		}
		if truth(cond) == 1 {
			return refEval(c.Args[1], row, env)
		}
		return refEval(c.Args[2], row, env)
	}
	// Arguments are evaluated left to right; strict functions (NULL in,
	// NULL out) stop at the first NULL, which decides which of two failing
	// arguments reports its error. The compiler documents the same order.
	strict := true
	switch c.Name {
	case "isnull", "isnotnull", "istrue", "isfalse", "<=>", "nullif", "in", "between":
		strict = false
	}
	vs := make([]types.Value, len(c.Args))
	anyNull := false
	for i, a := range c.Args {
		if c.Name == "nullif" && i < 2 {
			continue // evaluated after the coerced copies
		}
		v, err := refEval(a, row, env)
		if err != nil {
			return v, err
		}
		vs[i] = v
		anyNull = anyNull || v.IsNull()
		if anyNull && (strict || ((c.Name == "in" || c.Name == "between") && i == 0) || (c.Name == "nullif" && i == 2)) {
			return types.Null, nil
		}
		if c.Name == "in" && i > 0 && !v.IsNull() && refCompare(refInOperand(c, vs[0], i), v) == 0 {
			return types.NewBool(true), nil
		}
	}
	if c.Name == "nullif" {
		if !vs[3].IsNull() && refCompare(vs[2], vs[3]) == 0 {
			return types.Null, nil
		}
		return refEval(c.Args[0], row, env)
	}
	switch c.Name {
	case "isnull":
		return types.NewBool(vs[0].IsNull()), nil
	case "isnotnull":
		return types.NewBool(!vs[0].IsNull()), nil
	case "istrue":
		return types.NewBool(truth(vs[0]) == 1), nil
	case "isfalse":
		return types.NewBool(truth(vs[0]) == 0), nil
	case "<=>":
		if vs[0].IsNull() || vs[1].IsNull() {
			return types.NewBool(vs[0].IsNull() && vs[1].IsNull()), nil
		}
		return types.NewBool(refCompare(vs[0], vs[1]) == 0), nil
	case "nullif":
		if !vs[2].IsNull() && !vs[3].IsNull() && refCompare(vs[2], vs[3]) == 0 {
			return types.Null, nil
		}
		return vs[0], nil
	case "in":
		if vs[0].IsNull() {
			return types.Null, nil
		}
		res := 0
		for i, w := range vs[1:] {
			if x := refInOperand(c, vs[0], i+1); w.IsNull() || x.IsNull() {
				res = 2
			} else if refCompare(x, w) == 0 {
				return types.NewBool(true), nil
			}
		}
		return fromTruth(res), nil
	case "between":
		ge, le := 2, 2
		if vs[0].IsNull() {
			return types.Null, nil
		}
		if !vs[1].IsNull() {
			ge = map[bool]int{true: 1, false: 0}[refCompare(vs[0], vs[1]) >= 0]
		}
		if !vs[2].IsNull() {
			le = map[bool]int{true: 1, false: 0}[refCompare(vs[0], vs[2]) <= 0]
		}
		and := [3][3]int{{0, 0, 0}, {0, 1, 2}, {0, 2, 2}}
		return fromTruth(and[ge][le]), nil
	}
	if anyNull {
		return types.Null, nil
	}
	switch c.Name {
	case "not":
		return types.NewBool(!vs[0].Bool()), nil
	case "xor":
		return types.NewBool(vs[0].Bool() != vs[1].Bool()), nil
	case "=", "<>", "<", "<=", ">", ">=":
		r := refCompare(vs[0], vs[1])
		ok := map[string]bool{"=": r == 0, "<>": r != 0, "<": r < 0, "<=": r <= 0, ">": r > 0, ">=": r >= 0}[c.Name]
		return types.NewBool(ok), nil
	case "concat":
		var b strings.Builder
		for _, v := range vs {
			b.WriteString(v.Str())
		}
		return types.NewString(b.String()), nil
	case "length":
		return types.NewInt(int64(len(vs[0].Str()))), nil
	case "upper":
		return types.NewString(strings.ToUpper(vs[0].Str())), nil
	case "lower":
		return types.NewString(strings.ToLower(vs[0].Str())), nil
	case "abs", "neg":
		if c.Typ.Kind == types.Float {
			if c.Name == "abs" {
				return types.NewFloat(math.Abs(vs[0].Float())), nil
			}
			return types.NewFloat(-vs[0].Float()), nil
		}
		r := ratOf(vs[0])
		if c.Name == "abs" {
			r.Abs(r)
		} else {
			r.Neg(r)
		}
		return refNumber(r, c.Typ)
	case "+", "-", "*", "/", "%", "div", "mod":
		return refArith(c, vs)
	}
	panic("refCall " + c.Name)
}

// refNumber checks r against the result type and builds the value.
func refNumber(r *big.Rat, t types.Type) (types.Value, error) {
	switch t.Kind {
	case types.Int:
		if !r.IsInt() || r.Cmp(minInt) < 0 || r.Cmp(maxInt) > 0 {
			return rfail(sqlerr.NumericValueOutOfRange)
		}
		return types.NewInt(r.Num().Int64()), nil
	case types.Decimal:
		return types.NewDecimal(roundRat(r, t.Scale)), nil
	}
	f, _ := r.Float64()
	return types.NewFloat(f), nil
}

func refArith(c *Call, vs []types.Value) (types.Value, error) {
	if c.Name == "div" && vs[0].Kind() == types.Float {
		if vs[1].Float() == 0 {
			return types.Null, nil
		}
		q := math.Trunc(vs[0].Float() / vs[1].Float())
		if math.IsInf(q, 0) || math.IsNaN(q) {
			return rfail(sqlerr.NumericValueOutOfRange)
		}
		return refNumber(new(big.Rat).SetFloat64(q), c.Typ)
	}
	if c.Typ.Kind == types.Float {
		x, y := vs[0].Float(), vs[1].Float()
		var r float64
		switch c.Name {
		case "+":
			r = x + y
		case "-":
			r = x - y
		case "*":
			r = x * y
		case "/":
			if y == 0 {
				return types.Null, nil
			}
			r = x / y
		default:
			if y == 0 {
				return types.Null, nil
			}
			r = math.Mod(x, y)
		}
		if math.IsInf(r, 0) || math.IsNaN(r) {
			return rfail(sqlerr.NumericValueOutOfRange)
		}
		return types.NewFloat(r), nil
	}
	x, y := ratOf(vs[0]), ratOf(vs[1])
	r := new(big.Rat)
	switch c.Name {
	case "+":
		r.Add(x, y)
	case "-":
		r.Sub(x, y)
	case "*":
		r.Mul(x, y)
	case "/", "div", "%", "mod":
		if y.Sign() == 0 {
			return types.Null, nil
		}
		r.Quo(x, y)
		if c.Name == "div" || c.Name == "%" || c.Name == "mod" {
			// Truncate toward zero.
			q := new(big.Int).Quo(r.Num(), r.Denom())
			if c.Name == "div" {
				r.SetInt(q)
			} else {
				r.Sub(x, new(big.Rat).Mul(y, new(big.Rat).SetInt(q)))
			}
		}
	}
	return refNumber(r, c.Typ)
}

// gen builds random bound expressions over a row of columns.
type gen struct {
	r    *rand.Rand
	cols []types.Type
}

var genFuncs = []struct {
	name  string
	arity int
}{
	{"+", 2}, {"-", 2}, {"*", 2}, {"/", 2}, {"div", 2}, {"%", 2}, {"neg", 1}, {"abs", 1},
	{"=", 2}, {"<>", 2}, {"<", 2}, {">=", 2}, {"<=>", 2}, {"and", 2}, {"or", 2}, {"xor", 2}, {"not", 1},
	{"isnull", 1}, {"isnotnull", 1}, {"istrue", 1}, {"isfalse", 1},
	{"coalesce", 3}, {"ifnull", 2}, {"if", 3}, {"nullif", 2}, {"in", 4}, {"between", 3},
	{"concat", 2}, {"length", 1}, {"upper", 1},
}

func (g *gen) leaf() Expr {
	if g.r.Intn(3) == 0 {
		i := g.r.Intn(len(g.cols))
		return &ColumnRef{Index: i, Typ: g.cols[i]}
	}
	return g.constant()
}

var (
	genInts    = []int64{0, 1, -1, 2, 7, -13, 100, math.MaxInt64, math.MinInt64, math.MaxInt32}
	genFloats  = []float64{0, 1.5, -2.25, 1e10, -1e-3, 3, 1e300}
	genDecs    = []string{"0", "1.50", "-2.25", "99999999.99", "0.001", "-7"}
	genStrings = []string{"", "a", "abc", "12", "-3.5", " 7 ", "x y", "true"}
)

func (g *gen) constant() Expr {
	switch g.r.Intn(6) {
	case 0:
		return &Const{Value: types.NewInt(genInts[g.r.Intn(len(genInts))]), Typ: types.TypeBigInt}
	case 1:
		return &Const{Value: types.NewFloat(genFloats[g.r.Intn(len(genFloats))]), Typ: types.TypeDouble}
	case 2:
		return NewConst(types.NewDecimal(genDecs[g.r.Intn(len(genDecs))]))
	case 3:
		return &Const{Value: types.NewString(genStrings[g.r.Intn(len(genStrings))]), Typ: types.TypeText}
	case 4:
		return &Const{Value: types.NewBool(g.r.Intn(2) == 0), Typ: types.TypeBool}
	}
	return &Const{Value: types.Null}
}

func (g *gen) expr(depth int) Expr {
	if depth == 0 || g.r.Intn(4) == 0 {
		return g.leaf()
	}
	switch g.r.Intn(8) {
	case 0:
		to := []types.Type{types.TypeBigInt, types.TypeSmallInt, types.TypeDouble, types.DecimalType(12, 3), types.TypeText, types.TypeBool}[g.r.Intn(6)]
		if e, err := NewCast(g.expr(depth-1), to, 0); err == nil {
			return e
		}
	case 1:
		var whens []When
		for i := 0; i < 1+g.r.Intn(2); i++ {
			whens = append(whens, When{Cond: g.expr(depth - 1), Result: g.expr(depth - 1)})
		}
		var operand, els Expr
		if g.r.Intn(2) == 0 {
			operand = g.expr(depth - 1)
		}
		if g.r.Intn(2) == 0 {
			els = g.expr(depth - 1)
		}
		if e, err := NewCase(operand, whens, els, 0); err == nil {
			return e
		}
	}
	for tries := 0; tries < 10; tries++ {
		f := genFuncs[g.r.Intn(len(genFuncs))]
		args := make([]Expr, f.arity)
		for i := range args {
			args[i] = g.expr(depth - 1)
		}
		if f.name == "case" {
			continue
		}
		c, err := NewCall(f.name, 0, args...)
		if err == nil {
			return c
		}
	}
	return g.leaf()
}

func randomRow(r *rand.Rand) (types.Row, []types.Type) {
	cols := []types.Type{types.TypeBigInt, types.TypeDouble, types.DecimalType(10, 2), types.TypeText, types.TypeBool}
	row := types.Row{
		types.NewInt(genInts[r.Intn(len(genInts))]),
		types.NewFloat(genFloats[r.Intn(len(genFloats))]),
		types.NewDecimal(roundRat(ratOf(types.NewDecimal(genDecs[r.Intn(len(genDecs))])), 2)),
		types.NewString(genStrings[r.Intn(len(genStrings))]),
		types.NewBool(r.Intn(2) == 0),
	}
	for i := range row {
		if r.Intn(5) == 0 {
			row[i] = types.Null
		}
	}
	return row, cols
}

func sameValue(a, b types.Value) bool {
	if a.IsNull() || b.IsNull() {
		return a.IsNull() && b.IsNull()
	}
	if a.Kind() != b.Kind() {
		return false
	}
	switch a.Kind() {
	case types.Float:
		x, y := a.Float(), b.Float()
		return x == y || math.Abs(x-y) <= 1e-12*math.Max(math.Abs(x), math.Abs(y))
	case types.Decimal:
		return ratOf(a).Cmp(ratOf(b)) == 0 && a.Str() == b.Str()
	}
	return a.String() == b.String()
}

var refSeed = flag.Int64("ref.seed", 20261125, "seed of TestCompilerReference's random expressions")

func TestCompilerReference(t *testing.T) {
	seed := *refSeed
	r := rand.New(rand.NewSource(seed))
	n := 20000
	if testing.Short() {
		n = 2000
	}
	checked := 0
	for i := 0; i < n; i++ {
		row, cols := randomRow(r)
		g := &gen{r: r, cols: cols}
		e := g.expr(4)
		f, err := Compile(e)
		if err != nil {
			t.Fatalf("compile %s: %v", e, err)
		}
		env := &Env{}
		got, gerr := f(row, env)
		want, werr := refEval(e, row, env)
		switch {
		case gerr != nil || werr != nil:
			gc, wc := sqlerr.CodeOf(gerr), sqlerr.Code("")
			if re, ok := werr.(refErr); ok {
				wc = re.code
			}
			if gc != wc {
				t.Fatalf("seed %d case %d: %s over [%s]\ncompiled: %v, %v\nreference: %v, %v", seed, i, e, row, got, gerr, want, werr)
			}
		case !sameValue(got, want):
			t.Fatalf("seed %d case %d: %s over [%s]\ncompiled: %s (%s)\nreference: %s (%s)", seed, i, e, row, got, got.Kind(), want, want.Kind())
		}
		// Folding constants must not change any answer.
		if folded, ok := Fold(e); ok {
			ff, err := Compile(folded)
			if err != nil {
				t.Fatalf("compile folded %s: %v", folded, err)
			}
			fv, ferr := ff(row, env)
			if sqlerr.CodeOf(ferr) != sqlerr.CodeOf(gerr) || (gerr == nil && !sameValue(fv, got)) {
				t.Fatalf("seed %d case %d: folding %s to %s changed %v, %v into %v, %v", seed, i, e, folded, got, gerr, fv, ferr)
			}
		}
		checked++
	}
	t.Logf("%d random expressions agree", checked)
}

func isPlainNumber(s string) bool {
	_, err := strconv.ParseFloat(s, 64)
	return err == nil && !strings.ContainsAny(s, "eEinfINFxX")
}

// refInOperand is IN's operand as compared with item i: itself, or, in a
// list of mixed types, converted to the type of that pair.
func refInOperand(c *Call, x types.Value, i int) types.Value {
	if c.pairwise == nil || x.IsNull() || x.Kind() == c.pairwise[i-1].Kind {
		return x
	}
	v, err := refCast(x, c.pairwise[i-1])
	if err != nil {
		return types.Null
	}
	return v
}
