package wire

import (
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgproto3"
)

func TestEscapeCopyText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain", "plain"},
		{"", ""},
		{"a\tb", `a\tb`},
		{"line\nnext\r", `line\nnext\r`},
		{`back\slash`, `back\\slash`},
		{"\b\f\v", `\b\f\v`},
	} {
		b := escapeCopyText(append([]byte("x|"), tc.in...), 2, '\t')
		if got := string(b); got != "x|"+tc.want {
			t.Errorf("escape %q: %q, want %q", tc.in, got, "x|"+tc.want)
		}
	}
}

// TestCopy_Select checks COPY (SELECT ...) TO STDOUT in text and CSV with
// their options, byte for byte as Postgres writes the same values.
func TestCopy_Select(t *testing.T) {
	addr := engineAddr(t)
	const q = "(SELECT 'a,b' AS \"x y\", 'tab\there' AS b, NULL AS c UNION ALL " +
		"SELECT 'q\"r', 'back\\slash', 'line\nbreak' UNION ALL SELECT '', '\\N', 'x')"
	tests := []struct {
		opts string
		want []string // the CopyData messages
	}{
		{"", []string{"a,b\ttab\\there\t\\N\n", "q\"r\tback\\\\slash\tline\\nbreak\n", "\t\\\\N\tx\n"}},
		{"(FORMAT text, HEADER)", []string{"x y\tb\tc\n", "a,b\ttab\\there\t\\N\n", "q\"r\tback\\\\slash\tline\\nbreak\n", "\t\\\\N\tx\n"}},
		{"WITH DELIMITER ','", []string{"a\\,b,tab\\there,\\N\n", "q\"r,back\\\\slash,line\\nbreak\n", ",\\\\N,x\n"}},
		{"WITH (NULL 'nil')", []string{"a,b\ttab\\there\tnil\n", "q\"r\tback\\\\slash\tline\\nbreak\n", "\t\\\\N\tx\n"}},
		{"WITH CSV HEADER", []string{"x y,b,c\n", "\"a,b\",tab\there,\n", "\"q\"\"r\",back\\slash,\"line\nbreak\"\n", "\"\",\\N,x\n"}},
		{"(FORMAT csv, DELIMITER ';', NULL 'NULL', FORCE_QUOTE (c), HEADER false)",
			[]string{"a,b;tab\there;NULL\n", "\"q\"\"r\";back\\slash;\"line\nbreak\"\n", ";\\N;\"x\"\n"}},
		{"CSV QUOTE '''' ESCAPE '\\' FORCE QUOTE *", []string{"'a,b','tab\there',\n", "'q\"r','back\\\\slash','line\nbreak'\n", "'','\\\\N','x'\n"}},
	}
	c := startRaw(t, addr)
	for _, tt := range tests {
		c.send(query("COPY " + q + " TO STDOUT " + tt.opts))
		var got []string
		var tail []string
		for {
			msg, err := c.fe.Receive()
			if err != nil {
				t.Fatal(err)
			}
			if d, ok := msg.(*pgproto3.CopyData); ok {
				got = append(got, string(d.Data))
				continue
			}
			tail = append(tail, render(msg))
			if _, ok := msg.(*pgproto3.ReadyForQuery); ok {
				break
			}
		}
		if strings.Join(got, "") != strings.Join(tt.want, "") || len(got) != len(tt.want) {
			t.Errorf("COPY ... %s:\n got %q\nwant %q", tt.opts, got, tt.want)
		}
		if want := "CopyOutResponse|CopyDone|CommandComplete COPY 3|ReadyForQuery I"; strings.Join(tail, "|") != want {
			t.Errorf("COPY ... %s: %s, want %s", tt.opts, strings.Join(tail, "|"), want)
		}
	}
	// Errors the statement finds once it knows its columns.
	c.send(query("COPY " + q + " TO STDOUT (FORMAT csv, FORCE_QUOTE (nope))"))
	if got := strings.Join(withoutStatus(c.expectUntilReady()), "|"); got != "Error 42P10|ReadyForQuery I" {
		t.Errorf("FORCE_QUOTE of a missing column: %s", got)
	}
}

// TestCopy_Pgconn copies a SELECT with pgconn's CopyTo, as psycopg2's
// copy_expert and psql's \copy read it.
func TestCopy_Pgconn(t *testing.T) {
	conn := connect(t, engineAddr(t), "")
	var buf strings.Builder
	tag, err := conn.PgConn().CopyTo(testCtx(t), &buf,
		"COPY (SELECT generate_series AS n, generate_series * 2 AS m FROM generate_series(1, 3)) TO STDOUT WITH CSV HEADER")
	if err != nil {
		t.Fatal(err)
	}
	if want := "n,m\n1,2\n2,4\n3,6\n"; buf.String() != want || tag.String() != "COPY 3" {
		t.Errorf("got %q (%s), want %q (COPY 3)", buf.String(), tag, want)
	}
}
