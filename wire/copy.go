package wire

import (
	"encoding/binary"
	"fmt"

	"github.com/jackc/pgproto3/v2"
	streamsql "github.com/streamsql/streamsql"
	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// COPY ... TO STDOUT: the rows of a COPY statement (COPY (SELECT ...) or
// COPY (SUBSCRIBE ...) TO STDOUT) go out as CopyOutResponse, one CopyData
// per row in COPY's text or CSV format, then CopyDone and CommandComplete
// "COPY n". A COPY whose statement never ends by itself (SUBSCRIBE) ends
// when the client cancels it: that is its normal end, not an error, so
// the client gets CopyDone and "COPY n" for the rows it was sent. Any
// other error ends the copy with an ErrorResponse, which the protocol
// allows in copy-out.

// CopyRows is implemented by Rows that may be the result of a COPY TO
// STDOUT.
type CopyRows interface {
	Rows
	// CopyOut reports whether the rows are sent as COPY data.
	CopyOut() bool
}

// CopyFormatRows is implemented by COPY rows that say how they are
// written; others are written in the text format with its defaults.
type CopyFormatRows interface {
	CopyRows
	CopyFormat() streamsql.CopyFormat
}

// isCopyOut reports whether rows are to be sent as COPY data.
func isCopyOut(rows Rows) bool {
	cr, ok := rows.(CopyRows)
	return ok && cr.CopyOut()
}

// copyFormatOf returns how rows are written as COPY data.
func copyFormatOf(rows Rows) streamsql.CopyFormat {
	if fr, ok := rows.(CopyFormatRows); ok {
		return fr.CopyFormat()
	}
	return streamsql.CopyFormat{Delimiter: '\t', Null: `\N`}
}

// copyOut streams a portal's rows as COPY data.
func (c *conn) copyOut(p *portal) error {
	cols := p.rows.Columns()
	codes := make([]uint16, len(cols))
	c.send(&pgproto3.CopyOutResponse{OverallFormat: 0, ColumnFormatCodes: codes})
	encs := newEncoders(cols, nil)
	f := copyFormatOf(p.rows)
	ready, _ := p.rows.(ReadyRows)
	p.done = true
	if f.Header {
		names := make(types.Row, len(cols))
		for i, col := range cols {
			names[i] = types.NewString(col.Name)
		}
		if err := c.writeCopyRow(names, nil, &f); err != nil {
			return err
		}
	}
	for {
		if ready != nil && c.w.Buffered() > 0 && !ready.Ready() {
			if err := c.w.Flush(); err != nil {
				return connError{fmt.Errorf("%w: %w", errClientGone, err)}
			}
		}
		if !p.rows.Next() {
			break
		}
		if err := c.writeCopyRow(p.rows.Row(), encs, &f); err != nil {
			return err
		}
	}
	c.sendWarnings(p)
	if err := p.rows.Err(); err != nil {
		// Only a cancel request ends a copy normally: a statement
		// timeout is an error, as it is for any statement.
		cancelled := sqlerr.CodeOf(err) == sqlerr.QueryCanceled && c.wasCancelled() &&
			c.ctx.Err() == nil && !c.peerGone.Load()
		if !cancelled {
			return err
		}
	}
	p.tag = p.rows.Tag()
	c.send(&pgproto3.CopyDone{})
	c.send(&pgproto3.CommandComplete{CommandTag: []byte(p.tag)})
	return nil
}

// writeCopyRow writes one CopyData message: the row's values in text
// format separated by the delimiter, nulls as f.Null, escaped or quoted
// as f says, ending in a newline.
func (c *conn) writeCopyRow(row types.Row, encs []colEncoder, f *streamsql.CopyFormat) error {
	b := append(c.row[:0], 'd', 0, 0, 0, 0)
	var err error
	for i, v := range row {
		if i > 0 {
			b = append(b, f.Delimiter)
		}
		if v.IsNull() {
			b = append(b, f.Null...)
			continue
		}
		enc := colEncoder{oid: oidText}
		if i < len(encs) {
			enc = encs[i]
		}
		start := len(b)
		if b, err = enc.appendValue(b, v); err != nil {
			return sqlerr.Wrap(err, sqlerr.Internal, fmt.Sprintf("encode column %d", i+1))
		}
		if f.CSV {
			force := i < len(f.ForceQuote) && f.ForceQuote[i]
			b = c.quoteCSV(b, start, f, force, len(row) == 1)
		} else {
			b = escapeCopyText(b, start, f.Delimiter)
		}
	}
	b = append(b, '\n')
	binary.BigEndian.PutUint32(b[1:], uint32(len(b)-1))
	c.row = b
	if _, err := c.w.Write(b); err != nil {
		return connError{fmt.Errorf("%w: %w", errClientGone, err)}
	}
	return nil
}

// quoteCSV quotes the value b[start:] as Postgres's CSV output does: when
// forced, when it holds the delimiter, the quote or a line break, when it
// reads as the null string (so that it does not come back as NULL), or
// when it is a lone \. (the old end-of-data marker). Inside quotes, the
// quote and escape characters are preceded by the escape character.
func (c *conn) quoteCSV(b []byte, start int, f *streamsql.CopyFormat, force, single bool) []byte {
	val := b[start:]
	quote := force || string(val) == f.Null || single && string(val) == `\.`
	for _, ch := range val {
		if quote {
			break
		}
		quote = ch == f.Delimiter || ch == f.Quote || ch == '\n' || ch == '\r'
	}
	if !quote {
		return b
	}
	c.esc = append(c.esc[:0], val...)
	b = append(b[:start], f.Quote)
	for _, ch := range c.esc {
		if ch == f.Quote || ch == f.Escape {
			b = append(b, f.Escape)
		}
		b = append(b, ch)
	}
	return append(b, f.Quote)
}

// escapeCopyText escapes b[start:] in place for COPY's text format:
// backslash and the characters that would end a field (the delimiter) or
// a row.
func escapeCopyText(b []byte, start int, delim byte) []byte {
	n := 0
	for _, ch := range b[start:] {
		if copyEscape(ch, delim) != 0 {
			n++
		}
	}
	if n == 0 {
		return b
	}
	end := len(b)
	b = append(b, make([]byte, n)...)
	// Walk backwards so that nothing is overwritten before it is read.
	w := len(b)
	for r := end - 1; r >= start; r-- {
		ch := b[r]
		if e := copyEscape(ch, delim); e != 0 {
			w -= 2
			b[w], b[w+1] = '\\', e
		} else {
			w--
			b[w] = ch
		}
	}
	return b
}

// copyEscape returns the letter after the backslash for ch, or 0 when ch
// is written as it is. A delimiter that has no letter of its own is
// written after a backslash.
func copyEscape(ch, delim byte) byte {
	switch ch {
	case '\\':
		return '\\'
	case '\n':
		return 'n'
	case '\r':
		return 'r'
	case '\t':
		return 't'
	case '\b':
		return 'b'
	case '\f':
		return 'f'
	case '\v':
		return 'v'
	case delim:
		return delim
	}
	return 0
}
