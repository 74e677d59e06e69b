package expr

import (
	"encoding/binary"
	"errors"
	"math"

	"github.com/cockroachdb/apd/v3"
	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// Streaming aggregation: a retractable, serialisable accumulator for the
// numeric aggregates (COUNT, SUM, AVG). Continuous queries see deletes as
// well as inserts, so an accumulator must subtract as well as add, and it
// is written to operator state at every barrier, so it has a compact binary
// form. MIN and MAX cannot be retracted from a single value; the operators
// keep a count per value in their state tables for them.

// Acc accumulates COUNT, SUM or AVG of one group under inserts and
// retractions. The zero Acc is empty. Integer and float input does not
// allocate; an integer sum that leaves int64, and DECIMAL input, continue
// exactly in apd.
type Acc struct {
	// N is the number of non-NULL values added minus those retracted.
	N    int64
	sum  int64
	fsum float64
	wide *apd.Decimal // the exact sum once it left int64 or saw a DECIMAL
}

// Add adds v (sign > 0) or retracts it (sign < 0). NULL is ignored.
// Values are BIGINT/BOOLEAN, DOUBLE or DECIMAL, as the aggregate's
// argument was bound (see StreamArg).
func (a *Acc) Add(v types.Value, sign int64) error {
	if v.IsNull() {
		return nil
	}
	a.N += sign
	switch v.Kind() {
	case types.Int, types.Bool:
		x := v.Int()
		if a.wide == nil {
			if s, ok := addInt64(a.sum, x, sign); ok {
				a.sum = s
				break
			}
			a.widen()
		}
		var d apd.Decimal
		d.SetInt64(x)
		if err := a.addDec(&d, sign); err != nil {
			return err
		}
	case types.Float:
		a.fsum += float64(sign) * v.Float()
	case types.Decimal:
		var d apd.Decimal
		if err := parseDecimal(&d, v.Str()); err != nil {
			return err
		}
		if a.wide == nil {
			a.widen()
		}
		if err := a.addDec(&d, sign); err != nil {
			return err
		}
	default:
		return sqlerr.Newf(sqlerr.Internal, "cannot sum a value of kind %s", v.Kind())
	}
	if a.N == 0 {
		// Everything was retracted: start again from an exact zero, so
		// that float rounding does not outlive the values that caused it.
		*a = Acc{}
	}
	return nil
}

// addInt64 returns s + sign*x and whether it fit.
func addInt64(s, x, sign int64) (int64, bool) {
	if sign < 0 {
		if x == math.MinInt64 {
			return 0, false
		}
		x = -x
	}
	r := s + x
	if (x > 0 && r < s) || (x < 0 && r > s) {
		return 0, false
	}
	return r, true
}

func (a *Acc) widen() {
	a.wide = new(apd.Decimal)
	a.wide.SetInt64(a.sum)
	a.sum = 0
}

func (a *Acc) addDec(d *apd.Decimal, sign int64) error {
	var err error
	if sign < 0 {
		_, err = decCtx.Sub(a.wide, a.wide, d)
	} else {
		_, err = decCtx.Add(a.wide, a.wide, d)
	}
	if err != nil {
		return errOverflow("DECIMAL", "sum")
	}
	return nil
}

// Merge adds everything b accumulated into a (session windows merging).
func (a *Acc) Merge(b *Acc) error {
	if b.N == 0 {
		return nil
	}
	a.N += b.N
	a.fsum += b.fsum
	if a.wide == nil && b.wide == nil {
		if s, ok := addInt64(a.sum, b.sum, 1); ok {
			a.sum = s
			return nil
		}
	}
	if a.wide == nil {
		a.widen()
	}
	var d apd.Decimal
	if b.wide != nil {
		d.Set(b.wide)
	} else {
		d.SetInt64(b.sum)
	}
	return a.addDec(&d, 1)
}

// StreamArg is the argument a streaming operator evaluates for a: the
// bound argument without the implicit cast of an exact integer to DECIMAL
// that NewAgg adds for SUM and AVG, since Acc sums integers natively and
// exactly (a cast per row would format decimal text per row).
func (a *Agg) StreamArg() Expr {
	if c, ok := a.Arg.(*Cast); ok && c.To.Kind == types.Decimal {
		if k := c.Arg.Type().Kind; k == types.Int || k == types.Bool {
			return c.Arg
		}
	}
	return a.Arg
}

// AccResult returns a's value (COUNT(x), SUM or AVG) for what acc holds.
// COUNT(*) is the caller's row count and does not come here.
func (a *Agg) AccResult(acc *Acc) (types.Value, error) {
	if a.Name == "count" {
		return types.NewInt(acc.N), nil
	}
	if acc.N == 0 {
		return types.Null, nil
	}
	avg := a.Name == "avg"
	if a.Typ.Kind == types.Float {
		if avg {
			return types.NewFloat(acc.fsum / float64(acc.N)), nil
		}
		return types.NewFloat(acc.fsum), nil
	}
	var d apd.Decimal
	if acc.wide != nil {
		d.Set(acc.wide)
	} else {
		d.SetInt64(acc.sum)
	}
	if avg {
		var n apd.Decimal
		n.SetInt64(acc.N)
		if _, err := decCtx.Quo(&d, &d, &n); err != nil {
			return types.Null, errOverflow("DECIMAL", "avg")
		}
	}
	return decimalValue(&d, a.Typ.Scale)
}

// AppendBinary appends acc's state to b in the form ReadBinary reads.
func (a *Acc) AppendBinary(b []byte) []byte {
	b = binary.AppendVarint(b, a.N)
	switch {
	case a.wide != nil:
		b = append(b, 2)
		t := a.wide.Text('f')
		b = binary.AppendUvarint(b, uint64(len(t)))
		b = append(b, t...)
	case a.fsum != 0:
		b = append(b, 1)
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(a.fsum))
	default:
		b = append(b, 0)
		b = binary.AppendVarint(b, a.sum)
	}
	return b
}

var errShortAcc = errors.New("aggregate state truncated")

// ReadBinary reads what AppendBinary wrote into a and returns the rest of b.
func (a *Acc) ReadBinary(b []byte) ([]byte, error) {
	*a = Acc{}
	n, k := binary.Varint(b)
	if k <= 0 || len(b) <= k {
		return b, errShortAcc
	}
	a.N = n
	tag := b[k]
	b = b[k+1:]
	switch tag {
	case 0:
		s, k := binary.Varint(b)
		if k <= 0 {
			return b, errShortAcc
		}
		a.sum, b = s, b[k:]
	case 1:
		if len(b) < 8 {
			return b, errShortAcc
		}
		a.fsum, b = math.Float64frombits(binary.LittleEndian.Uint64(b)), b[8:]
	case 2:
		l, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < l {
			return b, errShortAcc
		}
		a.wide = new(apd.Decimal)
		if err := parseDecimal(a.wide, string(b[k:k+int(l)])); err != nil {
			return b, err
		}
		b = b[k+int(l):]
	default:
		return b, errors.New("bad aggregate state tag")
	}
	return b, nil
}
