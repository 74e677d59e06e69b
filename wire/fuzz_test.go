package wire

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
)

// FuzzBackend feeds arbitrary bytes to a session, after a valid startup
// or in place of one, with trust or SCRAM authentication. Whatever the
// bytes, the server must not panic (a panic the session recovers fails the
// target too) and the session must end once the client has sent them and
// gone, answering or not.
//
// The first byte chooses the mode: bit 0 sends a valid startup packet
// first, bit 1 asks for a password. The rest is what the client sends.
// Seeds: testdata/fuzz/FuzzBackend; go test runs them as regression cases.
func FuzzBackend(f *testing.F) {
	for _, seed := range backendSeeds() {
		f.Add(seed)
	}
	b := newScriptBackend()
	go func() { // sleep statements report on these
		for {
			select {
			case <-b.started:
			case <-b.canceled:
			}
		}
	}()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	trust := NewServer(b, Options{Logger: logger, MaxMessageSize: 1 << 16})
	scram := NewServer(b, Options{Logger: logger, MaxMessageSize: 1 << 16, Password: "pw"})
	panicked := make(chan any, 1)
	for _, srv := range []*Server{trust, scram} {
		onPanic(srv, func(v any) {
			select {
			case panicked <- v:
			default:
			}
		})
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		mode, data := data[0], data[1:]
		srv := trust
		if mode&2 != 0 {
			srv = scram
		}
		if mode&1 != 0 {
			data = append(fuzzStartup(), data...)
		}
		client, server := net.Pipe()
		c := newConn(srv, server, context.Background())
		served := make(chan struct{})
		go func() {
			defer close(served)
			c.serve()
		}()
		drained := make(chan struct{})
		go func() {
			defer close(drained)
			_, _ = io.Copy(io.Discard, client)
		}()
		_ = client.SetWriteDeadline(time.Now().Add(10 * time.Second))
		_, _ = client.Write(data) // the server may end the session before reading it all
		_ = client.Close()
		select {
		case <-served:
		case <-time.After(10 * time.Second):
			t.Fatalf("the session did not end 10s after the client left")
		}
		<-drained
		select {
		case v := <-panicked:
			t.Fatalf("a session panicked: %v", v)
		default:
		}
	})
}

func fuzzStartup() []byte {
	b, err := (&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30,
		Parameters: map[string]string{"user": "fuzz", "database": "db"}}).Encode(nil)
	if err != nil {
		panic(err)
	}
	return b
}

// backendSeeds are message sequences worth starting from: the ordinary
// flows of the simple and extended protocols, and the malformed messages
// of TestProtocol_MalformedMessages.
func backendSeeds() [][]byte {
	enc := func(msgs ...pgproto3.FrontendMessage) []byte {
		var out []byte
		for _, m := range msgs {
			b, err := m.Encode(out)
			if err != nil {
				panic(fmt.Sprintf("encode %T: %v", m, err))
			}
			out = b
		}
		return out
	}
	withMode := func(mode byte, b []byte) []byte { return append([]byte{mode}, b...) }
	seeds := [][]byte{
		withMode(1, enc(&pgproto3.Query{String: "select 1"}, &pgproto3.Terminate{})),
		withMode(1, enc(&pgproto3.Query{String: "gen 3; select 1"}, &pgproto3.Query{String: "bogus"})),
		withMode(1, enc(&pgproto3.Query{String: "sleep"})),
		withMode(1, enc(&pgproto3.Query{String: "set application_name = x"}, &pgproto3.Query{String: ""})),
		withMode(1, enc(
			&pgproto3.Parse{Name: "e", Query: "echo $1 $2", ParameterOIDs: []uint32{20}},
			&pgproto3.Describe{ObjectType: 'S', Name: "e"},
			&pgproto3.Bind{PreparedStatement: "e", DestinationPortal: "p", ParameterFormatCodes: []int16{0, 1},
				Parameters: [][]byte{[]byte("5"), {0, 0, 0, 1}}, ResultFormatCodes: []int16{1}},
			&pgproto3.Describe{ObjectType: 'P', Name: "p"},
			&pgproto3.Execute{Portal: "p", MaxRows: 1},
			&pgproto3.Execute{Portal: "p"},
			&pgproto3.Close{ObjectType: 'P', Name: "p"},
			&pgproto3.Close{ObjectType: 'S', Name: "e"},
			&pgproto3.Sync{},
		)),
		withMode(1, enc(&pgproto3.Parse{Query: "alltypes"}, &pgproto3.Bind{ResultFormatCodes: []int16{1}},
			&pgproto3.Execute{}, &pgproto3.Flush{}, &pgproto3.Sync{})),
		withMode(1, enc(&pgproto3.Parse{Query: "fail"}, &pgproto3.Bind{}, &pgproto3.Execute{}, &pgproto3.Sync{})),
		withMode(1, enc(&pgproto3.CopyData{Data: []byte("x")}, &pgproto3.CopyDone{}, &pgproto3.CopyFail{Message: "no"})),
		withMode(0, enc(&pgproto3.SSLRequest{})),
		withMode(0, cat(i32(16), i32(cancelRequestCode), i32(1), i32(2))),
		withMode(0, []byte("GET / HTTP/1.1\r\n\r\n")),
		withMode(3, enc(&pgproto3.SASLInitialResponse{AuthMechanism: "SCRAM-SHA-256", Data: []byte("n,,n=,r=abc")},
			&pgproto3.SASLResponse{Data: []byte("c=biws,r=abc,p=AAAA")})),
		withMode(3, []byte{'p', 0, 0, 0, 5, 0}),
	}
	for _, m := range malformedMessages {
		seeds = append(seeds, withMode(1, m.msg))
	}
	return seeds
}
