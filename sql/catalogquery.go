package sql

// CatalogQuery is a query that reads the Postgres catalog: it names the
// schema pg_catalog or information_schema, or reads a relation whose name
// starts with pg_. Such queries are written in Postgres's dialect (by psql,
// JDBC drivers, GUI tools) and are never given to TiDB: package
// pgcatalog/eval parses and runs Text.
type CatalogQuery struct {
	stmtBase
	// Text is the statement's text as the client sent it, without the
	// terminating ';'.
	Text string
	// Offset is where Text starts in the text given to Parse (bytes).
	Offset int
	// Copy is the format of COPY (query) TO STDOUT; nil for a plain query.
	Copy *CopyFormat

	chars *charIndex
}

// Position converts a 1-based character position in Text to one in the
// text given to Parse, for error messages.
func (q *CatalogQuery) Position(pos int) int {
	if pos <= 0 {
		return 0
	}
	return q.chars.pos(q.Offset) - 1 + pos
}

// catalogQuery makes the CatalogQuery of tokens [from, to).
func (p *parser) catalogQuery(from, to int) *CatalogQuery {
	start, end := p.toks[from].start, p.toks[to-1].end
	return &CatalogQuery{Text: p.src[start:end], Offset: start, chars: p.chars}
}

// isCatalogQuery reports whether tokens [from, to) are a query that reads
// the catalog: one that reads a relation in FROM or JOIN position qualified
// by pg_catalog or information_schema or named pg_..., or one without FROM
// that calls a function qualified by pg_catalog (SELECT
// pg_catalog.version()). A query over our own relations stays ours even
// when it names pg_catalog in a type (x::pg_catalog.int4) or an operator.
func (p *parser) isCatalogQuery(from, to int) bool {
	var fromList fromTracker
	hasFrom, catalogCall := false, false
	for k := from; k < to; k++ {
		t := p.toks[k]
		hasFrom = hasFrom || t.is("from")
		if fromList.see(t) || !t.isName() || k == from {
			continue
		}
		prev := p.toks[k-1]
		inRelationPlace := fromList.relationPlace(prev)
		qualifies := k+2 < to && p.toks[k+1].punct(".") && p.toks[k+2].isName()
		switch {
		case (t.names("pg_catalog") || t.names("information_schema")) && qualifies && inRelationPlace:
			return true
		case t.hasNamePrefix("pg_") && inRelationPlace && !qualifies:
			return true
		case t.names("pg_catalog") && qualifies && k+3 < to && p.toks[k+3].punct("(") && !prev.punct("::"):
			catalogCall = true
		}
	}
	return catalogCall && !hasFrom
}
