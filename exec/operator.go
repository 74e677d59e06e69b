package exec

import (
	"context"

	"github.com/streamsql/streamsql/sql/types"
)

// Operator is one node of a continuous query's DAG. The runtime owns the
// goroutine, the channels, barrier alignment and cancellation; an operator
// is a set of callbacks that it calls one at a time, never concurrently.
type Operator interface {
	// Open prepares the operator; state is restored from oc.State here.
	Open(ctx context.Context, oc *OpContext) error
	// Process handles a batch that arrived on input (0-based).
	Process(ctx context.Context, input int, b *Batch, out Output) error
	// OnWatermark is called when the operator's input watermark (the
	// minimum over its inputs) advances. The runtime forwards the watermark
	// downstream after this returns, so an operator that closes windows
	// emits them here first.
	OnWatermark(ctx context.Context, wm Watermark, out Output) error
	// OnBarrier is called once every input has delivered the barrier. The
	// operator writes its dirty state for the epoch and emits what must
	// precede the barrier; the runtime forwards the barrier after it.
	OnBarrier(ctx context.Context, b Barrier, out Output) error
	// Close releases resources. It is called once, after the last callback.
	Close() error
}

// Output is where an operator sends what it produces. The runtime gathers
// emitted rows into batches and sends them on before the next watermark or
// barrier, so an operator never builds batches itself.
type Output interface {
	// Emit sends one change downstream; row belongs to the runtime from
	// now on, so the operator must not change it afterwards.
	Emit(op Op, row types.Row)
}

// OpContext is what the runtime gives an operator at Open.
type OpContext struct {
	// Name identifies the operator in logs and EXPLAIN.
	Name string
	// State is the operator's own keyed state, already scoped to it: keys
	// start with the key group of the operator's key (see KeyGroup), so that
	// state can later be split across processes by key group.
	State StateTable
	// Epoch is GraphOptions.StartEpoch: every barrier to come carries a
	// later epoch than any the state was committed in.
	Epoch uint64
}

// StateTable is an operator's keyed state: ordered byte keys, built with
// the state package's order-preserving codec, and byte values. Writes are
// buffered and become durable when their epoch commits; reads see the
// operator's own writes at once.
type StateTable interface {
	Get(key []byte) (value []byte, ok bool, err error)
	Put(key, value []byte) error
	Delete(key []byte) error
	// Scan calls fn for every key in [start, end) in key order; a nil end
	// means no upper bound. fn must not keep key or value after it returns.
	Scan(start, end []byte, fn func(key, value []byte) error) error
}

// newKeyPutter is a StateTable that can be told that a key has no value
// (Get would not find it): should the key be deleted again before the
// table stores it, neither write needs to be made (state.Table.PutNew).
type newKeyPutter interface {
	PutNew(key, value []byte) error
}

// KeyGroups is the number of hash buckets of operator keys, fixed like
// Flink's max parallelism: state is laid out by key group so that a later
// version can spread key groups over processes without rewriting state.
const KeyGroups = 256
