package format

import (
	"bytes"

	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// csvDecoder reads one record as one CSV line (RFC 4180 quoting), fields
// in the order of the data columns. An empty unquoted field is NULL; a
// quoted empty field is the empty string. Fields are parsed from the
// record's bytes in place; only the text a row keeps is copied.
// One goroutine at a time: it keeps scratch buffers.
type csvDecoder struct {
	cols []types.Column
	data []int
	meta []metaCol
	// skip marks data fields (by field number) no query uses: they are
	// split off but not parsed.
	skip []bool
	// quoted holds a quoted field's text, its quotes undoubled.
	quoted []byte
	text   textChunks
}

func newCSVDecoder(cols []types.Column, mask []bool) (*csvDecoder, error) {
	data, meta, err := splitColumns(cols)
	if err != nil {
		return nil, err
	}
	d := &csvDecoder{cols: cols, data: data, meta: neededMeta(meta, mask)}
	if mask != nil {
		d.skip = make([]bool, len(data))
		for f, i := range data {
			d.skip[f] = !needed(mask, i)
		}
	}
	return d, nil
}

func (d *csvDecoder) Decode(data []byte, meta *Meta, dst types.Row) (types.Row, error) {
	row := newRow(dst, len(d.cols))
	s := bytes.TrimRight(data, "\r\n")
	field := 0
	for i := 0; ; field++ {
		var text []byte
		quoted := false
		if i < len(s) && s[i] == '"' {
			quoted = true
			b := d.quoted[:0]
			j := i + 1
			closed := false
			for j < len(s) {
				k := bytes.IndexByte(s[j:], '"')
				if k < 0 {
					break
				}
				b = append(b, s[j:j+k]...)
				j += k
				if j+1 < len(s) && s[j+1] == '"' {
					b = append(b, '"')
					j += 2
					continue
				}
				closed = true
				j++
				break
			}
			d.quoted = b
			if !closed {
				return nil, decodeErr(sqlerr.InvalidTextRepresentation, "csv field %d: unterminated quote", field+1)
			}
			if j < len(s) && s[j] != ',' {
				return nil, decodeErr(sqlerr.InvalidTextRepresentation, "csv field %d: text after closing quote", field+1)
			}
			text, i = b, j
		} else {
			j := bytes.IndexByte(s[i:], ',')
			if j < 0 {
				j = len(s) - i
			}
			text, i = s[i:i+j], i+j
		}
		if field < len(d.data) && (d.skip == nil || !d.skip[field]) && (len(text) > 0 || quoted) {
			col := &d.cols[d.data[field]]
			if !shortText(col.Type, text, &row[d.data[field]]) {
				v, err := types.ParseText(col.Type, d.textFor(col.Type.Kind, text))
				if err != nil {
					return nil, sqlerr.Wrap(err, sqlerr.InvalidTextRepresentation, "decode: csv column "+col.Name)
				}
				row[d.data[field]] = v
			}
		}
		if i >= len(s) {
			break
		}
		i++ // the comma
	}
	if field+1 != len(d.data) {
		return nil, decodeErr(sqlerr.InvalidTextRepresentation, "csv record has %d fields, want %d", field+1, len(d.data))
	}
	fillMeta(row, d.meta, meta)
	return row, nil
}

// shortText converts a field that is a plain short number (scanShortNum)
// for an integer or DOUBLE column without types.ParseText, to the value
// ParseText gives; it reports false for anything else.
func shortText(t types.Type, text []byte, dst *types.Value) bool {
	if t.Kind != types.Int && (t.Kind != types.Float || t.Width == 32) {
		return false
	}
	n, k := scanShortNum(text)
	if k == 0 || k != len(text) {
		return false
	}
	if t.Kind == types.Float {
		f, ok := n.float()
		if ok {
			*dst = types.NewFloat(f)
		}
		return ok
	}
	bits := t.Width // as types.ParseText reads integers
	if bits != 8 && bits != 16 && bits != 32 {
		bits = 64
	}
	i, ok := n.intOf(bits)
	if ok {
		*dst = types.NewInt(i)
	}
	return ok
}

// textFor is a field's text for types.ParseText: the bytes in place for
// the types whose values hold no text (their parsers keep nothing of
// their input; their errors format it into a message), a copy for the
// others.
func (d *csvDecoder) textFor(k types.Kind, b []byte) string {
	switch k {
	case types.Bool, types.Int, types.Float, types.Date, types.Timestamp, types.Interval:
		return view(b)
	}
	return d.text.keep(b)
}
