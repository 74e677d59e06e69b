package exec

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/streamsql/streamsql/sql/types"
)

// TestMaterialize_Log: an append-only view stores each row once, copies
// included, under keys that a restart (a later start epoch) never reuses,
// and refuses a delete.
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
		row, n, err := DecodeMaterialized(false, v)
		if err != nil || n != 1 {
			t.Fatalf("value %x: %v, count %d", v, err, n)
		}
		got = append(got, row.String())
	}
	slices.Sort(got)
	if want := []string{"1 x", "2 x", "2 x", "2 x", "3 x"}; !slices.Equal(got, want) {
		t.Fatalf("log holds %v, want %v", got, want)
	}
	b := NewBatch(1)
	// One epoch's rows are written in key order: each goes at the end of
	// the state's write buffer.
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
	if len(rec.keys) != 600 || !slices.IsSortedFunc(rec.keys, strings.Compare) {
		t.Fatalf("%d log keys of one epoch, in key order: %v", len(rec.keys), slices.IsSortedFunc(rec.keys, strings.Compare))
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
