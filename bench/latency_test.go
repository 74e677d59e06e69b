package bench

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/streamsql/streamsql/sql/types"
)

// TestVisibility_See feeds the rules that decide which change shows which
// event with changes written by hand, and compares the events each change
// stamps with the ones worked out by hand.
func TestVisibility_See(t *testing.T) {
	cols := []types.Column{{Name: "epoch"}, {Name: "op"}, {Name: "k"}, {Name: "n"}}
	type change struct {
		op, k string
		n     int64
		shows []int // events this change makes visible
		err   bool
	}
	for _, c := range []struct {
		name  string
		count string
		keys  []string
		warm  int
		ch    []change
	}{
		{name: "rows: the k-th insert of a text is the k-th event with it; filtered events never show",
			keys: []string{"a", "b", "a", "", "a", "b"}, warm: 2,
			ch: []change{{op: "insert", k: "a", shows: []int{2}}, {op: "delete", k: "b"}, {op: "insert", k: "b", shows: []int{5}},
				{op: "insert", k: "a", shows: []int{4}}, {op: "insert", k: "a", err: true}}},
		{name: "counts: a count shows the group's events up to it; warm-up events are already shown",
			count: "n", keys: []string{"x", "y", "x", "x", "y", "x"}, warm: 3,
			ch: []change{{op: "update_delete", k: "x", n: 2}, {op: "update_insert", k: "x", n: 4, shows: []int{3, 5}},
				{op: "update_insert", k: "y", n: 1}, {op: "update_insert", k: "y", n: 2, shows: []int{4}},
				{op: "update_insert", k: "x", n: 4}, {op: "insert", k: "x", n: 5, err: true}}},
	} {
		t.Run(strings.TrimSuffix(strings.Fields(c.name)[0], ":"), func(t *testing.T) {
			v := &visibility{cols: []string{"k"}, count: c.count, keys: c.keys}
			if err := v.start(c.warm, cols); err != nil {
				t.Fatal(err)
			}
			shown := make([]time.Time, len(c.keys))
			base := time.Unix(1000, 0)
			for j, ch := range c.ch {
				at := base.Add(time.Duration(j+1) * time.Second)
				n, err := v.see([]types.Value{types.NewInt(1), types.NewString(ch.op), types.NewString(ch.k), types.NewInt(ch.n)}, at, shown)
				if (err != nil) != ch.err {
					t.Fatalf("change %d: error %v", j, err)
				}
				var got []int
				for i, s := range shown {
					if s.Equal(at) {
						got = append(got, i)
					}
				}
				if n != len(ch.shows) || !slices.Equal(got, ch.shows) {
					t.Errorf("change %d (%s %s %d): showed %v (%d), want %v", j, ch.op, ch.k, ch.n, got, n, ch.shows)
				}
			}
		})
	}
}
