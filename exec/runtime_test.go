package exec

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/sql/types"
	"github.com/streamsql/streamsql/state"
)

func mustParse(t testing.TB, typs []types.Type, text string) []Message {
	t.Helper()
	msgs, err := ParseMessages(typs, text)
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

func feedAll(t testing.TB, ctx context.Context, f *Feed, msgs []Message) {
	t.Helper()
	for _, m := range msgs {
		if err := f.Send(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
}

// A node read by two others sends each every message.
func TestGraph_FanOut(t *testing.T) {
	ints := []types.Type{types.TypeBigInt}
	g := NewGraph(GraphOptions{BatchSize: 2})
	in, feed := g.Input("src")
	pass := g.Add("pass", NewUnionAll(), in)
	var mu sync.Mutex
	outs := map[string][]Message{}
	for _, name := range []string{"a", "b"} {
		g.Observe(pass, func(m Message) error {
			mu.Lock()
			defer mu.Unlock()
			outs[name] = append(outs[name], m)
			return nil
		})
	}
	ctx := context.Background()
	if err := g.Start(ctx); err != nil {
		t.Fatal(err)
	}
	feedAll(t, ctx, feed, mustParse(t, ints, "+ 1\n+ 2\n+ 3\nbarrier 1\n- 1\n"))
	feed.Close()
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	want := "+ 1\n+ 2\n+ 3\nbarrier 1\n- 1\n"
	for _, name := range []string{"a", "b"} {
		if got := FormatMessages(outs[name]); got != want {
			t.Errorf("observer %s got\n%s", name, got)
		}
	}
	// Batches are shared, not copied.
	if outs["a"][0].Batch != outs["b"][0].Batch {
		t.Error("fan-out copied a batch")
	}
}

type failOp struct {
	UnionAll
	closed bool
}

func (f *failOp) Process(context.Context, int, *Batch, Output) error { return errors.New("boom") }
func (f *failOp) Close() error                                       { f.closed = true; return nil }

// The first operator error cancels the graph and comes out of Wait, even
// while the feeder is blocked on a full edge.
func TestGraph_ErrorCancels(t *testing.T) {
	g := NewGraph(GraphOptions{EdgeCapacity: 1})
	in, feed := g.Input("src")
	op := &failOp{}
	id := g.Add("fail", op, in)
	g.Observe(id, func(Message) error { return nil })
	if err := g.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	b := NewBatch(1)
	b.Append(Insert, types.Row{types.NewInt(1)})
	var sendErr error
	for i := 0; i < 100 && sendErr == nil; i++ {
		sendErr = feed.Send(context.Background(), Message{Kind: KindBatch, Batch: b})
	}
	err := g.Wait()
	if err == nil || !strings.Contains(err.Error(), "operator fail: boom") {
		t.Fatalf("Wait = %v", err)
	}
	if sendErr == nil {
		t.Fatal("sending into a failed graph kept succeeding")
	}
	if !op.closed {
		t.Fatal("operator not closed")
	}
}

type panicOp struct{ UnionAll }

func (*panicOp) Process(context.Context, int, *Batch, Output) error {
	var m map[string]int
	m["x"]++ // a nil-map write: the kind of bug a panic is
	return nil
}

// A panicking operator fails its graph with an error naming it; the
// process (this test binary) survives to see it.
func TestGraph_PanicFailsGraph(t *testing.T) {
	g := NewGraph(GraphOptions{})
	in, feed := g.Input("src")
	id := g.Add("bad", &panicOp{}, in)
	g.Observe(id, func(Message) error { return nil })
	if err := g.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	b := NewBatch(1)
	b.Append(Insert, types.Row{types.NewInt(1)})
	_ = feed.Send(context.Background(), Message{Kind: KindBatch, Batch: b})
	err := g.Wait()
	var pe *PanicError
	if !errors.As(err, &pe) || pe.Node != "bad" || len(pe.Stack) == 0 {
		t.Fatalf("Wait = %v, want a PanicError from node bad with a stack", err)
	}
	if !strings.Contains(err.Error(), "assignment to entry in nil map") {
		t.Fatalf("error %q does not carry the panic's value", err)
	}
}

func TestGraph_ContextCancel(t *testing.T) {
	g := NewGraph(GraphOptions{})
	in, _ := g.Input("src")
	g.Add("pass", NewUnionAll(), in)
	ctx, cancel := context.WithCancel(context.Background())
	if err := g.Start(ctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	done := make(chan error, 1)
	go func() { done <- g.Wait() }()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Wait = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("graph did not stop on cancel")
	}
}

func TestGraph_BadShape(t *testing.T) {
	g := NewGraph(GraphOptions{})
	g.Add("orphan", NewUnionAll())
	if err := g.Start(context.Background()); err == nil {
		t.Fatal("an operator without input must be refused")
	}
}

// A query through the runtime into a Materialize on a Badger state table:
// the runtime seals the table at each barrier, the epoch commits after the
// barrier reached the sink, and a reopened database holds the view.
func TestGraph_MaterializeCommit(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	db, err := state.Open(ctx, state.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	typs := []types.Type{types.TypeBigInt, types.TypeText}
	pred, _ := expr.CompilePredicate(mustCall(t, ">", &expr.ColumnRef{Index: 0, Typ: types.TypeBigInt}, intConst(0)))
	tbl := db.Table(42, 1)

	g := NewGraph(GraphOptions{BatchSize: 3})
	in, feed := g.Input("src")
	f := g.Add("filter", NewFilter(pred, nil, nil), in)
	var views []string
	m := g.Add("mv", NewMaterialize(MaterializeOptions{Key: []int{0}, Observer: func(epoch uint64, b *Batch) error {
		views = append(views, fmt.Sprintf("%d:%s", epoch, b))
		return nil
	}}), f)
	g.SetState(m, tbl)
	commitErr := make(chan error, 8)
	g.Observe(m, func(msg Message) error {
		if msg.Kind == KindBarrier {
			commitErr <- db.CommitEpoch(msg.Barrier.Epoch, nil, tbl)
		}
		return nil
	})
	if err := g.Start(ctx); err != nil {
		t.Fatal(err)
	}
	feedAll(t, ctx, feed, mustParse(t, typs, "+ 1 a\n+ -1 z\n+ 2 b\nbarrier 1\nU- 1 a\nU+ 1 c\n- 2 b\nbarrier 2\n+ 3 lost\n"))
	feed.Close()
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := <-commitErr; err != nil {
			t.Fatal(err)
		}
	}
	if len(views) != 2 || !strings.Contains(views[1], "U+ 1 c") {
		t.Fatalf("view changes: %q", views)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db, err = state.Open(ctx, state.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var rows []string
	if err := db.Table(42, 1).Scan(nil, nil, func(_, v []byte) error {
		r, _, err := readRow(v)
		rows = append(rows, r.String())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	want := types.Row{types.NewInt(1), types.NewString("c")}.String()
	if len(rows) != 1 || rows[0] != want {
		t.Fatalf("view after reopen = %v, want [%s] (epoch 3 never committed)", rows, want)
	}
}

func mustCall(t testing.TB, name string, args ...expr.Expr) expr.Expr {
	t.Helper()
	c, err := expr.NewCall(name, 0, args...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func intConst(i int64) expr.Expr { return &expr.Const{Value: types.NewInt(i), Typ: types.TypeBigInt} }

// BenchmarkFilterProject runs source → Filter → Project → sink through the
// runtime; ns/op and allocs/op are per event.
func BenchmarkFilterProject(b *testing.B) {
	col := func(i int) expr.Expr { return &expr.ColumnRef{Index: i, Typ: types.TypeBigInt} }
	pred, err := expr.CompilePredicate(mustCall(b, ">", mustCall(b, "%", col(0), intConst(10)), intConst(1)))
	if err != nil {
		b.Fatal(err)
	}
	sum, _ := expr.Compile(mustCall(b, "+", col(0), col(1)))
	dbl, _ := expr.Compile(mustCall(b, "*", col(1), intConst(2)))

	const batch = 1024
	// Pre-built input batches, reused: the source's own cost is not measured.
	inputs := make([]*Batch, 64)
	for i := range inputs {
		inputs[i] = NewBatch(batch)
		for j := 0; j < batch; j++ {
			n := int64(i*batch + j)
			inputs[i].Append(Insert, types.Row{types.NewInt(n), types.NewInt(n * 3)})
		}
	}
	g := NewGraph(GraphOptions{})
	in, feed := g.Input("src")
	f := g.Add("filter", NewFilter(pred, nil, nil), in)
	p := g.Add("project", NewProject([]expr.Func{sum, dbl}, nil, nil), f)
	var rows int
	g.Observe(p, func(m Message) error {
		if m.Kind == KindBatch {
			rows += m.Batch.Len()
		}
		return nil
	})
	ctx := context.Background()
	if err := g.Start(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for sent := 0; sent < b.N; sent += batch {
		if err := feed.Send(ctx, Message{Kind: KindBatch, Batch: inputs[(sent/batch)%len(inputs)]}); err != nil {
			b.Fatal(err)
		}
	}
	feed.Close()
	if err := g.Wait(); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	n := ((b.N + batch - 1) / batch) * batch
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
	_ = rows
}
