package tests

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// TestSink_EndpointDownShowsAndHeals (issue 12, "every failure shows up
// where a user looks"): a running sink of each kind (FROM a source, AS
// SELECT) whose Kinesis endpoint goes away keeps retrying, and SHOW SINKS
// says so: state 'running', the error naming the stream, the endpoint and
// the cause, and since when. FLUSH then fails within its bound naming the
// sink and the cause. Once the endpoint is back the sinks deliver every
// record (at least once by "_id") and the error is cleared. The same for
// PutRecords calls whose every entry is throttled.
func TestSink_EndpointDownShowsAndHeals(t *testing.T) {
	ctx := testContext(t, 5*time.Minute)
	e := sharedKinesis.get(t)
	suffix := time.Now().UnixNano()
	in, outFrom, outQuery := fmt.Sprintf("stin-%d", suffix), fmt.Sprintf("stfrom-%d", suffix), fmt.Sprintf("stquery-%d", suffix)
	for _, s := range []string{in, outFrom, outQuery} {
		if err := e.CreateStream(ctx, s, 1); err != nil {
			t.Fatal(err)
		}
	}
	proxy := newThrottleProxy(t, e.Endpoint())
	srv := startServer(t)
	conn := connect(t, srv.Addr)
	direct := fmt.Sprintf("connector = 'kinesis', endpoint = '%s', region = 'us-east-1'", e.Endpoint())
	proxied := fmt.Sprintf("connector = 'kinesis', endpoint = '%s', region = 'us-east-1'", proxy.URL())
	mustExec(ctx, t, conn,
		fmt.Sprintf("CREATE SOURCE st_in %s WITH (%s, stream = '%s', start_position = 'trim_horizon')", sinkSourceCols, direct, in),
		// Only the sinks' writes go through the proxy.
		fmt.Sprintf("CREATE SINK st_from FROM st_in WITH (%s, stream = '%s')", proxied, outFrom),
		fmt.Sprintf("CREATE SINK st_query AS SELECT user_id, amount FROM st_in WITH (%s, stream = '%s')", proxied, outQuery),
		fmt.Sprintf("CREATE SOURCE st_from_out (_id TEXT, user_id BIGINT, amount DOUBLE) WITH (%s, stream = '%s', start_position = 'trim_horizon')", direct, outFrom),
		fmt.Sprintf("CREATE SOURCE st_query_out (_id TEXT, user_id BIGINT, amount DOUBLE) WITH (%s, stream = '%s', start_position = 'trim_horizon')", direct, outQuery),
	)
	want := putClicks(ctx, t, e, in, 0, 100)
	mustExec(ctx, t, conn, "FLUSH")

	sinks := map[string]string{"st_from": outFrom, "st_query": outQuery}
	for _, fault := range []struct {
		name  string
		start func()
		cause string // in the error, besides the stream and the endpoint
	}{
		{"endpoint refuses", func() { proxy.setDown(refuse) }, "PutRecords"},
		// Every call answers, and every entry of it is throttled: nothing
		// gets out, as on a shard throttled for good.
		{"every entry throttled", func() { proxy.throttle(0, 1) }, "ProvisionedThroughputExceededException"},
	} {
		t.Run(fault.name, func(t *testing.T) {
			fault.start()
			want = append(want, putClicks(ctx, t, e, in, len(want), 100)...)
			// The error shows once calls have failed for 10 s; allow a minute.
			deadline := time.Now().Add(time.Minute)
			for {
				rows := showSinks(ctx, t, conn)
				ok := true
				for name, stream := range sinks {
					r := rows[name]
					if r["state"] != "running" || r["since"] == "" || !strings.Contains(r["error"], stream) ||
						!strings.Contains(r["error"], proxy.URL()) || !strings.Contains(r["error"], fault.cause) {
						ok = false
					}
				}
				if ok {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("SHOW SINKS after a minute: %v; want each sink running with an error naming its stream, %s and %s",
						rows, proxy.URL(), fault.cause)
				}
				time.Sleep(200 * time.Millisecond)
			}

			// FLUSH cannot finish: it fails within its bound, naming the
			// sink that cannot send and why.
			mustExec(ctx, t, conn, "SET statement_timeout = '3s'")
			for name, stream := range sinks {
				_, err := conn.Exec(ctx, "FLUSH "+name)
				var pe *pgconn.PgError
				if !errors.As(err, &pe) || pe.Code != "57014" || !strings.Contains(pe.Message, "sink "+name) ||
					!strings.Contains(pe.Message, stream) || !strings.Contains(pe.Message, fault.cause) {
					t.Fatalf("FLUSH %s: %v; want 57014 naming the sink, %s and %s", name, err, stream, fault.cause)
				}
			}
			mustExec(ctx, t, conn, "SET statement_timeout = 0")

			// Once the fault is gone, FLUSH returns when Kinesis has
			// acknowledged everything: one read of each stream holds it all.
			proxy.setDown(up)
			proxy.stopFaults()
			mustExec(ctx, t, conn, "FLUSH")
			sameClicks(t, sinkedRows(ctx, t, conn, "st_from_out"), want)
			sameClicks(t, sinkedRows(ctx, t, conn, "st_query_out"), want)
			deadline = time.Now().Add(30 * time.Second)
			for {
				rows := showSinks(ctx, t, conn)
				if rows["st_from"]["error"] == "" && rows["st_query"]["error"] == "" &&
					rows["st_from"]["state"] == "running" && rows["st_query"]["state"] == "running" {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("SHOW SINKS with the fault gone: %v; want both running without an error", rows)
				}
				time.Sleep(200 * time.Millisecond)
			}
		})
	}
}

// showSinks returns the rows of SHOW SINKS by name, each as column name to
// text ("" for NULL).
func showSinks(ctx context.Context, t *testing.T, conn *pgx.Conn) map[string]map[string]string {
	t.Helper()
	rows, err := conn.Query(ctx, "SHOW SINKS")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]map[string]string{}
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		r := map[string]string{}
		for i, f := range rows.FieldDescriptions() {
			if vals[i] != nil {
				r[f.Name] = fmt.Sprint(vals[i])
			}
		}
		out[r["name"]] = r
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
