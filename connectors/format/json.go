package format

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

// The JSON decoder is a hand-rolled single-pass scanner over the record's
// bytes, compiled per schema into a tree of the keys that lead to columns.
// It never copies the record: numbers and timestamps are parsed from the
// bytes in place, and only the text a row keeps (TEXT, JSON, DECIMAL and
// rarer values) is copied, into a small chunk shared by the strings of
// many records, so a row of numbers costs no allocation and a row with
// short text costs a fraction of one. Keys are matched to columns
// case-insensitively without allocating. Fields that name no column are
// skipped without being decoded.

// jsonNode is one object level of the column paths: its keys lead to a
// column, to a deeper object, or both.
type jsonNode struct {
	keys []jsonKey
}

type jsonKey struct {
	name  string // as declared; matched with case folding
	lower string // name with ASCII letters lowered
	ascii bool   // name is all ASCII: matched byte by byte
	col   int    // column index, or -1
	sub   *jsonNode
}

func (n *jsonNode) child(name string) *jsonKey {
	for i := range n.keys {
		if strings.EqualFold(n.keys[i].name, name) {
			return &n.keys[i]
		}
	}
	n.keys = append(n.keys, jsonKey{name: name, lower: asciiLower(name), ascii: isASCII(name), col: -1})
	return &n.keys[len(n.keys)-1]
}

// find returns the key matching key (as strings.EqualFold would), or nil.
// An ASCII key is compared byte by byte with ASCII case folding; only a
// key or name with other bytes takes Unicode case folding (where, e.g.,
// the Kelvin sign matches k).
//
// Records mostly spell their fields as declared and in the same order, so
// the key after the last one matched (hint) is tried first, exactly.
func (n *jsonNode) find(key []byte, hint int) (*jsonKey, int) {
	if hint < len(n.keys) && n.keys[hint].name == string(key) {
		return &n.keys[hint], hint + 1
	}
	keyASCII := isASCIIBytes(key)
	for i := range n.keys {
		k := &n.keys[i]
		if k.ascii && keyASCII {
			if len(k.lower) == len(key) && lowerEq(k.lower, key) {
				return k, i + 1
			}
			continue
		}
		if strings.EqualFold(k.name, view(key)) {
			return k, i + 1
		}
	}
	return nil, hint
}

// lowerEq reports whether key, ASCII letters lowered, is lower; both ASCII
// and of equal length.
func lowerEq(lower string, key []byte) bool {
	for i, c := range key {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func isASCII(s string) bool { return isASCIIBytes([]byte(s)) }

func isASCIIBytes(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// jsonDecoder is not safe for concurrent use: it keeps scratch buffers.
type jsonDecoder struct {
	cols []types.Column
	root *jsonNode
	meta []metaCol
	text textChunks
	// sc scans the record being decoded; raw holds a BYTES column's
	// base64-decoded bytes until they are copied.
	sc  scanner
	raw []byte
}

// keep returns b as a string that outlives the record.
func (d *jsonDecoder) keep(b []byte) string { return d.text.keep(b) }

// unhook sets to -1 the column of every key whose column is not needed.
func unhook(n *jsonNode, mask []bool) {
	for i := range n.keys {
		k := &n.keys[i]
		if k.col >= 0 && !needed(mask, k.col) {
			k.col = -1
		}
		if k.sub != nil {
			unhook(k.sub, mask)
		}
	}
}

// parsePath splits "$.a.b" into ["a", "b"].
func parsePath(p string) ([]string, error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(p), "$.")
	if !ok || rest == "" {
		return nil, sqlerr.Newf(sqlerr.InvalidParameterValue, "JSON path %q: want $.field or $.a.b", p)
	}
	if strings.ContainsAny(rest, "[]*") {
		return nil, sqlerr.Newf(sqlerr.FeatureNotSupported, "JSON path %q: only object fields ($.a.b) are supported", p)
	}
	segs := strings.Split(rest, ".")
	for _, s := range segs {
		if s == "" {
			return nil, sqlerr.Newf(sqlerr.InvalidParameterValue, "JSON path %q has an empty field name", p)
		}
	}
	return segs, nil
}

func newJSONDecoder(cols []types.Column, paths map[string]string, mask []bool) (*jsonDecoder, error) {
	data, meta, err := splitColumns(cols)
	if err != nil {
		return nil, err
	}
	d := &jsonDecoder{cols: cols, root: &jsonNode{}, meta: meta}
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
				k.sub = &jsonNode{}
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
		unhook(d.root, mask)
		d.meta = neededMeta(d.meta, mask)
	}
	return d, nil
}

func (d *jsonDecoder) Decode(data []byte, meta *Meta, dst types.Row) (types.Row, error) {
	row := newRow(dst, len(d.cols))
	d.sc.s, d.sc.i = data, 0
	err := d.decode(row)
	d.sc.s = nil // the caller's buffer: not ours to keep alive
	if err != nil {
		return nil, err
	}
	fillMeta(row, d.meta, meta)
	return row, nil
}

func (d *jsonDecoder) decode(row types.Row) error {
	sc := &d.sc
	sc.ws()
	if sc.i >= len(sc.s) || sc.s[sc.i] != '{' {
		return sc.syntax("a JSON object")
	}
	if err := d.object(sc, d.root, row); err != nil {
		return err
	}
	sc.ws()
	if sc.i != len(sc.s) {
		return sc.syntax("end of input after the object")
	}
	return nil
}

// object reads an object at sc (on its '{') into row along node.
func (d *jsonDecoder) object(sc *scanner, node *jsonNode, row types.Row) error {
	sc.i++ // '{'
	sc.ws()
	if sc.peek() == '}' {
		sc.i++
		return nil
	}
	hint := 0
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
		var k *jsonKey
		k, hint = node.find(key, hint)
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
func (d *jsonDecoder) value(sc *scanner, col int, row types.Row) error {
	c := &d.cols[col]
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
		row[col] = types.NewJSON(d.keep(sc.s[start:sc.i]))
		return nil
	case ch == '"':
		s, err := sc.str()
		if err != nil {
			return err
		}
		return d.fromString(c, s, &row[col])
	case ch == 't' || ch == 'f':
		b := ch == 't'
		if !(b && sc.lit("true") || !b && sc.lit("false")) {
			return sc.syntax("true or false")
		}
		if c.Type.Kind != types.Bool {
			return wrongType(c, "a boolean")
		}
		row[col] = types.NewBool(b)
		return nil
	case ch == '-' || (ch >= '0' && ch <= '9'):
		if d.shortNumber(sc, c, &row[col]) {
			return nil
		}
		num, isInt := sc.number()
		return d.fromNumber(c, num, isInt, &row[col])
	case ch == '{' || ch == '[':
		return wrongType(c, "an object or array")
	}
	return sc.syntax("a value")
}

// wrongType is a record's field of the wrong JSON type: bad data, so a
// data exception (22P02), not the schema's 42804.
func wrongType(c *types.Column, got string) error {
	return decodeErr(sqlerr.InvalidTextRepresentation, "column %s is %s, the JSON field is %s", c.Name, c.Type, got)
}

// fromString converts a string's (unescaped) bytes, which are valid only
// during the call.
func (d *jsonDecoder) fromString(c *types.Column, s []byte, dst *types.Value) error {
	switch c.Type.Kind {
	case types.String:
		if c.Type.Length > 0 && len(s) > c.Type.Length && utf8.RuneCount(s) > c.Type.Length {
			return decodeErr(sqlerr.StringDataRightTruncation, "column %s: value longer than %d characters", c.Name, c.Type.Length)
		}
		*dst = types.NewString(d.keep(s))
		return nil
	case types.Timestamp:
		if us, ok := parseRFC3339Micros(view(s)); ok {
			*dst = types.NewTimestamp(us)
			return nil
		}
		if t, err := time.Parse(time.RFC3339Nano, string(s)); err == nil {
			*dst = types.NewTimestampFromTime(t)
			return nil
		}
	case types.Bytes:
		if n := base64.StdEncoding.DecodedLen(len(s)); cap(d.raw) < n {
			d.raw = make([]byte, n)
		} else {
			d.raw = d.raw[:n]
		}
		n, err := base64.StdEncoding.Decode(d.raw, s)
		if err != nil {
			return decodeErr(sqlerr.InvalidTextRepresentation, "column %s: BYTES in JSON are base64: %v", c.Name, err)
		}
		*dst = types.NewBytes(d.raw[:n])
		return nil
	case types.Bool, types.Int, types.Float:
		return wrongType(c, "a string")
	}
	// DATE, DECIMAL, INTERVAL and timestamps in other spellings: the
	// dialect's text forms (which may keep substrings of their input).
	v, err := types.ParseText(c.Type, d.keep(s))
	if err != nil {
		return sqlerr.Wrap(err, sqlerr.InvalidTextRepresentation, "decode: column "+c.Name)
	}
	*dst = v
	return nil
}

// fromNumber converts a number's bytes as scanned (a JSON number or a
// looser run of digits, signs, points and exponents, which strconv
// judges), valid only during the call.
func (d *jsonDecoder) fromNumber(c *types.Column, num []byte, isInt bool, dst *types.Value) error {
	switch c.Type.Kind {
	case types.Int:
		if !isInt {
			return wrongType(c, "a number with a fraction")
		}
		bits := c.Type.Width
		if bits == 0 {
			bits = 64
		}
		i, err := strconv.ParseInt(view(num), 10, bits)
		if err != nil {
			return decodeErr(sqlerr.NumericValueOutOfRange, "column %s: %s out of range for %s", c.Name, num, c.Type)
		}
		*dst = types.NewInt(i)
		return nil
	case types.Float:
		f, err := strconv.ParseFloat(view(num), 64)
		if err != nil {
			return decodeErr(sqlerr.NumericValueOutOfRange, "column %s: %s out of range", c.Name, num)
		}
		*dst = types.NewFloat(f)
		return nil
	case types.Decimal:
		v, err := types.ParseText(c.Type, d.keep(num))
		if err != nil {
			return sqlerr.Wrap(err, sqlerr.InvalidTextRepresentation, "decode: column "+c.Name)
		}
		*dst = v
		return nil
	case types.Timestamp:
		// Epoch milliseconds.
		if isInt {
			ms, err := strconv.ParseInt(view(num), 10, 64)
			if err == nil && ms > math.MinInt64/1000 && ms < math.MaxInt64/1000 {
				*dst = types.NewTimestamp(ms * 1000)
				return nil
			}
		}
		f, err := strconv.ParseFloat(view(num), 64)
		if err != nil || math.Abs(f) > math.MaxInt64/1000 {
			return decodeErr(sqlerr.DatetimeFieldOverflow, "column %s: %s is not epoch milliseconds", c.Name, num)
		}
		*dst = types.NewTimestamp(int64(math.Round(f * 1000)))
		return nil
	}
	return wrongType(c, "a number")
}

// shortNum is a number of the commonest shape: an optional '-', digits
// and an optional point followed by digits, at most 18 digits in all, so
// that m, its digits as an integer, is exact.
type shortNum struct {
	m      int64 // signed
	digits int
	frac   int // digits after the point
	neg    bool
}

// scanShortNum reads a shortNum at the start of s and returns how many
// bytes it took; 0 when s does not start with one.
func scanShortNum(s []byte) (shortNum, int) {
	var n shortNum
	i := 0
	if n.neg = len(s) > 0 && s[0] == '-'; n.neg {
		i++
	}
	start := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		n.m = n.m*10 + int64(s[i]-'0')
		i++
	}
	n.digits = i - start
	if i < len(s) && s[i] == '.' {
		i++
		fstart := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			n.m = n.m*10 + int64(s[i]-'0')
			i++
		}
		if n.frac = i - fstart; n.frac == 0 {
			return n, 0
		}
		n.digits += n.frac
	}
	if n.digits == 0 || n.digits > 18 {
		return n, 0
	}
	if n.neg {
		n.m = -n.m
	}
	return n, i
}

// intOf is n as an integer of bits, if it is one that fits.
func (n shortNum) intOf(bits int) (int64, bool) {
	if n.frac > 0 || bits < 64 && (n.m < -1<<(bits-1) || n.m > 1<<(bits-1)-1) {
		return 0, false
	}
	return n.m, true
}

// float is n as a float64 when it has at most 15 digits: then m and the
// power of ten are both exact in a float64, and the one division rounds
// correctly, to the value strconv.ParseFloat returns for the same text.
func (n shortNum) float() (float64, bool) {
	if n.digits > 15 {
		return 0, false
	}
	f := float64(n.m) / pow10[n.frac]
	if n.neg && n.m == 0 {
		f = math.Copysign(0, -1)
	}
	return f, true
}

// shortNumber converts, in the same pass that scans it, a shortNum for an
// INT, DOUBLE or TIMESTAMP column. It reports false, leaving sc where it
// was, for anything else, which fromNumber then reads with strconv.
func (d *jsonDecoder) shortNumber(sc *scanner, c *types.Column, dst *types.Value) bool {
	n, k := scanShortNum(sc.s[sc.i:])
	if k == 0 || sc.i+k < len(sc.s) && numberByte[sc.s[sc.i+k]] {
		return false
	}
	switch c.Type.Kind {
	case types.Int:
		bits := c.Type.Width
		if bits == 0 {
			bits = 64
		}
		i, ok := n.intOf(bits)
		if !ok {
			return false
		}
		*dst = types.NewInt(i)
	case types.Float:
		f, ok := n.float()
		if !ok {
			return false
		}
		*dst = types.NewFloat(f)
	case types.Timestamp:
		if n.frac > 0 {
			f, ok := n.float() // |f| < 10^15: in range
			if !ok {
				return false
			}
			*dst = types.NewTimestamp(int64(math.Round(f * 1000)))
		} else if ms, ok := n.intOf(64); ok && ms > math.MinInt64/1000 && ms < math.MaxInt64/1000 {
			*dst = types.NewTimestamp(ms * 1000)
		} else {
			return false
		}
	default:
		return false
	}
	sc.i += k
	return true
}

// numberByte marks the bytes sc.number takes as part of a number.
var numberByte = [256]bool{'0': true, '1': true, '2': true, '3': true, '4': true, '5': true, '6': true,
	'7': true, '8': true, '9': true, '-': true, '+': true, '.': true, 'e': true, 'E': true}

// pow10 are the powers of ten a float64 holds exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// scanner walks JSON text.
type scanner struct {
	s   []byte
	i   int
	esc []byte // unescaped bytes of the last escaped string
}

func (sc *scanner) peek() byte {
	if sc.i < len(sc.s) {
		return sc.s[sc.i]
	}
	return 0
}

func (sc *scanner) ws() {
	for sc.i < len(sc.s) {
		switch sc.s[sc.i] {
		case ' ', '\t', '\n', '\r':
			sc.i++
		default:
			return
		}
	}
}

func (sc *scanner) syntax(want string) error {
	if sc.i >= len(sc.s) {
		return decodeErr(sqlerr.InvalidJSONText, "malformed JSON: want %s at offset %d, found end of input", want, sc.i)
	}
	return decodeErr(sqlerr.InvalidJSONText, "malformed JSON: want %s at offset %d, found %q", want, sc.i, sc.s[sc.i])
}

func (sc *scanner) lit(w string) bool {
	if strings.HasPrefix(view(sc.s[sc.i:]), w) {
		sc.i += len(w)
		return true
	}
	return false
}

// number scans a JSON number and reports whether it is an integer.
func (sc *scanner) number() ([]byte, bool) {
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

// str reads a string at sc (on its '"'): a slice of the input when it
// has no escapes, else sc.esc. Either is valid until the next call.
func (sc *scanner) str() ([]byte, error) {
	sc.i++
	start := sc.i
	for sc.i < len(sc.s) && plainByte[sc.s[sc.i]] {
		sc.i++
	}
	for sc.i < len(sc.s) {
		switch c := sc.s[sc.i]; {
		case c == '"':
			s := sc.s[start:sc.i]
			sc.i++
			return s, nil
		case c == '\\':
			return sc.strEscaped(start)
		case c < 0x20:
			return nil, sc.syntax("no control character in a string")
		}
		sc.i++
	}
	return nil, sc.syntax("'\"' closing the string")
}

// plainByte marks the bytes a string takes as they are: not '"', '\\'
// or a control character.
var plainByte = func() (t [256]bool) {
	for c := range t {
		t[c] = c >= 0x20 && c != '"' && c != '\\'
	}
	return t
}()

func (sc *scanner) strEscaped(start int) ([]byte, error) {
	b := append(sc.esc[:0], sc.s[start:sc.i]...)
	for sc.i < len(sc.s) {
		c := sc.s[sc.i]
		switch {
		case c == '"':
			sc.i++
			sc.esc = b
			return b, nil
		case c < 0x20:
			return nil, sc.syntax("no control character in a string")
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
				return nil, sc.syntax("four hex digits after \\u")
			}
			if utf16.IsSurrogate(r) {
				r2 := rune(utf8.RuneError)
				if strings.HasPrefix(view(sc.s[sc.i:]), "\\u") {
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
			return nil, sc.syntax("a valid escape")
		}
	}
	return nil, sc.syntax("'\"' closing the string")
}

func (sc *scanner) hex4() (rune, bool) {
	if sc.i+4 > len(sc.s) {
		return 0, false
	}
	v, err := strconv.ParseUint(view(sc.s[sc.i:sc.i+4]), 16, 32)
	if err != nil {
		return 0, false
	}
	sc.i += 4
	return rune(v), true
}

// skip passes over one value of any kind, checking its syntax.
func (sc *scanner) skip() error {
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

// parseRFC3339Micros parses the common shapes without allocating:
// YYYY-MM-DD[T ]hh:mm:ss[.fraction](Z|±hh:mm). Anything else: ok false.
func parseRFC3339Micros(s string) (int64, bool) {
	if len(s) < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':' || s[16] != ':' {
		return 0, false
	}
	num := func(a, b int) (int, bool) {
		n := 0
		for i := a; i < b; i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	y, ok1 := num(0, 4)
	mo, ok2 := num(5, 7)
	d, ok3 := num(8, 10)
	h, ok4 := num(11, 13)
	mi, ok5 := num(14, 16)
	se, ok6 := num(17, 19)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo) || h > 23 || mi > 59 || se > 59 {
		return 0, false
	}
	i := 19
	var frac int64
	if s[i] == '.' {
		i++
		digits := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			if digits < 6 {
				frac = frac*10 + int64(s[i]-'0')
			}
			digits++
			i++
		}
		if digits == 0 {
			return 0, false
		}
		for ; digits < 6; digits++ {
			frac *= 10
		}
	}
	var off int
	switch {
	case i < len(s) && (s[i] == 'Z' || s[i] == 'z') && i+1 == len(s):
	case i+6 == len(s) && (s[i] == '+' || s[i] == '-') && s[i+3] == ':':
		oh, ok1 := num(i+1, i+3)
		om, ok2 := num(i+4, i+6)
		if !ok1 || !ok2 || oh > 23 || om > 59 {
			return 0, false
		}
		off = oh*3600 + om*60
		if s[i] == '-' {
			off = -off
		}
	default:
		return 0, false
	}
	secs := daysFromCivil(y, mo, d)*86400 + int64(h*3600+mi*60+se) - int64(off)
	return secs*1e6 + frac, true
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil is days since 1970-01-01 of a proleptic Gregorian date
// (Howard Hinnant's algorithm).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era = (y - 399) / 400
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}
