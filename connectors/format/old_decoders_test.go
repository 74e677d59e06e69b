package format

// The JSON and CSV decoders as they were before they scanned bytes in
// place (commit 83f5dd1): kept only as the oracles of the differential
// tests.

import (
	"encoding/base64"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// oldJSONNode is one object level of the column paths: its keys lead to a
// column, to a deeper object, or both.
type oldJSONNode struct {
	keys []oldJSONKey
}

type oldJSONKey struct {
	name string // as declared; matched with ASCII case folding
	col  int    // column index, or -1
	sub  *oldJSONNode
}

func (n *oldJSONNode) child(name string) *oldJSONKey {
	for i := range n.keys {
		if strings.EqualFold(n.keys[i].name, name) {
			return &n.keys[i]
		}
	}
	n.keys = append(n.keys, oldJSONKey{name: name, col: -1})
	return &n.keys[len(n.keys)-1]
}

func (n *oldJSONNode) find(key string) *oldJSONKey {
	for i := range n.keys {
		if strings.EqualFold(n.keys[i].name, key) {
			return &n.keys[i]
		}
	}
	return nil
}

type oldJSONDecoder struct {
	cols []types.Column
	root *oldJSONNode
	meta []metaCol
}

// oldUnhook sets to -1 the column of every key whose column is not needed.
func oldUnhook(n *oldJSONNode, mask []bool) {
	for i := range n.keys {
		k := &n.keys[i]
		if k.col >= 0 && !needed(mask, k.col) {
			k.col = -1
		}
		if k.sub != nil {
			oldUnhook(k.sub, mask)
		}
	}
}

func newOldJSONDecoder(cols []types.Column, paths map[string]string, mask []bool) (*oldJSONDecoder, error) {
	data, meta, err := splitColumns(cols)
	if err != nil {
		return nil, err
	}
	d := &oldJSONDecoder{cols: cols, root: &oldJSONNode{}, meta: meta}
	used := map[string]bool{}
	for _, i := range data {
		segs := []string{cols[i].Name}
		for name, p := range paths {
			if strings.EqualFold(name, cols[i].Name) {
				if segs, err = parsePath(p); err != nil {
					return nil, err
				}
				used[name] = true
			}
		}
		n := d.root
		for _, s := range segs[:len(segs)-1] {
			k := n.child(s)
			if k.sub == nil {
				k.sub = &oldJSONNode{}
			}
			n = k.sub
		}
		k := n.child(segs[len(segs)-1])
		if k.col >= 0 {
			return nil, sqlerr.Newf(sqlerr.DuplicateColumn, "columns %s and %s read the same JSON field", cols[k.col].Name, cols[i].Name)
		}
		k.col = i
	}
	for name := range paths {
		if !used[name] {
			return nil, sqlerr.Newf(sqlerr.UndefinedColumn, "JSON path given for unknown column %s", name)
		}
	}
	// Unneeded columns are unhooked only now, after the whole schema was
	// checked: their fields are then skipped like fields of no column.
	if mask != nil {
		oldUnhook(d.root, mask)
		d.meta = neededMeta(d.meta, mask)
	}
	return d, nil
}

func (d *oldJSONDecoder) Decode(data []byte, meta *Meta, dst types.Row) (types.Row, error) {
	row := newRow(dst, len(d.cols))
	sc := oldScanner{s: string(data)}
	sc.ws()
	if sc.i >= len(sc.s) || sc.s[sc.i] != '{' {
		return nil, sc.syntax("a JSON object")
	}
	if err := d.object(&sc, d.root, row); err != nil {
		return nil, err
	}
	sc.ws()
	if sc.i != len(sc.s) {
		return nil, sc.syntax("end of input after the object")
	}
	fillMeta(row, d.meta, meta)
	return row, nil
}

// object reads an object at sc (on its '{') into row along node.
func (d *oldJSONDecoder) object(sc *oldScanner, node *oldJSONNode, row types.Row) error {
	sc.i++ // '{'
	sc.ws()
	if sc.peek() == '}' {
		sc.i++
		return nil
	}
	for {
		sc.ws()
		if sc.peek() != '"' {
			return sc.syntax("a field name")
		}
		key, err := sc.str()
		if err != nil {
			return err
		}
		sc.ws()
		if sc.peek() != ':' {
			return sc.syntax("':'")
		}
		sc.i++
		sc.ws()
		k := node.find(key)
		switch {
		case k == nil:
			if err := sc.skip(); err != nil {
				return err
			}
		case k.sub != nil && sc.peek() == '{':
			start := sc.i
			if k.col >= 0 {
				if err := d.value(sc, k.col, row); err != nil {
					return err
				}
				sc.i = start
			}
			if err := d.object(sc, k.sub, row); err != nil {
				return err
			}
		case k.col >= 0:
			if err := d.value(sc, k.col, row); err != nil {
				return err
			}
		default: // a path goes through here, but this value is not an object
			if err := sc.skip(); err != nil {
				return err
			}
		}
		sc.ws()
		switch sc.peek() {
		case ',':
			sc.i++
		case '}':
			sc.i++
			return nil
		default:
			return sc.syntax("',' or '}'")
		}
	}
}

// value reads one value at sc into row[col], converting to the column type.
func (d *oldJSONDecoder) value(sc *oldScanner, col int, row types.Row) error {
	c := d.cols[col]
	start := sc.i
	switch ch := sc.peek(); {
	case ch == 'n':
		if !sc.lit("null") {
			return sc.syntax("null")
		}
		row[col] = types.Null
		return nil
	case c.Type.Kind == types.JSON:
		if err := sc.skip(); err != nil {
			return err
		}
		row[col] = types.NewJSON(sc.s[start:sc.i])
		return nil
	case ch == '"':
		s, err := sc.str()
		if err != nil {
			return err
		}
		v, err := oldFromString(c, s)
		if err != nil {
			return err
		}
		row[col] = v
		return nil
	case ch == 't' || ch == 'f':
		b := ch == 't'
		if !(b && sc.lit("true") || !b && sc.lit("false")) {
			return sc.syntax("true or false")
		}
		if c.Type.Kind != types.Bool {
			return oldWrongType(c, "a boolean")
		}
		row[col] = types.NewBool(b)
		return nil
	case ch == '-' || (ch >= '0' && ch <= '9'):
		num, isInt := sc.number()
		v, err := oldFromNumber(c, num, isInt)
		if err != nil {
			return err
		}
		row[col] = v
		return nil
	case ch == '{' || ch == '[':
		return oldWrongType(c, "an object or array")
	}
	return sc.syntax("a value")
}

// oldWrongType is a record's field of the wrong JSON type: bad data, so a
// data exception (22P02), not the schema's 42804.
func oldWrongType(c types.Column, got string) error {
	return decodeErr(sqlerr.InvalidTextRepresentation, "column %s is %s, the JSON field is %s", c.Name, c.Type, got)
}

func oldFromString(c types.Column, s string) (types.Value, error) {
	switch c.Type.Kind {
	case types.String:
		if c.Type.Length > 0 && len(s) > c.Type.Length && utf8.RuneCountInString(s) > c.Type.Length {
			return types.Null, decodeErr(sqlerr.StringDataRightTruncation, "column %s: value longer than %d characters", c.Name, c.Type.Length)
		}
		return types.NewString(s), nil
	case types.Timestamp:
		if us, ok := parseRFC3339Micros(s); ok {
			return types.NewTimestamp(us), nil
		}
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return types.NewTimestampFromTime(t), nil
		}
	case types.Bytes:
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return types.Null, decodeErr(sqlerr.InvalidTextRepresentation, "column %s: BYTES in JSON are base64: %v", c.Name, err)
		}
		return types.NewBytes(b), nil
	case types.Bool, types.Int, types.Float:
		return types.Null, oldWrongType(c, "a string")
	}
	// DATE, DECIMAL, INTERVAL and timestamps in other spellings: the
	// dialect's text forms.
	v, err := types.ParseText(c.Type, s)
	if err != nil {
		return types.Null, sqlerr.Wrap(err, sqlerr.InvalidTextRepresentation, "decode: column "+c.Name)
	}
	return v, nil
}

func oldFromNumber(c types.Column, num string, isInt bool) (types.Value, error) {
	switch c.Type.Kind {
	case types.Int:
		if !isInt {
			return types.Null, oldWrongType(c, "a number with a fraction")
		}
		bits := c.Type.Width
		if bits == 0 {
			bits = 64
		}
		i, err := strconv.ParseInt(num, 10, bits)
		if err != nil {
			return types.Null, decodeErr(sqlerr.NumericValueOutOfRange, "column %s: %s out of range for %s", c.Name, num, c.Type)
		}
		return types.NewInt(i), nil
	case types.Float:
		f, err := strconv.ParseFloat(num, 64)
		if err != nil {
			return types.Null, decodeErr(sqlerr.NumericValueOutOfRange, "column %s: %s out of range", c.Name, num)
		}
		return types.NewFloat(f), nil
	case types.Decimal:
		v, err := types.ParseText(c.Type, num)
		if err != nil {
			return types.Null, sqlerr.Wrap(err, sqlerr.InvalidTextRepresentation, "decode: column "+c.Name)
		}
		return v, nil
	case types.Timestamp:
		// Epoch milliseconds.
		if isInt {
			ms, err := strconv.ParseInt(num, 10, 64)
			if err == nil && ms > math.MinInt64/1000 && ms < math.MaxInt64/1000 {
				return types.NewTimestamp(ms * 1000), nil
			}
		}
		f, err := strconv.ParseFloat(num, 64)
		if err != nil || math.Abs(f) > math.MaxInt64/1000 {
			return types.Null, decodeErr(sqlerr.DatetimeFieldOverflow, "column %s: %s is not epoch milliseconds", c.Name, num)
		}
		return types.NewTimestamp(int64(math.Round(f * 1000))), nil
	}
	return types.Null, oldWrongType(c, "a number")
}

// oldScanner walks JSON text.
type oldScanner struct {
	s string
	i int
}

func (sc *oldScanner) peek() byte {
	if sc.i < len(sc.s) {
		return sc.s[sc.i]
	}
	return 0
}

func (sc *oldScanner) ws() {
	for sc.i < len(sc.s) {
		switch sc.s[sc.i] {
		case ' ', '\t', '\n', '\r':
			sc.i++
		default:
			return
		}
	}
}

func (sc *oldScanner) syntax(want string) error {
	if sc.i >= len(sc.s) {
		return decodeErr(sqlerr.InvalidJSONText, "malformed JSON: want %s at offset %d, found end of input", want, sc.i)
	}
	return decodeErr(sqlerr.InvalidJSONText, "malformed JSON: want %s at offset %d, found %q", want, sc.i, sc.s[sc.i])
}

func (sc *oldScanner) lit(w string) bool {
	if strings.HasPrefix(sc.s[sc.i:], w) {
		sc.i += len(w)
		return true
	}
	return false
}

// number scans a JSON number and reports whether it is an integer.
func (sc *oldScanner) number() (string, bool) {
	start := sc.i
	isInt := true
	for sc.i < len(sc.s) {
		switch c := sc.s[sc.i]; {
		case c >= '0' && c <= '9', c == '-', c == '+':
		case c == '.', c == 'e', c == 'E':
			isInt = false
		default:
			return sc.s[start:sc.i], isInt
		}
		sc.i++
	}
	return sc.s[start:sc.i], isInt
}

// str reads a string at sc (on its '"'): a substring of the input when it
// has no escapes.
func (sc *oldScanner) str() (string, error) {
	sc.i++
	start := sc.i
	for sc.i < len(sc.s) {
		switch c := sc.s[sc.i]; {
		case c == '"':
			s := sc.s[start:sc.i]
			sc.i++
			return s, nil
		case c == '\\':
			return sc.strEscaped(start)
		case c < 0x20:
			return "", sc.syntax("no control character in a string")
		}
		sc.i++
	}
	return "", sc.syntax("'\"' closing the string")
}

func (sc *oldScanner) strEscaped(start int) (string, error) {
	b := []byte(sc.s[start:sc.i])
	for sc.i < len(sc.s) {
		c := sc.s[sc.i]
		switch {
		case c == '"':
			sc.i++
			return string(b), nil
		case c < 0x20:
			return "", sc.syntax("no control character in a string")
		case c != '\\':
			b = append(b, c)
			sc.i++
			continue
		}
		if sc.i+1 >= len(sc.s) {
			break
		}
		e := sc.s[sc.i+1]
		sc.i += 2
		switch e {
		case '"', '\\', '/':
			b = append(b, e)
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r, ok := sc.hex4()
			if !ok {
				return "", sc.syntax("four hex digits after \\u")
			}
			if utf16.IsSurrogate(r) {
				r2 := rune(utf8.RuneError)
				if strings.HasPrefix(sc.s[sc.i:], "\\u") {
					sc.i += 2
					if lo, ok := sc.hex4(); ok {
						r2 = utf16.DecodeRune(r, lo)
					}
				}
				r = r2
			}
			b = utf8.AppendRune(b, r)
		default:
			sc.i -= 2
			return "", sc.syntax("a valid escape")
		}
	}
	return "", sc.syntax("'\"' closing the string")
}

func (sc *oldScanner) hex4() (rune, bool) {
	if sc.i+4 > len(sc.s) {
		return 0, false
	}
	v, err := strconv.ParseUint(sc.s[sc.i:sc.i+4], 16, 32)
	if err != nil {
		return 0, false
	}
	sc.i += 4
	return rune(v), true
}

// skip passes over one value of any kind, checking its syntax.
func (sc *oldScanner) skip() error {
	switch c := sc.peek(); {
	case c == '"':
		_, err := sc.str()
		return err
	case c == '{' || c == '[':
		closer := byte('}')
		if c == '[' {
			closer = ']'
		}
		sc.i++
		sc.ws()
		if sc.peek() == closer {
			sc.i++
			return nil
		}
		for {
			sc.ws()
			if c == '{' {
				if sc.peek() != '"' {
					return sc.syntax("a field name")
				}
				if _, err := sc.str(); err != nil {
					return err
				}
				sc.ws()
				if sc.peek() != ':' {
					return sc.syntax("':'")
				}
				sc.i++
				sc.ws()
			}
			if err := sc.skip(); err != nil {
				return err
			}
			sc.ws()
			switch sc.peek() {
			case ',':
				sc.i++
			case closer:
				sc.i++
				return nil
			default:
				return sc.syntax("',' or a closing bracket")
			}
		}
	case c == 't':
		if sc.lit("true") {
			return nil
		}
	case c == 'f':
		if sc.lit("false") {
			return nil
		}
	case c == 'n':
		if sc.lit("null") {
			return nil
		}
	case c == '-' || (c >= '0' && c <= '9'):
		sc.number()
		return nil
	}
	return sc.syntax("a value")
}

// oldCSVDecoder reads one record as one CSV line (RFC 4180 quoting), fields
// in the order of the data columns. An empty unquoted field is NULL; a
// quoted empty field is the empty string.
type oldCSVDecoder struct {
	cols []types.Column
	data []int
	meta []metaCol
	// skip marks data fields (by field number) no query uses: they are
	// split off but not parsed.
	skip []bool
}

func newOldCSVDecoder(cols []types.Column, mask []bool) (*oldCSVDecoder, error) {
	data, meta, err := splitColumns(cols)
	if err != nil {
		return nil, err
	}
	d := &oldCSVDecoder{cols: cols, data: data, meta: neededMeta(meta, mask)}
	if mask != nil {
		d.skip = make([]bool, len(data))
		for f, i := range data {
			d.skip[f] = !needed(mask, i)
		}
	}
	return d, nil
}

func (d *oldCSVDecoder) Decode(data []byte, meta *Meta, dst types.Row) (types.Row, error) {
	row := newRow(dst, len(d.cols))
	s := strings.TrimRight(string(data), "\r\n")
	field := 0
	for i := 0; ; field++ {
		var text string
		quoted := false
		if i < len(s) && s[i] == '"' {
			quoted = true
			var b strings.Builder
			j := i + 1
			closed := false
			for j < len(s) {
				if s[j] == '"' {
					if j+1 < len(s) && s[j+1] == '"' {
						b.WriteByte('"')
						j += 2
						continue
					}
					closed = true
					j++
					break
				}
				b.WriteByte(s[j])
				j++
			}
			if !closed {
				return nil, decodeErr(sqlerr.InvalidTextRepresentation, "csv field %d: unterminated quote", field+1)
			}
			if j < len(s) && s[j] != ',' {
				return nil, decodeErr(sqlerr.InvalidTextRepresentation, "csv field %d: text after closing quote", field+1)
			}
			text, i = b.String(), j
		} else {
			j := strings.IndexByte(s[i:], ',')
			if j < 0 {
				j = len(s) - i
			}
			text, i = s[i:i+j], i+j
		}
		if field < len(d.data) && (d.skip == nil || !d.skip[field]) {
			col := d.cols[d.data[field]]
			if text != "" || quoted {
				v, err := types.ParseText(col.Type, text)
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
