package bench

import "fmt"

// Answer is what a contender's output adds up to; contenders of one
// scenario must agree on it.
type Answer struct {
	// Windows is the number of distinct windows emitted (matched by end).
	Windows int64 `json:"windows"`
	// Rows is the number of (key, window) result rows.
	Rows int64 `json:"rows"`
	// Count is the sum of COUNT(*) over all rows.
	Count int64 `json:"count"`
	// SumCents is the sum of SUM(amount) over all rows, in cents (each
	// row's SUM rounded to cents first).
	SumCents int64 `json:"sum_cents"`
}

func (a Answer) String() string {
	return fmt.Sprintf("%d windows, %d rows, count %d, sum %d.%02d", a.Windows, a.Rows, a.Count, a.SumCents/100, a.SumCents%100)
}

// Diff says how a differs from want; "" when they agree.
func (a Answer) Diff(want Answer) string {
	if a == want {
		return ""
	}
	return fmt.Sprintf("got %v, want %v", a, want)
}

// answerBuilder accumulates an Answer from result rows, counting windows
// by their end.
type answerBuilder struct {
	a    Answer
	ends map[int64]struct{}
}

func (b *answerBuilder) add(end, count, cents int64) {
	if b.ends == nil {
		b.ends = map[int64]struct{}{}
	}
	if _, ok := b.ends[end]; !ok {
		b.ends[end] = struct{}{}
		b.a.Windows++
	}
	b.a.Rows++
	b.a.Count += count
	b.a.SumCents += cents
}
