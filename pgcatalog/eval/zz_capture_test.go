package eval

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
)

// TestCaptureServer serves the fake catalog over the wire so real clients
// run their whole metadata conversations; it logs every query text.
func TestCaptureServer(t *testing.T) {
	addr := os.Getenv("EVALR_CAPTURE_ADDR")
	if addr == "" {
		t.Skip()
	}
	logf, _ := os.OpenFile(os.Getenv("EVALR_CAPTURE_LOG"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	var mu sync.Mutex
	logq := func(kind, q string, err error) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(logf, "-- %s err=%v\n%s\n;;;;\n", kind, err, q)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	go func() { time.Sleep(300 * time.Second); ln.Close() }()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go serveConn(c, logq)
	}
}

func serveConn(c net.Conn, logq func(string, string, error)) {
	defer c.Close()
	defer func() {
		if r := recover(); r != nil {
			logq("PANIC", fmt.Sprint(r), nil)
		}
	}()
	be := pgproto3.NewBackend(c, c)
	for {
		m, err := be.ReceiveStartupMessage()
		if err != nil {
			return
		}
		if _, ok := m.(*pgproto3.SSLRequest); ok {
			c.Write([]byte("N"))
			continue
		}
		if _, ok := m.(*pgproto3.GSSEncRequest); ok {
			c.Write([]byte("N"))
			continue
		}
		break
	}
	be.Send(&pgproto3.AuthenticationOk{})
	for k, v := range map[string]string{"server_version": "16.0", "server_encoding": "UTF8", "client_encoding": "UTF8", "DateStyle": "ISO, MDY", "integer_datetimes": "on", "standard_conforming_strings": "on", "TimeZone": "UTC"} {
		be.Send(&pgproto3.ParameterStatus{Name: k, Value: v})
	}
	be.Send(&pgproto3.BackendKeyData{ProcessID: 1, SecretKey: []byte{0, 0, 0, 2}})
	be.Send(&pgproto3.ReadyForQuery{TxStatus: 'I'})
	be.Flush()
	cat := newFakeCatalog()
	stmts := map[string]string{}
	type portal struct {
		q      string
		params []Value
	}
	portals := map[string]portal{}
	failed := false
	for {
		m, err := be.Receive()
		if err != nil {
			return
		}
		switch m := m.(type) {
		case *pgproto3.Query:
			q := m.String
			run(be, cat, q, nil, true, logq)
			be.Send(&pgproto3.ReadyForQuery{TxStatus: 'I'})
			be.Flush()
		case *pgproto3.Parse:
			if failed {
				continue
			}
			stmts[m.Name] = m.Query
			logq("PARSE", m.Query, nil)
			be.Send(&pgproto3.ParseComplete{})
		case *pgproto3.Bind:
			if failed {
				continue
			}
			var ps []Value
			for _, p := range m.Parameters {
				if p == nil {
					ps = append(ps, nil)
				} else {
					ps = append(ps, string(p))
				}
			}
			portals[m.DestinationPortal] = portal{stmts[m.PreparedStatement], ps}
			be.Send(&pgproto3.BindComplete{})
		case *pgproto3.Describe:
			if failed {
				continue
			}
			q := ""
			if m.ObjectType == 'S' {
				q = stmts[m.Name]
			} else {
				q = portals[m.Name].q
			}
			if isSelect(q) {
				pq, err := Prepare(q, cat)
				if err != nil {
					logq("FAIL-describe", q, err)
					sendErr(be, err)
					failed = true
					continue
				}
				if m.ObjectType == 'S' {
					oids := make([]uint32, pq.NumParams())
					be.Send(&pgproto3.ParameterDescription{ParameterOIDs: oids})
				}
				be.Send(rowDesc(pq))
			} else {
				if m.ObjectType == 'S' {
					be.Send(&pgproto3.ParameterDescription{})
				}
				be.Send(&pgproto3.NoData{})
			}
		case *pgproto3.Execute:
			if failed {
				continue
			}
			p := portals[m.Portal]
			if !run(be, cat, p.q, p.params, false, logq) {
				failed = true
			}
		case *pgproto3.Sync:
			failed = false
			be.Send(&pgproto3.ReadyForQuery{TxStatus: 'I'})
			be.Flush()
		case *pgproto3.Terminate:
			return
		case *pgproto3.Flush:
			be.Flush()
		case *pgproto3.Close:
			be.Send(&pgproto3.CloseComplete{})
		default:
			logq("MSG", fmt.Sprintf("%T", m), nil)
		}
	}
}

func isSelect(q string) bool {
	l := strings.ToLower(strings.TrimSpace(q))
	return strings.HasPrefix(l, "select") || strings.HasPrefix(l, "(select") || strings.HasPrefix(l, "with")
}

func rowDesc(pq *Query) *pgproto3.RowDescription {
	rd := &pgproto3.RowDescription{}
	for _, c := range pq.Columns() {
		oid := c.Type.OID
		if isRegType(oid) || oid == OIDUnknown || oid == oidRecord {
			oid = OIDText
		}
		rd.Fields = append(rd.Fields, pgproto3.FieldDescription{Name: []byte(c.Name), DataTypeOID: oid, DataTypeSize: -1, TypeModifier: -1})
	}
	return rd
}

func sendErr(be *pgproto3.Backend, err error) {
	be.Send(&pgproto3.ErrorResponse{Severity: "ERROR", Code: "XX000", Message: err.Error()})
}

func run(be *pgproto3.Backend, cat *fakeCatalog, q string, params []Value, simple bool, logq func(string, string, error)) bool {
	if !isSelect(q) {
		logq("other", q, nil)
		be.Send(&pgproto3.CommandComplete{CommandTag: []byte("SET")})
		return true
	}
	pq, err := Prepare(q, cat)
	if err == nil {
		for len(params) < pq.NumParams() {
			params = append(params, nil)
		}
		var rows [][]Value
		rows, err = pq.Run(context.Background(), cat, params)
		if err == nil {
			if len(params) > 0 {
				logq("ok params="+fmt.Sprintf("%q", params), q, nil)
			} else {
				logq("ok", q, nil)
			}
			if simple {
				be.Send(rowDesc(pq))
			}
			for _, r := range rows {
				dr := &pgproto3.DataRow{}
				for j, v := range r {
					if v == nil {
						dr.Values = append(dr.Values, nil)
					} else {
						dr.Values = append(dr.Values, []byte(textOf(v, pq.Columns()[j].Type)))
					}
				}
				be.Send(dr)
			}
			be.Send(&pgproto3.CommandComplete{CommandTag: []byte(fmt.Sprintf("SELECT %d", len(rows)))})
			return true
		}
	}
	logq("FAIL", q, err)
	sendErr(be, err)
	return false
}
