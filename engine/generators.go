package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/streamsql/streamsql/connectors/datagen"
	"github.com/streamsql/streamsql/connectors/nexmark"
	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/sql"
	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// The built-in generator sources (connector = 'nexmark' | 'datagen'): their
// options are checked against the declared columns at CREATE SOURCE; a
// SELECT reads them like any source, and a view reads them through a
// generator input (view.go) that commits the generator's offset.

// isGenerator reports whether a source is one of the built-in generators.
func isGenerator(connector string) bool { return connector == "nexmark" || connector == "datagen" }

func optionMap(opts sql.Options) map[string]string {
	m := make(map[string]string, len(opts.List))
	for _, o := range opts.List {
		m[o.Key] = o.Value
	}
	return m
}

// isPulled reports whether a view reads the source with a loop of its own
// (a pulledSource) rather than through the shared readers.
func isPulled(connector string) bool { return isGenerator(connector) || connector == "file" }

// openPulled opens the pulled source obj for consumer, resuming at the
// committed position pos (nil: from the start); needed marks the columns
// read. Event time of a generator starts when the source was created, so
// that a restart generates the same rows.
func (e *Engine) openPulled(obj *object, pos []byte, needed []bool, consumer string) (*pulledSource, error) {
	if obj.connector == "file" {
		return e.openFileSource(obj, pos, needed, consumer)
	}
	var p generatorPosition
	if pos != nil {
		if err := json.Unmarshal(pos, &p); err != nil {
			return nil, fmt.Errorf("restore the offset of %s: %w", obj.entry.Name, err)
		}
	}
	g, err := newGenerator(obj.createSource, obj.physical(), p.Offset, obj.entry.CreatedAt, obj.physicalNeeded(needed))
	if err != nil {
		return nil, err
	}
	st := &generatorStatus{connector: obj.connector}
	st.offset.Store(p.Offset)
	next := g.next
	g.next = func(ctx context.Context) ([]types.Row, bool, error) {
		rows, caughtUp, err := next(ctx)
		st.rows.Add(int64(len(rows)))
		st.offset.Add(int64(len(rows)))
		if err == io.EOF {
			st.ended.Store(true)
		}
		return rows, caughtUp, err
	}
	g.late = func(int) { st.late.Add(1) }
	g.close = e.sources.addGenerator(obj.entry.Name, st, consumer)
	return withProcTime(g, obj.procCol(), e.clock), nil
}

// generatorStatus is what SHOW SOURCE STATUS shows of a consumer's
// generator: one row, the connector in shard_id.
type generatorStatus struct {
	connector string
	// rows generated since it was opened, the late ones among them (on
	// arrival: see Late rows in view.go), the offset (rows generated
	// since the source's start), and whether a bounded one ended.
	rows, late, offset atomic.Int64
	ended              atomic.Bool
}

func (st *generatorStatus) row(consumer string) types.Row {
	state := "reading"
	if st.ended.Load() {
		state = "ended"
	}
	return types.Row{
		types.NewString(consumer), types.NewString(st.connector), types.NewString(state),
		types.NewInt(st.rows.Load()), types.Null, types.Null,
		types.NewInt(0), types.NewInt(0), types.NewInt(0),
		types.NewInt(st.late.Load()), types.NewString(fmt.Sprint(st.offset.Load())),
		types.NewString("own"), types.Null,
		types.Null, types.Null, types.NewInt(0), types.NewInt(0), types.Null, types.Null,
	}
}

// generatorPosition is what a view commits for a generator input.
type generatorPosition struct {
	Offset int64 `json:"offset"`
}

// newGenerator checks a generator source's options and returns a
// generator of its rows resuming after offset rows. A nexmark source
// without base_time starts its event time at baseTime, unless that is
// zero (then: now). needed marks the columns a query reads (nil: all); a
// nexmark source leaves extra NULL when it is not read.
func newGenerator(cs *sql.CreateSource, cols []types.Column, offset int64, baseTime time.Time, needed []bool) (*pulledSource, error) {
	connector, _ := cs.Options.Get("connector")
	with := optionMap(cs.Options)
	bad := func(err error) error {
		return sqlerr.Wrap(err, sqlerr.InvalidParameterValue, "source "+cs.Name)
	}
	switch connector {
	case "nexmark":
		o, err := nexmark.ParseOptions(with)
		if err != nil {
			return nil, bad(err)
		}
		if err := o.Table.CheckColumns(cols); err != nil {
			return nil, bad(err)
		}
		o.Offset = offset
		// extra is each table's last column.
		o.SkipExtra = len(needed) == len(cols) && len(cols) > 0 && !needed[len(cols)-1]
		if o.BaseTime == 0 && !baseTime.IsZero() {
			o.BaseTime = baseTime.UnixMilli() * 1000
		}
		g, err := nexmark.New(o)
		if err != nil {
			return nil, bad(err)
		}
		var b nexmark.Batch
		return &pulledSource{next: func(ctx context.Context) ([]types.Row, bool, error) {
			_, err := g.NextBatch(ctx, &b, 1024)
			return b.Rows, true, err
		}, position: generatorOffset(g.Offset), bounded: o.MaxEvents > 0}, nil
	case "datagen":
		o, err := datagen.ParseOptions(cols, with)
		if err != nil {
			return nil, bad(err)
		}
		o.Offset = offset
		g, err := datagen.New(o)
		if err != nil {
			return nil, bad(err)
		}
		var b datagen.Batch
		return &pulledSource{next: func(ctx context.Context) ([]types.Row, bool, error) {
			_, err := g.NextBatch(ctx, &b, 1024)
			return b.Rows, true, err
		}, position: generatorOffset(g.Offset), bounded: o.NumberOfRows > 0}, nil
	}
	return nil, sqlerr.Newf(sqlerr.Internal, "source %s: %s is not a generator", cs.Name, connector)
}

// generatorOffset is a generator's position: the rows it yielded,
// counting the offset it resumed at. A generator holds nothing back: every
// batch is all there is "now" (caughtUp).
func generatorOffset(offset func() int64) func() ([]byte, error) {
	return func() ([]byte, error) { return json.Marshal(generatorPosition{Offset: offset()}) }
}

// pulledScan is a SELECT's read of a pulled source.
type pulledScan struct {
	src  *pulledSource
	tail bool // read on past what is there now (under a LIMIT)
	rows []types.Row
	i    int
	// caughtUp: the last batch was all there was; the scan ends after it
	// unless tail.
	caughtUp bool
}

var _ exec.RowIter = (*pulledScan)(nil)

// openPulledScan reads a pulled source from its start. An unbounded
// generator can only be read up to a LIMIT: "everything now" has no end.
// A followed file's "now" is what its files hold.
func (e *Engine) openPulledScan(obj *object, tail bool) (exec.RowIter, error) {
	if obj.connector == "file" {
		return e.openFileScan(obj, tail)
	}
	g, err := newGenerator(obj.createSource, obj.physical(), 0, time.Time{}, nil)
	if err != nil {
		return nil, err
	}
	g = withProcTime(g, obj.procCol(), e.clock)
	if !g.bounded && !tail {
		return nil, sqlerr.Newf(sqlerr.FeatureNotSupported, "source %s generates rows without end", obj.entry.Name).
			WithHint("Add a LIMIT, or give the source max_events (nexmark) or number_of_rows (datagen).")
	}
	return &pulledScan{src: g, tail: true}, nil
}

func (s *pulledScan) Next(ctx context.Context) (types.Row, error) {
	for s.i == len(s.rows) {
		if s.caughtUp && !s.tail {
			return nil, io.EOF
		}
		if s.caughtUp && len(s.rows) == 0 && s.src.poll > 0 {
			select {
			case <-time.After(s.src.poll):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		rows, caughtUp, err := s.src.next(ctx)
		if err != nil && (err != io.EOF || len(rows) == 0) {
			return nil, err
		}
		s.rows, s.i, s.caughtUp = rows, 0, caughtUp
	}
	s.i++
	return s.rows[s.i-1], nil
}

func (s *pulledScan) Close() {
	if s.src.close != nil {
		s.src.close()
	}
}
