package format

import (
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/streamsql/streamsql/sql/types"
)

// diffCols is a schema of every column type, one read through a path, so
// that random records exercise every conversion of the decoder.
var diffCols = []types.Column{
	{Name: "user_id", Type: types.TypeBigInt},
	{Name: "small", Type: types.TypeSmallInt},
	{Name: "i32", Type: types.TypeInt},
	{Name: "url", Type: types.VarcharType(8)},
	{Name: "name", Type: types.TypeText},
	{Name: "amount", Type: types.TypeDouble},
	{Name: "ts", Type: types.Type{Kind: types.Timestamp, Precision: 3}},
	{Name: "ok", Type: types.TypeBool},
	{Name: "payload", Type: types.TypeJSON},
	{Name: "price", Type: types.DecimalType(10, 2)},
	{Name: "b", Type: types.TypeBytes},
	{Name: "d", Type: types.TypeDate},
	{Name: "iv", Type: types.TypeInterval},
	{Name: "city", Type: types.TypeText},
	{Name: "geo", Type: types.TypeJSON},
	{Name: "Kelvin", Type: types.TypeBigInt},
	{Name: "_shard_id", Type: types.TypeText},
}

var diffPaths = map[string]string{"city": "$.geo.city"}

var diffKeys = []string{
	`"user_id"`, `"USER_ID"`, `"User_Id"`, `"user_i"`, `"user_idx"`, `"user\u005fid"`, `"small"`, `"i32"`, `"url"`, `"URL"`,
	`"name"`, `"amount"`, `"ts"`, `"TS"`, `"ok"`, `"payload"`, `"price"`, `"b"`, `"d"`, `"iv"`, `"geo"`, `"city"`,
	`"kelvin"`, "\"\u212aelvin\"", `"\u212aELVIN"`, `"ſmall"`, `"extra"`, `""`, `"é"`, `"_shard_id"`,
}

var diffValues = []string{
	`0`, `-0`, `1`, `-1`, `42`, `007`, `-5`, `32767`, `32768`, `-32768`, `-32769`, `2147483648`, `999999999999999999`,
	`9223372036854775807`, `9223372036854775808`, `-9223372036854775808`, `99999999999999999999`, `1795600800000`,
	`1.5`, `-1.5`, `0.1`, `1.25`, `123456.789`, `0.30000000000000004`, `1e3`, `1E-3`, `1.5e300`, `1e999`, `1e-999`,
	`-0.0`, `1.`, `-`, `1-2`, `+1`, `--1`, `1.2.3`, `12345678901234567`, `0.000000000000000000000001`, `100000000000000`,
	`9007199254740993`, `1795600800000.5`, `1e20`, `-1e300`,
	`"x"`, `""`, `"/x"`, `"12345678"`, `"123456789"`, `"ééééééééé"`, `"éééééééé"`, `"a\"b"`, `"\u00e9"`, `"\ud83d\ude00"`,
	`"\ud800"`, `"\ud800x"`, `"\n\t\/\\\b\f\r"`, `"\x"`, `"\u12"`, `"\u12g4"`, "\"a\x01b\"", `"2026-11-25T10:00:00Z"`,
	`"2026-11-25T10:00:00.123456789+05:30"`, `"2026-11-25 10:00:00"`, `"2026-11-25T10:00:00"`, `"yesterday"`,
	`"2026-02-30T00:00:00Z"`, `"2026-11-25"`, `"1 day"`, `"3 hours"`, `"12.345"`, `"NaN"`, `"/wA="`, `"/wA"`, `"!!"`,
	`"AAAA"`, `"true"`, `"1"`, `"1.5"`,
	`true`, `false`, `null`, `tru`, `nul`, `fals`, `{}`, `[]`, `{"city":"Paris"}`, `{"city":"Paris","zip":"75"}`,
	`{"CITY":1}`, `{"city":null}`, `{"city":{"a":1}}`, `[1,{"a":[null]}]`, `{"a":}`, `[1,]`, `{"a" 1}`, `{1:2}`,
	`"unterminated`, `x`, ``,
}

// randomRecord builds a JSON-ish record from the pools: mostly valid,
// with duplicate, unknown and case-varied keys, nesting and whitespace,
// and sometimes damaged.
func randomRecord(r *rand.Rand) string {
	var b strings.Builder
	ws := func() {
		if r.IntN(6) == 0 {
			b.WriteString([]string{" ", "\n", "\t ", "\r\n"}[r.IntN(4)])
		}
	}
	ws()
	b.WriteByte('{')
	n := r.IntN(7)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		ws()
		b.WriteString(diffKeys[r.IntN(len(diffKeys))])
		ws()
		b.WriteByte(':')
		ws()
		b.WriteString(diffValues[r.IntN(len(diffValues))])
		ws()
	}
	b.WriteByte('}')
	ws()
	s := b.String()
	switch r.IntN(12) {
	case 0: // truncated
		s = s[:r.IntN(len(s)+1)]
	case 1: // one byte changed
		i := r.IntN(len(s))
		const damage = " {}[]\":,\\0-e.an"
		s = s[:i] + string(damage[r.IntN(len(damage))]) + s[i+1:]
	case 2: // trailing garbage
		s += []string{"x", "}", " {}", ","}[r.IntN(4)]
	}
	return s
}

// TestJSONDecoder_MatchesOldDecoder decodes random records with the
// decoder and with the one it replaced (old_decoders_test.go), with every
// column needed and with some not, and wants the same rows, value by
// value (float bits included), and the same errors, message and all.
func TestJSONDecoder_MatchesOldDecoder(t *testing.T) {
	n := 20000
	if testing.Short() {
		n = 2000
	}
	masks := [][]bool{nil, {true, false, true, false, true, false, true, false, true, false, true, false, true, false, true, false, true}}
	for _, mask := range masks {
		dec, err := newJSONDecoder(diffCols, diffPaths, mask)
		if err != nil {
			t.Fatal(err)
		}
		old, err := newOldJSONDecoder(diffCols, diffPaths, mask)
		if err != nil {
			t.Fatal(err)
		}
		r := rand.New(rand.NewPCG(14, uint64(len(mask))))
		meta := &Meta{ShardID: "s-1"}
		reuse := make(types.Row, 0, len(diffCols))
		decoded := 0
		for range n {
			rec := randomRecord(r)
			// The new decoder reads a buffer the caller reuses: scribble
			// over it afterwards to catch a value that still points into it.
			buf := []byte(rec)
			got, gotErr := dec.Decode(buf, meta, reuse)
			for i := range buf {
				buf[i] = '#'
			}
			want, wantErr := old.Decode([]byte(rec), meta, nil)
			if (gotErr == nil) != (wantErr == nil) || gotErr != nil && gotErr.Error() != wantErr.Error() {
				t.Fatalf("%s\nerror %v\nwant  %v", rec, gotErr, wantErr)
			}
			if gotErr != nil {
				continue
			}
			if !sameRow(got, want) {
				t.Fatalf("%s\nrow  %v\nwant %v", rec, got, want)
			}
			reuse = got[:0]
			decoded++
		}
		if decoded < n/10 {
			t.Errorf("only %d records of %d decoded: the test hardly compares rows", decoded, n)
		}
		t.Logf("%d records of %d decoded", decoded, n)
	}
}

func sameRow(a, b types.Row) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Kind() == types.Float && b[i].Kind() == types.Float { // bits: NaN is itself, -0 is not 0
			if math.Float64bits(a[i].Float()) != math.Float64bits(b[i].Float()) {
				return false
			}
		} else if !reflect.DeepEqual(a[i], b[i]) {
			return false
		}
	}
	return true
}

// FuzzJSONDecoder holds the decoder to the old one on any input.
func FuzzJSONDecoder(f *testing.F) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 50 {
		f.Add([]byte(randomRecord(r)))
	}
	f.Add([]byte(clickJSON))
	dec, err := newJSONDecoder(diffCols, diffPaths, nil)
	if err != nil {
		f.Fatal(err)
	}
	old, err := newOldJSONDecoder(diffCols, diffPaths, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, gotErr := dec.Decode(data, nil, nil)
		want, wantErr := old.Decode(data, nil, nil)
		if (gotErr == nil) != (wantErr == nil) || gotErr != nil && gotErr.Error() != wantErr.Error() {
			t.Fatalf("%q\nerror %v\nwant  %v", data, gotErr, wantErr)
		}
		if gotErr == nil && !sameRow(got, want) {
			t.Fatalf("%q\nrow  %v\nwant %v", data, got, want)
		}
	})
}

// randomNumber is a number literal of random shape: sign, up to 20
// integer digits, a fraction of up to 25 digits, an exponent.
func randomNumber(r *rand.Rand) string {
	var b []byte
	if r.IntN(3) == 0 {
		b = append(b, '-')
	}
	digits := func(n int) {
		for range n {
			b = append(b, byte('0'+r.IntN(10)))
		}
	}
	digits(1 + r.IntN(20))
	if r.IntN(2) == 0 {
		b = append(b, '.')
		digits(r.IntN(26))
	}
	if r.IntN(8) == 0 {
		b = append(b, "eE"[r.IntN(2)])
		if r.IntN(2) == 0 {
			b = append(b, "+-"[r.IntN(2)])
		}
		digits(r.IntN(4))
	}
	return string(b)
}

// TestJSONDecoder_NumbersMatchOldDecoder puts random numbers into every
// numeric column: parsed in place, they must equal strconv's values and
// errors bit for bit.
func TestJSONDecoder_NumbersMatchOldDecoder(t *testing.T) {
	dec, err := newJSONDecoder(diffCols, diffPaths, nil)
	if err != nil {
		t.Fatal(err)
	}
	old, err := newOldJSONDecoder(diffCols, diffPaths, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(14, 14))
	for range 100000 {
		num := randomNumber(r)
		key := []string{"user_id", "small", "i32", "amount", "ts", "price"}[r.IntN(6)]
		rec := `{"` + key + `":` + num + `}`
		got, gotErr := dec.Decode([]byte(rec), nil, nil)
		want, wantErr := old.Decode([]byte(rec), nil, nil)
		if (gotErr == nil) != (wantErr == nil) || gotErr != nil && gotErr.Error() != wantErr.Error() {
			t.Fatalf("%s\nerror %v\nwant  %v", rec, gotErr, wantErr)
		}
		if gotErr == nil && !sameRow(got, want) {
			t.Fatalf("%s\nrow  %v\nwant %v", rec, got, want)
		}
	}
}
