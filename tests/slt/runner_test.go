package slt

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/streamsql/streamsql/internal/emulator"
)

// fakeDB answers SQL from a table; answer may vary per call (calls counts
// them) and per protocol.
type fakeDB struct {
	answer func(sql string, p Protocol, call int) (*Result, error)
	calls  map[string]int
	log    []string
}

func (f *fakeDB) Run(_ context.Context, sql string, p Protocol) (*Result, error) {
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[sql]++
	f.log = append(f.log, sql)
	return f.answer(sql, p, f.calls[sql])
}

type fakeKinesis struct {
	streams map[string]int
	puts    []emulator.Record
}

func (k *fakeKinesis) Endpoint() string { return "http://127.0.0.1:9" }

func (k *fakeKinesis) CreateStream(_ context.Context, name string, shards int) error {
	if _, ok := k.streams[name]; ok {
		return errors.New("ResourceInUseException")
	}
	k.streams[name] = shards
	return nil
}

func (k *fakeKinesis) PutRecords(_ context.Context, stream string, recs []emulator.Record) ([]emulator.PutResult, error) {
	if _, ok := k.streams[stream]; !ok {
		return nil, errors.New("ResourceNotFoundException")
	}
	k.puts = append(k.puts, recs...)
	return make([]emulator.PutResult, len(recs)), nil
}

// simpleAnswers is a DB of fixed answers for the runner tests.
func simpleAnswers(sql string, p Protocol, call int) (*Result, error) {
	switch {
	case sql == "SELECT 1":
		return rowsOf(1, "1"), nil
	case sql == "SELECT 'a', NULL":
		return rowsOf(2, "a|NULL"), nil
	case sql == "SELEC 1":
		return nil, &ServerError{Code: "42601", Message: `syntax error at or near "SELEC"`, Position: 1}
	case sql == "FLUSH":
		return nil, &ServerError{Code: "0A000", Message: "FLUSH is not supported yet"}
	case sql == "SELECT growing":
		// Rows that arrive over time, as a view catching up with a stream.
		if call < 3 {
			return rowsOf(1, "1"), nil
		}
		return rowsOf(1, "1", "2"), nil
	case strings.HasPrefix(sql, "SELECT 'http://"):
		// Echoes the endpoint, as SHOW CREATE would.
		return rowsOf(1, strings.Trim(strings.TrimPrefix(sql, "SELECT "), "'")), nil
	case sql == "SELECT proto":
		if p == Extended {
			return rowsOf(1, "ext"), nil
		}
		return rowsOf(1, "simple"), nil
	case strings.HasPrefix(sql, "CREATE SOURCE"):
		return &Result{Tag: "CREATE SOURCE"}, nil
	}
	return nil, &ServerError{Code: "XX000", Message: "fake db does not know " + sql}
}

func runSrc(t *testing.T, r *Runner, src string) []*Failure {
	t.Helper()
	recs, err := Parse("f.slt", strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return r.Run(ctx, recs)
}

func TestRunner(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		fails []string // one substring set per failure, "|"-separated
	}{
		{"all pass", `
statement ok
SELECT 1

query TT
SELECT 'a', NULL
----
a NULL

statement error pgcode 42601 syntax error at or near "SELEC"
SELEC 1

flush
`, nil},
		{"wrong rows", `
query I
SELECT 1
----
2
`, []string{"f.slt:2: rows differ|SELECT 1|expected:|        2|actual:|        1"}},
		{"unexpected error", `
statement ok
SELEC 1
`, []string{`f.slt:2: unexpected error: 42601 "syntax error at or near \"SELEC\""`}},
		{"expected error, got success", `
statement error pgcode 42P01
SELECT 1
`, []string{"f.slt:2: expected an error with SQLSTATE 42P01, got success"}},
		{"wrong code", `
statement error pgcode 42P01
SELEC 1
`, []string{"expected SQLSTATE 42P01, got 42601"}},
		{"column count", `
query II
SELECT 1
----
1
`, []string{"returned 1 columns"}},
		{"goes on after a failure", `
statement ok
SELEC 1

statement ok
SELEC 1
`, []string{"f.slt:2:", "f.slt:5:"}},
		{"skipif and onlyif", `
skipif streamsql
statement ok
SELEC 1

onlyif postgres
statement ok
SELEC 1

onlyif streamsql
statement ok
SELECT 1
`, nil},
		{"halt", `
statement ok
SELECT 1

halt

statement ok
SELEC 1
`, nil},
		{"no rows expected but some came", `
query I
SELECT 1
`, []string{"rows differ"}},
		{"label", `
query I nosort same
SELECT growing
----
1

query I nosort same
SELECT growing
`, nil},
		{"label differs", `
query I nosort lab
SELECT 1

query I nosort lab
SELECT 'a', NULL
`, []string{"returned 2 columns"}},
		{"retry until rows arrive", `
query I rowsort retry
SELECT growing
----
1
2
`, nil},
		{"query error", `
query error pgcode 42601
SELEC 1
`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Runner{DB: &fakeDB{answer: simpleAnswers}}
			fails := runSrc(t, r, tt.src)
			if len(fails) != len(tt.fails) {
				for _, f := range fails {
					t.Log(f.Error())
				}
				t.Fatalf("got %d failures, want %d", len(fails), len(tt.fails))
			}
			for i, want := range tt.fails {
				got := fails[i].Error()
				for _, w := range strings.Split(want, "|") {
					if !strings.Contains(got, w) {
						t.Errorf("failure %d:\n%s\ndoes not contain %q", i, got, w)
					}
				}
			}
		})
	}
}

func TestRunner_Flush(t *testing.T) {
	db := &fakeDB{answer: func(sql string, _ Protocol, _ int) (*Result, error) {
		return nil, &ServerError{Code: "XX000", Message: "disk on fire"}
	}}
	fails := runSrc(t, &Runner{DB: db}, "flush\n")
	if len(fails) != 1 || !strings.Contains(fails[0].Error(), "disk on fire") {
		t.Fatalf("failures = %v", fails)
	}
}

func TestRunner_Protocols(t *testing.T) {
	const src = `
query T
SELECT proto
----
simple
`
	r := &Runner{DB: &fakeDB{answer: simpleAnswers}}
	if fails := runSrc(t, r, src); len(fails) != 0 {
		t.Fatalf("simple only: %v", fails)
	}
	r = &Runner{DB: &fakeDB{answer: simpleAnswers}, QueryProtocols: []Protocol{Simple, Extended}}
	fails := runSrc(t, r, src)
	if len(fails) != 1 || !strings.Contains(fails[0].Error(), "[extended protocol] rows differ") {
		t.Fatalf("both protocols: %v", fails)
	}
}

func TestRunner_RetryGivesUp(t *testing.T) {
	r := &Runner{DB: &fakeDB{answer: simpleAnswers}, RetryTimeout: 100 * time.Millisecond}
	fails := runSrc(t, r, "query I retry\nSELECT 1\n----\n2\n")
	if len(fails) != 1 || !strings.Contains(fails[0].Error(), "still after retrying") {
		t.Fatalf("failures = %v", fails)
	}
}

func TestRunner_Kinesis(t *testing.T) {
	const src = `
statement ok
CREATE SOURCE s (a INT) WITH (connector = 'kinesis', endpoint = '${KINESIS_ENDPOINT}')

kinesis create-stream clicks 2

kinesis put clicks
k1	{"a":1}
k2	{"a":2}

kinesis put missing
k1	{"a":1}

query T
SELECT '${KINESIS_ENDPOINT}/x'
----
${KINESIS_ENDPOINT}/x
`
	var db fakeDB
	db.answer = simpleAnswers
	k := &fakeKinesis{streams: map[string]int{}}
	starts := 0
	r := &Runner{DB: &db, StartKinesis: func(context.Context) (Kinesis, error) {
		starts++
		return k, nil
	}}
	fails := runSrc(t, r, src)
	if len(fails) != 1 || !strings.Contains(fails[0].Error(), "f.slt:11: kinesis put missing: ResourceNotFoundException") {
		t.Fatalf("failures = %v", fails)
	}
	if starts != 1 {
		t.Fatalf("emulator started %d times, want once", starts)
	}
	if !strings.Contains(db.log[0], "endpoint = 'http://127.0.0.1:9'") {
		t.Fatalf("endpoint not substituted: %q", db.log[0])
	}
	if k.streams["clicks"] != 2 || len(k.puts) != 2 || string(k.puts[1].Data) != `{"a":2}` || k.puts[1].PartitionKey != "k2" {
		t.Fatalf("kinesis = %+v", k)
	}

	// Without an emulator, kinesis records fail and say why.
	r = &Runner{DB: &fakeDB{answer: simpleAnswers}}
	fails = runSrc(t, r, "kinesis create-stream s 1\n")
	if len(fails) != 1 || !strings.Contains(fails[0].Error(), "no Kinesis emulator") {
		t.Fatalf("failures = %v", fails)
	}
}

func TestRunner_ContextDone(t *testing.T) {
	recs, err := Parse("f.slt", strings.NewReader("statement ok\nSELECT 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	fails := (&Runner{DB: &fakeDB{answer: simpleAnswers}}).Run(ctx, recs)
	if len(fails) != 1 || !strings.Contains(fails[0].Error(), "not run") {
		t.Fatalf("failures = %v", fails)
	}
}
