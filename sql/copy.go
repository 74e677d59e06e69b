package sql

import (
	"strings"

	"github.com/streamsql/streamsql/sql/sqlerr"
)

// COPY (query) TO STDOUT and COPY (SUBSCRIBE ...) TO STDOUT, with the
// options of Postgres's two syntaxes: (FORMAT csv, HEADER, ...) and the
// older WITH CSV HEADER DELIMITER ',' that psycopg2's copy_expert users
// write. The rows go to the client as COPY data; nothing is read or
// written on the server.

func (p *parser) parseCopy() (spanSetter, error) {
	c := p.next() // COPY
	if !p.peek().punct("(") {
		// COPY name [(columns)] {TO | FROM} ...
		form := "COPY table TO"
		for k := p.i; k < len(p.toks); k++ {
			if p.toks[k].is("from") {
				form = "COPY FROM"
				break
			}
		}
		e := p.errAt(c.start, sqlerr.FeatureNotSupported, "%s is not supported", form)
		if form == "COPY FROM" {
			return nil, e.WithHint("Data comes in through sources: CREATE SOURCE reads a Kinesis stream.")
		}
		return nil, e.WithHint("Write COPY (SELECT * FROM name) TO STDOUT.")
	}
	open := p.i
	closing := p.matching(open)
	if closing < 0 {
		return nil, p.syntaxErr(p.toks[len(p.toks)-1])
	}
	p.next()
	var st spanSetter
	if p.peek().is("subscribe") {
		inner := &parser{src: p.src, chars: p.chars, comments: p.comments,
			toks: append(p.toks[p.i:closing:closing], token{kind: tEOF, start: p.toks[closing].start, end: p.toks[closing].start})}
		s, err := inner.parseSubscribe()
		if err != nil {
			return nil, err
		}
		if err := inner.expectEnd(); err != nil {
			return nil, err
		}
		s.Copy = &CopyFormat{}
		st = s
	} else {
		t := p.peek()
		if !(t.is("select") || t.is("with") || t.punct("(") || t.is("values") || t.is("table")) {
			return nil, p.errAt(t.start, sqlerr.FeatureNotSupported, "COPY takes a query or a SUBSCRIBE").
				WithHint("Write COPY (SELECT ...) TO STDOUT.")
		}
		if p.isCatalogQuery(p.i, closing) {
			st = p.catalogQuery(p.i, closing)
		} else {
			q, err := p.parseQuery(p.i, closing)
			if err != nil {
				return nil, err
			}
			q.Copy = &CopyFormat{}
			st = q
		}
	}
	p.i = closing + 1
	if p.peek().is("from") {
		return nil, p.errAt(c.start, sqlerr.FeatureNotSupported, "COPY FROM is not supported").
			WithHint("Data comes in through sources: CREATE SOURCE reads a Kinesis stream.")
	}
	if err := p.expect("to"); err != nil {
		return nil, err
	}
	if !p.accept("stdout") {
		return nil, p.errAt(p.peek().start, sqlerr.FeatureNotSupported, "COPY TO a file or a program is not supported").
			WithHint("Write COPY (...) TO STDOUT: the client receives the rows.")
	}
	f, err := p.parseCopyOptions()
	if err != nil {
		return nil, err
	}
	switch s := st.(type) {
	case *Select:
		s.Copy = f
	case *Subscribe:
		s.Copy = f
	case *CatalogQuery:
		s.Copy = f
	}
	return st, nil
}

// parseCopyOptions reads what follows TO STDOUT and checks it as
// Postgres's ProcessCopyOptions does.
func (p *parser) parseCopyOptions() (*CopyFormat, error) {
	type setting struct {
		key   string
		val   string
		cols  []token
		all   bool
		start int // byte offset of the option's name
	}
	var opts []setting
	p.accept("with")
	if p.peek().punct("(") {
		p.next()
		for {
			kt := p.next()
			if !kt.isName() {
				return nil, p.syntaxErr(kt)
			}
			o := setting{key: strings.ToLower(kt.val), start: kt.start}
			vt := p.peek()
			switch {
			case vt.punct(",") || vt.punct(")"):
			case vt.punct("*"):
				p.next()
				o.all = true
			case vt.punct("("):
				p.next()
				for {
					ct := p.next()
					if !ct.isName() {
						return nil, p.syntaxErr(ct)
					}
					o.cols = append(o.cols, ct)
					if !p.peek().punct(",") {
						break
					}
					p.next()
				}
				if err := p.expectPunct(")"); err != nil {
					return nil, err
				}
			case vt.kind == tString || vt.kind == tNumber || vt.kind == tIdent || vt.kind == tQIdent:
				p.next()
				o.val = vt.val
				if vt.kind == tIdent {
					o.val = strings.ToLower(vt.val)
				}
			default:
				return nil, p.syntaxErr(vt)
			}
			opts = append(opts, o)
			if p.peek().punct(",") {
				p.next()
				continue
			}
			if err := p.expectPunct(")"); err != nil {
				return nil, err
			}
			break
		}
	} else {
		// The old syntax: keywords in any order.
		str := func() (string, error) {
			p.accept("as")
			t := p.next()
			if t.kind != tString {
				return "", p.syntaxErr(t)
			}
			return t.val, nil
		}
		for p.peek().kind != tEOF {
			t := p.next()
			o := setting{start: t.start}
			var err error
			switch {
			case t.is("binary"):
				o.key, o.val = "format", "binary"
			case t.is("csv"):
				o.key, o.val = "format", "csv"
			case t.is("header"):
				o.key = "header"
			case t.is("delimiter"):
				o.key = "delimiter"
				o.val, err = str()
			case t.is("null"):
				o.key = "null"
				o.val, err = str()
			case t.is("quote"):
				o.key = "quote"
				o.val, err = str()
			case t.is("escape"):
				o.key = "escape"
				o.val, err = str()
			case t.is("encoding"):
				o.key = "encoding"
				o.val, err = str()
			case t.is("force") && p.peek().is("quote"):
				p.next()
				o.key = "force_quote"
				if p.peek().punct("*") {
					p.next()
					o.all = true
					break
				}
				for {
					ct := p.next()
					if !ct.isName() {
						return nil, p.syntaxErr(ct)
					}
					o.cols = append(o.cols, ct)
					if !p.peek().punct(",") {
						break
					}
					p.next()
				}
			default:
				return nil, p.syntaxErr(t)
			}
			if err != nil {
				return nil, err
			}
			opts = append(opts, o)
		}
	}
	if err := p.expectEnd(); err != nil {
		return nil, err
	}

	f := &CopyFormat{}
	var delim, null, quote, escape *string
	seen := map[string]bool{}
	var forceQuote *setting
	for i := range opts {
		o := &opts[i]
		if seen[o.key] {
			return nil, p.errAt(o.start, sqlerr.SyntaxError, "conflicting or redundant options")
		}
		seen[o.key] = true
		badValue := func() error {
			return p.errAt(o.start, sqlerr.InvalidParameterValue, "invalid value for COPY option %q", o.key)
		}
		switch o.key {
		case "format":
			switch o.val {
			case "text":
			case "csv":
				f.CSV = true
			case "binary":
				return nil, p.errAt(o.start, sqlerr.FeatureNotSupported, "COPY FORMAT binary is not supported").
					WithHint("Use FORMAT text or FORMAT csv.")
			default:
				return nil, p.errAt(o.start, sqlerr.InvalidParameterValue, "COPY format %q not recognized", o.val)
			}
		case "header":
			switch o.val {
			case "", "true", "on", "1":
				f.Header = true
			case "false", "off", "0":
			case "match":
				return nil, p.errAt(o.start, sqlerr.FeatureNotSupported, "cannot use \"match\" with HEADER in COPY TO")
			default:
				return nil, badValue()
			}
		case "delimiter":
			delim = &o.val
		case "null":
			null = &o.val
		case "quote":
			quote = &o.val
		case "escape":
			escape = &o.val
		case "force_quote":
			if !o.all && len(o.cols) == 0 {
				return nil, badValue()
			}
			forceQuote = o
		case "encoding":
			if v := strings.ToLower(strings.ReplaceAll(strings.ReplaceAll(o.val, "-", ""), "_", "")); v != "utf8" && v != "unicode" {
				return nil, p.errAt(o.start, sqlerr.FeatureNotSupported, "COPY encoding %q is not supported; only UTF8 is", o.val)
			}
		case "freeze", "force_not_null", "force_null", "default", "on_error":
			return nil, p.errAt(o.start, sqlerr.FeatureNotSupported, "COPY option %q is only for COPY FROM, which is not supported", o.key)
		default:
			return nil, p.errAt(o.start, sqlerr.SyntaxError, "option %q not recognized", o.key)
		}
	}
	at := func(key string) int {
		for _, o := range opts {
			if o.key == key {
				return o.start
			}
		}
		return 0
	}
	f.Delimiter, f.Null = '\t', `\N`
	if f.CSV {
		f.Delimiter, f.Null, f.Quote = ',', "", '"'
	}
	oneByte := func(key, what string, v *string) (byte, error) {
		if len(*v) != 1 {
			return 0, p.errAt(at(key), sqlerr.FeatureNotSupported, "COPY %s must be a single one-byte character", what)
		}
		return (*v)[0], nil
	}
	var err error
	if delim != nil {
		if f.Delimiter, err = oneByte("delimiter", "delimiter", delim); err != nil {
			return nil, err
		}
	}
	if null != nil {
		f.Null = *null
	}
	if !f.CSV {
		for _, k := range []string{"quote", "escape", "force_quote"} {
			if seen[k] {
				return nil, p.errAt(at(k), sqlerr.FeatureNotSupported, "COPY %s available only in CSV mode", strings.ReplaceAll(k, "_", " "))
			}
		}
	} else {
		if quote != nil {
			if f.Quote, err = oneByte("quote", "quote", quote); err != nil {
				return nil, err
			}
		}
		f.Escape = f.Quote
		if escape != nil {
			if f.Escape, err = oneByte("escape", "escape", escape); err != nil {
				return nil, err
			}
		}
	}
	invalid := func(key, format string, args ...any) error {
		return p.errAt(at(key), sqlerr.InvalidParameterValue, format, args...)
	}
	switch {
	case f.Delimiter == '\n' || f.Delimiter == '\r':
		return nil, invalid("delimiter", "COPY delimiter cannot be newline or carriage return")
	case strings.ContainsAny(f.Null, "\r\n"):
		return nil, invalid("null", "COPY null representation cannot use newline or carriage return")
	case !f.CSV && strings.IndexByte(`\.abcdefghijklmnopqrstuvwxyz0123456789`, f.Delimiter) >= 0:
		return nil, invalid("delimiter", "COPY delimiter cannot be %q", string(f.Delimiter))
	case f.CSV && f.Delimiter == f.Quote:
		return nil, invalid("delimiter", "COPY delimiter and quote must be different")
	case strings.IndexByte(f.Null, f.Delimiter) >= 0:
		return nil, invalid("delimiter", "COPY delimiter must not appear in the NULL specification")
	case f.CSV && strings.IndexByte(f.Null, f.Quote) >= 0:
		return nil, invalid("quote", "CSV quote character must not appear in the NULL specification")
	}
	if forceQuote != nil {
		f.ForceQuoteAll = forceQuote.all
		for _, ct := range forceQuote.cols {
			f.ForceQuote = append(f.ForceQuote, ct.name())
			f.ForceQuotePos = append(f.ForceQuotePos, p.pos(ct.start))
		}
	}
	return f, nil
}
