package exec

import (
	"context"
	"fmt"
	"testing"

	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/sql/types"
)

// TestPart_KeyGroupRanges checks that the parts of a count tile the key
// groups in contiguous ranges, each key group in exactly one part, and
// that invalid parts are refused.
func TestPart_KeyGroupRanges(t *testing.T) {
	for _, count := range []int{1, 2, 3, 8, 100, KeyGroups} {
		prev := 0
		sizes := make([]int, count)
		for kg := 0; kg < KeyGroups; kg++ {
			owners := 0
			for r := 0; r < count; r++ {
				if (Part{r, count}).HasKeyGroup(uint16(kg)) {
					owners++
					if r < prev {
						t.Fatalf("count %d: key group %d in part %d after part %d", count, kg, r, prev)
					}
					prev = r
					sizes[r]++
				}
			}
			if owners != 1 {
				t.Fatalf("count %d: key group %d in %d parts", count, kg, owners)
			}
		}
		// Ranges as even as integer division makes them.
		lo, hi := KeyGroups/count, (KeyGroups+count-1)/count
		for r, n := range sizes {
			if n < lo || n > hi {
				t.Errorf("count %d: part %d has %d key groups, want %d..%d", count, r, n, lo, hi)
			}
		}
	}
	for _, p := range []Part{{0, 0}, {-1, 4}, {4, 4}, {0, KeyGroups + 1}} {
		if p.Valid() == nil {
			t.Errorf("%+v: valid, want refused", p)
		}
	}
}

// TestPart_FilterMatchesAggregateKey checks that the part filter files a
// row where the aggregate files its group: keys that the aggregate takes
// as one group (0 and -0, 1.0 and 1.00, NULLs) land in one part, and the
// key group is the one in the aggregate's state key.
func TestPart_FilterMatchesAggregateKey(t *testing.T) {
	dec := types.NewDecimal
	same := [][]types.Value{
		{types.NewFloat(0), types.NewFloat(negZero())},
		{dec("1.0"), dec("1.00"), dec("1")},
		{types.Null, types.Null},
		{types.NewString("a"), types.NewString("a")},
	}
	for _, vs := range same {
		want, _ := GroupKeyGroup(nil, types.Row{vs[0], types.NewInt(7)})
		for _, v := range vs[1:] {
			if kg, _ := GroupKeyGroup(nil, types.Row{v, types.NewInt(7)}); kg != want {
				t.Errorf("%v and %v: key groups %d and %d", vs[0], v, want, kg)
			}
		}
		prefix := appendGroupPrefix(nil, types.Row{vs[0], types.NewInt(7)})
		if got := uint16(prefix[0])<<8 | uint16(prefix[1]); got != want {
			t.Errorf("%v: key group %d, the aggregate's state key has %d", vs[0], want, got)
		}
	}
	// A key that cannot be computed is NULL, as the aggregate absorbs it.
	failing := func(types.Row, *expr.Env) (types.Value, error) { return types.Null, fmt.Errorf("boom") }
	nullKG, _ := GroupKeyGroup(nil, types.Row{types.Null})
	for r := 0; r < 8; r++ {
		f, err := NewPartFilter([]expr.Func{failing}, nil, Part{r, 8})
		if err != nil {
			t.Fatal(err)
		}
		ok, err := f.test(types.Row{})
		if err != nil || ok != (Part{r, 8}).HasKeyGroup(nullKG) {
			t.Errorf("part %d: failing key passes=%v err=%v, want the NULL key's part", r, ok, err)
		}
	}
}

func negZero() float64 {
	z := 0.0
	return -z
}

// BenchmarkPartFilter is the part filter's cost per row, two keys (a
// BIGINT and a short string), one part of 8:
//
//	go test -run '^$' -bench BenchmarkPartFilter -benchmem ./exec/
func BenchmarkPartFilter(b *testing.B) {
	col := func(i int) expr.Func {
		return func(r types.Row, _ *expr.Env) (types.Value, error) { return r[i], nil }
	}
	f, err := NewPartFilter([]expr.Func{col(0), col(1)}, &expr.Env{}, Part{3, 8})
	if err != nil {
		b.Fatal(err)
	}
	batch := benchRows(3)
	for i := range benchBatch {
		row := batch.Row(i)
		row[0] = types.NewInt(int64(i * 7919))
		row[1] = types.NewString(fmt.Sprintf("/page/%d", i%37))
		row[2] = types.NewFloat(float64(i))
	}
	var out discard
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := f.Process(ctx, 0, batch, &out); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchBatch), "ns/row")
}
