package exec

import (
	"fmt"

	"github.com/streamsql/streamsql/sql/types"
)

// An interval join is a HashJoin whose condition bounds each side's time
// by the other's (b.ts BETWEEN a.ts - INTERVAL ... AND a.ts + INTERVAL
// ...): then a row can only meet rows of the other side up to a deadline
// of its own time plus a constant, and once the watermark passes that
// deadline it is dropped from state (expired). What makes that safe is
// the other side's lateness: a row of an append-only side whose time is
// behind the watermark when it arrives is dropped and counted (late, as
// Flink's interval join does), so no row the expired one could have met
// comes after it left. Rows are dropped at barriers, so that each row is
// written to state at most once per epoch, and not at all when it came
// and expired within one.
//
// State keeps the watermark at the last barrier (metaClosedWM, as a
// join of windows does), so that a row late before a restart stays late
// after it.

// JoinExpiry says when a side's rows can be dropped: a row whose TIMESTAMP
// column Col holds v, once the watermark reaches v + After (at the next
// barrier). The planner sets it for an inner join whose condition caps
// the other side's time at v plus a constant, when no row of the other
// side at or under that cap can still come or change (it is late, see
// JoinLate, or its window has closed), and this side's rows never change
// (append-only) or close too. A row whose Col is NULL matches nothing and
// is not kept.
type JoinExpiry struct {
	Set   bool
	Col   int
	After int64
}

// JoinLate says which rows of a side are late: those whose TIMESTAMP
// column Col is behind the watermark when they arrive (the rows the other
// side's expired rows could have met). They are dropped and counted; a
// row whose Col is NULL matches nothing and is dropped uncounted.
type JoinLate struct {
	Set bool
	Col int
}

// Expired returns the number of rows dropped from state because the
// watermark passed their deadline (see JoinExpiry).
func (j *HashJoin) Expired() int64 { return j.expired.Load() }

func (j *HashJoin) interval() bool {
	return j.o.Expire[sideLeft].Set || j.o.Expire[sideRight].Set || j.o.Late[sideLeft].Set || j.o.Late[sideRight].Set
}

// skip reports whether a row of side is dropped before the join: it is
// late, or its time is NULL where the interval needs one.
func (j *HashJoin) skip(side int, row types.Row) bool {
	if l := j.o.Late[side]; l.Set {
		v := row[l.Col]
		if v.IsNull() {
			return true
		}
		if v.Micros() < j.wm {
			j.late.Add(1)
			return true
		}
	}
	if x := j.o.Expire[side]; x.Set && row[x.Col].IsNull() {
		return true
	}
	return false
}

// openInterval restores, for a side with an expiry, the deadline of every
// row in state: a row need not be read into the cache to leave state when
// its time comes. (The watermark is restored by Open.)
func (j *HashJoin) openInterval() error {
	if !j.o.Expire[sideLeft].Set && !j.o.Expire[sideRight].Set {
		return nil
	}
	return j.st.Scan([]byte{}, metaCloses, func(k, _ []byte) error {
		side, at, row, err := j.splitStateKey(k)
		if err != nil {
			return err
		}
		x := j.o.Expire[side]
		if !x.Set || row[x.Col].IsNull() {
			return nil
		}
		// A stub: where the row is in state, enough for expire to delete
		// it; read into the cache, it is taken up (see attach).
		stub := &joinRow{e: &joinEntry{key: string(k[:at])}, enc: string(k[at+1:]), side: uint8(side), stored: true}
		j.expiring.push(expiringRow{deadline: row[x.Col].Micros() + x.After, r: stub})
		j.detach(stub)
		return nil
	})
}

// splitStateKey finds the side and the row of a row's state key, kg | key
// values | side | row: the key values' end is where a side byte is
// followed by a whole row of that side whose key values encode as the
// bytes before it (key values are not self-describing).
func (j *HashJoin) splitStateKey(k []byte) (side, at int, row types.Row, err error) {
	vals := make(types.Row, len(j.o.LeftKeys))
	var buf []byte
	for at = 2; at < len(k); at++ {
		side = int(k[at])
		if side > sideRight {
			continue
		}
		r, rest, err := readRow(k[at+1:])
		if err != nil || len(rest) != 0 || len(r) != [2]int{j.o.LeftWidth, j.o.RightWidth}[side] {
			continue
		}
		keys := j.o.LeftKeys
		if side == sideRight {
			keys = j.o.RightKeys
		}
		ok := true
		for i, f := range keys {
			if vals[i], err = f(r, j.o.Env); err != nil || vals[i].IsNull() {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		buf = j.appendKeyPrefix(buf[:0], vals)
		if string(buf) == string(k[:at]) {
			return side, at, r, nil
		}
	}
	return 0, 0, nil, fmt.Errorf("join: state key %x is no row of either side", k)
}

// place notes where a row of the cache is and, for a side with an
// expiry, when to drop it (a row whose time is NULL was not kept, see
// skip).
func (j *HashJoin) place(e *joinEntry, side int, enc string, r *joinRow) {
	r.e, r.enc, r.side = e, enc, uint8(side)
	x := j.o.Expire[side]
	if !x.Set {
		return
	}
	v := r.row[x.Col]
	if v.IsNull() {
		return
	}
	j.expiring.push(expiringRow{deadline: v.Micros() + x.After, r: r})
}

// expire drops the rows whose deadline the watermark has reached: from
// state, and from the cache when their entry is still there. An entry
// evicted and read back holds a copy of the row, tracked on its own: it
// is dropped by that copy (a second Delete of the key does no harm).
func (j *HashJoin) expire() error {
	for len(j.expiring) > 0 && j.expiring[0].deadline <= j.wm {
		r := j.expiring.pop().r
		if r.gone {
			continue
		}
		r.gone = true
		j.expired.Add(1)
		e := r.e
		if len(j.detached) > 0 {
			delete(j.detached, e.key+string([]byte{r.side})+r.enc)
		}
		if r.stored { // else it was never written: nothing to undo
			j.otherKey = append(append(append(j.otherKey[:0], e.key...), r.side), r.enc...)
			if err := j.st.Delete(j.otherKey); err != nil {
				return err
			}
			r.stored = false
		}
		if rows := e.sides[r.side]; rows != nil && rows[r.enc] == r {
			delete(rows, r.enc)
			size := rowMemory(r.row, len(r.enc))
			e.bytes -= size
			if j.cache[e.key] == e {
				j.grow(-size)
				if len(e.sides[0]) == 0 && len(e.sides[1]) == 0 {
					j.emptied = append(j.emptied, e)
				}
			}
		}
	}
	return nil
}

// release lets the memory of an entry dropped from the cache go: the
// expiry heap still points at its rows, but needs only where they are.
// A row of an expiring side out of the cache (released, or in state at
// Open) is kept in detached by its state key, so that reading its key
// into the cache again takes up the same row, which stays once in the
// heap and is counted once when it expires.
func (j *HashJoin) release(e *joinEntry) {
	if !j.o.Expire[sideLeft].Set && !j.o.Expire[sideRight].Set {
		return
	}
	for side, rows := range e.sides {
		for _, r := range rows {
			r.row = nil
			if j.o.Expire[side].Set && !r.gone {
				j.detach(r)
			}
		}
		e.sides[side] = nil
	}
}

func (j *HashJoin) detach(r *joinRow) {
	if j.detached == nil {
		j.detached = map[string]*joinRow{}
	}
	j.detached[r.e.key+string([]byte{r.side})+r.enc] = r
}

// attach takes up the detached row of state key k, read into entry e,
// if there is one.
func (j *HashJoin) attach(k []byte, e *joinEntry, row types.Row, n, degree int64) (*joinRow, bool) {
	r, ok := j.detached[string(k)]
	if !ok {
		return nil, false
	}
	delete(j.detached, string(k))
	r.e, r.row, r.n, r.degree = e, row, n, degree
	return r, true
}

type expiringRow struct {
	deadline int64
	r        *joinRow
}

// expiryHeap is a binary min-heap of rows by deadline. Not
// container/heap: its interface boxes each pushed row (an allocation per
// row of the join).
type expiryHeap []expiringRow

func (h *expiryHeap) push(x expiringRow) {
	*h = append(*h, x)
	q := *h
	for i := len(q) - 1; i > 0; {
		p := (i - 1) / 2
		if q[p].deadline <= q[i].deadline {
			break
		}
		q[p], q[i] = q[i], q[p]
		i = p
	}
}

// pop removes and returns the soonest row; the heap must not be empty.
func (h *expiryHeap) pop() expiringRow {
	q := *h
	top := q[0]
	last := len(q) - 1
	q[0] = q[last]
	q[last] = expiringRow{} // no pointer kept past the length
	q = q[:last]
	for i := 0; ; {
		c := 2*i + 1
		if c >= len(q) {
			break
		}
		if c+1 < len(q) && q[c+1].deadline < q[c].deadline {
			c++
		}
		if q[i].deadline <= q[c].deadline {
			break
		}
		q[i], q[c] = q[c], q[i]
		i = c
	}
	*h = q
	return top
}
