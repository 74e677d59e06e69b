package expr

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// maxAllowedPacket is MySQL 8's default max_allowed_packet: a string
// function whose result would be longer is NULL with a warning, as MySQL's
// is, instead of allocating it.
const maxAllowedPacket = 64 << 20

// MySQL's string functions that count characters, pad, search and encode.
// Positions and lengths are in characters (utf8mb4), as MySQL's are.
func registerStrFuncs() {
	register("lpad", &builtin{minArgs: 3, maxArgs: 3, check: checkArgs(types.TypeText, "sis"), compile: compilePad(true)})
	register("rpad", &builtin{minArgs: 3, maxArgs: 3, check: checkArgs(types.TypeText, "sis"), compile: compilePad(false)})
	register("locate", &builtin{minArgs: 2, maxArgs: 3, check: checkArgs(types.TypeBigInt, "ssi"), compile: compileLocate(false)})
	register("position", &builtin{minArgs: 2, maxArgs: 2, check: checkArgs(types.TypeBigInt, "ss"), compile: compileLocate(false)})
	register("instr", &builtin{minArgs: 2, maxArgs: 2, check: checkArgs(types.TypeBigInt, "ss"), compile: compileLocate(true)})
	register("reverse", &builtin{minArgs: 1, maxArgs: 1, check: checkArgs(types.TypeText, "s"), compile: strFunc(reverseString)})
	register("repeat", &builtin{minArgs: 2, maxArgs: 2, check: checkArgs(types.TypeText, "si"), compile: compileRepeat})
	register("space", &builtin{minArgs: 1, maxArgs: 1, check: checkArgs(types.TypeText, "i"), compile: compileSpace})
	register("ascii", &builtin{minArgs: 1, maxArgs: 1, check: checkArgs(types.TypeBigInt, "s"), compile: strFunc(func(s string) types.Value {
		if s == "" {
			return types.NewInt(0)
		}
		return types.NewInt(int64(s[0]))
	})})
	register("ord", &builtin{minArgs: 1, maxArgs: 1, check: checkArgs(types.TypeBigInt, "s"), compile: strFunc(func(s string) types.Value {
		// The first character's bytes read as a base-256 number.
		_, n := utf8.DecodeRuneInString(s)
		var v int64
		for i := 0; i < n; i++ {
			v = v<<8 | int64(s[i])
		}
		return types.NewInt(v)
	})})
	register("bit_length", &builtin{minArgs: 1, maxArgs: 1, check: checkArgs(types.TypeBigInt, "s"),
		compile: strFunc(func(s string) types.Value { return types.NewInt(8 * int64(len(s))) })})
	register("char", &builtin{minArgs: 1, maxArgs: -1, check: checkChar, compile: compileChar})
	register("hex", &builtin{minArgs: 1, maxArgs: 1, check: checkHex, compile: compileHex})
	register("unhex", &builtin{minArgs: 1, maxArgs: 1, check: checkArgs(types.TypeBytes, "s"), compile: compileUnhex})
	register("to_base64", &builtin{minArgs: 1, maxArgs: 1, check: checkArgs(types.TypeText, "s"),
		compile: strFunc(func(s string) types.Value { return types.NewString(toBase64(s)) })})
	register("from_base64", &builtin{minArgs: 1, maxArgs: 1, check: checkArgs(types.TypeBytes, "s"), compile: compileFromBase64})
	register("md5", &builtin{minArgs: 1, maxArgs: 1, check: checkArgs(types.TypeText, "s"),
		compile: strFunc(func(s string) types.Value { h := md5.Sum([]byte(s)); return types.NewString(hex.EncodeToString(h[:])) })})
	register("sha1 sha", &builtin{minArgs: 1, maxArgs: 1, check: checkArgs(types.TypeText, "s"),
		compile: strFunc(func(s string) types.Value { h := sha1.Sum([]byte(s)); return types.NewString(hex.EncodeToString(h[:])) })})
	register("sha2", &builtin{minArgs: 2, maxArgs: 2, check: checkArgs(types.TypeText, "si"), compile: compileSHA2})
	register("field", &builtin{minArgs: 2, maxArgs: -1, check: checkField, compile: compileField})
	register("elt", &builtin{minArgs: 2, maxArgs: -1, check: checkArgs(types.TypeText, "is"), compile: compileElt})
	register("find_in_set", &builtin{minArgs: 2, maxArgs: 2, check: checkArgs(types.TypeBigInt, "ss"), compile: compileFindInSet})
	register("insert", &builtin{minArgs: 4, maxArgs: 4, check: checkArgs(types.TypeText, "siis"), compile: compileInsert})
	register("strcmp", &builtin{minArgs: 2, maxArgs: 2, check: checkArgs(types.TypeBigInt, "ss"), compile: compileStrcmp})
	register("quote", &builtin{minArgs: 1, maxArgs: 1, check: checkArgs(types.TypeText, "s"), compile: compileQuote})
	register("make_set", &builtin{minArgs: 2, maxArgs: -1, check: checkArgs(types.TypeText, "is"), compile: compileMakeSet})
	register("export_set", &builtin{minArgs: 3, maxArgs: 5, check: checkArgs(types.TypeText, "isssi"), compile: compileExportSet})
}

// checkArgs coerces argument i to text ('s') or BIGINT ('i') as kinds[i]
// says (the last letter repeats for variadic functions) and sets the
// result type. Binary strings stay binary where text is asked.
func checkArgs(result types.Type, kinds string) func(c *Call) error {
	return func(c *Call) error {
		for i, a := range c.Args {
			k := kinds[min(i, len(kinds)-1)]
			ak := a.Type().Kind
			switch {
			case k == 's' && ak == types.Bytes:
			case k == 's':
				c.Args[i] = coerceKind(a, types.TypeText)
			case !isNumericKind(ak) && !isStringKind(ak) && ak != types.Unknown:
				return mismatch("%s: argument %d must be an integer, not %s", c.Name, i+1, a.Type())
			default:
				c.Args[i] = coerceKind(a, types.TypeBigInt)
			}
		}
		c.Typ = result
		return checkCollations(c.Args)
	}
}

// nullEnv is nullN for functions that warn: f sees the env.
func nullEnv(args []Func, f func(vs []types.Value, env *Env) (types.Value, error)) Func {
	return func(row types.Row, env *Env) (types.Value, error) {
		vs := make([]types.Value, len(args))
		for i, a := range args {
			v, err := a(row, env)
			if err != nil || v.IsNull() {
				return types.Null, err
			}
			vs[i] = v
		}
		return f(vs, env)
	}
}

// tooLong reports whether a result of n bytes passes max_allowed_packet,
// and warns as MySQL does when it does.
func tooLong(env *Env, name string, n int64) bool {
	if n <= maxAllowedPacket {
		return false
	}
	env.Warnf(sqlerr.Warning, "Result of %s() was larger than max_allowed_packet (%d) - truncated", name, maxAllowedPacket)
	return true
}

// runeOffset returns the byte offset of character i (0-based) of s, or
// len(s) and false when s has fewer characters.
func runeOffset(s string, i int64) (int, bool) {
	if i <= 0 {
		return 0, true
	}
	var n int64
	for off := range s {
		if n == i {
			return off, true
		}
		n++
	}
	return len(s), n == i
}

// compilePad is LPAD/RPAD(s, n, pad): s cut or padded to n characters; NULL
// when n is negative or padding is needed and pad is empty.
func compilePad(left bool) func(*Call, []Func) (Func, error) {
	return func(c *Call, args []Func) (Func, error) {
		return nullEnv(args, func(vs []types.Value, env *Env) (types.Value, error) {
			s, n, pad := vs[0].Str(), vs[1].Int(), vs[2].Str()
			if n < 0 {
				return types.Null, nil
			}
			if n > maxAllowedPacket {
				tooLong(env, c.Name, n)
				return types.Null, nil
			}
			if off, ok := runeOffset(s, n); ok {
				return types.NewString(s[:off]), nil
			}
			if pad == "" {
				return types.Null, nil
			}
			need := n - int64(utf8.RuneCountInString(s))
			padRunes := int64(utf8.RuneCountInString(pad))
			if tooLong(env, c.Name, int64(len(s))+(need/padRunes+1)*int64(len(pad))) {
				return types.Null, nil
			}
			var b strings.Builder
			b.Grow(len(s) + int(need/padRunes+1)*len(pad))
			if !left {
				b.WriteString(s)
			}
			for need >= padRunes {
				b.WriteString(pad)
				need -= padRunes
			}
			off, _ := runeOffset(pad, need)
			b.WriteString(pad[:off])
			if left {
				b.WriteString(s)
			}
			return types.NewString(b.String()), nil
		}), nil
	}
}

// compileLocate is LOCATE(sub, s[, pos]) and POSITION(sub IN s), or with
// swap INSTR(s, sub): the character position of sub in s at or after pos,
// 0 when absent or when pos is out of range.
func compileLocate(swap bool) func(*Call, []Func) (Func, error) {
	return func(_ *Call, args []Func) (Func, error) {
		return nullN(args, func(vs []types.Value) (types.Value, error) {
			sub, s := vs[0].Str(), vs[1].Str()
			if swap {
				sub, s = s, sub
			}
			start := int64(0)
			if len(vs) == 3 {
				start = vs[2].Int() - 1
				if start < 0 {
					return types.NewInt(0), nil
				}
			}
			off, ok := runeOffset(s, start)
			if !ok {
				return types.NewInt(0), nil
			}
			i := strings.Index(s[off:], sub)
			if i < 0 {
				return types.NewInt(0), nil
			}
			return types.NewInt(start + int64(utf8.RuneCountInString(s[off:off+i])) + 1), nil
		}), nil
	}
}

func reverseString(s string) types.Value {
	b := make([]byte, len(s))
	i := len(b)
	for _, r := range s {
		i -= utf8.EncodeRune(b[i-utf8.RuneLen(r):], r)
	}
	return types.NewString(string(b[i:]))
}

func compileRepeat(c *Call, args []Func) (Func, error) {
	return nullEnv(args, func(vs []types.Value, env *Env) (types.Value, error) {
		s, n := vs[0].Str(), vs[1].Int()
		if n <= 0 || s == "" {
			return types.NewString(""), nil
		}
		if n > maxAllowedPacket || tooLong(env, c.Name, n*int64(len(s))) {
			if n > maxAllowedPacket {
				tooLong(env, c.Name, n)
			}
			return types.Null, nil
		}
		return types.NewString(strings.Repeat(s, int(n))), nil
	}), nil
}

func compileSpace(c *Call, args []Func) (Func, error) {
	return nullEnv(args, func(vs []types.Value, env *Env) (types.Value, error) {
		n := vs[0].Int()
		if n <= 0 {
			return types.NewString(""), nil
		}
		if tooLong(env, c.Name, n) {
			return types.Null, nil
		}
		return types.NewString(strings.Repeat(" ", int(n))), nil
	}), nil
}

// checkChar types CHAR(n, ...): integers to a binary string, or to text
// when the binder gave a character set (CHAR(... USING utf8mb4)) in Unit.
func checkChar(c *Call) error {
	if err := checkArgs(types.TypeBytes, "i")(c); err != nil {
		return err
	}
	if c.Unit != "" {
		c.Typ = types.TypeText
	}
	return nil
}

// compileChar is CHAR(n, ...): each n as its big-endian bytes without
// leading zeros; NULL arguments are skipped.
func compileChar(c *Call, args []Func) (Func, error) {
	text := c.Unit != ""
	return func(row types.Row, env *Env) (types.Value, error) {
		var b []byte
		for _, f := range args {
			v, err := f(row, env)
			if err != nil {
				return types.Null, err
			}
			if v.IsNull() {
				continue
			}
			n := uint32(v.Int())
			switch {
			case n >= 1<<24:
				b = append(b, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
			case n >= 1<<16:
				b = append(b, byte(n>>16), byte(n>>8), byte(n))
			case n >= 1<<8:
				b = append(b, byte(n>>8), byte(n))
			default:
				b = append(b, byte(n))
			}
		}
		if !text {
			return types.NewBytes(b), nil
		}
		if !utf8.Valid(b) {
			env.Warnf(sqlerr.Warning, "Invalid utf8mb4 character string: '%X'", b)
			return types.Null, nil
		}
		return types.NewString(string(b)), nil
	}, nil
}

// checkHex keeps a number a number (HEX(255) is FF) and reads anything
// else as its text.
func checkHex(c *Call) error {
	switch k := c.Args[0].Type().Kind; {
	case k == types.Int || k == types.Bool:
		c.Args[0] = coerceKind(c.Args[0], types.TypeBigInt)
	case k == types.Float || k == types.Decimal:
		c.Args[0] = coerceKind(c.Args[0], types.TypeDouble)
	case k != types.Bytes:
		c.Args[0] = coerceKind(c.Args[0], types.TypeText)
	}
	c.Typ = types.TypeText
	return nil
}

func compileHex(c *Call, args []Func) (Func, error) {
	switch c.Args[0].Type().Kind {
	case types.Int:
		return null1(args[0], func(v types.Value) (types.Value, error) {
			return types.NewString(strings.ToUpper(uint64Hex(uint64(v.Int())))), nil
		}), nil
	case types.Float:
		return null1(args[0], func(v types.Value) (types.Value, error) {
			// MySQL rounds half away from zero and saturates outside
			// 64 bits.
			f := v.Float()
			var u uint64
			switch {
			case f <= math.MinInt64 || f >= math.MaxUint64:
				u = math.MaxUint64
			case f < 0:
				u = uint64(int64(f - 0.5))
			default:
				u = uint64(f + 0.5)
			}
			return types.NewString(strings.ToUpper(uint64Hex(u))), nil
		}), nil
	}
	return null1(args[0], func(v types.Value) (types.Value, error) {
		return types.NewString(strings.ToUpper(hex.EncodeToString([]byte(v.Str())))), nil
	}), nil
}

func uint64Hex(u uint64) string {
	const digits = "0123456789abcdef"
	var b [16]byte
	i := len(b)
	for {
		i--
		b[i] = digits[u&15]
		u >>= 4
		if u == 0 {
			return string(b[i:])
		}
	}
}

// compileUnhex is UNHEX(s): the bytes the hex digits spell (an odd count
// gets a leading 0), NULL when s has a non-hex character.
func compileUnhex(_ *Call, args []Func) (Func, error) {
	return null1(args[0], func(v types.Value) (types.Value, error) {
		s := v.Str()
		if len(s)%2 == 1 {
			s = "0" + s
		}
		b, err := hex.DecodeString(s)
		if err != nil {
			return types.Null, nil
		}
		return types.NewBytes(b), nil
	}), nil
}

// toBase64 is MySQL's TO_BASE64: standard base64 with a newline after
// every 76 characters of output.
func toBase64(s string) string {
	enc := base64.StdEncoding.EncodeToString([]byte(s))
	if len(enc) <= 76 {
		return enc
	}
	var b strings.Builder
	b.Grow(len(enc) + len(enc)/76)
	for len(enc) > 76 {
		b.WriteString(enc[:76])
		b.WriteByte('\n')
		enc = enc[76:]
	}
	b.WriteString(enc)
	return b.String()
}

// compileFromBase64 decodes as MySQL does: whitespace is skipped; anything
// else invalid, missing padding too, is NULL.
func compileFromBase64(_ *Call, args []Func) (Func, error) {
	return null1(args[0], func(v types.Value) (types.Value, error) {
		s := strings.Map(func(r rune) rune {
			if r == ' ' || r == '\t' || r == '\n' || r == '\r' {
				return -1
			}
			return r
		}, v.Str())
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return types.Null, nil
		}
		return types.NewBytes(b), nil
	}), nil
}

// compileSHA2 is SHA2(s, bits): 224, 256 (or 0), 384 or 512 bits; other
// lengths are NULL with MySQL's warning. MySQL reads a NULL length as 0.
func compileSHA2(_ *Call, args []Func) (Func, error) {
	return func(row types.Row, env *Env) (types.Value, error) {
		v, err := args[0](row, env)
		if err != nil || v.IsNull() {
			return types.Null, err
		}
		bits, err := args[1](row, env)
		if err != nil {
			return types.Null, err
		}
		b := []byte(v.Str())
		var sum []byte
		switch bits.Int() {
		case 224:
			h := sha256.Sum224(b)
			sum = h[:]
		case 0, 256:
			h := sha256.Sum256(b)
			sum = h[:]
		case 384:
			h := sha512.Sum384(b)
			sum = h[:]
		case 512:
			h := sha512.Sum512(b)
			sum = h[:]
		default:
			env.Warnf(sqlerr.Warning, "Incorrect parameters in the call to native function 'sha2'")
			return types.Null, nil
		}
		return types.NewString(hex.EncodeToString(sum)), nil
	}, nil
}

// checkField types FIELD(x, a, b, ...): compared as strings when all are
// strings, as numbers when all are numbers, as DOUBLE otherwise (MySQL's
// rule).
func checkField(c *Call) error {
	t := types.TypeText
	allStr, allInt := true, true
	for _, a := range c.Args {
		k := a.Type().Kind
		if k == types.Unknown {
			continue
		}
		allStr = allStr && (isStringKind(k) || k == types.Bytes)
		allInt = allInt && (k == types.Int || k == types.Bool)
	}
	switch {
	case allStr:
	case allInt:
		t = types.TypeBigInt
	default:
		t = types.TypeDouble
	}
	for i, a := range c.Args {
		c.Args[i] = coerceKind(a, t)
	}
	c.Typ = types.TypeBigInt
	return checkCollations(c.Args)
}

// compileField is FIELD(x, a, b, ...): the 1-based index of the first
// argument equal to x, 0 when none is or x is NULL.
func compileField(c *Call, args []Func) (Func, error) {
	cmp := comparer(c.Args[0].Type().Kind)
	if coll := collationOfArgs(c.Args); coll != nil {
		cmp = coll.compare
	}
	return func(row types.Row, env *Env) (types.Value, error) {
		x, err := args[0](row, env)
		if err != nil || x.IsNull() {
			return types.NewInt(0), err
		}
		for i, f := range args[1:] {
			v, err := f(row, env)
			if err != nil {
				return types.Null, err
			}
			if !v.IsNull() && cmp(x, v) == 0 {
				return types.NewInt(int64(i + 1)), nil
			}
		}
		return types.NewInt(0), nil
	}, nil
}

// compileElt is ELT(n, a, b, ...): the n-th string, NULL when there is
// none. Only that argument is evaluated.
func compileElt(_ *Call, args []Func) (Func, error) {
	return func(row types.Row, env *Env) (types.Value, error) {
		n, err := args[0](row, env)
		if err != nil || n.IsNull() {
			return types.Null, err
		}
		i := n.Int()
		if i < 1 || i >= int64(len(args)) {
			return types.Null, nil
		}
		return args[i](row, env)
	}, nil
}

// compileFindInSet is FIND_IN_SET(s, list): the 1-based index of s among
// list's comma-separated items, 0 when absent or when s holds a comma.
func compileFindInSet(_ *Call, args []Func) (Func, error) {
	return null2(args[0], args[1], func(sv, lv types.Value) (types.Value, error) {
		s, list := sv.Str(), lv.Str()
		if strings.IndexByte(s, ',') >= 0 || list == "" {
			return types.NewInt(0), nil
		}
		for i := int64(1); ; i++ {
			item, rest, more := strings.Cut(list, ",")
			if item == s {
				return types.NewInt(i), nil
			}
			if !more {
				return types.NewInt(0), nil
			}
			list = rest
		}
	}), nil
}

// compileInsert is INSERT(s, pos, n, new): s with the n characters from
// pos replaced by new; s itself when pos is outside it; a negative or
// too long n replaces the rest.
func compileInsert(_ *Call, args []Func) (Func, error) {
	return nullN(args, func(vs []types.Value) (types.Value, error) {
		s, pos, n, repl := vs[0].Str(), vs[1].Int(), vs[2].Int(), vs[3].Str()
		if pos < 1 {
			return vs[0], nil
		}
		from, ok := runeOffset(s, pos-1)
		if !ok || from == len(s) {
			return vs[0], nil
		}
		to := len(s)
		if n >= 0 && n < math.MaxInt64-pos {
			to, _ = runeOffset(s, pos-1+n)
		}
		return types.NewString(s[:from] + repl + s[to:]), nil
	}), nil
}

// compileStrcmp is STRCMP(a, b): -1, 0 or 1, under the arguments'
// collation (binary unless one has COLLATE).
func compileStrcmp(c *Call, args []Func) (Func, error) {
	cmp := comparer(types.String)
	if coll := collationOfArgs(c.Args); coll != nil {
		cmp = coll.compare
	}
	return null2(args[0], args[1], func(a, b types.Value) (types.Value, error) {
		return types.NewInt(int64(max(-1, min(1, cmp(a, b))))), nil
	}), nil
}

// compileQuote is QUOTE(s): s in single quotes with \, ', NUL and Ctrl-Z
// escaped by a backslash, so that MySQL reads it back; NULL is the word
// NULL.
func compileQuote(_ *Call, args []Func) (Func, error) {
	return func(row types.Row, env *Env) (types.Value, error) {
		v, err := args[0](row, env)
		if err != nil {
			return types.Null, err
		}
		if v.IsNull() {
			return types.NewString("NULL"), nil
		}
		s := v.Str()
		var b strings.Builder
		b.Grow(len(s) + 2)
		b.WriteByte('\'')
		for i := 0; i < len(s); i++ {
			switch s[i] {
			case '\\', '\'':
				b.WriteByte('\\')
				b.WriteByte(s[i])
			case 0:
				b.WriteString(`\0`)
			case 26:
				b.WriteString(`\Z`)
			default:
				b.WriteByte(s[i])
			}
		}
		b.WriteByte('\'')
		return types.NewString(b.String()), nil
	}, nil
}

// compileMakeSet is MAKE_SET(bits, a, b, ...): the strings whose bit is
// set, joined by commas; NULL strings are left out.
func compileMakeSet(_ *Call, args []Func) (Func, error) {
	return func(row types.Row, env *Env) (types.Value, error) {
		bits, err := args[0](row, env)
		if err != nil || bits.IsNull() {
			return types.Null, err
		}
		var b strings.Builder
		first := true
		for i, f := range args[1:] {
			if i >= 64 || uint64(bits.Int())&(1<<i) == 0 {
				continue
			}
			v, err := f(row, env)
			if err != nil {
				return types.Null, err
			}
			if v.IsNull() {
				continue
			}
			if !first {
				b.WriteByte(',')
			}
			first = false
			b.WriteString(v.Str())
		}
		return types.NewString(b.String()), nil
	}, nil
}

// compileExportSet is EXPORT_SET(bits, on, off[, sep[, n]]): on or off for
// each of the n (64 at most and by default) low bits, lowest first.
func compileExportSet(c *Call, args []Func) (Func, error) {
	return nullEnv(args, func(vs []types.Value, env *Env) (types.Value, error) {
		bits, on, off := uint64(vs[0].Int()), vs[1].Str(), vs[2].Str()
		sep, n := ",", int64(64)
		if len(vs) > 3 {
			sep = vs[3].Str()
		}
		if len(vs) > 4 && vs[4].Int() >= 0 && vs[4].Int() < 64 {
			n = vs[4].Int()
		}
		if tooLong(env, c.Name, n*int64(max(len(on), len(off))+len(sep))) {
			return types.Null, nil
		}
		var b strings.Builder
		for i := int64(0); i < n; i++ {
			if i > 0 {
				b.WriteString(sep)
			}
			if bits&(1<<i) != 0 {
				b.WriteString(on)
			} else {
				b.WriteString(off)
			}
		}
		return types.NewString(b.String()), nil
	}), nil
}
