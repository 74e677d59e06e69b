package sql

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/streamsql/streamsql/sql/sqlerr"
)

// Option is one key = value pair of a WITH (...) list.
type Option struct {
	Key      string // lower case
	Value    string // as written: a string literal's contents, a number, a word
	KeyPos   int    // 1-based character position; 0 for a default filled in
	ValuePos int
	// Default is true for an option the user did not write whose value is
	// the connector's default.
	Default bool

	valStart, valEnd int // the value's bytes in the text given to Parse
}

// Options is an ordered WITH (...) list. After validation, enum values are
// lower-cased and defaults are appended (with Default set).
type Options struct {
	List []Option
}

// Get returns the value of key (lower case) and whether it is set or has a
// default.
func (o Options) Get(key string) (string, bool) {
	for _, opt := range o.List {
		if opt.Key == key {
			return opt.Value, true
		}
	}
	return "", false
}

// Lookup returns the option itself, for its positions.
func (o Options) Lookup(key string) (Option, bool) {
	for _, opt := range o.List {
		if opt.Key == key {
			return opt, true
		}
	}
	return Option{}, false
}

// Duration returns a duration option ("10s", "100ms", "1m"); ok is false
// when the option is absent. Validated options always parse.
func (o Options) Duration(key string) (d time.Duration, ok bool, err error) {
	v, ok := o.Get(key)
	if !ok {
		return 0, false, nil
	}
	d, err = parseDuration(v)
	return d, true, err
}

// Int returns an integer option; ok is false when the option is absent.
func (o Options) Int(key string) (n int64, ok bool, err error) {
	v, ok := o.Get(key)
	if !ok {
		return 0, false, nil
	}
	n, err = strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	return n, true, err
}

// Bool returns a boolean option; ok is false when the option is absent.
func (o Options) Bool(key string) (b bool, ok bool, err error) {
	v, ok := o.Get(key)
	if !ok {
		return false, false, nil
	}
	b, err = parseBool(v)
	return b, true, err
}

// Time returns a timestamp option (RFC 3339 or epoch milliseconds).
func (o Options) Time(key string) (t time.Time, ok bool, err error) {
	v, ok := o.Get(key)
	if !ok {
		return time.Time{}, false, nil
	}
	t, err = parseTimestampOption(v)
	return t, true, err
}

// parseDuration reads a Go duration with a unit ("10s", "1m30s"); a bare
// number is refused because its unit would be a guess.
func parseDuration(v string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(v))
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration such as '10s', '100ms' or '1m'", v)
	}
	if d < 0 {
		return 0, fmt.Errorf("duration %q is negative", v)
	}
	return d, nil
}

func parseBool(v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "on", "yes", "1", "t":
		return true, nil
	case "false", "off", "no", "0", "f":
		return false, nil
	}
	return false, fmt.Errorf("%q is not a boolean (true or false)", v)
}

// parseTimestampOption reads RFC 3339 text or milliseconds since the epoch.
func parseTimestampOption(v string) (time.Time, error) {
	v = strings.TrimSpace(v)
	if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.UnixMilli(ms).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 timestamp nor epoch milliseconds", v)
	}
	return t, nil
}

// parseOptions reads "( key [=] value, ... )" starting at the '('. Keys are
// words, dotted words or string literals; values are string literals,
// numbers (optionally signed) or words. A key without a value (PROGRESS)
// gets the value "true".
func (p *parser) parseOptions() (Options, error) {
	var opts Options
	if err := p.expectPunct("("); err != nil {
		return opts, err
	}
	if p.peek().punct(")") {
		p.next()
		return opts, nil
	}
	for {
		kt := p.next()
		var key string
		switch kt.kind {
		case tIdent, tQIdent, tString:
			key = strings.ToLower(kt.val)
			for p.peek().punct(".") {
				p.next()
				part := p.next()
				if !part.isName() {
					return opts, p.syntaxErr(part)
				}
				key += "." + strings.ToLower(part.val)
			}
		default:
			return opts, p.errAt(kt.start, sqlerr.SyntaxError, "expected an option name, found %s", describe(kt))
		}
		if _, dup := opts.Lookup(key); dup {
			return opts, p.errAt(kt.start, sqlerr.SyntaxError, "option %q specified more than once", key)
		}
		opt := Option{Key: key, KeyPos: p.pos(kt.start)}
		if p.peek().punct("=") {
			p.next()
		}
		if p.peek().punct(",") || p.peek().punct(")") {
			opt.Value = "true"
			opt.ValuePos = opt.KeyPos
		} else {
			vt := p.next()
			opt.ValuePos = p.pos(vt.start)
			opt.valStart, opt.valEnd = vt.start, vt.end
			switch {
			case vt.kind == tString || vt.kind == tNumber:
				opt.Value = vt.val
			case vt.kind == tIdent:
				opt.Value = strings.ToLower(vt.val)
			case (vt.punct("-") || vt.punct("+")) && p.peek().kind == tNumber:
				num := p.next()
				opt.Value = strings.TrimPrefix(vt.text, "+") + num.val
				opt.valEnd = num.end
			default:
				return opts, p.errAt(vt.start, sqlerr.SyntaxError, "expected a value for option %q, found %s", key, describe(vt))
			}
		}
		opts.List = append(opts.List, opt)
		t := p.next()
		if t.punct(")") {
			return opts, nil
		}
		if !t.punct(",") {
			return opts, p.errAt(t.start, sqlerr.SyntaxError, "expected ',' or ')' in WITH options, found %s", describe(t))
		}
	}
}

// redact returns text (which starts at byte offset base of the text given
// to Parse) with the values of secret options replaced by '***'.
func redact(text string, base int, opts Options, role Role) string {
	name, _ := opts.Get("connector")
	spec, ok := LookupConnector(role, name)
	if !ok {
		return text
	}
	secret := map[string]bool{}
	for _, o := range spec.Options {
		if o.Secret {
			secret[o.Key] = true
		}
	}
	// Replace from the end so earlier offsets stay valid.
	list := append([]Option(nil), opts.List...)
	sort.Slice(list, func(i, j int) bool { return list[i].valStart > list[j].valStart })
	for _, o := range list {
		a, b := o.valStart-base, o.valEnd-base
		if !secret[o.Key] || o.Default || a < 0 || b > len(text) || a >= b {
			continue
		}
		text = text[:a] + "'***'" + text[b:]
	}
	return text
}
