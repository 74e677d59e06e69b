package expr

// A scanner that finds the value at a JSON path in JSON text without
// decoding the document: the hot path of payload ->> '$.page' over every
// record of a stream. It returns the raw text of the value; callers fall
// back to decoding only when that text needs normalising.

// skipSpace returns the index of the first non-space byte at or after i.
func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index just past the string literal at s[i] ('"').
func skipString(s string, i int) (int, bool) {
	for i++; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i + 1, true
		}
	}
	return 0, false
}

// skipValue returns the index just past the JSON value starting at s[i].
func skipValue(s string, i int) (int, bool) {
	if i >= len(s) {
		return 0, false
	}
	switch s[i] {
	case '"':
		return skipString(s, i)
	case '{', '[':
		depth := 0
		for ; i < len(s); i++ {
			switch s[i] {
			case '"':
				end, ok := skipString(s, i)
				if !ok {
					return 0, false
				}
				i = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1, true
				}
			}
		}
		return 0, false
	}
	start := i
	for i < len(s) && s[i] != ',' && s[i] != '}' && s[i] != ']' && s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r' {
		i++
	}
	return i, i > start
}

// scanJSONPath returns the raw text of the value at steps in valid JSON
// text s. found is false when the path leads nowhere; ok is false when the
// scanner cannot answer (an escaped member name) and the caller must
// decode instead.
func scanJSONPath(s string, steps []jsonStep) (raw string, found, ok bool) {
	i := skipSpace(s, 0)
	for _, st := range steps {
		if i >= len(s) {
			return "", false, true
		}
		if st.isKey {
			if s[i] != '{' {
				return "", false, true
			}
			// The last duplicate member wins, as when decoding.
			match := -1
			i = skipSpace(s, i+1)
			for i < len(s) && s[i] != '}' {
				if s[i] != '"' {
					return "", false, false
				}
				end, good := skipString(s, i)
				if !good {
					return "", false, false
				}
				key := s[i+1 : end-1]
				for k := 0; k < len(key); k++ {
					if key[k] == '\\' {
						return "", false, false
					}
				}
				i = skipSpace(s, end)
				if i >= len(s) || s[i] != ':' {
					return "", false, false
				}
				i = skipSpace(s, i+1)
				if key == st.key {
					match = i
				}
				if i, good = skipValue(s, i); !good {
					return "", false, false
				}
				i = skipSpace(s, i)
				if i < len(s) && s[i] == ',' {
					i = skipSpace(s, i+1)
				}
			}
			if match < 0 {
				return "", false, true
			}
			i = match
			continue
		}
		if s[i] != '[' {
			// A scalar or object reads as a one-element array for [0].
			if st.index == 0 {
				continue
			}
			return "", false, true
		}
		i = skipSpace(s, i+1)
		for n := 0; ; n++ {
			if i >= len(s) || s[i] == ']' {
				return "", false, true
			}
			if n == st.index {
				break
			}
			var good bool
			if i, good = skipValue(s, i); !good {
				return "", false, false
			}
			i = skipSpace(s, i)
			if i < len(s) && s[i] == ',' {
				i = skipSpace(s, i+1)
			}
		}
	}
	end, good := skipValue(s, i)
	if !good {
		return "", false, false
	}
	return s[i:end], true, true
}

// plainJSONString reports whether raw is a string literal whose text needs
// no escaping (printable ASCII, no backslash or inner quote): it is already
// in normal form and its contents are raw[1:len-1].
func plainJSONString(raw string) bool {
	if len(raw) < 2 || raw[0] != '"' {
		return false
	}
	for k := 1; k < len(raw)-1; k++ {
		c := raw[k]
		if c == '\\' || c == '"' || c < 0x20 || c >= 0x7f {
			return false
		}
	}
	return true
}

// isPlainScalar reports whether raw is a literal or an integer that surely
// fits int64, whose text is its normal form (a double such as 2.50 or 1e3
// is printed by MySQL as 2.5 and 1000.0, so it is decoded).
func isPlainScalar(raw string) bool {
	switch raw {
	case "true", "false", "null", "0":
		return true
	}
	d := raw
	if d != "" && d[0] == '-' {
		d = d[1:]
	}
	if d == "" || len(d) > 18 || d[0] == '0' {
		return false
	}
	for k := 0; k < len(d); k++ {
		if d[k] < '0' || d[k] > '9' {
			return false
		}
	}
	return true
}
