package exec

import (
	"fmt"
	"strings"

	"github.com/streamsql/streamsql/sql/types"
)

// Op is the change a row carries through the operator DAG. An update is two
// adjacent rows, UpdateDelete (the old row) then UpdateInsert (the new one),
// so that sinks and SUBSCRIBE can show it as one change.
type Op uint8

const (
	Insert Op = iota
	Delete
	UpdateDelete
	UpdateInsert
)

// Positive reports whether the op adds its row (Insert, UpdateInsert).
func (o Op) Positive() bool { return o == Insert || o == UpdateInsert }

var opText = [...]string{Insert: "+", Delete: "-", UpdateDelete: "U-", UpdateInsert: "U+"}

func (o Op) String() string {
	if int(o) < len(opText) {
		return opText[o]
	}
	return fmt.Sprintf("Op(%d)", o)
}

// Batch is a run of changes. Its layout is private, read through methods,
// so that it can become columnar without touching operators' callers.
//
// Ownership: a batch handed to an operator's Process belongs to the runtime;
// the operator may read it until Process returns and must copy any row it
// keeps. A batch handed to Output.Emit belongs to the runtime from then on.
type Batch struct {
	ops  []Op
	rows []types.Row
}

// NewBatch returns an empty batch with room for n rows.
func NewBatch(n int) *Batch {
	return &Batch{ops: make([]Op, 0, n), rows: make([]types.Row, 0, n)}
}

// Len returns the number of changes.
func (b *Batch) Len() int { return len(b.ops) }

// Op returns the i-th change's op.
func (b *Batch) Op(i int) Op { return b.ops[i] }

// Row returns the i-th change's row.
func (b *Batch) Row(i int) types.Row { return b.rows[i] }

// Append adds a change. The batch keeps row; the caller must not change it.
func (b *Batch) Append(op Op, row types.Row) {
	b.ops = append(b.ops, op)
	b.rows = append(b.rows, row)
}

// Reset empties the batch, keeping its capacity.
func (b *Batch) Reset() {
	clear(b.rows)
	b.ops, b.rows = b.ops[:0], b.rows[:0]
}

// String renders the batch in the text form of ParseBatch.
func (b *Batch) String() string {
	var sb strings.Builder
	for i := range b.ops {
		sb.WriteString(b.ops[i].String())
		for _, v := range b.rows[i] {
			sb.WriteByte(' ')
			if v.IsNull() {
				sb.WriteByte('.')
			} else {
				sb.WriteString(v.String())
			}
		}
		sb.WriteByte('\n')
	}
	return sb.String()
}

// Watermark says that event time has reached Micros: no row with an event
// time below it will come any more.
type Watermark struct{ Micros int64 }

// Barrier marks the end of epoch Epoch in every stream it flows through.
type Barrier struct{ Epoch uint64 }

// MessageKind tells which field of a Message is set.
type MessageKind uint8

const (
	KindBatch MessageKind = iota
	KindWatermark
	KindBarrier
)

// Message is what flows on one edge of the DAG: a batch of changes, a
// watermark or a barrier, in order.
type Message struct {
	Kind      MessageKind
	Batch     *Batch
	Watermark Watermark
	Barrier   Barrier
}
