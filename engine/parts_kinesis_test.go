package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/streamsql/streamsql/internal/emulator"
	"github.com/streamsql/streamsql/sql/sqlerr"
)

// A sink from a Kinesis source split by shard and a view over it split by
// key, over two engines on kinesalite; then one engine goes and the other
// takes its parts. The sink's stream, de-duplicated by "_id", holds every
// input record exactly; the view equals the Go computation.
func TestCluster_KinesisSinkAndViewParts(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	emu := emulator.StartForTest(ctx, t, emulator.Options{})
	for name, shards := range map[string]int{"in": 4, "out": 2} {
		if err := emu.CreateStream(ctx, name, shards); err != nil {
			t.Fatal(err)
		}
	}
	c := newFakeCluster()
	e1, e2 := openMember(t, c, "n1"), openMember(t, c, "n2")
	for _, q := range []string{
		fmt.Sprintf(`CREATE SOURCE src (id BIGINT) WITH (connector = 'kinesis', endpoint = '%s', region = 'us-east-1',
			stream = 'in', start_position = 'trim_horizon')`, emu.Endpoint()),
		fmt.Sprintf(`CREATE SINK o FROM src WITH (connector = 'kinesis', endpoint = '%s', region = 'us-east-1', stream = 'out')`, emu.Endpoint()),
		`CREATE MATERIALIZED VIEW kv AS SELECT id % 7 AS g, COUNT(*) AS c, SUM(id) AS s FROM src GROUP BY id % 7`,
	} {
		if err := e1.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	waitFor(t, "node 2 to apply the DDL", func() bool {
		_, ok := e2.catalog.get("kv")
		return ok
	})
	put := func(from, to int) { t.Helper(); putIDs(ctx, t, emu, from, to) }
	// exact: no part restarted, so nothing was sent twice either.
	check := func(e *Engine, n int, exact bool, when string) {
		t.Helper()
		if err := e.Exec(ctx, "FLUSH"); err != nil {
			t.Fatalf("%s: FLUSH: %v", when, err)
		}
		var wantView []string
		var cnt, sum [7]int64
		for i := range n {
			cnt[i%7]++
			sum[i%7] += int64(i)
		}
		for g := range 7 {
			wantView = append(wantView, fmt.Sprintf("%d %d %d", g, cnt[g], sum[g]))
		}
		var gotView []string
		for _, r := range queryStrings(t, e, `SELECT g, c, s FROM kv ORDER BY g`) {
			gotView = append(gotView, strings.Trim(r, "()"))
		}
		if !slices.Equal(gotView, wantView) {
			t.Errorf("%s: view: got %q, want %q", when, gotView, wantView)
		}
		ids := map[string]int{}
		recs := readStream(ctx, t, emu, "out")
		if exact && len(recs) != n {
			t.Errorf("%s: sink: %d records sent, want %d: each shard's records by one part only", when, len(recs), n)
		}
		for _, rec := range recs {
			var m struct {
				ID  string `json:"_id"`
				Row int    `json:"id"`
			}
			if err := json.Unmarshal(rec, &m); err != nil {
				t.Fatalf("%s: sink record %s: %v", when, rec, err)
			}
			ids[m.ID] = m.Row
		}
		var got []int
		for _, v := range ids {
			got = append(got, v)
		}
		slices.Sort(got)
		want := make([]int, n)
		for i := range want {
			want[i] = i
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: sink: %d distinct records (ids %v...), want exactly the %d put", when, len(got), got[:min(len(got), 10)], n)
		}
	}

	put(0, 300)
	for i := range 4 {
		c.take(PartID{Group: SinkGroup("o"), Index: i, Count: 4}, []string{"n1", "n2"}[i%2])
		c.take(PartID{Group: ViewGroup("kv"), Index: i, Count: 4}, []string{"n2", "n1"}[i%2])
	}
	waitFor(t, "four parts running on each engine", func() bool {
		return e1.ClusterStats().Held == 4 && e2.ClusterStats().Held == 4
	})
	check(e1, 300, true, "two engines")

	// Engine 1 goes; engine 2 takes its parts and goes on from their
	// committed positions.
	if err := e1.Close(); err != nil {
		t.Fatal(err)
	}
	c.gone("n1")
	c.mu.Lock()
	var mine []PartID
	for id, l := range c.leases {
		if l.owner == "n1" {
			mine = append(mine, id)
		}
	}
	c.mu.Unlock()
	for _, id := range mine {
		c.take(id, "n2")
	}
	put(300, 500)
	waitFor(t, "engine 2 to run every part", func() bool { return e2.ClusterStats().Held == 8 })
	check(e2, 500, false, "after engine 1 went")
}

// readStream reads every record of every shard of stream.
func readStream(ctx context.Context, t *testing.T, emu *emulator.Emulator, stream string) [][]byte {
	t.Helper()
	c, err := emu.Client()
	if err != nil {
		t.Fatal(err)
	}
	shards, err := c.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String(stream)})
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, sh := range shards.Shards {
		it, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{
			StreamName: aws.String(stream), ShardId: sh.ShardId, ShardIteratorType: ktypes.ShardIteratorTypeTrimHorizon,
		})
		if err != nil {
			t.Fatal(err)
		}
		iter := it.ShardIterator
		for iter != nil {
			r, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter})
			if err != nil {
				t.Fatal(err)
			}
			for _, rec := range r.Records {
				out = append(out, rec.Data)
			}
			if len(r.Records) == 0 && aws.ToInt64(r.MillisBehindLatest) == 0 {
				break
			}
			iter = r.NextShardIterator
		}
	}
	return out
}

// A FLUSH that began while a sink part ran here must not wait for that
// runner once the part is handed to another node and back: it waits for
// the part's runner here now, and returns within its deadline. Then a
// FLUSH on the node holding no sink part covers the other node's parts:
// the stream holds every record put before it.
func TestCluster_SinkPartHandedOffDuringFlush(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	emu := emulator.StartForTest(ctx, t, emulator.Options{})
	for name, shards := range map[string]int{"in": 4, "out": 1} {
		if err := emu.CreateStream(ctx, name, shards); err != nil {
			t.Fatal(err)
		}
	}
	c := newFakeCluster()
	e1, e2 := openMember(t, c, "n1"), openMember(t, c, "n2")
	for _, q := range []string{
		fmt.Sprintf(`CREATE SOURCE src (id BIGINT) WITH (connector = 'kinesis', endpoint = '%s', region = 'us-east-1',
			stream = 'in', start_position = 'trim_horizon')`, emu.Endpoint()),
		fmt.Sprintf(`CREATE SINK o FROM src WITH (connector = 'kinesis', endpoint = '%s', region = 'us-east-1', stream = 'out')`, emu.Endpoint()),
	} {
		if err := e1.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	waitFor(t, "node 2 to apply the DDL", func() bool {
		_, ok := e2.catalog.get("o")
		return ok
	})
	put := func(from, to int) { t.Helper(); putIDs(ctx, t, emu, from, to) }
	parts := make([]PartID, 4)
	for i := range parts {
		parts[i] = PartID{Group: SinkGroup("o"), Index: i, Count: 4}
		c.take(parts[i], "n1")
	}
	running := func(e *Engine, id PartID) bool {
		e.cluster.mu.Lock()
		r := e.cluster.sinkPartsRunning[id]
		e.cluster.mu.Unlock()
		return r != nil && r.sub.Load() != nil
	}
	waitFor(t, "node 1 to run every sink part", func() bool { return e1.ClusterStats().Held == 4 })
	put(0, 100)
	if err := e1.Exec(ctx, "FLUSH"); err != nil {
		t.Fatalf("FLUSH: %v", err)
	}

	// Node 1's commits wait at a gate, so a FLUSH begun now cannot finish
	// before part 0 moves.
	gate, blocked := make(chan struct{}), make(chan struct{})
	var once sync.Once
	c.mu.Lock()
	c.beforeCommit = func(node string, _ uint64) {
		if node == "n1" {
			once.Do(func() { close(blocked) })
			<-gate
		}
	}
	c.mu.Unlock()
	put(100, 200)
	fctx, fcancel := context.WithTimeout(ctx, 30*time.Second)
	defer fcancel()
	flushed := make(chan error, 1)
	go func() { flushed <- e1.Exec(fctx, "FLUSH") }()
	<-blocked
	// Meanwhile a FLUSH with a short deadline fails naming a sink part.
	sctx, scancel := context.WithTimeout(ctx, time.Second)
	err := e1.Exec(sctx, "FLUSH")
	scancel()
	if sqlerr.CodeOf(err) != sqlerr.QueryCanceled || !strings.Contains(err.Error(), "sink o part ") {
		t.Errorf("FLUSH while the sink's commits wait: got %v, want 57014 naming a part of sink o", err)
	}
	c.take(parts[0], "n2")
	close(gate)
	waitFor(t, "node 2 to run part 0", func() bool { return running(e2, parts[0]) })
	c.take(parts[0], "n1")
	waitFor(t, "node 1 to run part 0 again", func() bool { return running(e1, parts[0]) })
	if err := <-flushed; err != nil {
		t.Fatalf("FLUSH across the hand-off and back: %v", err)
	}

	// Node 2 holds no sink part: its FLUSH is node 1's.
	put(200, 300)
	if err := e2.Exec(ctx, "FLUSH"); err != nil {
		t.Fatalf("FLUSH on node 2: %v", err)
	}
	ids := map[string]int{}
	for _, rec := range readStream(ctx, t, emu, "out") {
		var m struct {
			ID  string `json:"_id"`
			Row int    `json:"id"`
		}
		if err := json.Unmarshal(rec, &m); err != nil {
			t.Fatalf("sink record %s: %v", rec, err)
		}
		ids[m.ID] = m.Row
	}
	var got []int
	for _, v := range ids {
		got = append(got, v)
	}
	slices.Sort(got)
	want := make([]int, 300)
	for i := range want {
		want[i] = i
	}
	if !slices.Equal(got, want) {
		t.Errorf("sink: %d distinct records, want exactly the 300 put", len(got))
	}
}

// putIDs puts records {"id": i} for i in [from, to) into stream "in",
// each keyed by its id.
func putIDs(ctx context.Context, t *testing.T, emu *emulator.Emulator, from, to int) {
	t.Helper()
	var recs []emulator.Record
	for i := from; i < to; i++ {
		recs = append(recs, emulator.Record{PartitionKey: strconv.Itoa(i), Data: fmt.Appendf(nil, `{"id": %d}`, i)})
	}
	if _, err := emu.PutRecords(ctx, "in", recs); err != nil {
		t.Fatal(err)
	}
}
