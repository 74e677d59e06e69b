package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/jackc/pgproto3/v2"
)

// Reading frontend messages. pgproto3's decoders trust the length and
// layout of a body: some index past its end and panic (a Query of length
// 4, a Bind whose parameter length is negative, a FunctionCall with a NULL
// argument, a short SASLInitialResponse), others report a truncated body as io.EOF, which
// reads as a client that went away. So the frames are read here, and each
// body is checked against its message's layout (as Postgres's pq_getmsg*
// functions do) before pgproto3 decodes it. A message that does not fit
// is a protocolError: the session ends with FATAL 08P01.

// protocolError is a frontend message that breaks the protocol.
type protocolError struct{ msg string }

func (e *protocolError) Error() string { return e.msg }

func protocolErrorf(format string, args ...any) error {
	return &protocolError{msg: fmt.Sprintf(format, args...)}
}

// Startup codes in place of a protocol version (Postgres's pqcomm.h).
const (
	protocolVersion30 = 3 << 16
	cancelRequestCode = 1234<<16 | 5678
	sslRequestCode    = 1234<<16 | 5679
	gssEncRequestCode = 1234<<16 | 5680
	// maxStartupPacket is Postgres's MAX_STARTUP_PACKET_LENGTH.
	maxStartupPacket = 10000
)

// authStep is what a 'p' message holds: it depends on what the server
// asked for last.
type authStep int

const (
	authNone         authStep = iota // no authentication under way: 'p' is a violation
	authSASLInitial                  // SASLInitialResponse
	authSASLContinue                 // SASLResponse
)

// frontend reads a client's messages. One of each message is reused, as
// pgproto3's Backend does: a returned message, and the bytes it points
// into, are valid until the next call.
type frontend struct {
	r *msgReader

	query     pgproto3.Query
	parse     pgproto3.Parse
	bind      pgproto3.Bind
	describe  pgproto3.Describe
	execute   pgproto3.Execute
	close     pgproto3.Close
	sync      pgproto3.Sync
	flush     pgproto3.Flush
	terminate pgproto3.Terminate
	copyData  pgproto3.CopyData
	copyDone  pgproto3.CopyDone
	copyFail  pgproto3.CopyFail
	funcCall  pgproto3.FunctionCall
	saslInit  pgproto3.SASLInitialResponse
	saslResp  pgproto3.SASLResponse
	cancel    pgproto3.CancelRequest
	ssl       pgproto3.SSLRequest
	gssEnc    pgproto3.GSSEncRequest
}

// receiveStartup reads the first packet of a connection: a StartupMessage,
// an SSLRequest, a GSSEncRequest or a CancelRequest.
func (f *frontend) receiveStartup() (pgproto3.FrontendMessage, error) {
	head, err := f.r.Next(4)
	if err != nil {
		return nil, err
	}
	n := int64(binary.BigEndian.Uint32(head)) - 4
	if n < 4 || n > maxStartupPacket {
		return nil, protocolErrorf("invalid length of startup packet: %d", n+4)
	}
	body, err := f.r.Next(int(n))
	if err != nil {
		return nil, unexpectedEOF(err)
	}
	code := binary.BigEndian.Uint32(body)
	var msg pgproto3.FrontendMessage
	switch code {
	case protocolVersion30:
		return parseStartup(body[4:])
	case cancelRequestCode:
		if len(body) != 12 {
			return nil, protocolErrorf("invalid length of cancel request: %d", len(body)+4)
		}
		msg = &f.cancel
	case sslRequestCode:
		msg = &f.ssl
	case gssEncRequestCode:
		msg = &f.gssEnc
	default:
		return nil, protocolErrorf("unsupported frontend protocol %d.%d: server supports 3.0", code>>16, code&0xffff)
	}
	if code != cancelRequestCode && len(body) != 4 {
		return nil, protocolErrorf("invalid length of encryption request: %d", len(body)+4)
	}
	if err := msg.Decode(body); err != nil {
		return nil, protocolErrorf("invalid startup packet: %v", err)
	}
	return msg, nil
}

// parseStartup reads a StartupMessage's name/value pairs, which end with
// an empty name. pgproto3's decoder wants at least one pair; Postgres does
// not, and reports the missing user name instead.
func parseStartup(b []byte) (*pgproto3.StartupMessage, error) {
	params := make(map[string]string)
	m := body{b: b}
	for {
		name := m.str()
		if m.bad || name == "" {
			break
		}
		params[name] = m.str()
	}
	if err := m.end("startup packet"); err != nil {
		return nil, err
	}
	return &pgproto3.StartupMessage{ProtocolVersion: protocolVersion30, Parameters: params}, nil
}

// receive reads one message after startup. step says what a 'p' message
// is.
func (f *frontend) receive(step authStep) (pgproto3.FrontendMessage, error) {
	head, err := f.r.Next(5)
	if err != nil {
		return nil, unexpectedEOF(err)
	}
	typ := head[0]
	n := int64(binary.BigEndian.Uint32(head[1:])) - 4
	if n < 0 {
		return nil, protocolErrorf("invalid message length %d for message type %q", n+4, typ)
	}
	var msg pgproto3.FrontendMessage
	switch typ {
	case 'Q':
		msg = &f.query
	case 'P':
		msg = &f.parse
	case 'B':
		msg = &f.bind
	case 'D':
		msg = &f.describe
	case 'E':
		msg = &f.execute
	case 'C':
		msg = &f.close
	case 'S':
		msg = &f.sync
	case 'H':
		msg = &f.flush
	case 'X':
		msg = &f.terminate
	case 'd':
		msg = &f.copyData
	case 'c':
		msg = &f.copyDone
	case 'f':
		msg = &f.copyFail
	case 'F':
		msg = &f.funcCall
	case 'p':
		switch step {
		case authSASLInitial:
			msg = &f.saslInit
		case authSASLContinue:
			msg = &f.saslResp
		default:
			return nil, protocolErrorf("unexpected password message: no authentication is under way")
		}
	default:
		return nil, protocolErrorf("invalid frontend message type %d", typ)
	}
	b, err := f.r.Next(int(n))
	if err != nil {
		return nil, unexpectedEOF(err)
	}
	if err := validate(typ, step, b); err != nil {
		return nil, err
	}
	if typ == 'F' {
		// Not supported, so never decoded: pgproto3's decoder reads a NULL
		// argument's length -1 as 4 GiB and panics even on a valid body.
		return msg, nil
	}
	if err := msg.Decode(b); err != nil {
		return nil, protocolErrorf("invalid %s message: %v", messageName(typ, step), err)
	}
	return msg, nil
}

// validate checks that b is a well-formed body for a message of type typ.
func validate(typ byte, step authStep, b []byte) error {
	m := body{b: b}
	switch typ {
	case 'Q', 'f': // query string or error message
		m.str()
	case 'P': // name, query, parameter types
		m.str()
		m.str()
		m.skip(4 * m.u16())
	case 'B': // portal, statement, parameter formats, parameters, result formats
		m.str()
		m.str()
		m.skip(2 * m.u16())
		m.values()
		m.skip(2 * m.u16())
	case 'D', 'C': // 'S' or 'P', then a name
		m.skip(1)
		m.str()
	case 'E': // portal, row limit
		m.str()
		m.skip(4)
	case 'S', 'H', 'X', 'c':
	case 'd':
		m.skip(len(b))
	case 'F': // function oid, argument formats, arguments, result format
		m.skip(4)
		m.skip(2 * m.u16())
		m.values()
		m.skip(2)
	case 'p':
		switch step {
		case authSASLInitial: // mechanism, then data whose length is -1 or the rest
			m.str()
			if n := m.i32(); n != -1 && n != len(m.b) {
				m.bad = true
			}
			m.skip(len(m.b))
		case authSASLContinue:
			m.skip(len(b))
		}
	}
	return m.end(messageName(typ, step) + " message")
}

func messageName(typ byte, step authStep) string {
	switch typ {
	case 'Q':
		return "Query"
	case 'P':
		return "Parse"
	case 'B':
		return "Bind"
	case 'D':
		return "Describe"
	case 'E':
		return "Execute"
	case 'C':
		return "Close"
	case 'S':
		return "Sync"
	case 'H':
		return "Flush"
	case 'X':
		return "Terminate"
	case 'd':
		return "CopyData"
	case 'c':
		return "CopyDone"
	case 'f':
		return "CopyFail"
	case 'F':
		return "FunctionCall"
	case 'p':
		if step == authSASLInitial {
			return "SASLInitialResponse"
		}
		return "SASLResponse"
	}
	return fmt.Sprintf("%q", typ)
}

// body walks a message body. A read past the end, or a field that cannot
// be, marks it bad; end reports that, or bytes left over.
type body struct {
	b   []byte
	bad bool
}

func (m *body) skip(n int) {
	if m.bad || n < 0 || n > len(m.b) {
		m.bad = true
		return
	}
	m.b = m.b[n:]
}

// str reads a NUL-terminated string.
func (m *body) str() string {
	i := bytes.IndexByte(m.b, 0)
	if m.bad || i < 0 {
		m.bad = true
		return ""
	}
	s := string(m.b[:i])
	m.b = m.b[i+1:]
	return s
}

func (m *body) u16() int {
	if m.bad || len(m.b) < 2 {
		m.bad = true
		return 0
	}
	v := binary.BigEndian.Uint16(m.b)
	m.b = m.b[2:]
	return int(v)
}

func (m *body) i32() int {
	if m.bad || len(m.b) < 4 {
		m.bad = true
		return 0
	}
	v := int32(binary.BigEndian.Uint32(m.b))
	m.b = m.b[4:]
	return int(v)
}

// values reads a count, then that many length-prefixed values (length -1
// is NULL).
func (m *body) values() {
	for range m.u16() {
		n := m.i32()
		if n < -1 {
			m.bad = true
		}
		if n > 0 {
			m.skip(n)
		}
		if m.bad {
			return
		}
	}
}

func (m *body) end(what string) error {
	if m.bad {
		return protocolErrorf("invalid %s: body too short or malformed", what)
	}
	if len(m.b) > 0 {
		return protocolErrorf("invalid %s: %d bytes left over", what, len(m.b))
	}
	return nil
}

// unexpectedEOF makes the end of the stream inside a message an
// io.ErrUnexpectedEOF, as pgproto3 does: the client went away mid-message.
func unexpectedEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
