package tests

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/streamsql/streamsql/internal/emulator"
)

// The real-client tests of issue 13 (jdbc_test.go, psycopg2_test.go,
// node_pg_test.go) run a client program under tests/testdata against the
// built binary holding one small dataset: the source orders over a
// kinesalite stream, the materialized views orders_v (every column of
// every order) and order_totals (per customer), and the sink orders_out.
// The answers each program checks are worked out by hand from these six
// orders, as Postgres would give them for the same tables.
//
//	id  qty         customer  ts                       day         price   paid   score  tag
//	1   3           ann       2026-01-01 10:00:00      2026-01-01  12.50   true   1.5    "a1"
//	2   5000000000  bob       2026-01-01 11:30:00      2026-01-01  7.25    false  2.25   "b2"
//	3   1           ann       2026-01-02 09:15:00.25   2026-01-02  100.00  true   -0.5   "a3"
//	4   7           cy, inc   2026-01-02 23:59:59      2026-01-02  0.99    false  1000   "c4"
//	5   2           bob       2026-01-03 00:00:00      2026-01-03  12.50   true   0      "b5"
//	6   4           d'arcy    2026-01-03 12:00:00      2026-01-03  3.10    NULL   0.75   "d6"
type clientOrder struct {
	ID       int64       `json:"id"`
	Qty      int64       `json:"qty"`
	Customer string      `json:"customer"`
	TS       string      `json:"ts"`
	Day      string      `json:"day"`
	Price    json.Number `json:"price"`
	Paid     *bool       `json:"paid"`
	Score    float64     `json:"score"`
	Tag      []byte      `json:"tag"` // base64 in JSON, as the json format reads BYTEA
}

// ordersRuns numbers the fixture's streams on the shared kinesalite.
var ordersRuns atomic.Int64

func clientOrders() []clientOrder {
	yes, no := true, false
	return []clientOrder{
		{1, 3, "ann", "2026-01-01T10:00:00Z", "2026-01-01", "12.50", &yes, 1.5, []byte("a1")},
		{2, 5000000000, "bob", "2026-01-01T11:30:00Z", "2026-01-01", "7.25", &no, 2.25, []byte("b2")},
		{3, 1, "ann", "2026-01-02T09:15:00.25Z", "2026-01-02", "100.00", &yes, -0.5, []byte("a3")},
		{4, 7, "cy, inc", "2026-01-02T23:59:59Z", "2026-01-02", "0.99", &no, 1000, []byte("c4")},
		{5, 2, "bob", "2026-01-03T00:00:00Z", "2026-01-03", "12.50", &yes, 0, []byte("b5")},
		{6, 4, "d'arcy", "2026-01-03T12:00:00Z", "2026-01-03", "3.10", nil, 0.75, []byte("d6")},
	}
}

// startOrdersServer builds and starts the binary, puts the orders on a
// stream of the shared kinesalite (named after the test, so tests do not
// share streams), creates the source, the views and the sink, and FLUSHes:
// once it returns, both views hold every order. It returns the server's
// host and port.
func startOrdersServer(t *testing.T) (host, port string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	ctx := testContext(t, 3*time.Minute)
	emu := sharedKinesis.get(t)
	// Fresh streams on every run (-count=2 too): the orders must be put once.
	stream := fmt.Sprintf("orders-%s-%d", strings.ToLower(regexp.MustCompile(`[^A-Za-z0-9]+`).ReplaceAllString(t.Name(), "-")),
		ordersRuns.Add(1))
	out := stream + "-out"
	for _, s := range []string{stream, out} {
		if err := emu.CreateStream(ctx, s, 1); err != nil {
			t.Fatalf("create stream %s: %v", s, err)
		}
	}
	var recs []emulator.Record
	for _, o := range clientOrders() {
		data, err := json.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, emulator.Record{PartitionKey: o.Customer, Data: data})
	}
	if _, err := emu.PutRecords(ctx, stream, recs); err != nil {
		t.Fatalf("put the orders: %v", err)
	}

	srv := startBinary(t, buildBinary(t), t.TempDir())
	conn := connect(t, srv.addr)
	kinesis := fmt.Sprintf("connector = 'kinesis', region = 'us-east-1', endpoint = '%s'", emu.Endpoint())
	for _, q := range []string{
		"CREATE SOURCE orders (id INT, qty BIGINT, customer VARCHAR(32), ts TIMESTAMP(3), day DATE, " +
			"price DECIMAL(10, 2), paid BOOLEAN, score DOUBLE, tag BYTEA) WITH (" + kinesis +
			fmt.Sprintf(", stream = '%s', format = 'json', start_position = 'trim_horizon')", stream),
		"CREATE MATERIALIZED VIEW orders_v AS SELECT id, qty, customer, ts, day, price, paid, score, tag FROM orders",
		"CREATE MATERIALIZED VIEW order_totals AS SELECT customer, COUNT(*) AS n, SUM(qty) AS qty FROM orders GROUP BY customer",
		"CREATE SINK orders_out FROM orders WITH (" + kinesis + fmt.Sprintf(", stream = '%s')", out),
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := boundedFlush(ctx, conn, time.Minute); err != nil {
		t.Fatalf("FLUSH: %v", err)
	}
	// The fixture itself, checked over pgx, so that a client's failure is
	// never the dataset's.
	var n int64
	if err := conn.QueryRow(ctx, "SELECT COUNT(*) FROM orders_v").Scan(&n); err != nil || n != int64(len(clientOrders())) {
		t.Fatalf("orders_v after FLUSH holds %d rows (%v), want %d", n, err, len(clientOrders()))
	}
	host, port, err := net.SplitHostPort(srv.addr)
	if err != nil {
		t.Fatal(err)
	}
	return host, port
}

// needClient skips the test when a client is missing, unless CI is set:
// on CI, `make deps` must have installed it, so a missing one fails.
func needClient(t *testing.T, missing error, hint string) {
	t.Helper()
	if missing == nil {
		return
	}
	msg := fmt.Sprintf("%v; %s", missing, hint)
	if os.Getenv("CI") != "" {
		t.Fatal(msg + " (CI must run the real-client tests)")
	}
	t.Skip("SKIPPING " + t.Name() + ": " + msg)
}

// checkLine is one line of a client program's report: "ok NAME" or
// "FAIL NAME: why". The program prints "done" last, so a program that
// died half-way is told from one whose checks all ran.
var checkLine = regexp.MustCompile(`^(ok|FAIL) ([^:]+?)(?:: (.*))?$`)

// runChecks runs a client program and turns each line of its report into a
// subtest; the program's exit status and a missing "done" fail the test.
func runChecks(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	if stderr.Len() > 0 {
		t.Logf("%s stderr:\n%s", cmd.Path, stderr.String())
	}
	done, checks := false, 0
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		line := sc.Text()
		if line == "done" {
			done = true
			continue
		}
		m := checkLine.FindStringSubmatch(line)
		if m == nil {
			t.Logf("%s", line)
			continue
		}
		checks++
		t.Run(m[2], func(t *testing.T) {
			if m[1] == "FAIL" {
				t.Error(m[3])
			}
		})
	}
	if runErr != nil {
		t.Errorf("%s: %v", strings.Join(cmd.Args, " "), runErr)
	}
	if !done {
		t.Errorf("%s stopped before its last check (%d reported)", cmd.Path, checks)
	}
}

// testdataPath is the absolute path of a file under tests/testdata.
func testdataPath(t *testing.T, name string) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return wd + "/testdata/" + name
}

// clientContext bounds a client program: a hang fails the test instead of
// stalling the suite.
func clientContext(t *testing.T) context.Context {
	return testContext(t, 2*time.Minute)
}
