package expr

import (
	"math"

	"github.com/cockroachdb/apd/v3"
	"github.com/streamsql/streamsql/sql/types"
)

// compileIn compiles x IN (items). checkIn has coerced x and every item to
// the one kind they are compared in, so the constant items go into a hash
// set keyed on that kind's comparison, and a row costs one lookup however
// long the list; the items that are not constants are compared in order.
// The answer is the sequential one, left to right: NULL when x is NULL;
// TRUE at the first match, unless an item before it fails; otherwise NULL
// if an item was NULL, else FALSE.
func compileIn(c *Call, args []Func) (Func, error) {
	if c.pairwise != nil {
		return compileInPairwise(c, args)
	}
	kind := c.Args[0].Type().Kind
	x := args[0]
	var coll *collation
	if kind == types.String {
		coll = collationOfArgs(c.Args)
	}
	type item struct {
		at int // index in the list
		f  Func
	}
	var consts []types.Value
	var at []int // the list index of each of consts
	var rest []item
	nullItem := false
	for i, a := range c.Args[1:] {
		k, ok := a.(*Const)
		switch {
		case !ok:
			rest = append(rest, item{i, args[i+1]})
		case k.Value.IsNull():
			nullItem = true
		case coll != nil:
			// The hash set compares binary; a collation compares in order.
			rest = append(rest, item{i, args[i+1]})
		default:
			consts, at = append(consts, k.Value), append(at, i)
		}
	}
	first := newInSet(kind, consts)
	cmp := argsComparer(c.Args)
	return func(row types.Row, env *Env) (types.Value, error) {
		v, err := x(row, env)
		if err != nil || v.IsNull() {
			return types.Null, err
		}
		stop := len(c.Args) // the list index of the first matching constant
		if j, ok := first(v); ok {
			stop = at[j]
		}
		sawNull := nullItem
		for _, it := range rest {
			if it.at > stop {
				break
			}
			w, err := it.f(row, env)
			if err != nil {
				return types.Null, err
			}
			if w.IsNull() {
				sawNull = true
				continue
			}
			if cmp(v, w) == 0 {
				return vTrue, nil
			}
		}
		if stop < len(c.Args) {
			return vTrue, nil
		}
		if sawNull {
			return types.Null, nil
		}
		return vFalse, nil
	}, nil
}

// newInSet returns a lookup over non-NULL values of kind k that agrees with
// comparer(k): first(v) is the smallest j with comparer(k)(v, consts[j]) ==
// 0, and false when there is none. Each key reads a value the way comparer
// does.
func newInSet(k types.Kind, consts []types.Value) func(types.Value) (int, bool) {
	switch k {
	case types.Int, types.Bool, types.Date, types.Timestamp:
		return hashSet(consts, types.Value.Int)
	case types.Float:
		return floatSet(consts, types.Value.Float)
	case types.Interval:
		return floatSet(consts, intervalLength)
	case types.Decimal:
		return hashSet(consts, decimalKey)
	}
	return hashSet(consts, types.Value.Str)
}

func hashSet[K comparable](consts []types.Value, key func(types.Value) K) func(types.Value) (int, bool) {
	m := make(map[K]int, len(consts))
	for j, c := range consts {
		if _, dup := m[key(c)]; !dup {
			m[key(c)] = j
		}
	}
	return func(v types.Value) (int, bool) {
		j, ok := m[key(v)]
		return j, ok
	}
}

// floatSet is hashSet for values compared as float64 by cmpFloat64, which
// finds NaN neither below nor above anything, so equal to every value: a
// NaN on either side matches any item. Map keys compare with ==, which
// already makes -0 and +0 one key.
func floatSet(consts []types.Value, key func(types.Value) float64) func(types.Value) (int, bool) {
	m := make(map[float64]int, len(consts))
	nan := -1 // the first NaN constant
	for j, c := range consts {
		f := key(c)
		if math.IsNaN(f) {
			if nan < 0 {
				nan = j
			}
			continue
		}
		if _, dup := m[f]; !dup {
			m[f] = j
		}
	}
	return func(v types.Value) (int, bool) {
		f := key(v)
		if math.IsNaN(f) {
			return 0, len(consts) > 0
		}
		j, ok := m[f]
		if nan >= 0 && (!ok || nan < j) {
			return nan, true
		}
		return j, ok
	}
}

// decimalKey is one text per DECIMAL value, whatever its scale: 1.50 and
// 1.5 (and -0 and 0) compare equal, so they must share a key.
func decimalKey(v types.Value) string {
	var d apd.Decimal
	// Values reaching here were produced by us and are valid, as decimalCmp assumes.
	_ = parseDecimal(&d, v.Str())
	d.Reduce(&d)
	return d.String()
}

// intervalLength is the length by which Postgres orders intervals, with
// 30-day months.
func intervalLength(v types.Value) float64 {
	const month = 30 * 86400 * 1e6
	m, us := v.IntervalParts()
	return float64(m)*month + float64(us)
}

// compileInPairwise is IN over a list of mixed types: the operand is
// compared with each item in the type of that pair ('2024-02-30' with a
// string as a string, with a number as a number), as MySQL does.
func compileInPairwise(c *Call, args []Func) (Func, error) {
	from := c.Args[0].Type()
	convs := make([]converter, len(c.pairwise))
	cmps := make([]func(a, b types.Value) int, len(c.pairwise))
	for i, t := range c.pairwise {
		cmps[i] = comparer(t.Kind)
		if from.Kind == t.Kind {
			continue
		}
		conv, err := castFunc(from, t)
		if err != nil {
			return nil, err
		}
		convs[i] = conv
	}
	x, items := args[0], args[1:]
	return func(row types.Row, env *Env) (types.Value, error) {
		v, err := x(row, env)
		if err != nil || v.IsNull() {
			return types.Null, err
		}
		sawNull := false
		for i, item := range items {
			w, err := item(row, env)
			if err != nil {
				return types.Null, err
			}
			xv := v
			if convs[i] != nil {
				if xv, err = convs[i](v, env); err != nil {
					return warnNull(err, env)
				}
			}
			if w.IsNull() || xv.IsNull() {
				sawNull = true
				continue
			}
			if cmps[i](xv, w) == 0 {
				return vTrue, nil
			}
		}
		if sawNull {
			return types.Null, nil
		}
		return vFalse, nil
	}, nil
}
