// Package datagen owns the built-in datagen source: rows whose columns are
// filled by rules (a sequence, random values in a range, random picks from
// a list, random strings of a length), configured per column in the style
// of Flink's datagen connector. It knows nothing of SQL beyond the row
// types; the engine binds its options and drives it.
//
// Row i of a run is a pure function of (seed, i) (and, for timestamps
// "around now", of the wall clock), so a run is deterministic for a seed, a
// split generates its share without talking to the others, and a reader can
// resume at any offset.
package datagen

import (
	"context"
	"io"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/streamsql/streamsql/connectors/internal/gen"
	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// Options configure a generator.
type Options struct {
	Columns []types.Column
	// Fields holds one rule per column, in column order.
	Fields []Field
	// RowsPerSecond paces the whole source (all splits together) by the
	// wall clock; 0 generates as fast as the reader reads.
	RowsPerSecond int64
	// NumberOfRows bounds the whole source; 0 means unbounded (unless a
	// sequence column ends first).
	NumberOfRows int64
	Seed         uint64
	// SplitIndex of SplitCount: this generator yields rows SplitIndex,
	// SplitIndex+SplitCount, ... of the source. SplitCount 0 means 1.
	SplitIndex, SplitCount int
	// Offset resumes a split after that many of its rows (Generator.Offset).
	Offset int64
}

// Validate checks the options.
func (o *Options) Validate() error {
	switch {
	case len(o.Fields) != len(o.Columns):
		return sqlerr.Newf(sqlerr.InvalidParameterValue, "datagen has %d field rules for %d columns", len(o.Fields), len(o.Columns))
	case o.RowsPerSecond < 0 || o.NumberOfRows < 0 || o.Offset < 0:
		return sqlerr.Newf(sqlerr.InvalidParameterValue, "datagen rows_per_second, number_of_rows and offset must not be negative")
	case o.SplitCount < 0 || o.SplitIndex < 0 || (o.SplitIndex > 0 && o.SplitIndex >= o.SplitCount):
		return sqlerr.Newf(sqlerr.InvalidParameterValue, "datagen split %d of %d is out of range", o.SplitIndex, o.SplitCount)
	}
	for i := range o.Fields {
		if err := o.Fields[i].check(o.Columns[i]); err != nil {
			return err
		}
	}
	return nil
}

// ParseOptions reads a source's columns and WITH options (already checked
// and defaulted by the sql package's connector table): rows_per_second,
// number_of_rows, seed and fields.<column>.<rule>. Keys it does not know
// are ignored, except per-column ones naming no column or no rule.
func ParseOptions(cols []types.Column, with map[string]string) (Options, error) {
	o := Options{Columns: cols}
	for key, dst := range map[string]*int64{"rows_per_second": &o.RowsPerSecond, "number_of_rows": &o.NumberOfRows} {
		if v, ok := with[key]; ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil || n < 0 {
				return o, sqlerr.Newf(sqlerr.InvalidParameterValue, "datagen option %s: '%s' is not a non-negative integer", key, v)
			}
			*dst = n
		}
	}
	if v, ok := with["seed"]; ok {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return o, sqlerr.Newf(sqlerr.InvalidParameterValue, "datagen option seed: '%s' is not an integer", v)
		}
		o.Seed = uint64(n)
	}
	// Per-column options, matched to columns without regard to case.
	per := map[string]map[string]string{}
	for key, v := range with {
		rest, ok := strings.CutPrefix(strings.ToLower(key), "fields.")
		if !ok {
			continue
		}
		dot := strings.LastIndexByte(rest, '.')
		if dot <= 0 {
			return o, sqlerr.Newf(sqlerr.InvalidParameterValue, "datagen option %s: write fields.<column>.<rule>", key)
		}
		col, rule := rest[:dot], rest[dot+1:]
		if !slices.Contains(fieldOptions, rule) {
			return o, sqlerr.Newf(sqlerr.InvalidParameterValue, "datagen option %s: unknown rule %q; valid rules: %s", key, rule, strings.Join(fieldOptions, ", "))
		}
		if !slices.ContainsFunc(cols, func(c types.Column) bool { return strings.EqualFold(c.Name, col) }) {
			return o, sqlerr.Newf(sqlerr.InvalidParameterValue, "datagen option %s: the source has no column %q", key, col)
		}
		if per[col] == nil {
			per[col] = map[string]string{}
		}
		per[col][rule] = v
	}
	for _, c := range cols {
		rules := per[strings.ToLower(c.Name)]
		f, err := parseField(c, func(name string) (string, bool) { v, ok := rules[name]; return v, ok })
		if err != nil {
			return o, err
		}
		o.Fields = append(o.Fields, f)
	}
	return o, o.Validate()
}

// Batch is what NextBatch fills.
//
// Ownership: the rows (and their values and strings) belong to the caller
// for good; the Rows slice itself is reused by the next NextBatch.
type Batch struct {
	Rows []types.Row
}

// Len returns the number of rows.
func (b *Batch) Len() int { return len(b.Rows) }

// Generator yields the rows of one datagen source (or of one split of it).
type Generator struct {
	opts    Options
	split   gen.Split
	i       int64 // the row being made, counted over the whole source
	yielded int64 // rows yielded since the first call, for pacing
	pacer   gen.Pacer
	arena   []byte
	now     int64 // wall clock of the current batch, micros
}

// New returns a generator for opts.
func New(opts Options) (*Generator, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	limit := int64(-1)
	if opts.NumberOfRows > 0 {
		limit = opts.NumberOfRows
	}
	for k := range opts.Fields {
		if f := &opts.Fields[k]; f.Kind == Sequence {
			if n := f.seqLen(); limit < 0 || n < limit {
				limit = n
			}
		}
	}
	return &Generator{opts: opts, split: gen.NewSplit(opts.SplitIndex, opts.SplitCount, opts.Offset, limit)}, nil
}

// Columns returns the source's columns.
func (g *Generator) Columns() []types.Column { return g.opts.Columns }

// Offset is the number of rows this split has yielded (counting
// Options.Offset), the value to checkpoint and pass back to resume.
func (g *Generator) Offset() int64 { return g.split.Offset() }

// Done reports whether every row has been yielded.
func (g *Generator) Done() bool { return g.split.Done() }

// NextBatch replaces b's rows with up to max rows and returns how many;
// io.EOF once done. With RowsPerSecond it waits, honouring ctx, until the
// batch is due.
func (g *Generator) NextBatch(ctx context.Context, b *Batch, max int) (int, error) {
	b.Rows = b.Rows[:0]
	if g.Done() {
		return 0, io.EOF
	}
	rate := float64(g.opts.RowsPerSecond) / float64(g.split.Count())
	var paced int64
	if rate > 0 {
		// A paced batch covers at most 100ms, so rows are not held back
		// much longer than their due time.
		paced = int64(math.Max(rate/10, 1))
	}
	n := g.split.BatchLen(max, paced)
	cols := len(g.opts.Columns)
	slab := make([]types.Value, int(n)*cols)
	g.arena = make([]byte, 0, int(n)*g.stringBytes())
	g.now = time.Now().UnixMicro()
	for k := int64(0); k < n; k++ {
		row := types.Row(slab[int(k)*cols : int(k+1)*cols : int(k+1)*cols])
		g.i = g.split.Row()
		r := gen.NewRNG(g.opts.Seed, g.i)
		for c := range row {
			row[c] = g.value(c, &r)
		}
		b.Rows = append(b.Rows, row)
		g.split.Advance()
	}
	if rate > 0 {
		g.yielded += n
		due := time.Duration(float64(g.yielded-1) / rate * float64(time.Second))
		if err := g.pacer.Wait(ctx, due); err != nil {
			return 0, err
		}
	}
	return len(b.Rows), nil
}

// stringBytes estimates the arena bytes of one row.
func (g *Generator) stringBytes() int {
	n := 0
	for k, c := range g.opts.Columns {
		if c.Type.Kind == types.String && g.opts.Fields[k].Kind == Random && len(g.opts.Fields[k].Values) == 0 {
			n += g.opts.Fields[k].Length
		}
	}
	return n
}

// value makes column c of row g.i.
func (g *Generator) value(c int, r *gen.RNG) types.Value {
	f := &g.opts.Fields[c]
	t := g.opts.Columns[c].Type
	if f.NullRate > 0 && r.Float() < f.NullRate {
		return types.Null
	}
	if f.Kind == Sequence {
		return g.sequence(f, t, g.i)
	}
	if len(f.Values) > 0 {
		return f.Values[r.Intn(int64(len(f.Values)))]
	}
	switch t.Kind {
	case types.Bool:
		return types.NewBool(r.Next()&1 == 1)
	case types.Int:
		lo, hi := intRange(t.Width)
		if !f.Min.IsNull() {
			lo = f.Min.Int()
		}
		if !f.Max.IsNull() {
			hi = f.Max.Int()
		}
		return types.NewInt(between(r, lo, hi))
	case types.Float:
		lo, hi := 0.0, 1.0
		if !f.Min.IsNull() {
			lo = f.Min.Float()
		}
		if !f.Max.IsNull() {
			hi = f.Max.Float()
		}
		return types.NewFloat(lo + r.Float()*(hi-lo))
	case types.Decimal:
		return g.decimal(f, t, r)
	case types.String:
		start := len(g.arena)
		g.appendLetters(r, f.Length)
		if start == len(g.arena) {
			return types.NewString("")
		}
		// No copy: an arena's bytes are never written again once a string
		// covers them (each batch has a fresh arena; append writes past len).
		return types.NewString(unsafe.String(&g.arena[start], len(g.arena)-start))
	case types.Bytes:
		b := make([]byte, f.Length)
		for k := range b {
			b[k] = byte(r.Next())
		}
		return types.NewBytes(b)
	case types.Date:
		today := g.now / (86400 * 1e6)
		lo, hi := today-int64(f.MaxPast/(24*time.Hour)), today
		if !f.Min.IsNull() {
			lo = f.Min.Days()
		}
		if !f.Max.IsNull() {
			hi = f.Max.Days()
		}
		return types.NewDate(between(r, lo, hi))
	case types.Timestamp:
		lo, hi := g.now-f.MaxPast.Microseconds(), g.now
		if !f.Min.IsNull() {
			lo = f.Min.Micros()
		}
		if !f.Max.IsNull() {
			hi = f.Max.Micros()
		}
		return types.NewTimestamp(truncate(between(r, lo, hi), t.Precision))
	}
	return types.Null
}

// sequence is value i of a sequence column.
func (g *Generator) sequence(f *Field, t types.Type, i int64) types.Value {
	switch t.Kind {
	case types.Float:
		return types.NewFloat(f.Start.Float() + float64(i))
	case types.Decimal:
		n := decimalInt(f.Start).Int64() + i
		s := strconv.FormatInt(n, 10)
		if t.Scale > 0 {
			s += "." + strings.Repeat("0", t.Scale)
		}
		return types.NewDecimal(s)
	case types.String:
		return types.NewString(strconv.FormatInt(f.Start.Int()+i, 10))
	case types.Timestamp:
		return types.NewTimestamp(f.Start.Micros() + i*f.Step.Microseconds())
	case types.Date:
		return types.NewDate(f.Start.Days() + i)
	}
	return types.NewInt(f.Start.Int() + i)
}

func (g *Generator) decimal(f *Field, t types.Type, r *gen.RNG) types.Value {
	scale := math.Pow10(t.Scale)
	lo, hi := 0.0, math.Pow10(min(max(t.Precision-t.Scale, 0), 15))-1/scale
	if t.Precision == 0 {
		hi = 1000
	}
	if !f.Min.IsNull() {
		lo, _ = strconv.ParseFloat(f.Min.Str(), 64)
	}
	if !f.Max.IsNull() {
		hi, _ = strconv.ParseFloat(f.Max.Str(), 64)
	}
	units := between(r, int64(math.Ceil(lo*scale)), int64(math.Floor(hi*scale)))
	return types.NewDecimal(strconv.FormatFloat(float64(units)/scale, 'f', t.Scale, 64))
}

// between draws uniformly from [lo, hi].
func between(r *gen.RNG, lo, hi int64) int64 {
	if hi <= lo {
		return lo
	}
	span := uint64(hi-lo) + 1
	if span == 0 { // the whole int64 range
		return int64(r.Next())
	}
	h, _ := bits.Mul64(r.Next(), span)
	return lo + int64(h)
}

func intRange(width int) (int64, int64) {
	switch width {
	case 8:
		return math.MinInt8, math.MaxInt8
	case 16:
		return math.MinInt16, math.MaxInt16
	case 32:
		return math.MinInt32, math.MaxInt32
	}
	return math.MinInt64, math.MaxInt64
}

// truncate cuts micros to a TIMESTAMP(p)'s fractional digits.
func truncate(micros int64, p int) int64 {
	if p >= 6 || p < 0 {
		return micros
	}
	unit := int64(math.Pow10(6 - p))
	return micros - ((micros%unit)+unit)%unit
}

const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// appendLetters appends n random letters and digits, 12 per random number.
func (g *Generator) appendLetters(r *gen.RNG, n int) {
	start := len(g.arena)
	g.arena = slices.Grow(g.arena, n)[:start+n]
	out := g.arena[start:]
	for i := 0; i < n; {
		x := r.Next()
		for j := 0; j < 12 && i < n; j++ {
			out[i] = alphabet[x%36]
			x /= 36
			i++
		}
	}
}
