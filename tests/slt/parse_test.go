package slt

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	const src = `# a comment
statement ok
CREATE SOURCE s (a INT)
WITH (connector = 'kinesis')

statement error pgcode 42P07 source "s" already exists
CREATE SOURCE s (a INT)

statement error syntax error at or near
SELEC 1

statement error pgcode 42601 position 1
SELEC 2

query IT rowsort
SELECT 1, 'a'
----
1 a
2	b

query R nosort lbl retry
SELECT 1.5
----
1.500

query I
SELECT 1 WHERE false

query error pgcode 22012 division by zero
SELECT 1/0

skipif postgres
onlyif streamsql
statement ok
SELECT 1

kinesis create-stream clicks 2

kinesis put clicks
u1	{"a": 1, "b": "x y"}
u2 {"a":2}

flush

hash-threshold 8

halt

statement ok
NOT REACHED BY THE RUNNER
`
	recs, err := Parse("t.slt", strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		kind  Kind
		line  int
		check func(t *testing.T, r *Record)
	}
	wants := []want{
		{KindStatement, 2, func(t *testing.T, r *Record) {
			if r.SQL != "CREATE SOURCE s (a INT)\nWITH (connector = 'kinesis')" || r.Expect.Error {
				t.Errorf("got %+v", r)
			}
		}},
		{KindStatement, 6, func(t *testing.T, r *Record) {
			if !r.Expect.Error || r.Expect.Code != "42P07" || r.Expect.Pattern.String() != `source "s" already exists` {
				t.Errorf("expect = %+v", r.Expect)
			}
		}},
		{KindStatement, 9, func(t *testing.T, r *Record) {
			if r.Expect.Code != "" || r.Expect.Pattern.String() != "syntax error at or near" {
				t.Errorf("expect = %+v", r.Expect)
			}
		}},
		{KindStatement, 12, func(t *testing.T, r *Record) {
			if r.Expect.Code != "42601" || r.Expect.Position != 1 || r.Expect.Pattern != nil {
				t.Errorf("expect = %+v", r.Expect)
			}
		}},
		{KindQuery, 15, func(t *testing.T, r *Record) {
			if r.Types != "IT" || r.Sort != RowSort || !r.HasRows || r.RowsLine != 18 ||
				strings.Join(r.Results, "|") != "1 a|2\tb" {
				t.Errorf("got %+v", r)
			}
		}},
		{KindQuery, 21, func(t *testing.T, r *Record) {
			if r.Types != "R" || r.Sort != NoSort || r.Label != "lbl" || !r.Retry {
				t.Errorf("got %+v", r)
			}
		}},
		{KindQuery, 26, func(t *testing.T, r *Record) {
			if r.HasRows || len(r.Results) != 0 || r.SQL != "SELECT 1 WHERE false" {
				t.Errorf("got %+v", r)
			}
		}},
		{KindQuery, 29, func(t *testing.T, r *Record) {
			if !r.Expect.Error || r.Expect.Code != "22012" || r.SQL != "SELECT 1/0" {
				t.Errorf("got %+v", r)
			}
		}},
		{KindStatement, 34, func(t *testing.T, r *Record) {
			want := []Condition{{Skip: true, Engine: "postgres"}, {Skip: false, Engine: "streamsql"}}
			if len(r.Conditions) != 2 || r.Conditions[0] != want[0] || r.Conditions[1] != want[1] {
				t.Errorf("conditions = %+v", r.Conditions)
			}
		}},
		{KindCreateStream, 37, func(t *testing.T, r *Record) {
			if r.Stream != "clicks" || r.Shards != 2 {
				t.Errorf("got %+v", r)
			}
		}},
		{KindPut, 39, func(t *testing.T, r *Record) {
			want := []PutRecord{{"u1", `{"a": 1, "b": "x y"}`}, {"u2", `{"a":2}`}}
			if len(r.Records) != 2 || r.Records[0] != want[0] || r.Records[1] != want[1] {
				t.Errorf("records = %+v", r.Records)
			}
		}},
		{KindFlush, 43, nil},
		{KindHashThreshold, 45, nil},
		{KindHalt, 47, nil},
		{KindStatement, 49, nil},
	}
	if len(recs) != len(wants) {
		for _, r := range recs {
			t.Logf("%s kind %d", r.Pos(), r.Kind)
		}
		t.Fatalf("got %d records, want %d", len(recs), len(wants))
	}
	for i, w := range wants {
		r := recs[i]
		if r.Kind != w.kind || r.Line != w.line || r.File != "t.slt" {
			t.Errorf("record %d: kind %d at %s, want kind %d at line %d", i, r.Kind, r.Pos(), w.kind, w.line)
			continue
		}
		if w.check != nil {
			w.check(t, r)
		}
	}
}

func TestParse_Errors(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"unknown directive", "selec 1\n", `t.slt:1: unknown directive "selec"`},
		{"statement without mode", "statement\nSELECT 1\n", "t.slt:1: statement needs ok or error"},
		{"statement bad mode", "statement maybe\nSELECT 1\n", `want ok or error`},
		{"statement ok extra", "statement ok 42P01\nSELECT 1\n", "takes nothing after it"},
		{"statement without sql", "statement ok\n\n", "t.slt:1: record has no SQL"},
		{"statement with rows", "statement ok\nSELECT 1\n----\n1\n", "t.slt:3: ---- after a statement"},
		{"bad pgcode", "statement error pgcode 42\nSELECT 1\n", "five-character SQLSTATE"},
		{"bad regex", "statement error (\nSELECT 1\n", "bad error pattern"},
		{"bad position", "statement error pgcode 42601 position x\nSELECT 1\n", "1-based character position"},
		{"position zero", "statement error position 0\nSELECT 1\n", "1-based character position"},
		{"query without types", "query\nSELECT 1\n", "query needs column types"},
		{"query bad type", "query IX\nSELECT 1\n", `column type 'X'`},
		{"two labels", "query I a b\nSELECT 1\n", "label already"},
		{"dangling skipif", "skipif postgres\n", "applies to nothing"},
		{"skipif without engine", "skipif\nstatement ok\nSELECT 1\n", "takes one engine name"},
		{"create-stream args", "kinesis create-stream s\n", "usage: kinesis create-stream"},
		{"create-stream shards", "kinesis create-stream s zero\n", "positive integer"},
		{"put without records", "kinesis put s\n\n", "no records"},
		{"put bad line", "kinesis put s\njustakey\n", "want partition_key<TAB>json"},
		{"kinesis unknown", "kinesis delete-stream s\n", "want create-stream or put"},
		{"flush args", "flush now\n", "flush takes no arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("t.slt", strings.NewReader(tt.src))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestAfterWord(t *testing.T) {
	tests := []struct {
		line string
		n    int
		want string
	}{
		{"statement error pgcode 42601 syntax  error", 2, "pgcode 42601 syntax  error"},
		{"statement\terror\tmsg here", 2, "msg here"},
		{"statement error", 2, ""},
		{"  a b c  ", 1, "b c"},
	}
	for _, tt := range tests {
		if got := afterWord(tt.line, tt.n); got != tt.want {
			t.Errorf("afterWord(%q, %d) = %q, want %q", tt.line, tt.n, got, tt.want)
		}
	}
}
