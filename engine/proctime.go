package engine

import (
	"context"
	"slices"
	"time"

	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/sql"
	"github.com/streamsql/streamsql/sql/types"
)

// Processing time: a source may declare `proc AS PROCTIME()` (Flink's
// processing-time attribute), a TIMESTAMP(3) column that no record
// carries: the engine stamps each row with its clock (Config.Clock) when
// the row is read, decoders and generators read the other columns (the
// physical ones), and the row gets the stamp at the column's place. A view
// whose windows are over that column has the clock as its input's
// watermark (view.go: procTimeTick), so its windows close as time passes
// even when no record comes.

// procTimeTick is how often a view input whose windows are over
// processing time sends the clock as its watermark while no record comes.
const procTimeTick = 100 * time.Millisecond

// procTime is the clock's time as a PROCTIME() value: TIMESTAMP(3).
func procTime(now time.Time) types.Value {
	return types.NewTimestamp(now.UnixMilli() * 1000)
}

// procCol returns the index of a source's PROCTIME() column, or -1.
func (o *object) procCol() int {
	if o.kind != sql.KindSource || o.createSource == nil {
		return -1
	}
	return slices.IndexFunc(o.createSource.Columns, func(c sql.ColumnDef) bool { return c.ProcTime })
}

// physical returns the columns records (or generators) carry: all but
// the PROCTIME() column.
func (o *object) physical() []types.Column {
	p := o.procCol()
	if p < 0 {
		return o.columns
	}
	return slices.Delete(slices.Clone(o.columns), p, p+1)
}

// physicalNeeded is needed (a mask over every column, nil for all) over
// the physical columns.
func (o *object) physicalNeeded(needed []bool) []bool {
	p := o.procCol()
	if p < 0 || needed == nil || len(needed) != len(o.columns) {
		return needed
	}
	return slices.Delete(slices.Clone(needed), p, p+1)
}

// stampProcTime makes a physical row a full one: the clock's time at the
// PROCTIME() column's place. The row may be reallocated.
func stampProcTime(row types.Row, at int, now time.Time) types.Row {
	return slices.Insert(row, at, procTime(now))
}

// withProcTime wraps a pulled source of physical rows so that it returns
// full rows stamped with clock, for an object with a PROCTIME() column.
func withProcTime(p *pulledSource, at int, clock func() time.Time) *pulledSource {
	if at < 0 {
		return p
	}
	next := p.next
	var out []types.Row
	p.next = func(ctx context.Context) ([]types.Row, bool, error) {
		rows, caughtUp, err := next(ctx)
		out = out[:0]
		now := clock()
		for _, r := range rows {
			// The source may reuse its rows: each gets a row of its own.
			full := make(types.Row, 0, len(r)+1)
			full = append(append(full, r[:at]...), procTime(now))
			out = append(out, append(full, r[at:]...))
		}
		return out, caughtUp, err
	}
	return p
}

// procTimeTicker returns a channel that ticks every procTimeTick for an
// input whose watermark is the clock (nil otherwise: it never ticks), and
// what stops it.
func (in *viewInput) procTimeTicker() (<-chan time.Time, func()) {
	if !in.plan.ProcTime {
		return nil, func() {}
	}
	t := time.NewTicker(procTimeTick)
	return t.C, t.Stop
}

// procTimeWatermark sends the clock into the graph as the input's
// watermark when it has moved past the last one sent (*last, when *has):
// every row stamped so far has a PROCTIME() at or before it.
func (in *viewInput) procTimeWatermark(ctx context.Context, last *int64, has *bool) error {
	now := procTime(in.l.r.m.e.clock()).Micros()
	if *has && now <= *last {
		return nil
	}
	*last, *has = now, true
	return in.feed.Send(ctx, exec.Message{Kind: exec.KindWatermark, Watermark: exec.Watermark{Micros: now}})
}
