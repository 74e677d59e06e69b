package kinesis

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/streamsql/streamsql/internal/emulator"
)

// One kinesalite for the package's tests: starting node costs about a
// second, and streams with unique names keep tests apart.
var (
	emuOnce sync.Once
	emu     *emulator.Emulator
	emuErr  error
	streamN atomic.Int64
)

func TestMain(m *testing.M) {
	code := m.Run()
	if emu != nil {
		_ = emu.Stop()
	}
	os.Exit(code)
}

func testEmulator(t testing.TB) *emulator.Emulator {
	t.Helper()
	emuOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		emu, emuErr = emulator.Start(ctx, emulator.Options{})
		if emuErr == nil {
			shieldURL, emuErr = startShield(emu.Endpoint())
		}
	})
	if emuErr != nil {
		t.Fatalf("start emulator: %v", emuErr)
	}
	return emu
}

// shieldURL is the loopback address tests use for kinesalite.
var shieldURL string

// startShield puts a reverse proxy in front of kinesalite that never
// cancels a request it has forwarded. kinesalite 3.3.3 throws, and its
// process dies, when a client aborts a request in flight
// (index.js: req.on('error', function(err) { throw err })): a source
// stopping mid-poll, or a per-call timeout on kinesalite's AT_TIMESTAMP
// call that never answers on an empty tail, would take the emulator down
// for every later test. The shield lets such requests finish (or hang)
// upstream and drops their answers.
func startShield(target string) (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The whole body first: a client gone mid-body never reaches
		// kinesalite half-sent.
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		out, err := http.NewRequestWithContext(context.WithoutCancel(r.Context()), r.Method, target+r.URL.RequestURI(), bytes.NewReader(body))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		out.Header = r.Header.Clone()
		resp, err := client.Do(out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		rb, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(rb)
	})}
	go func() { _ = srv.Serve(l) }()
	return "http://" + l.Addr().String(), nil
}

// newStream creates a stream with a unique name and returns its name and a
// client made by this package's NewClient (static keys, endpoint).
func newStream(t testing.TB, shards int) (string, *kinesis.Client) {
	t.Helper()
	e := testEmulator(t)
	c := testClient(t, shieldURL)
	name := fmt.Sprintf("s%d-%d", time.Now().UnixNano()%1e9, streamN.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := emulator.CreateStream(ctx, c, name, shards); err != nil {
		t.Fatalf("%v\nemulator output:\n%s", err, e.Output())
	}
	return name, c
}

func testClient(t testing.TB, endpoint string) *kinesis.Client {
	t.Helper()
	c, err := NewClient(context.Background(), ClientOptions{
		Region: "us-east-1", Endpoint: endpoint, AccessKey: "AKIDTEST", SecretKey: "secret",
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// payload is what the tests write: the key and its per-key counter, so
// that the reading side can check order and exactly-once by itself.
type payload struct {
	K string `json:"k"`
	N int    `json:"n"`
}

func encodePayload(k string, n int) []byte {
	b, _ := json.Marshal(payload{K: k, N: n})
	return b
}

// ledger checks what a reader delivered: per key, counters must come
// 0, 1, 2, ... with no gap, repeat or reordering (repeats are allowed
// with atLeastOnce).
type ledger struct {
	next  map[string]int
	total int
	errs  []string
	// atLeastOnce accepts a record seen again (what a writer re-sends when
	// a call timed out after Kinesis took it); first sightings must still
	// come in order. resent counts the repeats.
	atLeastOnce bool
	resent      int
}

func newLedger() *ledger { return &ledger{next: map[string]int{}} }

func (l *ledger) add(r Record) {
	var p payload
	if err := json.Unmarshal(r.Data, &p); err != nil {
		l.errs = append(l.errs, fmt.Sprintf("record %s: %v", r.SequenceNumber, err))
		return
	}
	if r.PartitionKey != p.K {
		l.errs = append(l.errs, fmt.Sprintf("record %s: partition key %q, payload key %q", r.SequenceNumber, r.PartitionKey, p.K))
	}
	want := l.next[p.K]
	if l.atLeastOnce && p.N < want {
		l.resent++
		return
	}
	if p.N != want {
		l.errs = append(l.errs, fmt.Sprintf("key %s: got #%d, want #%d (shard %s seq %s)", p.K, p.N, want, r.ShardID, r.SequenceNumber))
	}
	l.next[p.K] = p.N + 1
	l.total++
}

func (l *ledger) check(t *testing.T, wantTotal int) {
	t.Helper()
	for i, e := range l.errs {
		if i == 10 {
			t.Errorf("... and %d more", len(l.errs)-10)
			break
		}
		t.Error(e)
	}
	if l.total != wantTotal {
		t.Errorf("read %d records, want %d", l.total, wantTotal)
	}
}

// writer puts records of nkeys keys, counting per key, in calls of at most
// 500; it remembers how many it wrote per key.
type writer struct {
	c      *kinesis.Client
	stream string
	nkeys  int
	next   []int
	total  int
}

func newWriter(c *kinesis.Client, stream string, nkeys int) *writer {
	return &writer{c: c, stream: stream, nkeys: nkeys, next: make([]int, nkeys)}
}

func (w *writer) put(ctx context.Context, n int) error {
	recs := make([]emulator.Record, 0, n)
	for i := 0; i < n; i++ {
		k := (w.total + i) % w.nkeys
		key := fmt.Sprintf("k%d", k)
		recs = append(recs, emulator.Record{PartitionKey: key, Data: encodePayload(key, w.next[k])})
		w.next[k]++
	}
	w.total += n
	_, err := emulator.PutRecords(ctx, w.c, w.stream, recs)
	return err
}

// fastOptions are source options for tests: short intervals, still paced.
func fastOptions(stream string, start StartPosition) SourceOptions {
	return SourceOptions{
		Stream: stream, StartPosition: start, StartTimestamp: time.Now(),
		ShardDiscoveryInterval: 200 * time.Millisecond, PollInterval: 20 * time.Millisecond,
		MinCallInterval: 20 * time.Millisecond, CallTimeout: 15 * time.Second,
		BackoffBase: 10 * time.Millisecond, BackoffMax: 200 * time.Millisecond,
	}
}

// runSource starts src.Run and returns a stop function that ends it and
// reports its error.
func runSource(t *testing.T, src *Source) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	go func() { _ = src.Run(ctx) }()
	return func() {
		cancel()
		<-src.Done()
		if err := src.Err(); err != nil {
			t.Errorf("source: %v", err)
		}
	}
}

// collect receives from sub into l until l holds want records or the
// deadline passes.
func collect(t *testing.T, src *Source, sub *Subscription, l *ledger, want int, d time.Duration) {
	t.Helper()
	if err := receive(src, sub, l, want, d); err != nil {
		t.Fatal(err)
	}
}

// receive is collect for goroutines other than the test's.
func receive(src *Source, sub *Subscription, l *ledger, want int, d time.Duration) error {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for l.total < want {
		select {
		case ev := <-sub.Events():
			if b, ok := ev.(*Batch); ok {
				for _, r := range b.Records {
					l.add(r)
				}
			}
		case <-src.Done():
			return fmt.Errorf("source stopped after %d of %d records: %v", l.total, want, src.Err())
		case <-sub.Failed():
			return fmt.Errorf("subscription failed after %d of %d records: %v", l.total, want, sub.Err())
		case <-deadline.C:
			return fmt.Errorf("read %d of %d records in %v; stats %+v\nemulator: %s", l.total, want, d, sub.Stats(), emu.Output())
		}
	}
	return nil
}

// cutAt sends a barrier on sub and reads up to it into l: the positions it
// returns are those after exactly what l holds (a consumer's commit).
func cutAt(t *testing.T, ctx context.Context, sub *Subscription, l *ledger) *Positions {
	t.Helper()
	go func() { _, _ = sub.Barrier(ctx, 1) }()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case ev := <-sub.Events():
			switch ev := ev.(type) {
			case *Batch:
				for _, r := range ev.Records {
					l.add(r)
				}
			case *Barrier:
				return ev.Positions
			}
		case <-deadline:
			t.Fatal("no barrier within 30 s")
		}
	}
}

// expectQuiet drains sub for d and fails on any record: nothing beyond
// what was written may arrive.
func expectQuiet(t *testing.T, sub *Subscription, l *ledger, d time.Duration) {
	t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case ev := <-sub.Events():
			if b, ok := ev.(*Batch); ok {
				for _, r := range b.Records {
					l.add(r)
				}
			}
		case <-timer.C:
			return
		}
	}
}

// midHashKey returns (lo+hi)/2 of two decimal 128-bit hash keys.
func midHashKey(lo, hi string) string {
	a, _ := new(big.Int).SetString(lo, 10)
	b, _ := new(big.Int).SetString(hi, 10)
	return new(big.Int).Rsh(new(big.Int).Add(a, b), 1).String()
}
