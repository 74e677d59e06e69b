package wire

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"strings"
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
