package wire

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/streamsql/streamsql/sql/types"
)

// rawClient speaks the protocol message by message with pgx's pgproto3, to
// test what pgx's high-level API never sends (row limits, bad input).
type rawClient struct {
	t  *testing.T
	nc net.Conn
	fe *pgproto3.Frontend
}

func dialRaw(t *testing.T, addr string) *rawClient {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	return &rawClient{t: t, nc: nc, fe: pgproto3.NewFrontend(nc, nc)}
}

func startRaw(t *testing.T, addr string) *rawClient {
	c := dialRaw(t, addr)
	c.send(&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30,
		Parameters: map[string]string{"user": "raw"}})
	c.expectUntilReady()
	return c
}

func (c *rawClient) send(msgs ...pgproto3.FrontendMessage) {
	c.t.Helper()
	for _, m := range msgs {
		c.fe.Send(m)
	}
	if err := c.fe.Flush(); err != nil {
		c.t.Fatal(err)
	}
}

// expectUntilReady reads messages up to ReadyForQuery and renders them as
// one line each, for comparison.
func (c *rawClient) expectUntilReady() []string {
	c.t.Helper()
	var out []string
	for {
		msg, err := c.fe.Receive()
		if err != nil {
			c.t.Fatalf("receive after %v: %v", out, err)
		}
		out = append(out, render(msg))
		if _, ok := msg.(*pgproto3.ReadyForQuery); ok {
			return out
		}
	}
}

func render(msg pgproto3.BackendMessage) string {
	switch m := msg.(type) {
	case *pgproto3.DataRow:
		var vals []string
		for _, v := range m.Values {
			vals = append(vals, string(v))
		}
		return "DataRow " + strings.Join(vals, ",")
	case *pgproto3.CommandComplete:
		return "CommandComplete " + string(m.CommandTag)
	case *pgproto3.ErrorResponse:
		return "Error " + m.Code
	case *pgproto3.RowDescription:
		var names []string
		for _, f := range m.Fields {
			names = append(names, fmt.Sprintf("%s:%d", f.Name, f.DataTypeOID))
		}
		return "RowDescription " + strings.Join(names, ",")
	case *pgproto3.ParameterDescription:
		return fmt.Sprintf("ParameterDescription %v", m.ParameterOIDs)
	case *pgproto3.ReadyForQuery:
		return "ReadyForQuery " + string(m.TxStatus)
	case *pgproto3.ParameterStatus:
		return "ParameterStatus"
	case *pgproto3.NoticeResponse:
		return "Notice " + m.Severity + " " + m.Code + " " + m.Message
	}
	return strings.TrimPrefix(fmt.Sprintf("%T", msg), "*pgproto3.")
}

func withoutStatus(msgs []string) []string {
	var out []string
	for _, m := range msgs {
		if m != "ParameterStatus" {
			out = append(out, m)
		}
	}
	return out
}

func TestProtocol_Extended(t *testing.T) {
	b := newScriptBackend()
	_, addr := testServer(t, b, Options{})
	tests := []struct {
		name string
		msgs []pgproto3.FrontendMessage
		want string
	}{
		{
			name: "row limit suspends and resumes the portal",
			msgs: []pgproto3.FrontendMessage{
				&pgproto3.Parse{Name: "g", Query: "gen 5"},
				&pgproto3.Bind{PreparedStatement: "g"},
				&pgproto3.Execute{MaxRows: 2},
				&pgproto3.Execute{MaxRows: 2},
				&pgproto3.Execute{},
				&pgproto3.Sync{},
			},
			want: "ParseComplete|BindComplete|DataRow 0,row|DataRow 1,row|PortalSuspended|" +
				"DataRow 2,row|DataRow 3,row|PortalSuspended|DataRow 4,row|CommandComplete SELECT 5|ReadyForQuery I",
		},
		{
			name: "describe statement and portal",
			msgs: []pgproto3.FrontendMessage{
				&pgproto3.Parse{Name: "e", Query: "echo $1 $2", ParameterOIDs: []uint32{20}},
				&pgproto3.Describe{ObjectType: 'S', Name: "e"},
				&pgproto3.Bind{PreparedStatement: "e", DestinationPortal: "p",
					Parameters: [][]byte{[]byte("5"), []byte("x")}},
				&pgproto3.Describe{ObjectType: 'P', Name: "p"},
				&pgproto3.Execute{Portal: "p"},
				&pgproto3.Parse{Query: "set a = b"},
				&pgproto3.Describe{ObjectType: 'S'},
				&pgproto3.Sync{},
			},
			want: "ParseComplete|ParameterDescription [20 25]|RowDescription p1:25,p2:25|BindComplete|" +
				"RowDescription p1:25,p2:25|DataRow 5,x|CommandComplete SELECT 1|ParseComplete|" +
				"ParameterDescription []|NoData|ReadyForQuery I",
		},
		{
			name: "after an error, skip to Sync",
			msgs: []pgproto3.FrontendMessage{
				&pgproto3.Parse{Query: "bogus"},
				&pgproto3.Bind{},
				&pgproto3.Execute{},
				&pgproto3.Sync{},
				&pgproto3.Parse{Query: "select 1"},
				&pgproto3.Bind{},
				&pgproto3.Execute{},
				&pgproto3.Sync{},
			},
			want: "Error 42601|ReadyForQuery I|ParseComplete|BindComplete|DataRow 1|CommandComplete SELECT 1|ReadyForQuery I",
		},
		{
			name: "close statement and portal, empty query",
			msgs: []pgproto3.FrontendMessage{
				&pgproto3.Parse{Name: "c", Query: "select 1"},
				&pgproto3.Close{ObjectType: 'S', Name: "c"},
				&pgproto3.Close{ObjectType: 'P', Name: "nope"},
				&pgproto3.Parse{Query: ""},
				&pgproto3.Bind{},
				&pgproto3.Execute{},
				&pgproto3.Bind{PreparedStatement: "c"},
				&pgproto3.Sync{},
			},
			want: "ParseComplete|CloseComplete|CloseComplete|ParseComplete|BindComplete|EmptyQueryResponse|Error 26000|ReadyForQuery I",
		},
		{
			name: "binary parameters and unknown portal",
			msgs: []pgproto3.FrontendMessage{
				&pgproto3.Parse{Name: "b", Query: "echo $1", ParameterOIDs: []uint32{20}},
				&pgproto3.Bind{PreparedStatement: "b", ParameterFormatCodes: []int16{1},
					Parameters: [][]byte{binary.BigEndian.AppendUint64(nil, 1<<40)}},
				&pgproto3.Execute{},
				&pgproto3.Execute{Portal: "missing"},
				&pgproto3.Sync{},
			},
			want: "ParseComplete|BindComplete|DataRow 1099511627776|CommandComplete SELECT 1|Error 34000|ReadyForQuery I",
		},
		{
			name: "simple query",
			msgs: []pgproto3.FrontendMessage{
				&pgproto3.Query{String: "select 1"},
			},
			want: "RowDescription ?column?:23|DataRow 1|CommandComplete SELECT 1|ReadyForQuery I",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := startRaw(t, addr)
			c.send(tt.msgs...)
			var got []string
			for range strings.Count(tt.want, "ReadyForQuery") {
				got = append(got, withoutStatus(c.expectUntilReady())...)
			}
			if g := strings.Join(got, "|"); g != tt.want {
				t.Errorf("got\n  %s\nwant\n  %s", g, tt.want)
			}
		})
	}
}

func TestProtocol_FlushWithoutSync(t *testing.T) {
	_, addr := testServer(t, newScriptBackend(), Options{})
	c := startRaw(t, addr)
	c.send(&pgproto3.Parse{Query: "select 1"}, &pgproto3.Flush{})
	msg, err := c.fe.Receive()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := msg.(*pgproto3.ParseComplete); !ok {
		t.Fatalf("got %T, want ParseComplete", msg)
	}
}

// TestProtocol_BadClients checks that a misbehaving client loses only its
// own session.
func TestProtocol_BadClients(t *testing.T) {
	b := newScriptBackend()
	_, addr := testServer(t, b, Options{MaxMessageSize: 1024})
	good := startRaw(t, addr)

	tests := []struct {
		name string
		do   func(c *rawClient)
	}{
		{"bad startup length", func(c *rawClient) {
			_, _ = c.nc.Write([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0})
		}},
		{"unknown protocol version", func(c *rawClient) {
			_, _ = c.nc.Write(binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, 8), 2<<16))
		}},
		{"unknown message type", func(c *rawClient) {
			c.send(&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30,
				Parameters: map[string]string{"user": "x"}})
			c.expectUntilReady()
			_, _ = c.nc.Write([]byte{'!', 0, 0, 0, 4})
		}},
		{"message too large", func(c *rawClient) {
			c.send(&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30,
				Parameters: map[string]string{"user": "x"}})
			c.expectUntilReady()
			c.send(&pgproto3.Query{String: strings.Repeat("x", 2000)})
		}},
		{"disconnect after startup", func(c *rawClient) {
			c.send(&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30,
				Parameters: map[string]string{"user": "x"}})
			c.expectUntilReady()
			_ = c.nc.(*net.TCPConn).CloseWrite()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dialRaw(t, addr)
			tt.do(c)
			// The server ends the session: reads reach EOF (after an optional
			// FATAL ErrorResponse).
			for {
				msg, err := c.fe.Receive()
				if err != nil {
					break
				}
				if e, ok := msg.(*pgproto3.ErrorResponse); ok && e.Severity != "FATAL" {
					t.Errorf("got %+v, want FATAL", e)
				}
			}
			good.send(&pgproto3.Query{String: "select 1"})
			if got := withoutStatus(good.expectUntilReady()); len(got) != 4 {
				t.Errorf("good session after %s: %v", tt.name, got)
			}
		})
	}
}

// trickleRows yields one row, then waits for release before ending.
type trickleRows struct {
	funcRows
	release chan struct{}
	step    int
}

func (r *trickleRows) Ready() bool { return r.step == 0 }
func (r *trickleRows) Next() bool {
	r.step++
	switch r.step {
	case 1:
		r.row = types.Row{types.NewInt(7)}
		r.n++
		return true
	case 2:
		<-r.release
	}
	return false
}

func TestProtocol_FlushBeforeWaiting(t *testing.T) {
	release := make(chan struct{})
	st := &fakeStatement{sql: "tail", cols: []types.Column{{Name: "x", Type: types.TypeBigInt}}}
	b := &fakeBackend{NewSessionFunc: func(context.Context, map[string]string) (Session, error) {
		return &fakeSession{
			PrepareFunc: func(context.Context, string) ([]Statement, error) { return []Statement{st}, nil },
			ExecuteFunc: func(context.Context, Statement, []types.Value) (Rows, error) {
				return &trickleRows{funcRows: funcRows{cols: st.cols}, release: release}, nil
			},
		}, nil
	}}
	_, addr := testServer(t, b, Options{})
	c := startRaw(t, addr)
	c.send(&pgproto3.Query{String: "tail"})
	var got []string
	for len(got) < 2 {
		msg, err := c.fe.Receive()
		if err != nil {
			t.Fatalf("the first row was not flushed before the wait: %v after %v", err, got)
		}
		got = append(got, render(msg))
	}
	close(release)
	got = append(got, c.expectUntilReady()...)
	if g := strings.Join(got, "|"); g != "RowDescription x:20|DataRow 7|CommandComplete SELECT 1|ReadyForQuery I" {
		t.Errorf("got %s", g)
	}
}

// frame is a frontend message: its type, its length, its body.
func frame(typ byte, body ...byte) []byte {
	return append(binary.BigEndian.AppendUint32([]byte{typ}, uint32(len(body)+4)), body...)
}

// cat joins byte strings.
func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

var (
	z   = []byte{0} // an empty string
	u16 = func(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }
	i32 = func(v int32) []byte { return binary.BigEndian.AppendUint32(nil, uint32(v)) }
)

// malformedMessages are messages whose length or body does not fit their
// type; FuzzBackend starts from them too.
var malformedMessages = []struct {
	name string
	msg  []byte
}{
	{"query without body", frame('Q')},
	{"query without NUL", frame('Q', 's', 'e', 'l')},
	{"query with bytes after NUL", frame('Q', 'x', 0, 'y')},
	{"length below 4", []byte{'Q', 0, 0, 0, 3}},
	{"parse without body", frame('P')},
	{"parse without query", frame('P', 0)},
	{"parse without parameter count", frame('P', cat(z, []byte("select 1"), z)...)},
	{"parse with missing parameter types", frame('P', cat(z, z, u16(2), i32(23))...)},
	{"parse with bytes left over", frame('P', cat(z, z, u16(0), []byte{1})...)},
	{"bind without body", frame('B')},
	{"bind without statement", frame('B', 0)},
	{"bind without formats", frame('B', 0, 0)},
	{"bind with missing format codes", frame('B', cat(z, z, u16(3), u16(0))...)},
	{"bind with missing parameters", frame('B', cat(z, z, u16(0), u16(1))...)},
	{"bind with a negative parameter length", frame('B', cat(z, z, u16(0), u16(1), i32(-2), u16(0))...)},
	{"bind with a parameter past the end", frame('B', cat(z, z, u16(0), u16(1), i32(100), []byte("ab"), u16(0))...)},
	{"bind without result formats", frame('B', cat(z, z, u16(0), u16(0))...)},
	{"bind with missing result formats", frame('B', cat(z, z, u16(0), u16(0), u16(2), u16(0))...)},
	{"describe without body", frame('D')},
	{"describe without name", frame('D', 'S')},
	{"describe with bytes after the name", frame('D', 'S', 0, 1)},
	{"execute without body", frame('E')},
	{"short execute", frame('E', 0)},
	{"execute with a short row limit", frame('E', 0, 0, 0)},
	{"close without body", frame('C')},
	{"close without name", frame('C', 'P')},
	{"sync with a body", frame('S', 1)},
	{"flush with a body", frame('H', 1)},
	{"terminate with a body", frame('X', 1)},
	{"copy done with a body", frame('c', 1)},
	{"copy fail without NUL", frame('f', 'x')},
	{"function call without body", frame('F')},
	{"function call with a short argument", frame('F', cat(i32(1), u16(0), u16(1), i32(8), []byte{1}, u16(0))...)},
	{"password message without authentication", frame('p', 'x', 0)},
	{"unknown type", frame('y')},
}

// TestProtocol_MalformedMessages sends, after a normal startup, messages
// whose length or body does not fit their type (issue 12, finding 1: a
// Query of length 4 panicked in the decoder and took the process down).
// Each ends its own session with FATAL 08P01; the server goes on serving.
func TestProtocol_MalformedMessages(t *testing.T) {
	b := newScriptBackend()
	srv, addr := testServer(t, b, Options{})
	var panics atomic.Int32
	onPanic(srv, func(any) { panics.Add(1) })
	good := startRaw(t, addr)

	for _, tt := range malformedMessages {
		t.Run(tt.name, func(t *testing.T) {
			c := startRaw(t, addr)
			if _, err := c.nc.Write(tt.msg); err != nil {
				t.Fatal(err)
			}
			msg, err := c.fe.Receive()
			if err != nil {
				t.Fatalf("no answer: %v", err)
			}
			if e, ok := msg.(*pgproto3.ErrorResponse); !ok || e.Severity != "FATAL" || e.Code != "08P01" {
				t.Fatalf("got %#v, want FATAL 08P01", msg)
			}
			if msg, err := c.fe.Receive(); err == nil {
				t.Fatalf("got %T after FATAL, want the connection closed", msg)
			}
			good.send(&pgproto3.Query{String: "select 1"})
			if got := withoutStatus(good.expectUntilReady()); len(got) != 4 {
				t.Errorf("good session after %s: %v", tt.name, got)
			}
		})
	}
	if n := panics.Load(); n != 0 {
		t.Errorf("%d panics recovered; every malformed message should be refused before decoding", n)
	}
}

// TestProtocol_UnusualMessages checks messages that are well formed but
// out of place: each gets Postgres's answer and the session goes on.
func TestProtocol_UnusualMessages(t *testing.T) {
	_, addr := testServer(t, newScriptBackend(), Options{})
	tests := []struct {
		name string
		msg  []byte
		want string
	}{
		// Left over from a copy the server refused: ignored.
		{"copy data, done and fail", cat(frame('d', 1, 2), frame('c'), frame('f', 'x', 0)), ""},
		{"function call", frame('F', cat(i32(1), u16(0), u16(1), i32(-1), u16(0))...), "Error 0A000|ReadyForQuery I|"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := startRaw(t, addr)
			if _, err := c.nc.Write(tt.msg); err != nil {
				t.Fatal(err)
			}
			c.send(&pgproto3.Query{String: "select 1"})
			got := strings.Join(withoutStatus(c.expectUntilReady()), "|")
			if tt.want != "" {
				got += "|" + strings.Join(withoutStatus(c.expectUntilReady()), "|")
			}
			if want := tt.want + "RowDescription ?column?:23|DataRow 1|CommandComplete SELECT 1|ReadyForQuery I"; got != want {
				t.Errorf("got\n  %s\nwant\n  %s", got, want)
			}
		})
	}
}

// TestProtocol_BadStartupPackets checks the first packet of a connection.
func TestProtocol_BadStartupPackets(t *testing.T) {
	_, addr := testServer(t, newScriptBackend(), Options{})
	// startup frames a startup packet whose body is the protocol version
	// and then params, each followed by a NUL, then tail.
	startup := func(tail []byte, params ...string) []byte {
		body := i32(protocolVersion30)
		for _, p := range params {
			body = append(append(body, p...), 0)
		}
		body = append(body, tail...)
		return append(i32(int32(len(body)+4)), body...)
	}
	tests := []struct {
		name string
		data []byte
		code string // of the FATAL ErrorResponse
	}{
		{"no user", startup(z, "database", "x"), "28000"},
		{"no parameters", startup(z), "28000"},
		{"no final NUL", startup(nil, "user", "x"), "08P01"},
		{"name without value", startup(nil, "user"), "08P01"},
		{"bytes after the final NUL", startup([]byte{0, 7}, "user", "x"), "08P01"},
		{"short cancel request", cat(i32(12), i32(cancelRequestCode), i32(1)), "08P01"},
		{"long SSL request", cat(i32(12), i32(sslRequestCode), i32(1)), "08P01"},
		{"length past the limit", cat(i32(maxStartupPacket+5), i32(protocolVersion30)), "08P01"},
		{"length below the code", cat(i32(7), []byte{0, 3, 0}), "08P01"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dialRaw(t, addr)
			if _, err := c.nc.Write(tt.data); err != nil {
				t.Fatal(err)
			}
			msg, err := c.fe.Receive()
			if err != nil {
				t.Fatalf("no answer: %v", err)
			}
			if e, ok := msg.(*pgproto3.ErrorResponse); !ok || e.Severity != "FATAL" || e.Code != tt.code {
				t.Fatalf("got %#v, want FATAL %s", msg, tt.code)
			}
		})
	}
}
