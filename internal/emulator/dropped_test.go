package emulator

import (
	"bufio"
	"context"
	"net"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
)

// TestKinesalite_SurvivesDroppedRequests: kinesalite rethrows a request's
// error event, so a client that hangs up mid-request (a cancelled GetRecords,
// a call timeout) used to kill it and every later call failed. Our wrapper
// must keep it serving: after each way of dropping a request, a normal
// DescribeStream, PutRecord and GetRecords still work.
func TestKinesalite_SurvivesDroppedRequests(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	e := StartForTest(ctx, t, Options{})
	u, err := url.Parse(e.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	const stream = "dropped"
	if err := e.CreateStream(ctx, stream, 1); err != nil {
		t.Fatal(err)
	}
	c, err := e.Client()
	if err != nil {
		t.Fatal(err)
	}
	ops := []struct{ target, body string }{
		{"ListStreams", `{"Limit":1}`},
		{"PutRecord", `{"StreamName":"` + stream + `","PartitionKey":"k","Data":"eA=="}`},
		{"GetShardIterator", `{"StreamName":"` + stream + `","ShardId":"shardId-000000000000","ShardIteratorType":"TRIM_HORIZON"}`},
	}
	// How the client leaves: what it sent before hanging up, and whether it
	// resets (SO_LINGER 0) or closes.
	drops := []struct {
		name   string
		expect bool // send Expect: 100-continue and wait for it, so the handler surely runs
		send   func(body string) string
		reset  bool
	}{
		{"half body, reset after 100-continue", true, func(b string) string { return b[:len(b)/2] }, true},
		{"headers only, reset", false, func(string) string { return "" }, true},
		{"half body, reset", false, func(b string) string { return b[:len(b)/2] }, true},
		{"half body, close", false, func(b string) string { return b[:len(b)/2] }, false},
		{"whole body, reset", false, func(b string) string { return b }, true},
	}
	want := 0 // records put by the checks below
	for _, op := range ops {
		for _, d := range drops {
			t.Run(op.target+"/"+d.name, func(t *testing.T) {
				conn, err := net.Dial("tcp", u.Host)
				if err != nil {
					t.Fatal(err)
				}
				hdr := "POST / HTTP/1.1\r\nHost: " + u.Host + "\r\n" +
					"Authorization: AWS4-HMAC-SHA256 Credential=a/20200101/us-east-1/kinesis/aws4_request, SignedHeaders=host, Signature=0\r\n" +
					"X-Amz-Date: 20200101T000000Z\r\n" +
					"Content-Type: application/x-amz-json-1.1\r\nX-Amz-Target: Kinesis_20131202." + op.target + "\r\n" +
					"Content-Length: " + strconv.Itoa(len(op.body)) + "\r\n"
				if d.expect {
					_, _ = conn.Write([]byte(hdr + "Expect: 100-continue\r\n\r\n"))
					_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
					line, err := bufio.NewReader(conn).ReadString('\n')
					if err != nil || !strings.Contains(line, "100") {
						t.Fatalf("want 100 Continue, got %q, %v", line, err)
					}
					_, _ = conn.Write([]byte(d.send(op.body)))
				} else {
					_, _ = conn.Write([]byte(hdr + "\r\n" + d.send(op.body)))
				}
				if tc, ok := conn.(*net.TCPConn); ok && d.reset {
					_ = tc.SetLinger(0)
				}
				_ = conn.Close()

				// The emulator must still answer; poll briefly, since the
				// reset reaches it asynchronously and a crash takes a moment.
				deadline := time.Now().Add(300 * time.Millisecond)
				for time.Now().Before(deadline) {
					if _, err := c.DescribeStream(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String(stream)}); err != nil {
						t.Fatalf("DescribeStream after a dropped request: %v\n%s", err, e.Output())
					}
					time.Sleep(50 * time.Millisecond)
				}
				if _, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String(stream), PartitionKey: aws.String("k"), Data: []byte("x")}); err != nil {
					t.Fatalf("PutRecord after a dropped request: %v\n%s", err, e.Output())
				}
				want++
				it, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String(stream),
					ShardId: aws.String("shardId-000000000000"), ShardIteratorType: "TRIM_HORIZON"})
				if err != nil {
					t.Fatalf("GetShardIterator after a dropped request: %v\n%s", err, e.Output())
				}
				out, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator})
				if err != nil {
					t.Fatalf("GetRecords after a dropped request: %v\n%s", err, e.Output())
				}
				// The dropped PutRecords never completed a body... except a
				// whole body that the server may have handled before the
				// reset: count at least ours.
				if len(out.Records) < want {
					t.Fatalf("GetRecords: %d records, want at least %d", len(out.Records), want)
				}
			})
		}
	}
}
