package sql

import (
	"slices"
	"strconv"
	"strings"

	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// stmtText is the original text of the statement being parsed.
func (p *parser) stmtText() string {
	s := p.spanFrom(p.start)
	return p.src[s.Start:s.End]
}

func (p *parser) parseCreateSource() (spanSetter, error) {
	cs := &CreateSource{Text: p.stmtText()}
	cs.IfNotExists = p.ifNotExists()
	var err error
	if cs.Name, cs.NamePos, err = p.name(); err != nil {
		return nil, err
	}
	var wmTok token
	watermark := func() (bool, error) {
		t := p.peek()
		if !t.is("watermark") || !p.peekAt(1).is("for") {
			return false, nil
		}
		if cs.Watermark != nil {
			return true, p.errAt(t.start, sqlerr.InvalidObjectDefinition, "a source can have only one WATERMARK")
		}
		p.i += 2
		wmTok = p.peek()
		cs.Watermark, err = p.parseWatermark()
		return true, err
	}
	procTime := func(prev []ColumnDef, col *ColumnDef) error {
		if col.ProcTime && slices.ContainsFunc(prev, func(c ColumnDef) bool { return c.ProcTime }) {
			return sqlerr.Newf(sqlerr.InvalidObjectDefinition, "a source can have only one PROCTIME() column").At(col.Pos)
		}
		return nil
	}
	if cs.Columns, err = p.parseColumns("source", watermark, procTime); err != nil {
		return nil, err
	}
	if wm := cs.Watermark; wm != nil {
		var col *ColumnDef
		for k := range cs.Columns {
			if cs.Columns[k].Name == wm.Column {
				col = &cs.Columns[k]
			}
		}
		if col == nil {
			return nil, p.errAt(wmTok.start, sqlerr.UndefinedColumn, "column %q named in WATERMARK does not exist", wm.Column)
		}
		if col.Type.Kind != types.Timestamp {
			return nil, p.errAt(wmTok.start, sqlerr.InvalidObjectDefinition,
				"WATERMARK column %q must be a TIMESTAMP, not %s", wm.Column, col.Type)
		}
		if col.ProcTime {
			return nil, p.errAt(wmTok.start, sqlerr.InvalidObjectDefinition,
				"WATERMARK column %q is PROCTIME(): processing time needs no WATERMARK, its watermark is the clock", wm.Column)
		}
	}
	if !p.peek().is("with") {
		return nil, p.errAt(p.peek().start, sqlerr.SyntaxError, "CREATE SOURCE needs WITH (connector = '...', ...)")
	}
	p.next()
	if cs.Options, err = p.parseOptions(); err != nil {
		return nil, err
	}
	if err := p.expectEnd(); err != nil {
		return nil, err
	}
	if err := validateConnectorOptions(RoleSource, &cs.Options, p.pos(p.toks[p.start].start)); err != nil {
		return nil, err
	}
	return cs, nil
}

// parseColumns reads the parenthesised list of CREATE SOURCE and CREATE
// TABLE: column definitions, and between them the clauses that clause
// reads when it finds one at the next token (it reports whether it did).
// Each column goes to check, with the columns before it, once its name is
// known to be new. An empty list is an error naming what (a source, a
// table).
func (p *parser) parseColumns(what string, clause func() (bool, error), check func(prev []ColumnDef, col *ColumnDef) error) ([]ColumnDef, error) {
	if err := p.expectPunct("("); err != nil {
		return nil, err
	}
	var cols []ColumnDef
	seen := map[string]bool{}
	for {
		done, err := clause()
		if err != nil {
			return nil, err
		}
		if !done {
			col, err := p.parseColumnDef()
			if err != nil {
				return nil, err
			}
			if seen[col.Name] {
				return nil, sqlerr.Newf(sqlerr.DuplicateColumn, "column %q specified more than once", col.Name).At(col.Pos)
			}
			seen[col.Name] = true
			if err := check(cols, &col); err != nil {
				return nil, err
			}
			cols = append(cols, col)
		}
		if t := p.next(); t.punct(")") {
			break
		} else if !t.punct(",") {
			return nil, p.syntaxErr(t)
		}
	}
	if len(cols) == 0 {
		return nil, p.errAt(p.toks[p.i-1].start, sqlerr.InvalidObjectDefinition, "a %s needs at least one column", what)
	}
	return cols, nil
}

// parseWatermark reads "col AS col [- INTERVAL ...]" after WATERMARK FOR.
func (p *parser) parseWatermark() (*Watermark, error) {
	col, pos, err := p.name()
	if err != nil {
		return nil, err
	}
	wm := &Watermark{Column: col, Pos: pos}
	if err := p.expect("as"); err != nil {
		return nil, err
	}
	et := p.next()
	if !et.isName() {
		return nil, p.errAt(et.start, sqlerr.InvalidObjectDefinition,
			"a WATERMARK must be %s or %s - INTERVAL '...' unit", col, col)
	}
	if et.name() != col {
		return nil, p.errAt(et.start, sqlerr.InvalidObjectDefinition,
			"WATERMARK FOR %s must be computed from %s itself, not %s", col, col, et.name())
	}
	if t := p.peek(); t.punct(",") || t.punct(")") {
		return wm, nil
	}
	if t := p.next(); !t.punct("-") {
		return nil, p.errAt(t.start, sqlerr.InvalidObjectDefinition,
			"a WATERMARK must be %s or %s - INTERVAL '...' unit", col, col)
	}
	it := p.peek()
	iv, err := p.parseInterval()
	if err != nil {
		return nil, err
	}
	d, ok := iv.Duration()
	if !ok || d < 0 {
		return nil, p.errAt(it.start, sqlerr.InvalidObjectDefinition,
			"a WATERMARK delay must be a non-negative interval of fixed length (no months or years)")
	}
	wm.Delay = d
	return wm, nil
}

func (p *parser) parseColumnDef() (ColumnDef, error) {
	name, pos, err := p.name()
	if err != nil {
		return ColumnDef{}, err
	}
	col := ColumnDef{Name: name, Pos: pos}
	if p.peek().is("as") {
		// name AS PROCTIME(): the only computed column, as Flink writes it.
		p.next()
		t := p.next()
		if !t.is("proctime") || !p.peek().punct("(") || !p.peekAt(1).punct(")") {
			return col, p.errAt(t.start, sqlerr.FeatureNotSupported,
				"a computed column of a source must be PROCTIME(): %s AS PROCTIME()", name)
		}
		p.i += 2
		col.Type, col.ProcTime, col.NotNull = ProcTimeType, true, true
		return col, nil
	}
	if col.Type, err = p.parseType(); err != nil {
		return col, err
	}
	for {
		switch {
		case p.acceptSeq("not", "null"):
			col.NotNull = true
		case p.accept("null"):
			col.NotNull = false
		default:
			return col, nil
		}
	}
}

// parseType reads a column type. See docs/sql.md for the list.
func (p *parser) parseType() (types.Type, error) {
	t := p.next()
	if t.kind != tIdent {
		if t.kind == tQIdent {
			return types.Type{}, p.errAt(t.start, sqlerr.UndefinedObject, "type %q does not exist", t.val)
		}
		return types.Type{}, p.syntaxErr(t)
	}
	var typ types.Type
	switch strings.ToLower(t.val) {
	case "boolean", "bool":
		typ = types.TypeBool
	case "tinyint":
		typ = types.TypeTinyInt
	case "smallint", "int2":
		typ = types.TypeSmallInt
	case "int", "integer", "int4":
		typ = types.TypeInt
	case "bigint", "int8":
		typ = types.TypeBigInt
	case "float", "real", "float4":
		typ = types.TypeFloat
		if strings.EqualFold(t.val, "float") && p.peek().punct("(") {
			// FLOAT(p): single precision up to 24 bits, as in both Postgres and MySQL.
			args, err := p.typeArgs(1, 1)
			if err != nil {
				return typ, err
			}
			if args[0].n > 24 {
				typ = types.TypeDouble
			}
			return typ, nil
		}
	case "double", "float8":
		typ = types.TypeDouble
		p.accept("precision")
	case "decimal", "numeric", "dec":
		prec, scale := 10, 0
		if p.peek().punct("(") {
			args, err := p.typeArgs(1, 2)
			if err != nil {
				return typ, err
			}
			prec = args[0].n
			if prec < 1 || prec > 65 {
				return typ, p.errAt(args[0].off, sqlerr.InvalidParameterValue, "DECIMAL precision %d must be between 1 and 65", prec)
			}
			if len(args) == 2 {
				scale = args[1].n
				if scale > prec {
					return typ, p.errAt(args[1].off, sqlerr.InvalidParameterValue, "DECIMAL scale %d must be between 0 and the precision %d", scale, prec)
				}
			}
		}
		return types.DecimalType(prec, scale), nil
	case "varchar", "character", "char":
		if strings.EqualFold(t.val, "character") {
			if !p.accept("varying") {
				return typ, p.errAt(t.start, sqlerr.FeatureNotSupported, "CHARACTER is not supported; use VARCHAR(n) or TEXT")
			}
		} else if strings.EqualFold(t.val, "char") {
			return typ, p.errAt(t.start, sqlerr.FeatureNotSupported, "CHAR is not supported; use VARCHAR(n) or TEXT")
		}
		typ = types.TypeText
		if p.peek().punct("(") {
			args, err := p.typeArgs(1, 1)
			if err != nil {
				return typ, err
			}
			if args[0].n < 1 || args[0].n > 10485760 {
				return typ, p.errAt(args[0].off, sqlerr.InvalidParameterValue, "length for type VARCHAR must be between 1 and 10485760")
			}
			typ = types.VarcharType(args[0].n)
		}
		return typ, nil
	case "text", "string":
		typ = types.TypeText
	case "bytes", "bytea", "blob":
		typ = types.TypeBytes
	case "varbinary":
		// The length is accepted for MySQL users and not enforced.
		typ = types.TypeBytes
		if p.peek().punct("(") {
			if _, err := p.typeArgs(1, 1); err != nil {
				return typ, err
			}
		}
		return typ, nil
	case "date":
		typ = types.TypeDate
	case "timestamp", "datetime":
		typ = types.TypeTimestamp
		if p.peek().punct("(") {
			args, err := p.typeArgs(1, 1)
			if err != nil {
				return typ, err
			}
			if args[0].n > 6 {
				return typ, p.errAt(args[0].off, sqlerr.InvalidParameterValue, "TIMESTAMP precision %d must be between 0 and 6", args[0].n)
			}
			typ.Precision = args[0].n
		}
		if w := p.peek(); w.is("with") && p.peekAt(1).is("time") {
			return typ, p.errAt(w.start, sqlerr.FeatureNotSupported, "TIMESTAMP WITH TIME ZONE is not supported").
				WithHint("TIMESTAMP values are in UTC.")
		}
		p.acceptSeq("without", "time", "zone")
		return typ, nil
	case "timestamptz":
		return typ, p.errAt(t.start, sqlerr.FeatureNotSupported, "TIMESTAMPTZ is not supported").
			WithHint("TIMESTAMP values are in UTC.")
	case "json", "jsonb":
		typ = types.TypeJSON
	default:
		return typ, p.errAt(t.start, sqlerr.UndefinedObject, "type %q does not exist", strings.ToLower(t.val))
	}
	if typ.Kind == types.Int && p.peek().punct("(") {
		// MySQL's display width, INT(11): accepted and meaningless.
		if _, err := p.typeArgs(1, 1); err != nil {
			return typ, err
		}
	}
	return typ, nil
}

type typeArg struct{ n, off int }

// typeArgs reads "(n[, n])" with between min and max non-negative integers.
func (p *parser) typeArgs(min, max int) ([]typeArg, error) {
	if err := p.expectPunct("("); err != nil {
		return nil, err
	}
	var args []typeArg
	for {
		t := p.next()
		if t.kind != tNumber {
			return nil, p.syntaxErr(t)
		}
		n, err := strconv.Atoi(t.text)
		if err != nil || n < 0 {
			return nil, p.errAt(t.start, sqlerr.InvalidParameterValue, "type modifier %s is not a small non-negative integer", t.text)
		}
		args = append(args, typeArg{n, t.start})
		t = p.next()
		if t.punct(")") {
			break
		}
		if !t.punct(",") || len(args) == max {
			return nil, p.syntaxErr(t)
		}
	}
	if len(args) < min {
		return nil, p.syntaxErr(p.toks[p.i-1])
	}
	return args, nil
}

// queryEnd finds where the query of CREATE ... AS ends: before a trailing
// EMIT ON WINDOW CLOSE and, when withOptions, before a trailing
// WITH ( ... ) at nesting depth 0. It returns the token indices.
func (p *parser) queryEnd(from int, withOptions bool) (end int, emit bool, withAt int) {
	end = len(p.toks) - 1 // tEOF
	withAt = -1
	if withOptions {
		isWith := func(k int) bool { return k > from && p.toks[k].is("with") && p.toks[k+1].punct("(") }
		for k := p.topLevel(from, end, isWith); k < end; k = p.topLevel(k+1, end, isWith) {
			withAt = k // the last one
		}
		if withAt >= 0 {
			end = withAt
		}
	}
	if end-from >= 4 && p.toks[end-4].is("emit") && p.toks[end-3].is("on") && p.toks[end-2].is("window") && p.toks[end-1].is("close") {
		return end - 4, true, withAt
	}
	return end, false, withAt
}

func (p *parser) parseCreateView() (spanSetter, error) {
	cv := &CreateView{Text: p.stmtText()}
	cv.IfNotExists = p.ifNotExists()
	var err error
	if cv.Name, cv.NamePos, err = p.name(); err != nil {
		return nil, err
	}
	if err := p.expect("as"); err != nil {
		return nil, err
	}
	end, emit, _ := p.queryEnd(p.i, false)
	if end == p.i {
		return nil, p.syntaxErr(p.toks[end])
	}
	if cv.Query, err = p.parseQuery(p.i, end); err != nil {
		return nil, err
	}
	if err := p.noParams(cv.Query, "CREATE MATERIALIZED VIEW"); err != nil {
		return nil, err
	}
	cv.EmitOnWindowClose = emit
	return cv, nil
}

func (p *parser) parseCreateSink() (spanSetter, error) {
	cs := &CreateSink{Text: p.stmtText()}
	cs.IfNotExists = p.ifNotExists()
	var err error
	if cs.Name, cs.NamePos, err = p.name(); err != nil {
		return nil, err
	}
	switch t := p.next(); {
	case t.is("from"):
		if cs.From, cs.FromPos, err = p.name(); err != nil {
			return nil, err
		}
		if !p.peek().is("with") {
			return nil, p.errAt(p.peek().start, sqlerr.SyntaxError, "CREATE SINK needs WITH (connector = '...', ...)")
		}
		p.next()
	case t.is("as"):
		end, emit, withAt := p.queryEnd(p.i, true)
		if withAt < 0 {
			return nil, p.errAt(p.toks[len(p.toks)-1].start, sqlerr.SyntaxError, "CREATE SINK needs WITH (connector = '...', ...) after its query")
		}
		if end == p.i {
			return nil, p.syntaxErr(p.toks[end])
		}
		if cs.Query, err = p.parseQuery(p.i, end); err != nil {
			return nil, err
		}
		if err := p.noParams(cs.Query, "CREATE SINK"); err != nil {
			return nil, err
		}
		cs.EmitOnWindowClose = emit
		p.i = withAt + 1
	default:
		return nil, p.syntaxErr(t)
	}
	if cs.Options, err = p.parseOptions(); err != nil {
		return nil, err
	}
	if err := p.expectEnd(); err != nil {
		return nil, err
	}
	if err := validateConnectorOptions(RoleSink, &cs.Options, p.pos(p.toks[p.start].start)); err != nil {
		return nil, err
	}
	return cs, nil
}

// noParams refuses parameters in a stored query: it outlives the statement
// that would bind them.
func (p *parser) noParams(q *Select, what string) error {
	if q.NumParams == 0 {
		return nil
	}
	return sqlerr.Newf(sqlerr.FeatureNotSupported, "parameters are not allowed in %s", what).At(q.paramPos)
}
