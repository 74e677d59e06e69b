package sql

import (
	"fmt"
	"strings"
	"testing"

	"github.com/streamsql/streamsql/sql/sqlerr"
)

func renderCursor(st Statement) string {
	switch s := st.(type) {
	case *Declare:
		if s.Catalog != nil {
			return fmt.Sprintf("declare %s@%d hold=%v catalog %q@%d", s.Name, s.NamePos, s.Hold, s.Catalog.Text, s.Catalog.Position(1))
		}
		return fmt.Sprintf("declare %s@%d hold=%v %s", s.Name, s.NamePos, s.Hold, renderSelect(s.Query))
	case *Fetch:
		return fmt.Sprintf("fetch %s@%d count=%d all=%v move=%v", s.Name, s.NamePos, s.Count, s.All, s.Move)
	case *CloseCursor:
		return fmt.Sprintf("close %q all=%v", s.Name, s.All)
	case *Select:
		return renderCopy(s.Copy) + " " + renderSelect(s)
	case *Subscribe:
		return renderCopy(s.Copy) + " subscribe " + s.Name
	case *CatalogQuery:
		return fmt.Sprintf("%s catalog %q@%d", renderCopy(s.Copy), s.Text, s.Position(1))
	}
	return fmt.Sprintf("%T", st)
}

func renderCopy(f *CopyFormat) string {
	if f == nil {
		return "no copy"
	}
	return fmt.Sprintf("copy csv=%v header=%v delim=%q null=%q quote=%q escape=%q force=%v%v all=%v",
		f.CSV, f.Header, f.Delimiter, f.Null, f.Quote, f.Escape, f.ForceQuote, f.ForceQuotePos, f.ForceQuoteAll)
}

func TestParse_Cursors(t *testing.T) {
	tests := []struct{ in, want string }{
		{`DECLARE "c" CURSOR WITHOUT HOLD FOR SELECT 1`, "declare c@9 hold=false {SELECT 1}"},
		{`declare Cur insensitive no scroll cursor with hold for select a from t`, "declare cur@9 hold=true {SELECT `a` FROM `t`}"},
		{`DECLARE c ASENSITIVE CURSOR FOR SELECT $1`, "declare c@9 hold=false {SELECT ? params=[0]/1}"},
		// psql with FETCH_COUNT declares a cursor for every query, \d's too.
		{`DECLARE _psql_cursor NO SCROLL CURSOR FOR SELECT n.nspname FROM pg_catalog.pg_namespace n`,
			`declare _psql_cursor@9 hold=false catalog "SELECT n.nspname FROM pg_catalog.pg_namespace n"@43`},
		{`COPY (SELECT relname FROM pg_class) TO STDOUT WITH CSV`,
			`copy csv=true header=false delim=',' null="" quote='"' escape='"' force=[][] all=false catalog "SELECT relname FROM pg_class"@7`},
		{`FETCH FORWARD 2000 FROM "c"`, "fetch c@25 count=2000 all=false move=false"},
		{`FETCH c`, "fetch c@7 count=1 all=false move=false"},
		{`FETCH NEXT IN c`, "fetch c@15 count=1 all=false move=false"},
		{`FETCH ALL c`, "fetch c@11 count=0 all=true move=false"},
		{`FETCH FORWARD ALL FROM c`, "fetch c@24 count=0 all=true move=false"},
		{`fetch 3 from c`, "fetch c@14 count=3 all=false move=false"},
		{`FETCH FORWARD FROM c`, "fetch c@20 count=1 all=false move=false"},
		{`MOVE 5 IN c`, "fetch c@11 count=5 all=false move=true"},
		{`CLOSE "C"`, `close "C" all=false`},
		{`CLOSE ALL`, `close "" all=true`},
		{`COPY (SELECT 1) TO STDOUT`, `copy csv=false header=false delim='\t' null="\\N" quote='\x00' escape='\x00' force=[][] all=false {SELECT 1}`},
		{`COPY (SELECT 1) TO STDOUT WITH CSV HEADER`, `copy csv=true header=true delim=',' null="" quote='"' escape='"' force=[][] all=false {SELECT 1}`},
		{`copy (select 1) to stdout with delimiter ','`, `copy csv=false header=false delim=',' null="\\N" quote='\x00' escape='\x00' force=[][] all=false {SELECT 1}`},
		{`COPY (SELECT 1) TO STDOUT CSV DELIMITER AS ';' NULL AS 'x' QUOTE '''' ESCAPE '\' FORCE QUOTE a, "B"`,
			`copy csv=true header=false delim=';' null="x" quote='\'' escape='\\' force=[a B][94 97] all=false {SELECT 1}`},
		{`COPY (SELECT 1) TO STDOUT (FORMAT csv, HEADER true, DELIMITER '|', NULL 'NULL', QUOTE '''', FORCE_QUOTE *)`,
			`copy csv=true header=true delim='|' null="NULL" quote='\'' escape='\'' force=[][] all=true {SELECT 1}`},
		{`COPY (SELECT 1) TO STDOUT (FORMAT 'csv', HEADER false, FORCE_QUOTE (x))`,
			`copy csv=true header=false delim=',' null="" quote='"' escape='"' force=[x][69] all=false {SELECT 1}`},
		{`COPY (SELECT 1) TO STDOUT (HEADER)`, `copy csv=false header=true delim='\t' null="\\N" quote='\x00' escape='\x00' force=[][] all=false {SELECT 1}`},
		{`COPY (SUBSCRIBE v) TO STDOUT WITH (FORMAT csv)`, `copy csv=true header=false delim=',' null="" quote='"' escape='"' force=[][] all=false subscribe v`},
	}
	for _, tt := range tests {
		sts, err := Parse(tt.in)
		if err != nil {
			t.Errorf("%s: %v", tt.in, err)
			continue
		}
		if len(sts) != 1 {
			t.Errorf("%s: %d statements", tt.in, len(sts))
			continue
		}
		if got := renderCursor(sts[0]); got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.in, got, tt.want)
		}
	}
}

func TestParse_CursorErrors(t *testing.T) {
	tests := []struct {
		in   string
		code sqlerr.Code
		pos  int
		msg  string
	}{
		{"DECLARE c SCROLL CURSOR FOR SELECT 1", sqlerr.FeatureNotSupported, 11, "scrollable cursors"},
		{"DECLARE c BINARY CURSOR FOR SELECT 1", sqlerr.FeatureNotSupported, 11, "binary cursors"},
		{"DECLARE c CURSOR FOR SHOW SOURCES", sqlerr.FeatureNotSupported, 22, "only be declared for a query"},
		{"DECLARE c CURSOR SELECT 1", sqlerr.SyntaxError, 18, "SELECT"},
		{"FETCH BACKWARD 1 FROM c", sqlerr.ObjectNotInPrerequisiteState, 7, "forward"},
		{"FETCH -1 FROM c", sqlerr.ObjectNotInPrerequisiteState, 7, "forward"},
		{"FETCH PRIOR c", sqlerr.ObjectNotInPrerequisiteState, 7, "forward"},
		{"FETCH 0 c", sqlerr.FeatureNotSupported, 7, "FETCH 0"},
		{"FETCH 1 FROM", sqlerr.SyntaxError, 13, "end of input"},
		{"CLOSE", sqlerr.SyntaxError, 6, "end of input"},
		{"COPY t TO STDOUT", sqlerr.FeatureNotSupported, 1, "COPY table TO is not supported"},
		{"COPY t FROM STDIN", sqlerr.FeatureNotSupported, 1, "COPY FROM is not supported"},
		{"COPY (SELECT 1) FROM STDIN", sqlerr.FeatureNotSupported, 1, "COPY FROM is not supported"},
		{"COPY (SELECT 1) TO '/tmp/x'", sqlerr.FeatureNotSupported, 20, "file or a program"},
		{"COPY (SHOW SOURCES) TO STDOUT", sqlerr.FeatureNotSupported, 7, "query or a SUBSCRIBE"},
		{"COPY (SELECT 1) TO STDOUT (FORMAT binary)", sqlerr.FeatureNotSupported, 28, "binary"},
		{"COPY (SELECT 1) TO STDOUT WITH BINARY", sqlerr.FeatureNotSupported, 32, "binary"},
		{"COPY (SELECT 1) TO STDOUT (FORMAT xml)", sqlerr.InvalidParameterValue, 28, "not recognized"},
		{"COPY (SELECT 1) TO STDOUT (DELIMITER ';;')", sqlerr.FeatureNotSupported, 28, "single one-byte"},
		{"COPY (SELECT 1) TO STDOUT (QUOTE '''')", sqlerr.FeatureNotSupported, 28, "only in CSV mode"},
		{"COPY (SELECT 1) TO STDOUT (FORCE_QUOTE *)", sqlerr.FeatureNotSupported, 28, "force quote available only in CSV"},
		{"COPY (SELECT 1) TO STDOUT (FORMAT csv, DELIMITER '\"')", sqlerr.InvalidParameterValue, 40, "must be different"},
		{"COPY (SELECT 1) TO STDOUT (DELIMITER '\\')", sqlerr.InvalidParameterValue, 28, "cannot be"},
		{"COPY (SELECT 1) TO STDOUT (NULL 'a,b', FORMAT csv)", sqlerr.InvalidParameterValue, 1, "NULL specification"},
		{"COPY (SELECT 1) TO STDOUT (HEADER, HEADER)", sqlerr.SyntaxError, 36, "redundant"},
		{"COPY (SELECT 1) TO STDOUT (OIDS)", sqlerr.SyntaxError, 28, "not recognized"},
		{"COPY (SELECT 1) TO STDOUT (FORCE_NULL (a))", sqlerr.FeatureNotSupported, 28, "only for COPY FROM"},
		{"EXPLAIN COPY (SELECT 1) TO STDOUT", sqlerr.FeatureNotSupported, 9, "EXPLAIN supports"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.in)
		e, ok := err.(*sqlerr.Error)
		if !ok {
			t.Errorf("%s: got %v, want an error", tt.in, err)
			continue
		}
		if e.Code != tt.code || e.Position != tt.pos || !strings.Contains(e.Message, tt.msg) {
			t.Errorf("%s: got %s @%d %q, want %s @%d containing %q", tt.in, e.Code, e.Position, e.Message, tt.code, tt.pos, tt.msg)
		}
	}
}
