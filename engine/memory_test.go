package engine

import (
	"strings"
	"testing"
)

func TestParseMemoryLimit(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
		err  string
	}{
		{in: "2GiB", want: 2 << 30},
		{in: "512MiB", want: 512 << 20},
		{in: " 1.5GiB ", want: 3 << 29},
		{in: "1GB", want: 1_000_000_000},
		{in: "268435456", want: 256 << 20},
		{in: "200MiB", err: "at least 256 MiB"},
		{in: "lots", err: "want a size"},
		{in: "", err: "want a size"},
	} {
		got, err := ParseMemoryLimit(c.in)
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("ParseMemoryLimit(%q) = %d, %v; want an error with %q", c.in, got, err, c.err)
		case c.err == "" && (err != nil || got != c.want):
			t.Errorf("ParseMemoryLimit(%q) = %d, %v; want %d", c.in, got, err, c.want)
		}
	}
}

// TestMemoryBudget: the budgets add up to well under the limit, leaving
// headroom for the garbage collector, at every size.
func TestMemoryBudget(t *testing.T) {
	for _, limit := range []int64{256 << 20, 512 << 20, 2 << 30, 8 << 30, 64 << 30} {
		b := newMemoryBudget(limit)
		// Memtables count 1.3 times their size, one more than kept while
		// the oldest flushes.
		memtables := b.badger.MemTableSize * 13 / 10 * int64(b.badger.NumMemtables+1)
		sum := memtables + b.badger.BlockCacheSize + b.badger.IndexCacheSize + b.uncommitted + b.caches.Limit()
		if sum > limit*7/10 {
			t.Errorf("limit %d MiB: budgets take %d MiB, over 70%%", limit>>20, sum>>20)
		}
		if b.badger.MemTableSize < 8<<20 || b.badger.MemTableSize > 64<<20 {
			t.Errorf("limit %d MiB: memtable of %d MiB", limit>>20, b.badger.MemTableSize>>20)
		}
	}
	if d := DefaultMemoryLimit(); d < minDefaultMemoryLimit || d > maxDefaultMemoryLimit {
		t.Errorf("DefaultMemoryLimit() = %d", d)
	}
}
