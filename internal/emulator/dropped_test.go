package emulator

import (
	"bufio"
	"context"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"
)

// TestKinesalite_SurvivesDroppedRequests: kinesalite rethrows a request's
// error event, so a client that hangs up mid-request used to kill it. Our
// wrapper must keep it serving.
func TestKinesalite_SurvivesDroppedRequests(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	e := StartForTest(ctx, t, Options{})
	u, err := url.Parse(e.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		conn, err := net.Dial("tcp", u.Host)
		if err != nil {
			t.Fatal(err)
		}
		// Promise a body of 1000 bytes; "100 Continue" tells us the server
		// has the request in its handler. Then send 10 bytes and hang up
		// with a reset.
		_, _ = conn.Write([]byte("POST / HTTP/1.1\r\nHost: " + u.Host + "\r\n" +
			"Content-Type: application/x-amz-json-1.1\r\nX-Amz-Target: Kinesis_20131202.ListStreams\r\n" +
			"Expect: 100-continue\r\nContent-Length: 1000\r\n\r\n"))
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		line, err := bufio.NewReader(conn).ReadString('\n')
		if err != nil || !strings.Contains(line, "100") {
			t.Fatalf("want 100 Continue, got %q, %v", line, err)
		}
		_, _ = conn.Write([]byte(`{"Limit":1`))
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		conn.Close()
	}
	c, err := e.Client()
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err = c.ListStreams(ctx, &kinesis.ListStreamsInput{})
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("kinesalite stopped answering after dropped requests: %v\n%s", err, e.Output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
