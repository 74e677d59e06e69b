package planner

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"

	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/exec/expr"
)

// Parts of a view (issue 18, docs/cluster.md): a view whose only keyed
// stateful operator is a GROUP BY aggregate can run as Count independent
// instances, part r keeping the groups whose key falls in its range of key
// groups (exec.Part). Every part reads the whole input; the filter in
// front of the aggregate drops the other parts' rows. The union of the
// parts' tables is the view's table, and no group is in two parts.

// Partitionable reports whether p can be built in parts (BuildOptions.Part)
// whose union is the view, and if not, why. It holds when the plan reads
// sources only (not another view's changelog) and has exactly one keyed
// stateful operator, a GROUP BY aggregate (regular or windowed) with at
// least one key besides the window's bounds, with only stateless operators
// (filters, projections, TUMBLE/HOP windows, UNION ALL) around it.
func Partitionable(p *StreamPlan) (ok bool, why string) {
	if p == nil || p.q == nil {
		return false, "no plan"
	}
	for _, in := range p.Inputs {
		if in.Changelog() {
			return false, fmt.Sprintf("reads the changelog of %s %s: parts would need that object's rows by key", in.Source.Kind, in.Source.Name)
		}
	}
	var aggs []*Aggregate
	if why := keyedOps(p.q.root, &aggs); why != "" {
		return false, why
	}
	switch {
	case len(aggs) == 0:
		return false, "no keyed operator (filters and projections only): split by shard, not by key"
	case len(aggs) > 1:
		return false, "more than one aggregate (one over another re-keys its output; side by side they have different keys)"
	}
	a := aggs[0]
	if len(a.Keys) == 0 {
		return false, "an aggregate without GROUP BY has one group"
	}
	for _, k := range a.Keys {
		if !isWindowBound(k, a) {
			return true, ""
		}
	}
	return false, "grouped by the window alone: all of one window's rows would be in one part at a time"
}

// keyedOps appends n's aggregates to aggs, or says why a stateful operator
// other than an aggregate (or one it does not know) rules parts out.
func keyedOps(n Node, aggs *[]*Aggregate) string {
	switch n := n.(type) {
	case *Scan, *Project, *UnionAll, *Window:
		// Stateless; a SESSION window is planned with its aggregate,
		// keyed by that aggregate's keys, which are what parts split.
	case *Filter:
		if _, ok := matchTopN(n); ok {
			return "a top-N keeps rows across groups of its own partition key"
		}
	case *Aggregate:
		*aggs = append(*aggs, n)
	case *Join:
		return "a join keeps both sides' rows by the join key"
	case *Over:
		return "an OVER aggregate keeps rows by its partition"
	default:
		return fmt.Sprintf("%T is not known to split by key", n)
	}
	for _, c := range n.Children() {
		if why := keyedOps(c, aggs); why != "" {
			return why
		}
	}
	return ""
}

// isWindowBound reports whether the group key k is window_start or
// window_end of the window under a.
func isWindowBound(k expr.Expr, a *Aggregate) bool {
	win, _ := windowUnder(a.Input)
	c, ok := k.(*expr.ColumnRef)
	if win == nil || !ok {
		return false
	}
	w := len(win.cols)
	return (c.Name == "window_start" && c.Index == w-2) || (c.Name == "window_end" && c.Index == w-1)
}

// partFilter puts the part filter over in, in front of the aggregate
// whose group key keys computes; once, for the plan's first aggregate.
func (b *streamBuilder) partFilter(keys []expr.Func, in exec.NodeID) (exec.NodeID, error) {
	if b.part.Count <= 1 || b.partDone {
		return in, nil
	}
	b.partDone = true
	// Its own environment, without Warn: the aggregate of the part that
	// keeps a row warns about its key, once.
	env := &expr.Env{Params: b.env.Params, Now: b.env.Now}
	f, err := exec.NewPartFilter(keys, env, b.part)
	if err != nil {
		return 0, err
	}
	return b.add("PartFilter", fmt.Sprintf("part=%d/%d", b.part.Index, b.part.Count), f, in), nil
}

// PartOfShard is the part (of count) that reads the shard shardID, for
// the work that is split by shard (a sink from a source). Kinesis numbers
// its shards shardId-<12 digits> in creation order, so the number modulo
// count spreads a stream's shards round-robin (8 shards, 8 parts: one
// each), which a hash would not; another id is hashed (FNV-1a). Both are
// the same in every process.
func PartOfShard(shardID string, count int) int {
	if count <= 1 {
		return 0
	}
	if i := strings.LastIndexByte(shardID, '-'); i >= 0 {
		if n, err := strconv.ParseUint(shardID[i+1:], 10, 64); err == nil {
			return int(n % uint64(count))
		}
	}
	h := fnv.New32a()
	h.Write([]byte(shardID))
	return int(h.Sum32() % uint32(count))
}
