package wire

import (
	"encoding/binary"
	"math"
	"strings"
	"testing"
)

func be16(v int16) []byte { return binary.BigEndian.AppendUint16(nil, uint16(v)) }
func be32(v int32) []byte { return binary.BigEndian.AppendUint32(nil, uint32(v)) }
func be64(v int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(v)) }

// TestParams_TypedByOID binds one parameter of each type a driver names
// in Parse, in text and in binary format, and reads it back as text.
// (Binary results of every type: TestServer_ResultFormats.) The
// wanted text is Postgres's output for the same value (timestamptz
// converted to UTC: our timestamps have no zone).
func TestParams_TypedByOID(t *testing.T) {
	conn := connect(t, engineAddr(t), "")
	const (
		bin  = 1
		text = 0
	)
	// 2024-01-02 03:04:05.123456 as microseconds since 2000-01-01.
	const tsMicros = int64(757479845123456)
	tests := []struct {
		name   string
		oid    uint32
		format int16
		in     []byte
		want   string
	}{
		{"timestamp text", oidTimestamp, text, []byte("2024-01-02 03:04:05.123456"), "2024-01-02 03:04:05.123456"},
		{"timestamp binary", oidTimestamp, bin, be64(tsMicros), "2024-01-02 03:04:05.123456"},
		{"timestamptz text to UTC", oidTimestampTZ, text, []byte("2024-01-02 05:04:05.123456+02"), "2024-01-02 03:04:05.123456"},
		{"timestamptz text with T and Z", oidTimestampTZ, text, []byte("2024-01-02T03:04:05Z"), "2024-01-02 03:04:05"},
		{"timestamptz binary", oidTimestampTZ, bin, be64(tsMicros), "2024-01-02 03:04:05.123456"},
		{"date text", oidDate, text, []byte("2024-02-29"), "2024-02-29"},
		{"date text with a zone (pgjdbc setDate)", oidDate, text, []byte("2024-02-29 +02"), "2024-02-29"},
		{"date binary", oidDate, bin, be32(8825), "2024-02-29"},
		{"time text", oidTime, text, []byte("13:14:15.500"), "13:14:15.5"},
		{"time text without seconds", oidTime, text, []byte("07:30"), "07:30:00"},
		{"time binary", oidTime, bin, be64(((13*60+14)*60+15)*1e6 + 500000), "13:14:15.5"},
		// Our intervals hold months and microseconds: a day is 24 hours.
		{"interval text", oidInterval, text, []byte("1 day 02:03:04"), "26:03:04"},
		{"interval text pgjdbc", oidInterval, text, []byte("0 years 0 mons 1 days 2 hours 3 mins 4.0 secs"), "26:03:04"},
		{"interval text ISO 8601", oidInterval, text, []byte("P1DT2H3M4S"), "26:03:04"},
		{"interval binary", oidInterval, bin, append(append(be64(7384e6), be32(1)...), be32(0)...), "26:03:04"},
		{"bytea hex", oidBytea, text, []byte(`\x01ff41`), `\x01ff41`},
		{"bytea escape", oidBytea, text, []byte(`a\000\\b`), `\x61005c62`},
		{"bytea binary", oidBytea, bin, []byte{1, 0xff}, `\x01ff`},
		{"numeric text", oidNumeric, text, []byte("12.50"), "12.50"},
		{"numeric binary", oidNumeric, bin, []byte{0, 2, 0, 0, 0, 0, 0, 2, 0, 12, 19, 136}, "12.50"},
		{"bool text", oidBool, text, []byte("on"), "t"},
		{"bool binary", oidBool, bin, []byte{1}, "t"},
		{"int2 text", oidInt2, text, []byte("-7"), "-7"},
		{"int2 binary", oidInt2, bin, be16(-7), "-7"},
		{"int4 binary", oidInt4, bin, be32(70000), "70000"},
		{"int8 text", oidInt8, text, []byte("9000000000"), "9000000000"},
		{"int8 binary", oidInt8, bin, be64(9000000000), "9000000000"},
		{"float4 binary", oidFloat4, bin, be32(int32(math.Float32bits(1.5))), "1.5"},
		{"float8 text", oidFloat8, text, []byte("2.25"), "2.25"},
		{"float8 binary", oidFloat8, bin, be64(int64(math.Float64bits(-0.5))), "-0.5"},
		{"text", oidText, text, []byte("héllo"), "héllo"},
		{"varchar binary", oidVarchar, bin, []byte("abc"), "abc"},
		{"name", oidName, text, []byte("abc"), "abc"},
		{"json", oidJSON, text, []byte(`{"a": 1}`), `{"a": 1}`},
		{"jsonb binary", oidJSONB, bin, append([]byte{1}, `{"a": 1}`...), `{"a": 1}`},
		{"unknown", oidUnknown, text, []byte("x"), "x"},
		{"zero oid", 0, text, []byte("x"), "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := conn.PgConn().ExecParams(testCtx(t), "SELECT $1 AS v", [][]byte{tt.in}, []uint32{tt.oid},
				[]int16{tt.format}, []int16{0}).Read()
			if res.Err != nil {
				t.Fatalf("%v", res.Err)
			}
			if len(res.Rows) != 1 || string(res.Rows[0][0]) != tt.want {
				t.Fatalf("got %q, want %q", res.Rows, tt.want)
			}
		})
	}
}

// TestParams_Conflicts binds parameters whose declared type is not the one
// the query needs: text that reads as the needed type is converted, other
// text is refused with 22P02, and a binary value of another type with
// 42804, each naming the parameter.
func TestParams_Conflicts(t *testing.T) {
	conn := connect(t, engineAddr(t), "")
	tests := []struct {
		name   string
		query  string
		oid    uint32
		format int16
		in     []byte
		want   string // result, or the SQLSTATE
	}{
		{"text where an int is needed", "SELECT $1 + 1 AS v", oidText, 0, []byte("5"), "6"},
		{"varchar where a timestamp is needed", "SELECT generate_series AS v FROM generate_series(1, 1) WHERE $1 > TIMESTAMP '2024-01-01 00:00:00'", oidVarchar, 0, []byte("2024-02-28 10:00:00+02"), "1"},
		{"unknown where a date is needed (pgjdbc setDate)", "SELECT generate_series AS v FROM generate_series(1, 1) WHERE DATE '2024-02-29' = $1",
			0, 0, []byte("2024-02-29 -05"), "1"},
		{"bad time", "SELECT $1 AS v", oidTime, 0, []byte("25:00:00"), "22008"},
		{"malformed time", "SELECT $1 AS v", oidTime, 0, []byte("1:2"), "22007"},
		{"int4 where a bigint is needed", "SELECT $1 + generate_series AS v FROM generate_series(1, 1)", oidInt4, 1, be32(41), "42"},
		{"bad text where an int is needed", "SELECT $1 + 1 AS v", oidText, 0, []byte("five"), "22P02"},
		{"bytea where an int is needed", "SELECT $1 + 1 AS v", oidBytea, 1, []byte{5}, "42804"},
		{"bad binary", "SELECT $1 AS v", oidInt8, 1, []byte{5}, "22P03"},
		{"bad timestamptz", "SELECT $1 AS v", oidTimestampTZ, 0, []byte("yesterday-ish"), "22007"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := conn.PgConn().ExecParams(testCtx(t), tt.query, [][]byte{tt.in}, []uint32{tt.oid},
				[]int16{tt.format}, []int16{0}).Read()
			if res.Err != nil {
				if pe := pgErr(t, res.Err); pe.Code != tt.want || !strings.Contains(pe.Message, "$1") {
					t.Fatalf("error %s %q, want %s naming $1", pe.Code, pe.Message, tt.want)
				}
				return
			}
			if len(res.Rows) != 1 || string(res.Rows[0][0]) != tt.want {
				t.Fatalf("got %q, want %q", res.Rows, tt.want)
			}
		})
	}
}
