package expr

import (
	"bytes"
	"encoding/json"
	"sort"
	"strconv"
	"strings"

	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

func registerJSON() {
	register("json_extract", &builtin{minArgs: 2, maxArgs: -1, check: checkJSONExtract, compile: compileJSONExtract})
	register("json_unquote", &builtin{minArgs: 1, maxArgs: 1, check: checkStringsKeepJSON, compile: compileJSONUnquote})
}

func checkJSONExtract(c *Call) error {
	k := c.Args[0].Type().Kind
	if k != types.JSON && k != types.String && k != types.Unknown && k != types.Bytes {
		return mismatch("json_extract: argument 1 must be JSON, not %s", c.Args[0].Type())
	}
	for i := 1; i < len(c.Args); i++ {
		c.Args[i] = coerceKind(c.Args[i], types.TypeText)
	}
	c.Typ = types.TypeJSON
	return nil
}

func checkStringsKeepJSON(c *Call) error {
	if c.Args[0].Type().Kind != types.JSON {
		c.Args[0] = coerceKind(c.Args[0], types.TypeText)
	}
	c.Typ = types.TypeText
	return nil
}

// jsonStep is one leg of a JSON path: a member name or an array index.
type jsonStep struct {
	key   string
	index int
	isKey bool
}

// parseJSONPath reads MySQL's path subset: $ then .name, ."quoted name" or
// [n] legs. Wildcards and ranges are not supported (0A000).
func parseJSONPath(p string) ([]jsonStep, error) {
	bad := func() error {
		return sqlerr.Newf(sqlerr.InvalidParameterValue, "invalid JSON path expression %q", p)
	}
	s := strings.TrimSpace(p)
	if !strings.HasPrefix(s, "$") {
		return nil, bad()
	}
	s = s[1:]
	var steps []jsonStep
	for len(s) > 0 {
		switch s[0] {
		case '.':
			s = s[1:]
			if strings.HasPrefix(s, "*") {
				return nil, sqlerr.Newf(sqlerr.FeatureNotSupported, "JSON path wildcards are not supported: %q", p)
			}
			if strings.HasPrefix(s, `"`) {
				end := 1
				for end < len(s) && s[end] != '"' {
					if s[end] == '\\' {
						end++
					}
					end++
				}
				if end >= len(s) {
					return nil, bad()
				}
				name, err := strconv.Unquote(s[:end+1])
				if err != nil {
					return nil, bad()
				}
				steps = append(steps, jsonStep{key: name, isKey: true})
				s = s[end+1:]
				continue
			}
			end := strings.IndexAny(s, ".[")
			if end < 0 {
				end = len(s)
			}
			if end == 0 {
				return nil, bad()
			}
			steps = append(steps, jsonStep{key: strings.TrimSpace(s[:end]), isKey: true})
			s = s[end:]
		case '[':
			end := strings.IndexByte(s, ']')
			if end < 0 {
				return nil, bad()
			}
			in := strings.TrimSpace(s[1:end])
			if in == "*" {
				return nil, sqlerr.Newf(sqlerr.FeatureNotSupported, "JSON path wildcards are not supported: %q", p)
			}
			n, err := strconv.Atoi(in)
			if err != nil || n < 0 {
				return nil, bad()
			}
			steps = append(steps, jsonStep{index: n})
			s = s[end+1:]
		case ' ':
			s = s[1:]
		default:
			return nil, bad()
		}
	}
	return steps, nil
}

func decodeJSON(s string) (any, error) {
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, sqlerr.Newf(sqlerr.InvalidJSONText, "invalid JSON text: %v", err)
	}
	if d.More() {
		return nil, sqlerr.Newf(sqlerr.InvalidJSONText, "invalid JSON text: trailing data")
	}
	return v, nil
}

func walkJSON(v any, steps []jsonStep) (any, bool) {
	for _, st := range steps {
		if st.isKey {
			m, ok := v.(map[string]any)
			if !ok {
				return nil, false
			}
			if v, ok = m[st.key]; !ok {
				return nil, false
			}
			continue
		}
		a, ok := v.([]any)
		if !ok {
			// MySQL treats a scalar as a one-element array for [0].
			if st.index == 0 {
				continue
			}
			return nil, false
		}
		if st.index >= len(a) {
			return nil, false
		}
		v = a[st.index]
	}
	return v, true
}

// writeJSON renders v the way MySQL prints JSON: ", " between elements,
// ": " after keys, keys in sorted order.
func writeJSON(b *bytes.Buffer, v any) {
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			writeJSON(b, k)
			b.WriteString(": ")
			writeJSON(b, v[k])
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteString(", ")
			}
			writeJSON(b, e)
		}
		b.WriteByte(']')
	default:
		// Without HTML escaping: MySQL prints "<" as "<".
		enc := json.NewEncoder(b)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(v)
		b.Truncate(b.Len() - 1) // Encode's newline
	}
}

func jsonText(v any) string {
	var b bytes.Buffer
	writeJSON(&b, v)
	return b.String()
}

func compileJSONExtract(c *Call, args []Func) (Func, error) {
	// Constant paths are parsed once.
	fixed := make([][]jsonStep, len(c.Args)-1)
	for i, a := range c.Args[1:] {
		if k, ok := a.(*Const); ok && !k.Value.IsNull() {
			steps, err := parseJSONPath(k.Value.Str())
			if err != nil {
				return nil, err
			}
			fixed[i] = steps
		}
	}
	if len(args) == 2 && fixed[0] != nil && c.Args[0].Type().Kind == types.JSON {
		// The common case, doc -> '$.path' over a JSON column: scan the
		// text for the value instead of decoding the document. JSON values
		// are valid by construction (they were checked on the way in).
		steps := fixed[0]
		return null2(args[0], args[1], func(doc, _ types.Value) (types.Value, error) {
			raw, found, ok := scanJSONPath(doc.Str(), steps)
			switch {
			case !ok:
				return extractDecoded(doc.Str(), steps)
			case !found:
				return types.Null, nil
			case isPlainScalar(raw) || plainJSONString(raw):
				return types.NewJSON(raw), nil
			}
			v, err := decodeJSON(raw)
			if err != nil {
				return types.Null, err
			}
			return types.NewJSON(jsonText(v)), nil
		}), nil
	}
	return nullN(args, func(vs []types.Value) (types.Value, error) {
		doc, err := decodeJSON(vs[0].Str())
		if err != nil {
			return types.Null, err
		}
		var found []any
		for i, p := range vs[1:] {
			steps := fixed[i]
			if steps == nil {
				if steps, err = parseJSONPath(p.Str()); err != nil {
					return types.Null, err
				}
			}
			if v, ok := walkJSON(doc, steps); ok {
				found = append(found, v)
			}
		}
		switch {
		case len(found) == 0:
			return types.Null, nil
		case len(vs) == 2:
			return types.NewJSON(jsonText(found[0])), nil
		}
		return types.NewJSON(jsonText(found)), nil
	}), nil
}

// extractDecoded is JSON_EXTRACT of one path by decoding the document.
func extractDecoded(text string, steps []jsonStep) (types.Value, error) {
	doc, err := decodeJSON(text)
	if err != nil {
		return types.Null, err
	}
	v, ok := walkJSON(doc, steps)
	if !ok {
		return types.Null, nil
	}
	return types.NewJSON(jsonText(v)), nil
}

func compileJSONUnquote(_ *Call, args []Func) (Func, error) {
	return null1(args[0], func(v types.Value) (types.Value, error) {
		s := v.Str()
		if plainJSONString(s) {
			return types.NewString(s[1 : len(s)-1]), nil
		}
		if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
			var out string
			if err := json.Unmarshal([]byte(s), &out); err != nil {
				return types.Null, sqlerr.Newf(sqlerr.InvalidJSONText, "invalid JSON text in json_unquote: %s", s)
			}
			return types.NewString(out), nil
		}
		return types.NewString(s), nil
	}), nil
}
