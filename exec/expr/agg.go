package expr

import (
	"strconv"
	"strings"

	"github.com/cockroachdb/apd/v3"
	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// Agg is a bound aggregate call: COUNT(*), COUNT([DISTINCT] x), SUM, AVG,
// MIN, MAX, typed as MySQL types them (SUM and AVG of exact numbers are
// DECIMAL; of anything else DOUBLE).
type Agg struct {
	Name     string // lower case: count, sum, avg, min, max, or a multiset aggregate's (agg_multi.go)
	Distinct bool
	Arg      Expr // nil for COUNT(*); a tuple call for GROUP_CONCAT and JSON_*AGG
	Typ      types.Type
	// GROUP_CONCAT and JSON_*AGG: the tuple's values (NArgs), then one
	// ORDER BY key per Desc; GROUP_CONCAT's separator; and the call as
	// written (String), since Arg is a tuple call.
	NArgs int
	Desc  []bool
	Sep   string
	text  string
}

// IsAggregate reports whether name (any case) is an aggregate function.
func IsAggregate(name string) bool {
	switch strings.ToLower(name) {
	case "count", "sum", "avg", "min", "max":
		return true
	}
	return isMultiset(strings.ToLower(name))
}

// NewAgg binds an aggregate; arg is nil for COUNT(*).
func NewAgg(name string, distinct bool, arg Expr, pos int) (*Agg, error) {
	a := &Agg{Name: strings.ToLower(name), Distinct: distinct, Arg: arg}
	if arg == nil && a.Name != "count" {
		return nil, sqlerr.Newf(sqlerr.UndefinedFunction, "function %s(*) does not exist", a.Name).At(pos)
	}
	var t types.Type
	if arg != nil {
		t = arg.Type()
	}
	switch a.Name {
	case "count":
		a.Typ = types.TypeBigInt
	case "sum", "avg":
		switch t.Kind {
		case types.Int, types.Bool, types.Decimal:
			d := asDecimal(t)
			if a.Name == "sum" {
				a.Typ = clampDecimal(d.Precision+22, d.Scale)
			} else {
				a.Typ = clampDecimal(d.Precision+divScaleIncrement, d.Scale+divScaleIncrement)
			}
			a.Arg = coerceKind(arg, d)
		case types.Float, types.String, types.JSON, types.Unknown:
			a.Typ = types.TypeDouble
			a.Arg = coerceKind(arg, types.TypeDouble)
		default:
			return nil, sqlerr.Newf(sqlerr.UndefinedFunction, "function %s(%s) does not exist", a.Name, strings.ToLower(t.String())).At(pos)
		}
	case "min", "max":
		a.Typ = t
	case "stddev_pop", "stddev_samp", "var_pop", "var_samp":
		// MySQL computes them in DOUBLE whatever the argument.
		a.Typ = types.TypeDouble
		a.Arg = coerceKind(arg, types.TypeDouble)
	case "bit_and", "bit_or", "bit_xor":
		// MySQL's result is BIGINT UNSIGNED; its values above BIGINT's
		// range are typed DECIMAL(20,0) here, as CAST AS UNSIGNED is.
		a.Typ = types.DecimalType(20, 0)
		a.Arg = coerceKind(arg, types.TypeBigInt)
	case "group_concat", "json_arrayagg", "json_objectagg":
		return NewMultiAgg(a.Name, distinct, []Expr{arg}, nil, nil, ",", pos)
	default:
		return nil, sqlerr.Newf(sqlerr.UndefinedFunction, "function %s does not exist", a.Name).At(pos)
	}
	return a, nil
}

func (a *Agg) String() string {
	if a.text != "" {
		return a.text
	}
	arg := "*"
	if a.Arg != nil {
		arg = a.Arg.String()
	}
	if a.Distinct {
		arg = "DISTINCT " + arg
	}
	return a.Name + "(" + arg + ")"
}

// AggState accumulates one group's values. Add receives the evaluated
// argument (ignored by COUNT(*)).
type AggState interface {
	Add(v types.Value) error
	Result() (types.Value, error)
}

// NewState returns an empty accumulator for one group.
// env receives warnings (GROUP_CONCAT's cut); it may be nil.
func (a *Agg) NewState(env *Env) AggState {
	if a.Stat() {
		return &statState{agg: a}
	}
	if a.Multiset() {
		return &multiState{agg: a, items: map[string]*MultiItem{}, env: env}
	}
	var s AggState
	switch a.Name {
	case "count":
		s = &countState{star: a.Arg == nil}
	case "sum", "avg":
		if a.Typ.Kind == types.Float {
			s = &floatSumState{avg: a.Name == "avg"}
		} else {
			s = &decSumState{avg: a.Name == "avg", scale: a.Typ.Scale}
		}
	case "min":
		s = &extremeState{sign: -1}
	default:
		s = &extremeState{sign: 1}
	}
	if a.Distinct {
		return &distinctState{inner: s, seen: map[string]struct{}{}}
	}
	return s
}

type countState struct {
	star bool
	n    int64
}

func (s *countState) Add(v types.Value) error {
	if s.star || !v.IsNull() {
		s.n++
	}
	return nil
}

func (s *countState) Result() (types.Value, error) { return types.NewInt(s.n), nil }

type floatSumState struct {
	avg bool
	sum float64
	n   int64
}

func (s *floatSumState) Add(v types.Value) error {
	if !v.IsNull() {
		s.sum += v.Float()
		s.n++
	}
	return nil
}

func (s *floatSumState) Result() (types.Value, error) {
	switch {
	case s.n == 0:
		return types.Null, nil
	case s.avg:
		return types.NewFloat(s.sum / float64(s.n)), nil
	}
	return types.NewFloat(s.sum), nil
}

// decSumState sums exactly: in an int64 while it fits, in apd after.
type decSumState struct {
	avg   bool
	scale int
	sum   apd.Decimal
	n     int64
}

func (s *decSumState) Add(v types.Value) error {
	if v.IsNull() {
		return nil
	}
	var d apd.Decimal
	if v.Kind() == types.Int || v.Kind() == types.Bool {
		d.SetInt64(v.Int())
	} else if err := parseDecimal(&d, v.Str()); err != nil {
		return err
	}
	if _, err := decCtx.Add(&s.sum, &s.sum, &d); err != nil {
		return errOverflow("DECIMAL", "sum")
	}
	s.n++
	return nil
}

func (s *decSumState) Result() (types.Value, error) {
	if s.n == 0 {
		return types.Null, nil
	}
	if !s.avg {
		return decimalValue(&s.sum, s.scale)
	}
	var q, n apd.Decimal
	n.SetInt64(s.n)
	if _, err := decCtx.Quo(&q, &s.sum, &n); err != nil {
		return types.Null, errOverflow("DECIMAL", "avg")
	}
	return decimalValue(&q, s.scale)
}

type extremeState struct {
	sign int
	best types.Value
}

func (s *extremeState) Add(v types.Value) error {
	if v.IsNull() {
		return nil
	}
	if s.best.IsNull() || Compare(v, s.best)*s.sign > 0 {
		s.best = v
	}
	return nil
}

func (s *extremeState) Result() (types.Value, error) { return s.best, nil }

type distinctState struct {
	inner AggState
	seen  map[string]struct{}
}

func (s *distinctState) Add(v types.Value) error {
	if v.IsNull() {
		return nil
	}
	k := Key(v)
	if _, ok := s.seen[k]; ok {
		return nil
	}
	s.seen[k] = struct{}{}
	return s.inner.Add(v)
}

func (s *distinctState) Result() (types.Value, error) { return s.inner.Result() }

// Key encodes a value for use as a map key: equal values of one kind get
// equal keys. Decimals are normalised so that 1.0 and 1.00 are one key.
func Key(v types.Value) string {
	switch v.Kind() {
	case types.Unknown:
		return "\x00"
	case types.Decimal:
		var d apd.Decimal
		if parseDecimal(&d, v.Str()) == nil {
			d.Reduce(&d)
			return "d" + d.Text('f')
		}
	case types.Float:
		if v.Float() == 0 {
			return "f0" // -0 and 0 are one group
		}
	case types.Interval:
		m, us := v.IntervalParts()
		return "i" + strconv.FormatInt(m, 10) + ":" + strconv.FormatInt(us, 10)
	}
	return string(rune('a'+v.Kind())) + v.String()
}
