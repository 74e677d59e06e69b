package streamsql

import (
	"context"
	"io"
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

// generatorBatcher yields batches of rows; both generators fit it.
type generatorBatcher func(ctx context.Context) ([]types.Row, error)

// generatorRun is a generator of a source's rows.
type generatorRun struct {
	next    generatorBatcher
	offset  func() int64 // rows yielded, counting the offset it resumed at
	bounded bool
}

// newGenerator checks a generator source's options and returns a
// generator of its rows resuming after offset rows. A nexmark source
// without base_time starts its event time at baseTime, unless that is
// zero (then: now). needed marks the columns a query reads (nil: all); a
// nexmark source leaves extra NULL when it is not read.
func newGenerator(cs *sql.CreateSource, cols []types.Column, offset int64, baseTime time.Time, needed []bool) (*generatorRun, error) {
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
		return &generatorRun{next: func(ctx context.Context) ([]types.Row, error) {
			_, err := g.NextBatch(ctx, &b, 1024)
			return b.Rows, err
		}, offset: g.Offset, bounded: o.MaxEvents > 0}, nil
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
		return &generatorRun{next: func(ctx context.Context) ([]types.Row, error) {
			_, err := g.NextBatch(ctx, &b, 1024)
			return b.Rows, err
		}, offset: g.Offset, bounded: o.NumberOfRows > 0}, nil
	}
	return nil, sqlerr.Newf(sqlerr.Internal, "source %s: %s is not a generator", cs.Name, connector)
}

// generatorScan is a SELECT's read of a generator source.
type generatorScan struct {
	next generatorBatcher
	rows []types.Row
	i    int
}

var _ exec.RowIter = (*generatorScan)(nil)

// openGeneratorScan reads a generator from its first row. An unbounded
// generator can only be read up to a LIMIT: "everything now" has no end.
func openGeneratorScan(obj *object, tail bool) (exec.RowIter, error) {
	g, err := newGenerator(obj.createSource, obj.columns, 0, time.Time{}, nil)
	if err != nil {
		return nil, err
	}
	if !g.bounded && !tail {
		return nil, sqlerr.Newf(sqlerr.FeatureNotSupported, "source %s generates rows without end", obj.entry.Name).
			WithHint("Add a LIMIT, or give the source max_events (nexmark) or number_of_rows (datagen).")
	}
	return &generatorScan{next: g.next}, nil
}

func (s *generatorScan) Next(ctx context.Context) (types.Row, error) {
	for s.i == len(s.rows) {
		rows, err := s.next(ctx)
		if err != nil && (err != io.EOF || len(rows) == 0) {
			return nil, err
		}
		s.rows, s.i = rows, 0
	}
	s.i++
	return s.rows[s.i-1], nil
}

func (s *generatorScan) Close() {}
