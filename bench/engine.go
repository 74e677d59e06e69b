package bench

import (
	"context"
	"fmt"
	"math"
	"os"

	"github.com/streamsql/streamsql/connectors/format"
	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/sql/types"
	"github.com/streamsql/streamsql/state"
)

// EngineContender runs the tumbling query through streamsql's own parts,
// in process: the source's JSON decoder, the TUMBLE window and the
// windowed aggregate with EMIT ON WINDOW CLOSE in the operator graph, and
// Badger-backed state tables committed at every barrier, as a view's
// pipeline commits them. It leaves out only Kinesis and pgwire.
var EngineContender = Contender{Name: "streamsql operators (decode, window, agg, state)", Run: RunEngine}

// engineFeedBatch is how many decoded rows go into one batch, and
// engineBarrierEvery how many batches pass between barriers (a barrier is
// a state commit).
const (
	engineFeedBatch    = 1024
	engineBarrierEvery = 256
	engineCacheGroups  = 1 << 21
)

var clickColumns = []types.Column{
	{Name: "user_id", Type: types.TypeBigInt},
	{Name: "amount", Type: types.TypeDouble},
	{Name: "ts", Type: types.TypeTimestamp},
}

// RunEngine computes the tumbling query's answer with the engine's parts.
func RunEngine(ctx context.Context, events [][]byte, q Query) (Answer, error) {
	dir, err := os.MkdirTemp("", "streamsql-bench-")
	if err != nil {
		return Answer{}, err
	}
	defer os.RemoveAll(dir)
	db, err := state.Open(ctx, state.Options{Dir: dir})
	if err != nil {
		return Answer{}, err
	}
	defer db.Close()

	dec, err := format.NewDecoder(format.Options{Format: "json", Columns: clickColumns})
	if err != nil {
		return Answer{}, err
	}
	size := q.Size.Microseconds()
	win, err := exec.NewWindow(exec.WindowOptions{Kind: exec.Tumble, TimeCol: 2, Size: size})
	if err != nil {
		return Answer{}, err
	}
	// After the window the row is user_id, amount, ts, window_start, window_end.
	col := func(i int, t types.Type) expr.Func {
		f, _ := expr.Compile(&expr.ColumnRef{Index: i, Typ: t})
		return f
	}
	count, err := expr.NewAgg("count", false, nil, 0)
	if err != nil {
		return Answer{}, err
	}
	sum, err := expr.NewAgg("sum", false, &expr.ColumnRef{Index: 1, Typ: types.TypeDouble}, 0)
	if err != nil {
		return Answer{}, err
	}
	agg, err := exec.NewWindowAgg(exec.WindowAggOptions{
		AggOptions: exec.AggOptions{
			Keys: []expr.Func{col(0, types.TypeBigInt), col(3, types.TypeTimestamp), col(4, types.TypeTimestamp)},
			Aggs: []*expr.Agg{count, sum},
			// Room for every open (key, window) group of the 1,000,000-key
			// scenario: with the operator's default of 65,536 groups each
			// event reads and writes its group through Badger (145x below
			// the ceiling instead of the figure in docs/benchmarks.md).
			CacheSize: engineCacheGroups,
		},
		WindowEnd:   2,
		EmitOnClose: true,
	})
	if err != nil {
		return Answer{}, err
	}

	g := exec.NewGraph(exec.GraphOptions{})
	in, feed := g.Input("clicks")
	w := g.Add("tumble", win, in)
	a := g.Add("agg", agg, w)
	table := db.Table(1, 1)
	g.SetState(a, table)
	var ans answerBuilder
	g.Observe(a, func(m exec.Message) error {
		switch m.Kind {
		case exec.KindBatch:
			b := m.Batch
			for i := 0; i < b.Len(); i++ {
				r := b.Row(i)
				ans.add(r[2].Micros()/1000, r[3].Int(), int64(math.Round(r[4].Float()*100)))
			}
		case exec.KindBarrier:
			return db.CommitEpoch(m.Barrier.Epoch, nil, table)
		}
		return nil
	})
	gctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := g.Start(gctx); err != nil {
		return Answer{}, err
	}
	feedErr := feedClicks(gctx, feed, dec, events, q.Delay.Microseconds())
	feed.Close()
	if err := g.Wait(); err != nil {
		return Answer{}, err
	}
	return ans.a, feedErr
}

// feedClicks decodes the events into batches with watermarks (the largest
// event time so far minus the delay, after each batch) and barriers, then
// ends the input with a watermark past every window and a last barrier.
func feedClicks(ctx context.Context, feed *exec.Feed, dec format.Decoder, events [][]byte, delay int64) error {
	var meta format.Meta
	maxTs, lastWm := int64(math.MinInt64), int64(math.MinInt64)
	epoch := uint64(0)
	batches := 0
	for start := 0; start < len(events); start += engineFeedBatch {
		end := min(start+engineFeedBatch, len(events))
		b := exec.NewBatch(end - start)
		// One row array per batch: the batch owns its rows until the
		// runtime is done with them.
		cells := make([]types.Value, (end-start)*len(clickColumns))
		for i, ev := range events[start:end] {
			row, err := dec.Decode(ev, &meta, cells[i*len(clickColumns):i*len(clickColumns):(i+1)*len(clickColumns)])
			if err != nil {
				return fmt.Errorf("engine: decoding %q: %w", ev, err)
			}
			if ts := row[2].Micros(); ts > maxTs {
				maxTs = ts
			}
			b.Append(exec.Insert, row)
		}
		if err := feed.Send(ctx, exec.Message{Kind: exec.KindBatch, Batch: b}); err != nil {
			return err
		}
		if wm := maxTs - delay; wm > lastWm {
			lastWm = wm
			if err := feed.Send(ctx, exec.Message{Kind: exec.KindWatermark, Watermark: exec.Watermark{Micros: wm}}); err != nil {
				return err
			}
		}
		if batches++; batches%engineBarrierEvery == 0 {
			epoch++
			if err := feed.Send(ctx, exec.Message{Kind: exec.KindBarrier, Barrier: exec.Barrier{Epoch: epoch}}); err != nil {
				return err
			}
		}
	}
	if err := feed.Send(ctx, exec.Message{Kind: exec.KindWatermark, Watermark: exec.Watermark{Micros: math.MaxInt64}}); err != nil {
		return err
	}
	return feed.Send(ctx, exec.Message{Kind: exec.KindBarrier, Barrier: exec.Barrier{Epoch: epoch + 1}})
}
