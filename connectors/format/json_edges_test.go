package format

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// TestJSONDecoder_Edges pins the edges the in-place scanner handles on its
// own: numbers parsed from bytes, keys matched without allocating, strings
// copied out of the record. Answers worked out by hand.
func TestJSONDecoder_Edges(t *testing.T) {
	cols := []types.Column{
		{Name: "id", Type: types.TypeBigInt},
		{Name: "s16", Type: types.TypeSmallInt},
		{Name: "f", Type: types.TypeDouble},
		{Name: "ts", Type: types.TypeTimestamp},
		{Name: "t", Type: types.TypeText},
		{Name: "kb", Type: types.TypeBigInt},
		{Name: "b", Type: types.TypeBytes},
		{Name: "d", Type: types.DecimalType(10, 2)},
	}
	dec, err := NewDecoder(Options{Format: JSON, Columns: cols})
	if err != nil {
		t.Fatal(err)
	}
	const ns = "NULL NULL NULL NULL NULL NULL NULL NULL"
	errOf := func(c sqlerr.Code) string { return "error " + string(c) }
	for _, tc := range []struct{ name, in, want string }{
		{"duplicate key: the last wins", `{"id":1,"ID":2}`, "2 NULL NULL NULL NULL NULL NULL NULL"},
		{"duplicate key: a later null wins", `{"t":"a","t":null}`, ns},
		{"duplicate key: a bad first value fails", `{"id":"x","id":2}`, errOf(sqlerr.InvalidTextRepresentation)},
		{"escaped key", `{"\u0069d":3}`, "3 NULL NULL NULL NULL NULL NULL NULL"},
		{"Kelvin sign folds to k", "{\"\u212ab\":4}", "NULL NULL NULL NULL NULL 4 NULL NULL"},
		{"longer key sharing a prefix is unknown", `{"idx":5,"i":6}`, ns},
		{"18 digits", `{"id":-999999999999999999}`, "-999999999999999999 NULL NULL NULL NULL NULL NULL NULL"},
		{"int64 bounds", `{"id":-9223372036854775808}`, "-9223372036854775808 NULL NULL NULL NULL NULL NULL NULL"},
		{"past int64", `{"id":9223372036854775808}`, errOf(sqlerr.NumericValueOutOfRange)},
		{"smallint bound", `{"s16":-32768}`, "NULL -32768 NULL NULL NULL NULL NULL NULL"},
		{"past smallint", `{"s16":32768}`, errOf(sqlerr.NumericValueOutOfRange)},
		{"leading zeros", `{"id":007}`, "7 NULL NULL NULL NULL NULL NULL NULL"},
		{"loose number", `{"id":1-2}`, errOf(sqlerr.NumericValueOutOfRange)},
		{"float with exponent", `{"f":25e-1}`, "NULL NULL 2.5 NULL NULL NULL NULL NULL"},
		{"float of 17 digits", `{"f":0.30000000000000004}`, "NULL NULL 0.30000000000000004 NULL NULL NULL NULL NULL"},
		{"float overflow", `{"f":1e999}`, errOf(sqlerr.NumericValueOutOfRange)},
		{"float point without digits", `{"f":1.}`, "NULL NULL 1 NULL NULL NULL NULL NULL"},
		{"epoch ms with a fraction", `{"ts":1795600800000.5}`, "NULL NULL NULL 2026-11-25 10:00:00.0005 NULL NULL NULL NULL"},
		{"epoch ms out of range", `{"ts":99999999999999999999}`, errOf(sqlerr.DatetimeFieldOverflow)},
		{"text with escapes", `{"t":"a\tb\u00e9"}`, "NULL NULL NULL NULL a\tbé NULL NULL NULL"},
		{"base64", `{"b":"aGk="}`, "NULL NULL NULL NULL NULL NULL hi NULL"},
		{"bad base64", `{"b":"a"}`, errOf(sqlerr.InvalidTextRepresentation)},
		{"decimal from a number", `{"d":1.5}`, "NULL NULL NULL NULL NULL NULL NULL 1.50"},
		{"decimal from a string", `{"d":"-0.125"}`, "NULL NULL NULL NULL NULL NULL NULL -0.13"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			row, err := dec.Decode([]byte(tc.in), nil, nil)
			got := ""
			if err != nil {
				got = "error " + string(sqlerr.CodeOf(err))
			} else {
				got = row.String()
			}
			if got != tc.want {
				t.Errorf("got  %q (err %v)\nwant %q", got, err, tc.want)
			}
		})
	}
	row, err := dec.Decode([]byte(`{"f":-0}`), nil, nil)
	if err != nil || !math.Signbit(row[2].Float()) {
		t.Errorf("-0: %v %v, want negative zero", row, err)
	}
}

// TestJSONDecoder_KeptStrings decodes many records through one reused
// buffer, as the file source does, keeping every row: each row's strings
// (short ones sharing chunks, long ones not) must stay as decoded after
// the buffer is overwritten.
func TestJSONDecoder_KeptStrings(t *testing.T) {
	cols := []types.Column{{Name: "t", Type: types.TypeText}, {Name: "j", Type: types.TypeJSON}, {Name: "n", Type: types.TypeBigInt}}
	dec, err := NewDecoder(Options{Format: JSON, Columns: cols})
	if err != nil {
		t.Fatal(err)
	}
	text := func(i int) string {
		return strings.Repeat(fmt.Sprint(i%10), i%(2*textOwnFrom)) + fmt.Sprintf("é\"%d", i)
	}
	buf := make([]byte, 0, 1024)
	var rows []types.Row
	for i := range 2000 {
		buf = fmt.Appendf(buf[:0], `{"t":%q,"j":[%d, "x"],"n":%d}`, text(i), i, i)
		row, err := dec.Decode(buf, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, row)
		for k := range buf {
			buf[k] = 'X'
		}
	}
	for i, row := range rows {
		if row[0].Str() != text(i) || row[1].Str() != fmt.Sprintf(`[%d, "x"]`, i) || row[2].Int() != int64(i) {
			t.Fatalf("row %d = %v", i, row)
		}
	}
}

// TestJSONDecoder_NoAllocation: a record of numbers into a reused row
// allocates nothing, and short text only its share of a chunk (counted
// here as a whole number per record, so zero).
func TestJSONDecoder_NoAllocation(t *testing.T) {
	for _, tc := range []struct {
		cols []types.Column
		rec  string
	}{
		{benchClickCols, `{"user_id":123,"amount":12.34,"ts":1795600800000}`},
		{clickCols, clickJSON},
	} {
		dec, err := NewDecoder(Options{Format: JSON, Columns: tc.cols})
		if err != nil {
			t.Fatal(err)
		}
		row := make(types.Row, len(tc.cols))
		data := []byte(tc.rec)
		if n := testing.AllocsPerRun(1000, func() {
			if row, err = dec.Decode(data, nil, row); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Errorf("%s: %v allocations per record, want 0", tc.rec, n)
		}
	}
}
