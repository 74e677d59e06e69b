package expr

import (
	"hash/crc32"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"

	"github.com/cockroachdb/apd/v3"
	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// registerMathMore registers the rest of MySQL's numeric functions.
func registerMathMore() {
	register("sign", &builtin{minArgs: 1, maxArgs: 1, check: checkSign, compile: compileSign})
	register("ln", &builtin{minArgs: 1, maxArgs: 1, check: checkDouble, compile: compileLog(logE)})
	register("log", &builtin{minArgs: 1, maxArgs: 2, check: checkDouble, compile: compileLog(logE)})
	register("log2", &builtin{minArgs: 1, maxArgs: 1, check: checkDouble, compile: compileLog(log2)})
	register("log10", &builtin{minArgs: 1, maxArgs: 1, check: checkDouble, compile: compileLog(log10)})
	register("exp", &builtin{minArgs: 1, maxArgs: 1, check: checkDouble, compile: compileFloat1(math.Exp)})
	register("sin", &builtin{minArgs: 1, maxArgs: 1, check: checkDouble, compile: compileFloat1(math.Sin)})
	register("cos", &builtin{minArgs: 1, maxArgs: 1, check: checkDouble, compile: compileFloat1(math.Cos)})
	register("tan", &builtin{minArgs: 1, maxArgs: 1, check: checkDouble, compile: compileFloat1(math.Tan)})
	register("cot", &builtin{minArgs: 1, maxArgs: 1, check: checkDouble, compile: compileFloat1(func(x float64) float64 { return 1 / math.Tan(x) })})
	register("asin", &builtin{minArgs: 1, maxArgs: 1, check: checkDouble, compile: compileFloat1(math.Asin)})
	register("acos", &builtin{minArgs: 1, maxArgs: 1, check: checkDouble, compile: compileFloat1(math.Acos)})
	register("atan", &builtin{minArgs: 1, maxArgs: 2, check: checkDouble, compile: compileAtan})
	register("atan2", &builtin{minArgs: 2, maxArgs: 2, check: checkDouble, compile: compileAtan})
	register("degrees", &builtin{minArgs: 1, maxArgs: 1, check: checkDouble, compile: compileFloat1(func(x float64) float64 { return x * (180 / math.Pi) })})
	register("radians", &builtin{minArgs: 1, maxArgs: 1, check: checkDouble, compile: compileFloat1(func(x float64) float64 { return x * (math.Pi / 180) })})
	register("pi", &builtin{minArgs: 0, maxArgs: 0, check: checkDouble, compile: func(*Call, []Func) (Func, error) {
		return func(types.Row, *Env) (types.Value, error) { return types.NewFloat(math.Pi), nil }, nil
	}})
	register("rand", &builtin{minArgs: 0, maxArgs: 1, check: checkRand, compile: compileRand})
	register("greatest", &builtin{minArgs: 2, maxArgs: -1, check: checkGreatest, compile: compileGreatest(1)})
	register("least", &builtin{minArgs: 2, maxArgs: -1, check: checkGreatest, compile: compileGreatest(-1)})
	register("crc32", &builtin{minArgs: 1, maxArgs: 1, check: checkCRC32, compile: compileCRC32})
	register("conv", &builtin{minArgs: 3, maxArgs: 3, check: checkConv, compile: compileConv})
	register("bin", &builtin{minArgs: 1, maxArgs: 1, check: checkBinOct, compile: compileBinOct(2)})
	register("oct", &builtin{minArgs: 1, maxArgs: 1, check: checkBinOct, compile: compileBinOct(8)})
	register("format", &builtin{minArgs: 2, maxArgs: 3, check: checkFormat, compile: compileFormat})
}

// callText is how MySQL names a call in its out-of-range errors:
// pow(-8,0.5).
func callText(c *Call) string {
	var b strings.Builder
	b.WriteString(c.Name)
	b.WriteByte('(')
	for i, a := range c.Args {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(a.String())
	}
	b.WriteByte(')')
	return b.String()
}

// compileFloat1 applies f to a DOUBLE. A NaN result (ASIN(2)) is NULL, as
// MySQL answers outside a function's domain; an infinite one (EXP(1000),
// COT(0)) is 22003.
func compileFloat1(f func(float64) float64) func(*Call, []Func) (Func, error) {
	return func(c *Call, args []Func) (Func, error) {
		text := callText(c)
		return null1(args[0], func(v types.Value) (types.Value, error) {
			r := f(v.Float())
			if math.IsNaN(r) {
				return types.Null, nil
			}
			if math.IsInf(r, 0) {
				return types.Null, errOverflow("DOUBLE", text)
			}
			return types.NewFloat(r), nil
		}), nil
	}
}

func compileAtan(c *Call, args []Func) (Func, error) {
	if len(args) == 1 {
		return compileFloat1(math.Atan)(c, args)
	}
	return null2(args[0], args[1], func(y, x types.Value) (types.Value, error) {
		return types.NewFloat(math.Atan2(y.Float(), x.Float())), nil
	}), nil
}

// compileLog is LN, LOG, LOG2 and LOG10. MySQL 8 answers NULL with a
// warning for a non-positive argument, and LOG(b, x) for b = 1 too.
func compileLog(f func(float64) float64) func(*Call, []Func) (Func, error) {
	return func(c *Call, args []Func) (Func, error) {
		if len(args) == 2 {
			b, x := args[0], args[1]
			return func(row types.Row, env *Env) (types.Value, error) {
				bv, err := b(row, env)
				if err != nil || bv.IsNull() {
					return types.Null, err
				}
				xv, err := x(row, env)
				if err != nil || xv.IsNull() {
					return types.Null, err
				}
				if bv.Float() <= 0 || xv.Float() <= 0 || bv.Float() == 1 {
					env.Warnf(sqlerr.Warning, "Invalid argument for logarithm")
					return types.Null, nil
				}
				return types.NewFloat(logE(xv.Float()) / logE(bv.Float())), nil
			}, nil
		}
		a := args[0]
		return func(row types.Row, env *Env) (types.Value, error) {
			v, err := a(row, env)
			if err != nil || v.IsNull() {
				return types.Null, err
			}
			if v.Float() <= 0 {
				env.Warnf(sqlerr.Warning, "Invalid argument for logarithm")
				return types.Null, nil
			}
			return types.NewFloat(f(v.Float())), nil
		}, nil
	}
}

// SIGN is a BIGINT whatever its argument's type.
func checkSign(c *Call) error {
	if err := checkNumeric1(c); err != nil {
		return err
	}
	c.Typ = types.TypeBigInt
	return nil
}

func compileSign(c *Call, args []Func) (Func, error) {
	switch c.Args[0].Type().Kind {
	case types.Int:
		return null1(args[0], func(v types.Value) (types.Value, error) { return types.NewInt(int64(cmpInt64(v.Int(), 0))), nil }), nil
	case types.Float:
		return null1(args[0], func(v types.Value) (types.Value, error) { return types.NewInt(int64(cmpFloat64(v.Float(), 0))), nil }), nil
	}
	return null1(args[0], func(v types.Value) (types.Value, error) {
		switch s := v.Str(); {
		case isZeroDecimalText(s):
			return types.NewInt(0), nil
		case s[0] == '-':
			return types.NewInt(-1), nil
		}
		return types.NewInt(1), nil
	}), nil
}

// ---- RAND ----

func checkRand(c *Call) error {
	if len(c.Args) == 1 {
		k := c.Args[0].Type().Kind
		if !isNumericKind(k) && !isStringKind(k) && k != types.Unknown {
			return mismatch("function rand(%s) does not exist", argTypes(c.Args))
		}
		c.Args[0] = coerceKind(c.Args[0], types.TypeBigInt)
	}
	c.Typ = types.TypeDouble
	return nil
}

// mysqlRand is MySQL's RAND(N) generator (two seeds modulo 2^30 - 1), so
// that a seeded RAND gives MySQL's numbers: RAND(3) starts 0.9057697559760601.
type mysqlRand struct{ seed1, seed2 uint64 }

const randMax = 0x3FFFFFFF

func newMySQLRand(n int64) mysqlRand {
	t := uint32(n)
	return mysqlRand{
		seed1: uint64(t*0x10001+55555555) % randMax,
		seed2: uint64(t*0x10000001) % randMax,
	}
}

func (r *mysqlRand) next() float64 {
	r.seed1 = (r.seed1*3 + r.seed2) % randMax
	r.seed2 = (r.seed1 + r.seed2 + 33) % randMax
	return float64(r.seed1) / randMax
}

// compileRand: RAND() draws from Go's generator; RAND(N) with a constant N
// is seeded once and gives the next number of its sequence to each row,
// as MySQL seeds it once per statement, so this Func keeps that state
// (under a lock: it is the one Func that is not stateless); RAND(col) is
// seeded again on every row. RAND is never folded (fold.go).
func compileRand(c *Call, args []Func) (Func, error) {
	if len(args) == 0 {
		return func(types.Row, *Env) (types.Value, error) { return types.NewFloat(rand.Float64()), nil }, nil
	}
	if k, ok := c.Args[0].(*Const); ok {
		var mu sync.Mutex
		g := newMySQLRand(0)
		if !k.Value.IsNull() {
			g = newMySQLRand(k.Value.Int())
		}
		return func(types.Row, *Env) (types.Value, error) {
			mu.Lock()
			defer mu.Unlock()
			return types.NewFloat(g.next()), nil
		}, nil
	}
	a := args[0]
	return func(row types.Row, env *Env) (types.Value, error) {
		v, err := a(row, env)
		if err != nil {
			return types.Null, err
		}
		var n int64
		if !v.IsNull() {
			n = v.Int()
		}
		g := newMySQLRand(n)
		return types.NewFloat(g.next()), nil
	}, nil
}

// ---- GREATEST, LEAST ----

// checkGreatest compares in, and returns, the type MySQL 8 aggregates the
// arguments to: integers as BIGINT, DECIMAL if any is, DOUBLE if any is,
// and a mix of numbers and strings as strings (GREATEST(9, '10') is '9').
func checkGreatest(c *Call) error {
	ts := make([]types.Type, len(c.Args))
	for i, a := range c.Args {
		ts[i] = a.Type()
		if ts[i].Kind == types.Interval {
			return mismatch("function %s(%s) does not exist", c.Name, argTypes(c.Args))
		}
	}
	t := greatestType(ts)
	if t.Kind == types.Bool || t.Kind == types.Unknown {
		t = types.TypeBigInt
	}
	for i, a := range c.Args {
		c.Args[i] = coerce(a, t)
		if t.Kind == types.Float {
			// A quotient compared as a DOUBLE is read with its internal
			// digits, as any number computed on is.
			c.Args[i] = innerOf(c.Args[i])
		}
	}
	c.Typ = t
	return nil
}

// greatestType is the type GREATEST and LEAST compare in, MySQL 8's
// rules: numbers and strings mixed compare as DOUBLE if any is a DOUBLE,
// else as DECIMAL if any is a DECIMAL, else (integers and strings) as
// strings; anything else in the type the arguments have in common.
func greatestType(ts []types.Type) types.Type {
	if t, ok := temporalType(ts); ok {
		return t
	}
	var nums []types.Type
	hasFloat, hasDecimal := false, false
	for _, t := range ts {
		switch {
		case t.Kind == types.Float:
			hasFloat = true
		case t.Kind == types.Decimal:
			hasDecimal = true
		case isStringKind(t.Kind) || t.Kind == types.Unknown:
			continue
		case !isNumericKind(t.Kind):
			return CommonType(ts...)
		}
		nums = append(nums, t)
	}
	switch {
	case hasFloat:
		return types.TypeDouble
	case hasDecimal && len(nums) < len(ts):
		// Strings read as DECIMAL keep their own digits ('1e3' is 1000).
		return types.Type{Kind: types.Decimal}
	case hasDecimal:
		return CommonType(nums...)
	}
	return CommonType(ts...)
}

// temporalType is the type of dates and times mixed with numbers
// (read as MySQL's YYYYMMDD[hhmmss]): they compare as dates, or as
// datetimes when a datetime is among them.
func temporalType(ts []types.Type) (types.Type, bool) {
	var times []types.Type
	for _, t := range ts {
		switch {
		case isTimeKind(t.Kind):
			times = append(times, t)
		case !isNumericKind(t.Kind) && t.Kind != types.Unknown:
			return types.Type{}, false
		}
	}
	if len(times) == 0 || len(times) == len(ts) {
		return types.Type{}, false
	}
	p, dates := 0, true
	for _, t := range times {
		p, dates = max(p, t.Precision), dates && t.Kind == types.Date
	}
	if dates {
		return types.TypeDate, true
	}
	return types.Type{Kind: types.Timestamp, Precision: p}, true
}

func compileGreatest(sign int) func(*Call, []Func) (Func, error) {
	return func(c *Call, args []Func) (Func, error) {
		cmp := comparer(c.Typ.Kind)
		return func(row types.Row, env *Env) (types.Value, error) {
			var best types.Value
			for i, a := range args {
				v, err := a(row, env)
				if err != nil || v.IsNull() {
					return types.Null, err
				}
				if i == 0 || cmp(v, best)*sign > 0 {
					best = v
				}
			}
			return best, nil
		}, nil
	}
}

// ---- CRC32, CONV, BIN, OCT ----

func checkCRC32(c *Call) error {
	c.Args[0] = coerceKind(c.Args[0], types.TypeText)
	c.Typ = types.TypeBigInt
	return nil
}

func compileCRC32(_ *Call, args []Func) (Func, error) {
	return null1(args[0], func(v types.Value) (types.Value, error) {
		return types.NewInt(int64(crc32.ChecksumIEEE([]byte(v.Str())))), nil
	}), nil
}

func checkConv(c *Call) error {
	c.Args[0] = coerceKind(c.Args[0], types.TypeText)
	c.Args[1] = coerceKind(c.Args[1], types.TypeBigInt)
	c.Args[2] = coerceKind(c.Args[2], types.TypeBigInt)
	c.Typ = types.TypeText
	return nil
}

// convParse reads the longest prefix of s (after spaces, with a sign) that
// is a number in base, as MySQL's strtoull/strtoll do: a signed read
// clamps to BIGINT's range, an unsigned one to 2^64 - 1, and a minus sign
// negates the unsigned value.
func convParse(s string, base int, signed bool) uint64 {
	s = strings.TrimLeft(s, " \t\n")
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	var u uint64
	overflow := false
	for i := 0; i < len(s); i++ {
		d := digitVal(s[i])
		if d >= base {
			break
		}
		hi, lo := mulAdd(u, uint64(base), uint64(d))
		if hi {
			overflow = true
		}
		u = lo
	}
	switch {
	case signed && neg && (overflow || u > 1<<63):
		return 1 << 63
	case signed && !neg && (overflow || u > math.MaxInt64):
		return math.MaxInt64
	case overflow:
		return math.MaxUint64
	case neg:
		return -u
	}
	return u
}

func mulAdd(u, m, a uint64) (overflow bool, r uint64) {
	if u > (math.MaxUint64-a)/m {
		return true, 0
	}
	return false, u*m + a
}

func digitVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 10
	}
	return 99
}

// CONV is NULL for a base outside 2..36 (either sign); a negative base
// reads or writes the number as signed.
func compileConv(_ *Call, args []Func) (Func, error) {
	return nullN(args, func(vs []types.Value) (types.Value, error) {
		from, to := vs[1].Int(), vs[2].Int()
		if abs64(from) < 2 || abs64(from) > 36 || abs64(to) < 2 || abs64(to) > 36 {
			return types.Null, nil
		}
		u := convParse(vs[0].Str(), int(abs64(from)), from < 0)
		if to < 0 && int64(u) < 0 {
			return types.NewString("-" + strings.ToUpper(strconv.FormatUint(-u, int(-to)))), nil
		}
		return types.NewString(strings.ToUpper(strconv.FormatUint(u, int(abs64(to))))), nil
	}), nil
}

func abs64(i int64) int64 {
	if i < 0 {
		return -i
	}
	return i
}

func checkBinOct(c *Call) error {
	k := c.Args[0].Type().Kind
	if !isNumericKind(k) && !isStringKind(k) && k != types.Unknown {
		return mismatch("function %s(%s) does not exist", c.Name, argTypes(c.Args))
	}
	c.Args[0] = coerceKind(c.Args[0], types.TypeBigInt)
	c.Typ = types.TypeText
	return nil
}

// BIN and OCT write the BIGINT as unsigned (BIN(-1) is 64 ones).
func compileBinOct(base int) func(*Call, []Func) (Func, error) {
	return func(_ *Call, args []Func) (Func, error) {
		return null1(args[0], func(v types.Value) (types.Value, error) {
			return types.NewString(strconv.FormatUint(uint64(v.Int()), base)), nil
		}), nil
	}
}

// ---- FORMAT ----

func checkFormat(c *Call) error {
	k := c.Args[0].Type().Kind
	switch {
	case k == types.Decimal:
	case isNumericKind(k) || isStringKind(k) || k == types.Unknown:
		c.Args[0] = coerceKind(c.Args[0], types.TypeDouble)
	default:
		return mismatch("function format(%s) does not exist", argTypes(c.Args))
	}
	c.Args[1] = coerceKind(c.Args[1], types.TypeBigInt)
	if len(c.Args) == 3 {
		c.Args[2] = coerceKind(c.Args[2], types.TypeText)
	}
	c.Typ = types.TypeText
	return nil
}

// compileFormat writes x rounded to d places (a DECIMAL half away from
// zero, a DOUBLE as ROUND does) with en_US's separators: 12,332.1235. Any
// locale argument other than en_US is read as en_US with MySQL's warning.
func compileFormat(c *Call, args []Func) (Func, error) {
	isDec := c.Args[0].Type().Kind == types.Decimal
	return func(row types.Row, env *Env) (types.Value, error) {
		var vs [3]types.Value
		for i, a := range args {
			v, err := a(row, env)
			if err != nil || v.IsNull() && i < 2 {
				return types.Null, err
			}
			vs[i] = v
		}
		d := int(max(min(vs[1].Int(), maxDecimalScale), 0))
		if len(args) == 3 && !vs[2].IsNull() && !strings.EqualFold(vs[2].Str(), "en_US") {
			env.Warnf(sqlerr.Warning, "Unknown locale: '%s'", vs[2].Str())
		}
		var s string
		if isDec {
			r, err := decimalRound(vs[0], d, apd.RoundHalfUp)
			if err != nil {
				return types.Null, err
			}
			s = r.Str()
		} else {
			r := roundDouble(vs[0].Float(), int64(d), false)
			if r == 0 {
				r = 0 // no sign on zero: FORMAT(-0.4e0, 0) is '0'
			}
			s = strconv.FormatFloat(r, 'f', d, 64)
		}
		return types.NewString(groupThousands(s)), nil
	}, nil
}

// groupThousands puts a comma between each group of three digits of the
// integer part of decimal text.
func groupThousands(s string) string {
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	intPart, frac := s, ""
	if i := strings.IndexByte(s, '.'); i >= 0 {
		intPart, frac = s[:i], s[i:]
	}
	var b strings.Builder
	b.WriteString(sign)
	for i := 0; i < len(intPart); i++ {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteByte(intPart[i])
	}
	b.WriteString(frac)
	return b.String()
}

// logE, log2 and log10 are logarithms also right for subnormal x: Go's
// math.Log is off by up to half a unit of its exponent there (it gives
// -708.718 for 1e-308, not -709.196), so such an x is scaled into the
// normal range first.
func logE(x float64) float64 {
	if isSubnormal(x) {
		return math.Log(x*0x1p52) - 52*math.Ln2
	}
	return math.Log(x)
}

func log2(x float64) float64 {
	if isSubnormal(x) {
		return math.Log2(x*0x1p52) - 52
	}
	return math.Log2(x)
}

func log10(x float64) float64 {
	if isSubnormal(x) {
		return math.Log10(x*0x1p52) - 52*math.Log10(2)
	}
	return math.Log10(x)
}

func isSubnormal(x float64) bool { return x > 0 && x < 0x1p-1022 }
