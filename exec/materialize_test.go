package exec

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/streamsql/streamsql/sql/types"
)

// TestMaterialize_Log: an append-only view stores each row once, copies
// included, a batch's rows as blocks of at most logBlockRows, under keys
// that a restart (a later start epoch) never reuses, and refuses a delete.
func TestMaterialize_Log(t *testing.T) {
	ctx := context.Background()
	st := newAggMemState()
	run := func(startEpoch uint64, rows ...int64) *Materialize {
		m := NewMaterialize(MaterializeOptions{AppendOnly: true})
		if err := m.Open(ctx, &OpContext{Name: "log", State: st, Epoch: startEpoch}); err != nil {
			t.Fatal(err)
		}
		b := NewBatch(len(rows))
		for _, r := range rows {
			b.Append(Insert, types.Row{types.NewInt(r), types.NewString("x")})
		}
		if err := m.Process(ctx, 0, b, &aggRecorder{}); err != nil {
			t.Fatal(err)
		}
		if err := m.OnBarrier(ctx, Barrier{Epoch: startEpoch + 1}, &aggRecorder{}); err != nil {
			t.Fatal(err)
		}
		return m
	}
	run(0, 1, 2, 2)
	m := run(1, 2, 3) // restarted after epoch 1 committed
	var got []string
	for k, v := range st.m {
		if k[2] != markLog {
			t.Fatalf("key %x is not a log key", k)
		}
		err := MaterializedRows(false, v, func(row types.Row, n int64) error {
			if n != 1 {
				t.Fatalf("value %x: count %d", v, n)
			}
			got = append(got, row.String())
			return nil
		})
		if err != nil {
			t.Fatalf("value %x: %v", v, err)
		}
	}
	slices.Sort(got)
	if want := []string{"1 x", "2 x", "2 x", "2 x", "3 x"}; !slices.Equal(got, want) {
		t.Fatalf("log holds %v, want %v", got, want)
	}
	b := NewBatch(1)
	// One epoch's blocks are written in key order: each goes at the end
	// of the state's write buffer; they hold the rows in order.
	rec := &putOrder{StateTable: newAggMemState()}
	m2 := NewMaterialize(MaterializeOptions{AppendOnly: true})
	mustOpen(t, m2, rec)
	in := NewBatch(600)
	for i := range 600 {
		in.Append(Insert, types.Row{types.NewInt(int64(i))})
	}
	if err := m2.Process(ctx, 0, in, &aggRecorder{}); err != nil {
		t.Fatal(err)
	}
	if len(rec.keys) != 2 || !slices.IsSortedFunc(rec.keys, strings.Compare) {
		t.Fatalf("%d log blocks for 600 rows, in key order: %v", len(rec.keys), slices.IsSortedFunc(rec.keys, strings.Compare))
	}
	var order []int64
	for _, k := range rec.keys {
		v, _, _ := rec.Get([]byte(k))
		if err := MaterializedRows(false, v, func(row types.Row, _ int64) error {
			order = append(order, row[0].Int())
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	for i, n := range order {
		if n != int64(i) {
			t.Fatalf("row %d of the blocks is %d (%d rows)", i, n, len(order))
		}
	}
	if len(order) != 600 {
		t.Fatalf("%d rows in the blocks, want 600", len(order))
	}
	b.Append(Delete, types.Row{types.NewInt(1), types.NewString("x")})
	if err := m.Process(ctx, 0, b, &aggRecorder{}); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Fatalf("a delete in a log: %v", err)
	}
}

// putOrder records the keys put, in order.
type putOrder struct {
	StateTable
	keys []string
}

func (p *putOrder) Put(k, v []byte) error {
	p.keys = append(p.keys, string(k))
	return p.StateTable.Put(k, v)
}

// TestMaterialize_LogObserver: the observer of an append-only view gets
// each row of the epoch's blocks as an insert, copies included.
func TestMaterialize_LogObserver(t *testing.T) {
	ctx := context.Background()
	var got []string
	m := NewMaterialize(MaterializeOptions{AppendOnly: true, Observer: func(_ uint64, b *Batch) error {
		for i := 0; i < b.Len(); i++ {
			if b.Op(i) != Insert {
				t.Fatalf("change %d is %v, want an insert", i, b.Op(i))
			}
			got = append(got, b.Row(i).String())
		}
		return nil
	}})
	mustOpen(t, m, newAggMemState())
	var want []string
	for _, n := range []int{3, logBlockRows + 1} {
		in := NewBatch(n)
		for i := range n {
			in.Append(Insert, types.Row{types.NewInt(int64(i % 5))})
			want = append(want, types.Row{types.NewInt(int64(i % 5))}.String())
		}
		if err := m.Process(ctx, 0, in, &aggRecorder{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.OnBarrier(ctx, Barrier{Epoch: 1}, &aggRecorder{}); err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("observer got %d rows, want %d: %v", len(got), len(want), got)
	}
}

// TestMaterializedRows_KeyedViewAsLog: a keyed view the planner proves
// append-only is stored as a log, and one written by an older build holds
// keyed rows beside the new blocks: read as keyed, each value gives its
// rows, whichever layout it has.
func TestMaterializedRows_KeyedViewAsLog(t *testing.T) {
	ctx := context.Background()
	st := newAggMemState()
	m := NewMaterialize(MaterializeOptions{AppendOnly: true})
	if err := m.Open(ctx, &OpContext{Name: "log", State: st, Epoch: 4}); err != nil {
		t.Fatal(err)
	}
	b := NewBatch(2)
	b.Append(Insert, types.Row{types.NewString("b"), types.NewInt(2)})
	b.Append(Insert, types.Row{types.NewString("c"), types.NewInt(3)})
	if err := m.Process(ctx, 0, b, &aggRecorder{}); err != nil {
		t.Fatal(err)
	}
	// The row an older build stored under the view's key.
	st.m["old"] = appendRow(nil, types.Row{types.NewString("a"), types.NewInt(1)})
	var got []string
	for _, v := range st.m {
		if err := MaterializedRows(true, v, func(row types.Row, n int64) error {
			if n != 1 {
				t.Fatalf("value %x: count %d", v, n)
			}
			got = append(got, row.String())
			return nil
		}); err != nil {
			t.Fatalf("value %x: %v", v, err)
		}
	}
	slices.Sort(got)
	if want := []string{"a 1", "b 2", "c 3"}; !slices.Equal(got, want) {
		t.Fatalf("read %v, want %v", got, want)
	}
}

// deleteCount counts the deletes written to a state table.
type deleteCount struct {
	StateTable
	n int
}

func (d *deleteCount) Delete(k []byte) error {
	d.n++
	return d.StateTable.Delete(k)
}

// TestMaterialize_KeyedUpdatePair: in a keyed view an update pair whose
// rows share a key is one write (the insert replaces the row), with or
// without an observer; a pair across two keys, and a lone delete, delete.
func TestMaterialize_KeyedUpdatePair(t *testing.T) {
	ctx := context.Background()
	typs := []types.Type{types.TypeBigInt, types.TypeText}
	for _, observed := range []bool{false, true} {
		var changes string
		o := MaterializeOptions{Key: []int{0}}
		if observed {
			o.Observer = func(_ uint64, b *Batch) error {
				changes = b.String()
				return nil
			}
		}
		st := &deleteCount{StateTable: newAggMemState()}
		m := NewMaterialize(o)
		mustOpen(t, m, st)
		for _, in := range []string{"+ 1 a\n+ 2 c\n+ 4 e", "U- 1 a\nU+ 1 b\nU- 2 c\nU+ 3 d\n- 4 e"} {
			b, err := ParseBatch(typs, in)
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Process(ctx, 0, b, &aggRecorder{}); err != nil {
				t.Fatal(err)
			}
			if err := m.OnBarrier(ctx, Barrier{Epoch: 1}, &aggRecorder{}); err != nil {
				t.Fatal(err)
			}
		}
		var got []string
		for _, v := range st.StateTable.(*aggMemState).m {
			row, _, err := readRow(v)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, row.String())
		}
		slices.Sort(got)
		if want := []string{"1 b", "3 d"}; !slices.Equal(got, want) || st.n != 2 {
			t.Fatalf("observed=%v: view %v after %d deletes, want %v after 2 (keys 2 and 4)", observed, got, st.n, want)
		}
		// Keys come in key-group order; key 1's pair stays a pair.
		lines := strings.Split(strings.TrimSpace(changes), "\n")
		slices.Sort(lines)
		want := []string{"+ 3 d", "- 2 c", "- 4 e", "U+ 1 b", "U- 1 a"}
		if observed && (!slices.Equal(lines, want) || !strings.Contains(changes, "U- 1 a\nU+ 1 b\n")) {
			t.Fatalf("observer got\n%swant, in some key order, %q with the pair together", changes, want)
		}
	}
}
