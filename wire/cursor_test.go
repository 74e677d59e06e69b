package wire

import (
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgproto3"
)

// steps sends each query in turn and compares the reply up to
// ReadyForQuery, one line per query.
func runSteps(t *testing.T, c *rawClient, steps []string, want []string) {
	t.Helper()
	for i, q := range steps {
		c.send(query(q))
		got := strings.Join(withoutStatus(c.expectUntilReady()), "|")
		if got != want[i] {
			t.Fatalf("step %d %q:\n got %s\nwant %s", i+1, q, got, want[i])
		}
	}
}

// TestCursors_Wire runs the statements psycopg2's named cursors send, and
// the rules of cursors in and out of transaction blocks.
func TestCursors_Wire(t *testing.T) {
	addr := engineAddr(t)
	const series = "SELECT generate_series AS n FROM generate_series(1, 5)"
	tests := []struct {
		name  string
		steps []string
		want  []string
	}{
		{
			name: "psycopg2 named cursor",
			steps: []string{"BEGIN", `DECLARE "c" CURSOR WITHOUT HOLD FOR ` + series,
				`FETCH FORWARD 2 FROM "c"`, `FETCH FORWARD 2 FROM "c"`, `FETCH FORWARD 2 FROM "c"`, `FETCH FORWARD 2 FROM "c"`,
				`CLOSE "c"`, "COMMIT"},
			want: []string{"CommandComplete BEGIN|ReadyForQuery T", "CommandComplete DECLARE CURSOR|ReadyForQuery T",
				"RowDescription n:20|DataRow 1|DataRow 2|CommandComplete FETCH 2|ReadyForQuery T",
				"RowDescription n:20|DataRow 3|DataRow 4|CommandComplete FETCH 2|ReadyForQuery T",
				"RowDescription n:20|DataRow 5|CommandComplete FETCH 1|ReadyForQuery T",
				"RowDescription n:20|CommandComplete FETCH 0|ReadyForQuery T",
				"CommandComplete CLOSE CURSOR|ReadyForQuery T", "CommandComplete COMMIT|ReadyForQuery I"},
		},
		{
			name:  "FETCH, MOVE, FETCH ALL, NEXT",
			steps: []string{"BEGIN", "DECLARE c CURSOR FOR " + series, "FETCH c", "MOVE 2 IN c", "FETCH ALL FROM c", "FETCH NEXT c", "MOVE ALL c"},
			want: []string{"CommandComplete BEGIN|ReadyForQuery T", "CommandComplete DECLARE CURSOR|ReadyForQuery T",
				"RowDescription n:20|DataRow 1|CommandComplete FETCH 1|ReadyForQuery T",
				"CommandComplete MOVE 2|ReadyForQuery T",
				"RowDescription n:20|DataRow 4|DataRow 5|CommandComplete FETCH 2|ReadyForQuery T",
				"RowDescription n:20|CommandComplete FETCH 0|ReadyForQuery T",
				"CommandComplete MOVE 0|ReadyForQuery T"},
		},
		{
			name:  "DECLARE outside a block needs WITH HOLD",
			steps: []string{"DECLARE c CURSOR FOR " + series, "DECLARE c CURSOR WITH HOLD FOR " + series, "FETCH 2 c", "CLOSE ALL", "FETCH c"},
			want: []string{"Error 25P01|ReadyForQuery I", "CommandComplete DECLARE CURSOR|ReadyForQuery I",
				"RowDescription n:20|DataRow 1|DataRow 2|CommandComplete FETCH 2|ReadyForQuery I",
				"CommandComplete CLOSE CURSOR ALL|ReadyForQuery I", "Error 34000|ReadyForQuery I"},
		},
		{
			name: "cursors end with their block; WITH HOLD ones survive COMMIT only",
			steps: []string{"BEGIN", "DECLARE a CURSOR FOR " + series, "DECLARE h CURSOR WITH HOLD FOR " + series, "COMMIT",
				"FETCH a", "FETCH h",
				"BEGIN", "DECLARE h2 CURSOR WITH HOLD FOR " + series, "ROLLBACK", "FETCH h2", "FETCH h"},
			want: []string{"CommandComplete BEGIN|ReadyForQuery T", "CommandComplete DECLARE CURSOR|ReadyForQuery T",
				"CommandComplete DECLARE CURSOR|ReadyForQuery T", "CommandComplete COMMIT|ReadyForQuery I",
				"Error 34000|ReadyForQuery I", "RowDescription n:20|DataRow 1|CommandComplete FETCH 1|ReadyForQuery I",
				"CommandComplete BEGIN|ReadyForQuery T", "CommandComplete DECLARE CURSOR|ReadyForQuery T",
				"CommandComplete ROLLBACK|ReadyForQuery I",
				"Error 34000|ReadyForQuery I", "RowDescription n:20|DataRow 2|CommandComplete FETCH 1|ReadyForQuery I"},
		},
		{
			name:  "errors",
			steps: []string{"BEGIN", "DECLARE c CURSOR FOR " + series, "DECLARE c CURSOR FOR " + series, "ROLLBACK", "BEGIN", "FETCH 1 FROM nope", "FETCH 1 FROM c", "ABORT"},
			want: []string{"CommandComplete BEGIN|ReadyForQuery T", "CommandComplete DECLARE CURSOR|ReadyForQuery T",
				"Error 42P03|ReadyForQuery E", "CommandComplete ROLLBACK|ReadyForQuery I", "CommandComplete BEGIN|ReadyForQuery T",
				"Error 34000|ReadyForQuery E", "Error 25P02|ReadyForQuery E", "CommandComplete ROLLBACK|ReadyForQuery I"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runSteps(t, startRaw(t, addr), tt.steps, tt.want)
		})
	}
}

// TestCursors_Extended fetches from a cursor through the extended
// protocol, as a driver that prepares every statement does.
func TestCursors_Extended(t *testing.T) {
	c := startRaw(t, engineAddr(t))
	c.send(query("BEGIN"), query("DECLARE c CURSOR FOR SELECT generate_series AS n FROM generate_series(1, 3)"))
	c.expectUntilReady()
	c.expectUntilReady()
	c.send(&pgproto3.Parse{Name: "f", Query: "FETCH 2 FROM c"}, &pgproto3.Describe{ObjectType: 'S', Name: "f"},
		&pgproto3.Bind{PreparedStatement: "f"}, &pgproto3.Execute{}, &pgproto3.Bind{PreparedStatement: "f"}, &pgproto3.Execute{}, &pgproto3.Sync{})
	got := strings.Join(withoutStatus(c.expectUntilReady()), "|")
	want := "ParseComplete|ParameterDescription []|RowDescription n:20|BindComplete|DataRow 1|DataRow 2|CommandComplete FETCH 2|" +
		"BindComplete|DataRow 3|CommandComplete FETCH 1|ReadyForQuery T"
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

// TestCursors_ExtendedParams declares a cursor whose query takes a
// parameter, through Parse and Bind.
func TestCursors_ExtendedParams(t *testing.T) {
	c := startRaw(t, engineAddr(t))
	c.send(query("BEGIN"))
	c.expectUntilReady()
	c.send(&pgproto3.Parse{Name: "d", Query: "DECLARE c CURSOR FOR SELECT generate_series AS n FROM generate_series(1, $1)", ParameterOIDs: []uint32{oidInt8}},
		&pgproto3.Bind{PreparedStatement: "d", ParameterFormatCodes: []int16{0}, Parameters: [][]byte{[]byte("3")}},
		&pgproto3.Execute{}, &pgproto3.Sync{})
	if got := strings.Join(withoutStatus(c.expectUntilReady()), "|"); got != "ParseComplete|BindComplete|CommandComplete DECLARE CURSOR|ReadyForQuery T" {
		t.Fatal(got)
	}
	c.send(query("FETCH ALL FROM c"))
	if got := strings.Join(withoutStatus(c.expectUntilReady()), "|"); got != "RowDescription n:20|DataRow 1|DataRow 2|DataRow 3|CommandComplete FETCH 3|ReadyForQuery T" {
		t.Fatal(got)
	}
}
