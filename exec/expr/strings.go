package expr

import (
	"strings"
	"unicode/utf8"

	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

func registerStrings() {
	register("bytea", &builtin{minArgs: 1, maxArgs: 1, check: checkBytea, compile: compileBytea})
	register("concat", &builtin{minArgs: 1, maxArgs: -1, check: checkStrings(types.TypeText), compile: compileConcat})
	register("concat_ws", &builtin{minArgs: 2, maxArgs: -1, check: checkStrings(types.TypeText), compile: compileConcatWS})
	register("lower lcase", &builtin{minArgs: 1, maxArgs: 1, check: checkCase, compile: compileCase(strings.ToLower)})
	register("upper ucase", &builtin{minArgs: 1, maxArgs: 1, check: checkCase, compile: compileCase(strings.ToUpper)})
	register("length octet_length", &builtin{minArgs: 1, maxArgs: 1, check: checkStrings(types.TypeBigInt),
		compile: strFunc(func(s string) types.Value { return types.NewInt(int64(len(s))) })})
	register("char_length character_length", &builtin{minArgs: 1, maxArgs: 1, check: checkStrings(types.TypeBigInt),
		compile: strFunc(func(s string) types.Value { return types.NewInt(int64(utf8.RuneCountInString(s))) })})
	register("ltrim", &builtin{minArgs: 1, maxArgs: 1, check: checkStrings(types.TypeText),
		compile: strFunc(func(s string) types.Value { return types.NewString(strings.TrimLeft(s, " ")) })})
	register("rtrim", &builtin{minArgs: 1, maxArgs: 1, check: checkStrings(types.TypeText),
		compile: strFunc(func(s string) types.Value { return types.NewString(strings.TrimRight(s, " ")) })})
	// trim(str [, remstr [, direction]]), direction 0 both, 1 leading, 2 trailing.
	register("trim", &builtin{minArgs: 1, maxArgs: 3, check: checkTrim, compile: compileTrim})
	register("replace", &builtin{minArgs: 3, maxArgs: 3, check: checkStrings(types.TypeText), compile: compileReplace})
	register("substring substr mid", &builtin{minArgs: 2, maxArgs: 3, check: checkSubstring, compile: compileSubstring})
	register("left", &builtin{minArgs: 2, maxArgs: 2, check: checkSubstring, compile: compileLeftRight(true)})
	register("right", &builtin{minArgs: 2, maxArgs: 2, check: checkSubstring, compile: compileLeftRight(false)})
	registerStrFuncs()
	registerCollate()
}

// checkStrings coerces every argument to text (MySQL reads numbers as
// their decimal text) and sets the result type.
func checkStrings(result types.Type) func(c *Call) error {
	return func(c *Call) error {
		for i, a := range c.Args {
			if a.Type().Kind == types.Bytes {
				continue
			}
			c.Args[i] = coerceKind(a, types.TypeText)
		}
		c.Typ = result
		return nil
	}
}

// checkCase types LOWER and UPPER: text, or a binary string, which MySQL
// leaves as it is.
func checkCase(c *Call) error {
	if err := checkStrings(types.TypeText)(c); err != nil {
		return err
	}
	if c.Args[0].Type().Kind == types.Bytes {
		c.Typ = types.TypeBytes
	}
	return nil
}

func compileCase(f func(string) string) func(*Call, []Func) (Func, error) {
	return func(c *Call, args []Func) (Func, error) {
		if c.Typ.Kind == types.Bytes {
			return args[0], nil
		}
		return strFunc(func(s string) types.Value { return types.NewString(f(s)) })(c, args)
	}
}

func strFunc(f func(string) types.Value) func(*Call, []Func) (Func, error) {
	return func(_ *Call, args []Func) (Func, error) {
		return null1(args[0], func(v types.Value) (types.Value, error) { return f(v.Str()), nil }), nil
	}
}

func compileConcat(_ *Call, args []Func) (Func, error) {
	return nullN(args, func(vs []types.Value) (types.Value, error) {
		n := 0
		for _, v := range vs {
			n += len(v.Str())
		}
		var b strings.Builder
		b.Grow(n)
		for _, v := range vs {
			b.WriteString(v.Str())
		}
		return types.NewString(b.String()), nil
	}), nil
}

// CONCAT_WS skips NULL arguments after the separator; a NULL separator
// makes the result NULL.
func compileConcatWS(_ *Call, args []Func) (Func, error) {
	return func(row types.Row, env *Env) (types.Value, error) {
		sep, err := args[0](row, env)
		if err != nil || sep.IsNull() {
			return types.Null, err
		}
		var b strings.Builder
		first := true
		for _, f := range args[1:] {
			v, err := f(row, env)
			if err != nil {
				return types.Null, err
			}
			if v.IsNull() {
				continue
			}
			if !first {
				b.WriteString(sep.Str())
			}
			first = false
			b.WriteString(v.Str())
		}
		return types.NewString(b.String()), nil
	}, nil
}

func checkTrim(c *Call) error {
	for i := 0; i < len(c.Args) && i < 2; i++ {
		c.Args[i] = coerceKind(c.Args[i], types.TypeText)
	}
	if len(c.Args) == 3 {
		c.Args[2] = coerceKind(c.Args[2], types.TypeBigInt)
	}
	c.Typ = types.TypeText
	return nil
}

func compileTrim(_ *Call, args []Func) (Func, error) {
	s := args[0]
	rem := func(types.Row, *Env) (types.Value, error) { return types.NewString(" "), nil }
	dir := func(types.Row, *Env) (types.Value, error) { return types.NewInt(0), nil }
	if len(args) > 1 {
		rem = args[1]
	}
	if len(args) > 2 {
		dir = args[2]
	}
	return nullN([]Func{s, rem, dir}, func(vs []types.Value) (types.Value, error) {
		str, r, d := vs[0].Str(), vs[1].Str(), vs[2].Int()
		if r == "" {
			return types.NewString(str), nil
		}
		// MySQL removes whole repetitions of remstr, not a character set.
		if d == 0 || d == 1 {
			for strings.HasPrefix(str, r) {
				str = str[len(r):]
			}
		}
		if d == 0 || d == 2 {
			for strings.HasSuffix(str, r) {
				str = str[:len(str)-len(r)]
			}
		}
		return types.NewString(str), nil
	}), nil
}

func compileReplace(c *Call, args []Func) (Func, error) {
	return nullEnv(args, func(vs []types.Value, env *Env) (types.Value, error) {
		s, from, to := vs[0].Str(), vs[1].Str(), vs[2].Str()
		if from == "" {
			return vs[0], nil
		}
		if len(to) > len(from) && tooLong(env, c.Name, int64(len(s))+int64(strings.Count(s, from))*int64(len(to)-len(from))) {
			return types.Null, nil
		}
		return types.NewString(strings.ReplaceAll(s, from, to)), nil
	}), nil
}

func checkSubstring(c *Call) error {
	c.Args[0] = coerceKind(c.Args[0], types.TypeText)
	for i := 1; i < len(c.Args); i++ {
		k := c.Args[i].Type().Kind
		if !isNumericKind(k) && !isStringKind(k) && k != types.Unknown {
			return mismatch("%s: position and length must be integers, not %s", c.Name, c.Args[i].Type())
		}
		c.Args[i] = coerceKind(c.Args[i], types.TypeBigInt)
	}
	c.Typ = types.TypeText
	return nil
}

// substring is MySQL's SUBSTRING(s, pos, n) over characters: pos is
// 1-based, negative counts from the end, 0 yields ”.
func substring(s string, pos, n int64) string {
	runes := []rune(s)
	l := int64(len(runes))
	switch {
	case pos > 0:
		pos--
	case pos < 0:
		pos += l
		if pos < 0 {
			return ""
		}
	default:
		return ""
	}
	if pos >= l || n <= 0 {
		return ""
	}
	end := l
	if n < l-pos {
		end = pos + n
	}
	return string(runes[pos:end])
}

func compileSubstring(_ *Call, args []Func) (Func, error) {
	return nullN(args, func(vs []types.Value) (types.Value, error) {
		n := int64(1) << 62
		if len(vs) == 3 {
			n = vs[2].Int()
		}
		return types.NewString(substring(vs[0].Str(), vs[1].Int(), n)), nil
	}), nil
}

func compileLeftRight(left bool) func(*Call, []Func) (Func, error) {
	return func(_ *Call, args []Func) (Func, error) {
		return null2(args[0], args[1], func(s, n types.Value) (types.Value, error) {
			runes := []rune(s.Str())
			k := n.Int()
			switch {
			case k <= 0:
				return types.NewString(""), nil
			case k >= int64(len(runes)):
				return s, nil
			case left:
				return types.NewString(string(runes[:k])), nil
			}
			return types.NewString(string(runes[int64(len(runes))-k:])), nil
		}), nil
	}
}

// checkBytea types BYTEA(x), Postgres's cast of text to bytea: unlike
// MySQL's CAST(x AS BINARY), which keeps the text's bytes, it reads
// Postgres's bytea input, '\x6162' (hex) or 'a\\b' (escape).
func checkBytea(c *Call) error {
	if k := c.Args[0].Type().Kind; k != types.Bytes {
		c.Args[0] = coerceKind(c.Args[0], types.TypeText)
	}
	c.Typ = types.TypeBytes
	return nil
}

func compileBytea(c *Call, args []Func) (Func, error) {
	if c.Args[0].Type().Kind == types.Bytes {
		return args[0], nil
	}
	return null1(args[0], func(v types.Value) (types.Value, error) {
		b, err := types.ParseText(types.TypeBytes, v.Str())
		if e, ok := err.(*sqlerr.Error); ok && c.Pos > 0 {
			return types.Null, e.At(c.Pos)
		}
		return b, err
	}), nil
}
