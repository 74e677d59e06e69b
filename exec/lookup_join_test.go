package exec

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/sql/types"
)

// Rows as in join_test.go: stream (k, a), table (k, b), joined on k.

func newTestLookupJoin(t testing.TB, outer bool, st StateTable) *LookupJoin {
	t.Helper()
	k := col(0, "k", types.TypeBigInt)
	j, err := NewLookupJoin(LookupJoinOptions{StreamKeys: []expr.Func{k}, TableKeys: []expr.Func{k},
		StreamWidth: 2, TableWidth: 2, Outer: outer})
	if err != nil {
		t.Fatal(err)
	}
	mustOpen(t, j, st)
	return j
}

// joinStep.side 2 is a barrier.
const stepBarrier = 2

func TestLookupJoin_Steps(t *testing.T) {
	tests := []struct {
		name  string
		outer bool
		steps []joinStep
		want  []string // emitted after each step, joined by "|"
	}{
		{
			name: "a stream row meets the table's row as it is; table changes emit nothing",
			steps: []joinStep{{1, Insert, 1, 10}, {stepBarrier, 0, 0, 0}, {0, Insert, 1, 100},
				{1, UpdateDelete, 1, 10}, {1, UpdateInsert, 1, 20}, {0, Insert, 1, 101}, {1, Delete, 1, 20}, {0, Insert, 1, 102}},
			want: []string{"", "", "+ 1 100 1 10", "", "", "+ 1 101 1 20", "", ""},
		},
		{
			name:  "several table rows of a key, counted; NULL keys match nothing",
			steps: []joinStep{{1, Insert, 1, 10}, {1, Insert, 1, 10}, {1, Insert, -1, 5}, {stepBarrier, 0, 0, 0}, {0, Insert, 1, 100}, {0, Insert, -1, 7}},
			want:  []string{"", "", "", "", "+ 1 100 1 10|+ 1 100 1 10", ""},
		},
		{
			name:  "left: no match is NULL-padded, also for a NULL key; a delete looks up the table as it is now",
			outer: true,
			steps: []joinStep{{stepBarrier, 0, 0, 0}, {0, Insert, 2, 100}, {0, Insert, -1, 7}, {1, Insert, 2, 30}, {0, Delete, 2, 100}},
			want:  []string{"", "+ 2 100 . .", "+ . 7 . .", "", "- 2 100 2 30"},
		},
		{
			name:  "a fresh join holds stream rows until its first barrier, after the table's backfill",
			steps: []joinStep{{0, Insert, 3, 100}, {1, Insert, 3, 30}, {stepBarrier, 0, 0, 0}, {0, Insert, 3, 101}},
			want:  []string{"", "", "+ 3 100 3 30", "+ 3 101 3 30"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			j := newTestLookupJoin(t, tc.outer, newAggMemState())
			for i, s := range tc.steps {
				var rec aggRecorder
				var err error
				if s.side == stepBarrier {
					err = j.OnBarrier(context.Background(), Barrier{Epoch: uint64(i + 1)}, &rec)
				} else {
					b := NewBatch(1)
					b.Append(s.op, testJoinRow(s.k, s.v))
					err = j.Process(context.Background(), s.side, b, &rec)
				}
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				got := strings.ReplaceAll(strings.TrimSuffix(rec.String(), "\n"), "\n", "|")
				if got != tc.want[i] {
					t.Fatalf("step %d: emitted %q, want %q", i, got, tc.want[i])
				}
			}
		})
	}
}

// TestLookupJoin_RestoredState: a join opened on state that holds table
// rows (a restart) looks stream rows up at once.
func TestLookupJoin_RestoredState(t *testing.T) {
	st := newAggMemState()
	j := newTestLookupJoin(t, false, st)
	b := NewBatch(1)
	b.Append(Insert, testJoinRow(4, 40))
	if err := j.Process(context.Background(), 1, b, &aggRecorder{}); err != nil {
		t.Fatal(err)
	}
	j2 := newTestLookupJoin(t, false, st)
	b = NewBatch(1)
	b.Append(Insert, testJoinRow(4, 400))
	var rec aggRecorder
	if err := j2.Process(context.Background(), 0, b, &rec); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(rec.String()); got != "+ 4 400 4 40" {
		t.Errorf("emitted %q, want + 4 400 4 40", got)
	}
}

// BenchmarkLookupJoin looks stream rows up in a table of 10,000 keys
// (Nexmark q13's side input) on Badger-backed state, committing an epoch
// every benchEpoch rows. One op is one stream row.
//
//	go test -run XXX -bench LookupJoin -benchmem ./exec/
func BenchmarkLookupJoin(b *testing.B) {
	ctx := context.Background()
	db := benchDB(b)
	tbl := db.Table(1, 1)
	j := newTestLookupJoin(b, false, tbl)
	const keys = 10_000
	var out discard
	table := NewBatch(keys)
	for i := 0; i < keys; i++ {
		table.Append(Insert, types.Row{types.NewInt(int64(i)), types.NewString(fmt.Sprintf("value-%d", i))})
	}
	if err := j.Process(ctx, 1, table, &out); err != nil {
		b.Fatal(err)
	}
	epoch := uint64(1)
	benchCommit(b, db, tbl, j, epoch)
	rows := benchRows(2)
	var n int64
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; done += benchBatch {
		for i := 0; i < rows.Len(); i++ {
			n++
			r := rows.Row(i)
			r[0], r[1] = types.NewInt(int64(uint64(n*2654435761)%keys)), types.NewInt(n)
		}
		if err := j.Process(ctx, 0, rows, &out); err != nil {
			b.Fatal(err)
		}
		if n%benchEpoch < benchBatch {
			epoch++
			benchCommit(b, db, tbl, j, epoch)
		}
	}
	b.StopTimer()
	if out.n < b.N {
		b.Fatalf("%d joined rows for %d stream rows", out.n, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
