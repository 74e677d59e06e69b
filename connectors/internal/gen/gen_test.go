package gen

import (
	"context"
	"errors"
	"go/build"
	"slices"
	"strings"
	"testing"
	"time"
)

// The generators promise the same rows for a seed across releases, so the
// stream is pinned. The (0, 0) row is splitmix64's third output from state
// 0 onwards, as published with the algorithm.
func TestRNG_Pinned(t *testing.T) {
	for _, c := range []struct {
		seed uint64
		id   int64
		want [3]uint64
	}{
		{0, 0, [3]uint64{0x6c45d188009454f, 0xf88bb8a8724c81ec, 0x1b39896a51a8749b}},
		{42, 7, [3]uint64{0x38a8712a49ca13b5, 0xa50c4c63066f766e, 0xb5c5f3646da0ccc5}},
		{7, -1, [3]uint64{0x44c3cd7f43c661c, 0xe6984080bab12a02, 0x953aeb70673e29cb}},
		{^uint64(0), 1 << 40, [3]uint64{0x21a28a69c8ae1ff8, 0x59596d70ee423dc9, 0x7ef732b1b735321a}},
	} {
		r := NewRNG(c.seed, c.id)
		for i, w := range c.want {
			if got := r.Next(); got != w {
				t.Errorf("NewRNG(%d, %d) draw %d = %#x, want %#x", c.seed, c.id, i, got, w)
			}
		}
	}
}

func TestRNG_Ranges(t *testing.T) {
	for _, n := range []int64{-5, 0, 1, 2, 3, 13, 1000, 1 << 40} {
		r := NewRNG(1, n)
		lo := max(n, 1)
		seen := map[int64]bool{}
		for range 2000 {
			v := r.Intn(n)
			if v < 0 || v >= lo {
				t.Fatalf("Intn(%d) = %d", n, v)
			}
			seen[v] = true
		}
		if n > 1 && n <= 13 && int64(len(seen)) != n {
			t.Errorf("Intn(%d) hit only %d values in 2000 draws", n, len(seen))
		}
		if f := r.Float(); f < 0 || f >= 1 {
			t.Fatalf("Float() = %v", f)
		}
	}
}

func TestSplit(t *testing.T) {
	for _, c := range []struct {
		name                string
		index, count        int
		offset, limit       int64
		asked               int
		paced               int64
		wantRows            []int64 // every row the split yields, batch by batch flattened
		wantFirstBatch      int64
		wantStartOffset     int64
		wantDoneImmediately bool
	}{
		{name: "one split", count: 0, limit: 5, asked: 2, wantRows: []int64{0, 1, 2, 3, 4}, wantFirstBatch: 2},
		{name: "middle of three", index: 1, count: 3, limit: 8, asked: 10, wantRows: []int64{1, 4, 7}, wantFirstBatch: 3},
		{name: "last of three, uneven", index: 2, count: 3, limit: 8, asked: 10, wantRows: []int64{2, 5}, wantFirstBatch: 2},
		{name: "resumed", index: 1, count: 2, offset: 2, limit: 9, asked: 10, wantRows: []int64{5, 7}, wantFirstBatch: 2, wantStartOffset: 2},
		{name: "resumed at the end", count: 1, offset: 4, limit: 4, asked: 1, wantStartOffset: 4, wantDoneImmediately: true},
		{name: "paced cap", count: 1, limit: 10, asked: 100, paced: 3, wantRows: []int64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, wantFirstBatch: 3},
		{name: "asked 0 means 1", count: 1, limit: 2, asked: 0, wantRows: []int64{0, 1}, wantFirstBatch: 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := NewSplit(c.index, c.count, c.offset, c.limit)
			if s.Offset() != c.wantStartOffset || s.Done() != c.wantDoneImmediately {
				t.Fatalf("start: offset %d done %v", s.Offset(), s.Done())
			}
			var rows []int64
			for batch := 0; !s.Done(); batch++ {
				n := s.BatchLen(c.asked, c.paced)
				if batch == 0 && n != c.wantFirstBatch {
					t.Fatalf("first batch %d rows, want %d", n, c.wantFirstBatch)
				}
				if n < 1 {
					t.Fatalf("batch %d: %d rows while not done", batch, n)
				}
				for range n {
					rows = append(rows, s.Row())
					s.Advance()
				}
			}
			if !slices.Equal(rows, c.wantRows) {
				t.Fatalf("rows %v, want %v", rows, c.wantRows)
			}
			if want := c.wantStartOffset + int64(len(rows)); s.Offset() != want {
				t.Fatalf("end offset %d, want %d", s.Offset(), want)
			}
		})
	}
}

func TestSplit_Unbounded(t *testing.T) {
	s := NewSplit(0, 4, 0, -1)
	for range 100 {
		s.Advance()
	}
	if s.Done() || s.BatchLen(7, 0) != 7 || s.Offset() != 100 || s.Row() != 400 {
		t.Fatalf("done %v, batch %d, offset %d, row %d", s.Done(), s.BatchLen(7, 0), s.Offset(), s.Row())
	}
}

func TestPacer(t *testing.T) {
	var p Pacer
	ctx := context.Background()
	start := time.Now()
	if err := p.Wait(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if err := p.Wait(ctx, 30*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 30*time.Millisecond {
		t.Fatalf("returned after %v, before the batch was due", el)
	}

	// A long wait ends with ctx.
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- p.Wait(cctx, time.Hour) }()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Wait = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Wait did not return after cancel")
	}

	// Nothing to wait for still reports a done ctx, so a cancelled reader stops.
	if err := p.Wait(cctx, 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait on a done ctx = %v", err)
	}
}

// gen sits below the generators and must not pull anything of the module in.
func TestForbiddenImports(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		if strings.HasPrefix(imp, "github.com/streamsql/streamsql") {
			t.Errorf("gen imports %s", imp)
		}
	}
}
