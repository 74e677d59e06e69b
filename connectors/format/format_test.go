package format

import (
	"strings"
	"testing"
	"time"

	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

var clickCols = []types.Column{
	{Name: "user_id", Type: types.TypeBigInt},
	{Name: "url", Type: types.VarcharType(2048)},
	{Name: "amount", Type: types.TypeDouble},
	{Name: "ts", Type: types.Type{Kind: types.Timestamp, Precision: 3}},
}

const clickJSON = `{"user_id":1,"url":"/x","amount":1.5,"ts":"2026-11-25T10:00:00.000Z"}`

func TestJSONDecoder(t *testing.T) {
	cols := append([]types.Column{}, clickCols...)
	cols = append(cols,
		types.Column{Name: "City", Type: types.TypeText},
		types.Column{Name: "ok", Type: types.TypeBool},
		types.Column{Name: "payload", Type: types.TypeJSON},
		types.Column{Name: "price", Type: types.DecimalType(10, 2)},
		types.Column{Name: "_partition_key", Type: types.TypeText},
		types.Column{Name: "_arrival_time", Type: types.TypeTimestamp},
	)
	dec, err := NewDecoder(Options{Format: "json", Columns: cols, Paths: map[string]string{"city": "$.geo.city"}})
	if err != nil {
		t.Fatal(err)
	}
	meta := &Meta{PartitionKey: "pk1", ArrivalTime: time.Date(2026, 11, 25, 10, 0, 1, 0, time.UTC)}
	for _, tc := range []struct {
		name, in string
		want     string // Row.String(), or an error's SQLSTATE prefixed "error "
	}{
		{"click", clickJSON, "1 /x 1.5 2026-11-25 10:00:00 NULL NULL NULL NULL pk1 2026-11-25 10:00:01"},
		{"case-insensitive keys, extra fields, missing", `{"USER_ID":2,"Extra":{"a":[1,{"b":null}]},"ts":1795600800000}`,
			"2 NULL NULL 2026-11-25 10:00:00 NULL NULL NULL NULL pk1 2026-11-25 10:00:01"},
		{"nested path", `{"geo":{"city":"Paris","zip":"75"},"ok":true}`, "NULL NULL NULL NULL Paris t NULL NULL pk1 2026-11-25 10:00:01"},
		{"path through a non-object", `{"geo":"nowhere"}`, "NULL NULL NULL NULL NULL NULL NULL NULL pk1 2026-11-25 10:00:01"},
		{"json column keeps raw text", `{"payload":{"a": [1, 2]},"price":12.5}`, `NULL NULL NULL NULL NULL NULL {"a": [1, 2]} 12.50 pk1 2026-11-25 10:00:01`},
		{"escapes", `{"url":"a\"b\\c\u00e9\ud83d\ude00\n"}`, "NULL a\"b\\cé😀\n NULL NULL NULL NULL NULL NULL pk1 2026-11-25 10:00:01"},
		{"nulls", `{"user_id":null,"ts":null}`, "NULL NULL NULL NULL NULL NULL NULL NULL pk1 2026-11-25 10:00:01"},
		{"offset timestamp", `{"ts":"2026-11-25T12:00:00.5+02:00"}`, "NULL NULL NULL 2026-11-25 10:00:00.5 NULL NULL NULL NULL pk1 2026-11-25 10:00:01"},
		{"string for bigint", `{"user_id":"1"}`, "error " + string(sqlerr.InvalidTextRepresentation)},
		{"fraction for bigint", `{"user_id":1.5}`, "error " + string(sqlerr.InvalidTextRepresentation)},
		{"object for text", `{"url":{}}`, "error " + string(sqlerr.InvalidTextRepresentation)},
		{"bad timestamp", `{"ts":"yesterday"}`, "error " + string(sqlerr.InvalidDatetimeFormat)},
		{"too long varchar", `{"url":"` + strings.Repeat("x", 2049) + `"}`, "error " + string(sqlerr.StringDataRightTruncation)},
		{"truncated", `{"user_id":1`, "error " + string(sqlerr.InvalidJSONText)},
		{"not an object", `[1]`, "error " + string(sqlerr.InvalidJSONText)},
		{"trailing garbage", `{} x`, "error " + string(sqlerr.InvalidJSONText)},
		{"bad literal", `{"ok":tru}`, "error " + string(sqlerr.InvalidJSONText)},
		{"bigint overflow", `{"user_id":99999999999999999999}`, "error " + string(sqlerr.NumericValueOutOfRange)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			row, err := dec.Decode([]byte(tc.in), meta, nil)
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
}

func TestNewDecoder_Errors(t *testing.T) {
	for _, tc := range []struct {
		opts Options
		code sqlerr.Code
	}{
		{Options{Format: "avro"}, sqlerr.InvalidParameterValue},
		{Options{Format: "json", Columns: clickCols, Paths: map[string]string{"nope": "$.a"}}, sqlerr.UndefinedColumn},
		{Options{Format: "json", Columns: clickCols, Paths: map[string]string{"url": "a.b"}}, sqlerr.InvalidParameterValue},
		{Options{Format: "json", Columns: clickCols, Paths: map[string]string{"url": "$.a[0]"}}, sqlerr.FeatureNotSupported},
		{Options{Format: "json", Columns: clickCols, Paths: map[string]string{"url": "$.user_id"}}, sqlerr.DuplicateColumn},
		{Options{Format: "raw", Columns: clickCols}, sqlerr.InvalidObjectDefinition},
		{Options{Format: "json", Columns: []types.Column{{Name: "_shard_id", Type: types.TypeBigInt}}}, sqlerr.DatatypeMismatch},
	} {
		if _, err := NewDecoder(tc.opts); sqlerr.CodeOf(err) != tc.code {
			t.Errorf("%+v: %v, want code %s", tc.opts, err, tc.code)
		}
	}
}

func TestCSVDecoder(t *testing.T) {
	cols := append([]types.Column{{Name: "_shard_id", Type: types.TypeText}}, clickCols...)
	dec, err := NewDecoder(Options{Format: "csv", Columns: cols})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ in, want string }{
		{"1,/x,1.5,2026-11-25 10:00:00\n", "s-0 1 /x 1.5 2026-11-25 10:00:00"},
		{`2,"a,""b""",,2026-11-25 10:00:00.123`, `s-0 2 a,"b" NULL 2026-11-25 10:00:00.123`},
		{`3,"",2,`, "s-0 3  2 NULL"},
		{"1,2", "error"},
		{"x,/x,1,2026-11-25 10:00:00", "error"},
		{`1,"open,1,2026-11-25 10:00:00`, "error"},
	} {
		row, err := dec.Decode([]byte(tc.in), &Meta{ShardID: "s-0"}, nil)
		got := "error"
		if err == nil {
			got = row.String()
		}
		if got != tc.want {
			t.Errorf("%q: got %q (err %v), want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestRawDecoder(t *testing.T) {
	dec, err := NewDecoder(Options{Format: "raw", Columns: []types.Column{{Name: "data", Type: types.TypeBytes}, {Name: "_sequence_number", Type: types.TypeText}}})
	if err != nil {
		t.Fatal(err)
	}
	row, err := dec.Decode([]byte{0, 1, 2}, &Meta{SequenceNumber: "42"}, nil)
	if err != nil || row[0].Str() != "\x00\x01\x02" || row[1].Str() != "42" {
		t.Errorf("row %v err %v", row, err)
	}
}

func TestJSONEncoder_RoundTrip(t *testing.T) {
	cols := []types.Column{
		{Name: "user_id", Type: types.TypeBigInt}, {Name: "url", Type: types.TypeText},
		{Name: "amount", Type: types.TypeDouble}, {Name: "ts", Type: types.TypeTimestamp},
		{Name: "ok", Type: types.TypeBool}, {Name: "b", Type: types.TypeBytes},
		{Name: "d", Type: types.DecimalType(10, 2)}, {Name: "j", Type: types.TypeJSON}, {Name: "n", Type: types.TypeBigInt},
	}
	row := types.Row{types.NewInt(7), types.NewString("a\"\n\x01é"), types.NewFloat(1.25),
		types.NewTimestamp(time.Date(2026, 11, 25, 10, 0, 0, 123456000, time.UTC).UnixMicro()),
		types.NewBool(true), types.NewBytes([]byte{0xff, 0}), types.NewDecimal("3.50"), types.NewJSON(`{"x":[1]}`), types.Null}
	enc := NewJSONEncoder(cols)
	out, err := enc.Append(nil, row)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"user_id":7,"url":"a\"\n\u0001é","amount":1.25,"ts":"2026-11-25T10:00:00.123Z","ok":true,"b":"/wA=","d":3.50,"j":{"x":[1]},"n":null}`
	if string(out) != want {
		t.Fatalf("encoded\n%s\nwant\n%s", out, want)
	}
	dec, err := NewDecoder(Options{Format: "json", Columns: cols})
	if err != nil {
		t.Fatal(err)
	}
	back, err := dec.Decode(out, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The timestamp keeps milliseconds only.
	row[3] = types.NewTimestamp(time.Date(2026, 11, 25, 10, 0, 0, 123000000, time.UTC).UnixMicro())
	if back.String() != row.String() {
		t.Errorf("round trip\n%s\nwant\n%s", back, row)
	}
}

func TestParseRFC3339Micros(t *testing.T) {
	for _, s := range []string{
		"2026-11-25T10:00:00Z", "2026-11-25T10:00:00.000Z", "2026-11-25 10:00:00.123456Z",
		"2026-11-25T10:00:00.123456789-07:30", "1969-12-31T23:59:59.5Z", "2024-02-29T00:00:00Z", "0001-01-01T00:00:00Z",
	} {
		want, err := time.Parse(time.RFC3339Nano, strings.Replace(s, " ", "T", 1))
		if err != nil {
			t.Fatal(err)
		}
		got, ok := parseRFC3339Micros(s)
		if !ok || got != want.UnixMicro() {
			t.Errorf("%s: %d %v, want %d", s, got, ok, want.UnixMicro())
		}
	}
	for _, s := range []string{"2026-13-01T00:00:00Z", "2025-02-29T00:00:00Z", "2026-11-25T10:00:00", "2026-11-25T10:00:00.Z"} {
		if _, ok := parseRFC3339Micros(s); ok {
			t.Errorf("%s accepted", s)
		}
	}
}
