package wire

import (
	"github.com/jackc/pgproto3/v2"
	streamsql "github.com/streamsql/streamsql"
	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// The extended query protocol: Parse, Bind, Describe, Execute, Close. Each
// handler returns a SQL error for the client or a connError.

func (c *conn) parse(m *pgproto3.Parse) error {
	if m.Name != "" {
		if _, ok := c.stmts[m.Name]; ok {
			return sqlerr.Newf(sqlerr.DuplicatePreparedStatement, "prepared statement %q already exists", m.Name)
		}
	}
	ps := &prepared{}
	sts, err := c.prepare(m.Query)
	if err != nil {
		return err
	}
	switch len(sts) {
	case 0:
	case 1:
		ps.st = sts[0]
	default:
		return sqlerr.Newf(sqlerr.SyntaxError, "cannot insert multiple commands into a prepared statement")
	}
	if ps.st != nil {
		n := ps.st.NumParams()
		inferred := ps.st.ParamTypes()
		ps.oids = make([]uint32, n)
		ps.types = make([]types.Type, n)
		ps.need = make([]types.Type, n)
		for i := range n {
			if i < len(inferred) {
				ps.need[i] = inferred[i]
			}
			// The client's declared type wins, then ours, then text.
			switch {
			case i < len(m.ParameterOIDs) && m.ParameterOIDs[i] != 0:
				ps.oids[i] = m.ParameterOIDs[i]
				ps.types[i], _ = typeOfOID(m.ParameterOIDs[i])
			case i < len(inferred) && inferred[i].Kind != types.Unknown:
				ps.types[i] = inferred[i]
				ps.oids[i] = describeType(inferred[i]).oid
			default:
				ps.types[i] = types.TypeText
				ps.oids[i] = oidText
			}
		}
	}
	c.stmts[m.Name] = ps
	c.send(&pgproto3.ParseComplete{})
	return nil
}

func (c *conn) lookupStatement(name string) (*prepared, error) {
	ps, ok := c.stmts[name]
	if !ok {
		if name == "" {
			return nil, sqlerr.Newf(sqlerr.InvalidSQLStatementName, "unnamed prepared statement does not exist")
		}
		return nil, sqlerr.Newf(sqlerr.InvalidSQLStatementName, "prepared statement %q does not exist", name)
	}
	return ps, nil
}

func (c *conn) bind(m *pgproto3.Bind) error {
	ps, err := c.lookupStatement(m.PreparedStatement)
	if err != nil {
		return err
	}
	if m.DestinationPortal != "" {
		if _, ok := c.portals[m.DestinationPortal]; ok {
			return sqlerr.Newf(sqlerr.DuplicateCursor, "portal %q already exists", m.DestinationPortal)
		}
	}
	n := len(ps.oids)
	if len(m.Parameters) != n {
		return sqlerr.Newf(sqlerr.ProtocolViolation,
			"bind message supplies %d parameters, but prepared statement %q requires %d",
			len(m.Parameters), m.PreparedStatement, n)
	}
	if f := len(m.ParameterFormatCodes); f > 1 && f != n {
		return sqlerr.Newf(sqlerr.ProtocolViolation, "bind message has %d parameter formats but %d parameters", f, n)
	}
	// Decoding copies: the message's bytes are only valid until the next
	// Receive.
	params := make([]types.Value, n)
	for i, raw := range m.Parameters {
		v, err := decodeParam(ps.oids[i], ps.types[i], formatOf(m.ParameterFormatCodes, i), raw, i+1)
		if err != nil {
			return err
		}
		if v, err = conformParam(v, ps.oids[i], ps.need[i], i+1); err != nil {
			return err
		}
		params[i] = v
	}
	var ncols int
	if ps.st != nil {
		ncols = len(ps.st.Columns())
	}
	if f := len(m.ResultFormatCodes); f > 1 && f != ncols {
		return sqlerr.Newf(sqlerr.ProtocolViolation, "bind message has %d result formats but query has %d columns", f, ncols)
	}
	for _, f := range m.ResultFormatCodes {
		if f != 0 && f != 1 {
			return sqlerr.Newf(sqlerr.ProtocolViolation, "unsupported format code: %d", f)
		}
	}
	if old := c.portals[m.DestinationPortal]; old != nil {
		old.close()
	}
	c.portals[m.DestinationPortal] = &portal{
		st:      ps.st,
		params:  params,
		formats: append([]int16(nil), m.ResultFormatCodes...),
	}
	c.send(&pgproto3.BindComplete{})
	return nil
}

func (c *conn) describe(m *pgproto3.Describe) error {
	switch m.ObjectType {
	case 'S':
		ps, err := c.lookupStatement(m.Name)
		if err != nil {
			return err
		}
		c.send(&pgproto3.ParameterDescription{ParameterOIDs: ps.oids})
		c.describeColumns(ps.st, nil, nil)
	case 'P':
		p, err := c.lookupPortal(m.Name)
		if err != nil {
			return err
		}
		var cols []types.Column
		if p.rows != nil {
			cols = p.rows.Columns()
		}
		c.describeColumns(p.st, cols, p.formats)
	default:
		return sqlerr.Newf(sqlerr.ProtocolViolation, "invalid DESCRIBE message subtype %d", m.ObjectType)
	}
	return nil
}

// describeColumns sends RowDescription for a statement with rows, NoData
// for one without. cols overrides the statement's columns when known.
func (c *conn) describeColumns(st Statement, cols []types.Column, formats []int16) {
	if cols == nil && st != nil {
		cols = st.Columns()
	}
	if len(cols) == 0 {
		c.send(&pgproto3.NoData{})
		return
	}
	c.send(rowDescription(cols, formats))
}

func (c *conn) lookupPortal(name string) (*portal, error) {
	p, ok := c.portals[name]
	if !ok {
		return nil, sqlerr.Newf(sqlerr.InvalidCursorName, "portal %q does not exist", name)
	}
	return p, nil
}

func (c *conn) execute(m *pgproto3.Execute) error {
	p, err := c.lookupPortal(m.Portal)
	if err != nil {
		return err
	}
	if p.st == nil {
		c.send(&pgproto3.EmptyQueryResponse{})
		return nil
	}
	if p.rows != nil && c.txStatus() == 'E' {
		// A portal suspended before the block failed is not resumed:
		// the session refuses everything but the block's end.
		return streamsql.ErrInFailedTransaction()
	}
	return c.run(p, int(m.MaxRows), false)
}

func (c *conn) closeMsg(m *pgproto3.Close) error {
	switch m.ObjectType {
	case 'S':
		delete(c.stmts, m.Name)
	case 'P':
		if p := c.portals[m.Name]; p != nil {
			p.close()
			delete(c.portals, m.Name)
		}
	default:
		return sqlerr.Newf(sqlerr.ProtocolViolation, "invalid CLOSE message subtype %d", m.ObjectType)
	}
	c.send(&pgproto3.CloseComplete{})
	return nil
}
