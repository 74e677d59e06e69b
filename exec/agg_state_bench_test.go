package exec

import (
	"context"
	"testing"

	"github.com/streamsql/streamsql/state"
)

// committing wraps an operator so that each barrier seals and commits its
// state.Table, as a view's pipeline does.
type committing struct {
	Operator
	db    *state.DB
	tb    *state.Table
	epoch uint64
}

func (c *committing) OnBarrier(ctx context.Context, b Barrier, out Output) error {
	if err := c.Operator.OnBarrier(ctx, b, out); err != nil {
		return err
	}
	c.epoch++
	if err := c.tb.SealEpoch(c.epoch); err != nil {
		return err
	}
	return c.db.CommitEpoch(c.epoch, nil, c.tb)
}

// BenchmarkWindowAgg_TumbleState is BenchmarkWindowAgg_Tumble over a
// Badger-backed state.Table committed at every barrier (every 10,000
// events), the state a view's aggregate has, with its group cache bounded
// three ways: 65,536 groups (AggOptions' default), 262,144 (a view's
// default before the cache budget) and a 1 GiB byte budget (a view's
// default now, at the 8 GiB memory limit of a machine of 16 GiB or more).
//
//	go test -run '^$' -bench WindowAgg_TumbleState -benchmem ./exec/
func BenchmarkWindowAgg_TumbleState(b *testing.B) {
	for _, keys := range []int{1000, 1_000_000} {
		for _, cache := range []struct {
			name     string
			groups   int
			budget   int64
			deferred bool // the table as views open it: state/deferred.go
		}{{"groups=65536", 1 << 16, 0, false}, {"groups=262144", 1 << 18, 0, false}, {"budget=1GiB", 0, 1 << 30, false},
			{"budget=1GiB/deferred", 0, 1 << 30, true}} {
			b.Run(keyName(keys)+"/"+cache.name, func(b *testing.B) {
				db, err := state.Open(context.Background(), state.Options{Dir: b.TempDir()})
				if err != nil {
					b.Fatal(err)
				}
				defer db.Close()
				o := benchAggOptions(b, "k,ws,we")
				o.CacheSize = cache.groups
				if cache.budget > 0 {
					o.Budget = NewCacheBudget(cache.budget)
				}
				op, err := NewWindowAgg(WindowAggOptions{AggOptions: o, WindowEnd: 2, EmitOnClose: true})
				if err != nil {
					b.Fatal(err)
				}
				tb := db.TableWithOptions(1, 1, state.TableOptions{Deferred: cache.deferred})
				mustOpen(b, op, tb)
				runBench(b, &committing{Operator: op, db: db, tb: tb}, newBenchInput(keys, 5), 60_000_000, nil)
			})
		}
	}
}
