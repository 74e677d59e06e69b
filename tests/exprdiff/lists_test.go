package exprdiff

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
)

// entry is one line of a known-differences list:
//
//	<match> => <answer> | <why, with the manual page that says so>
//
// match is an expression exactly as generated (the text after SELECT), or
// ~<regexp> matched against it (anchor it yourself). answer is one of
//
//	value <text>  the answer is this text
//	null          the answer is NULL
//	error         the answer is an error
//	mysql-json    MariaDB's value printed as MySQL 8 prints JSON
//	rounded       MariaDB shows MySQL 8's DOUBLE rounded to fewer digits
//	null-if-empty MariaDB's empty string is MySQL 8's NULL (its other values stand)
//	unordered     the same elements in an order MySQL leaves undefined
//	              (of a comma list, or of a JSON array, then printed as
//	              MySQL 8 prints JSON)
//	skip          not compared (say why)
type entry struct {
	line   int
	exact  string
	re     *regexp.Regexp
	answer string // "value", "null", "error", "mysql-json", "rounded", "unordered", "null-if-empty", "skip"
	text   string // answer "value"
	why    string
	used   int
}

func (e *entry) matches(expr string) bool {
	if e.re != nil {
		return e.re.MatchString(expr)
	}
	return e.exact == expr
}

type list struct {
	file    string
	entries []*entry
}

func loadList(file string, needCite bool) (*list, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	l := &list{file: file}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		match, rest, ok := strings.Cut(line, " => ")
		if !ok {
			return nil, fmt.Errorf("%s:%d: no ' => '", file, n)
		}
		ans, why, ok := strings.Cut(rest, " | ")
		if !ok || strings.TrimSpace(why) == "" {
			return nil, fmt.Errorf("%s:%d: no ' | why'", file, n)
		}
		if needCite && !strings.Contains(why, "https://") {
			return nil, fmt.Errorf("%s:%d: the why must cite a manual page (https://...)", file, n)
		}
		e := &entry{line: n, why: strings.TrimSpace(why)}
		match = strings.TrimSpace(match)
		if strings.HasPrefix(match, "~") {
			if e.re, err = regexp.Compile(match[1:]); err != nil {
				return nil, fmt.Errorf("%s:%d: %w", file, n, err)
			}
		} else {
			e.exact = match
		}
		ans = strings.TrimSpace(ans)
		switch {
		case ans == "null" || ans == "error" || ans == "skip" || ans == "mysql-json" || ans == "rounded" || ans == "unordered" || ans == "null-if-empty":
			e.answer = ans
		case strings.HasPrefix(ans, "value "):
			e.answer, e.text = "value", strings.TrimPrefix(ans, "value ")
		default:
			return nil, fmt.Errorf("%s:%d: answer %q is not value <text>, null, error, mysql-json, rounded, unordered, null-if-empty or skip", file, n, ans)
		}
		l.entries = append(l.entries, e)
	}
	return l, sc.Err()
}

func (l *list) find(expr string) *entry {
	for _, e := range l.entries {
		if e.matches(expr) {
			e.used++
			return e
		}
	}
	return nil
}

// apply turns MariaDB's answer into the entry's. ok is false for skip.
func (e *entry) apply(my outcome) (outcome, bool) {
	switch e.answer {
	case "skip":
		return my, false
	case "null":
		return outcome{Kind: kNull, Warn: my.Warn}, true
	case "error":
		return outcome{Kind: kError, Code: "?", Text: "(" + e.why + ")"}, true
	case "value":
		return outcome{Kind: kValue, Text: e.text, Double: my.Double, Warn: my.Warn}, true
	case "rounded":
		my.Loose = rounded
		return my, true
	case "null-if-empty":
		if my.Kind == kValue && my.Text == "" {
			return outcome{Kind: kNull, Warn: my.Warn}, true
		}
		return my, true
	case "unordered":
		my.Loose = unordered
		return my, true
	case "mysql-json":
		if my.Kind == kValue {
			if s, err := mysqlJSON(my.Text); err == nil {
				my.Text = s
			}
		}
		return my, true
	}
	return my, true
}

// mysqlJSON prints a JSON text as MySQL 8 does: ", " and ": " separators,
// object keys sorted by length, then bytewise. Numbers keep their text.
func mysqlJSON(s string) (string, error) {
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return "", err
	}
	var b strings.Builder
	writeJSON(&b, v)
	return b.String(), nil
}

func writeJSON(b *strings.Builder, v any) {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool {
			if len(keys[i]) != len(keys[j]) {
				return len(keys[i]) < len(keys[j])
			}
			return keys[i] < keys[j]
		})
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			writeJSON(b, k)
			b.WriteString(": ")
			writeJSON(b, x[k])
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			writeJSON(b, e)
		}
		b.WriteByte(']')
	case string:
		enc, _ := json.Marshal(x)
		b.Write(bytes.ReplaceAll(bytes.ReplaceAll(bytes.ReplaceAll(enc, []byte(`\u003c`), []byte("<")), []byte(`\u003e`), []byte(">")), []byte(`\u0026`), []byte("&")))
	case json.Number:
		b.WriteString(string(x))
	case bool:
		fmt.Fprint(b, x)
	case nil:
		b.WriteString("null")
	}
}
