package format

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/streamsql/streamsql/sql/types"
)

var csvDiffCols = []types.Column{
	{Name: "_shard_id", Type: types.TypeText},
	{Name: "i", Type: types.TypeBigInt},
	{Name: "s16", Type: types.TypeSmallInt},
	{Name: "t", Type: types.VarcharType(4)},
	{Name: "f", Type: types.TypeDouble},
	{Name: "ts", Type: types.TypeTimestamp},
	{Name: "ok", Type: types.TypeBool},
	{Name: "d", Type: types.DecimalType(6, 2)},
	{Name: "day", Type: types.TypeDate},
	{Name: "iv", Type: types.TypeInterval},
	{Name: "j", Type: types.TypeJSON},
	{Name: "b", Type: types.TypeBytes},
	{Name: "txt", Type: types.TypeText},
	{Name: "r", Type: types.Type{Kind: types.Float, Width: 32}},
	{Name: "tiny", Type: types.Type{Kind: types.Int, Width: 8}},
}

var csvFields = []string{
	``, `""`, `1`, `-7`, ` 42 `, `32768`, `99999999999999999999`, `1.5`, `1e3`, `0x10`, `1_0`, `abc`, `abcde`, `é`,
	`"a,b"`, `"a""b"`, `""""`, `"x"y`, `"open`, `2026-11-25 10:00:00`, `2026-11-25T10:00:00.123Z`, `2026-11-25`,
	`epoch`, `t`, `yes`, `off`, `maybe`, `12.345`, `NaN`, `1 day`, `3 hours 2 minutes`, `{"a":1}`, `"{""a"":[1]}"`,
	`[1`, `\x00ff`, `hello world`, `   `,
}

// csvValid are mostly good fields per column, so that most lines decode.
var csvValid = map[string][]string{
	"i":    {``, `0`, `-0`, `007`, `+5`, `-9223372036854775808`, `999999999999999999`, `123`, ` 5`, `"7"`, `1.0`},
	"s16":  {``, `-32768`, `32767`, `32768`, `1`},
	"t":    {``, `""`, `ab`, `"a,b"`, `"a""b"`, `éééé`, `ab  `},
	"f":    {``, `1.5`, `-0`, `-0.0`, `1.`, `.5`, `1e-3`, `0.30000000000000004`, `123456789.123456`, `Infinity`, `"2.25"`},
	"ts":   {``, `2026-11-25 10:00:00`, `2026-11-25T10:00:00.123456Z`, `epoch`},
	"ok":   {``, `t`, `false`, `"on"`},
	"d":    {``, `1.005`, `-12.5`, `"3"`},
	"day":  {``, `2026-11-25`, `epoch`},
	"iv":   {``, `1 day`, `2 hours`},
	"j":    {``, `1`, `"{""a"":[1,""x""]}"`, `null`},
	"b":    {``, `abc`, `\x00ff`, `""`},
	"r":    {``, `0.1`, `1.5`, `16777217`},
	"tiny": {``, `127`, `128`, `-128`},
	"txt":  {``, `x`, `"multi word, with comma"`, `"` + strings.Repeat("long", 30) + `"`},
}

// TestCSVDecoder_MatchesOldDecoder decodes random lines with the decoder
// and with the one it replaced (old_decoders_test.go), scribbling over the
// line afterwards, and wants the same rows and errors.
func TestCSVDecoder_MatchesOldDecoder(t *testing.T) {
	for _, mask := range [][]bool{nil, {true, true, false, true, false, true, false, true, false, true, false, true, false, true, true}} {
		dec, err := newCSVDecoder(csvDiffCols, mask)
		if err != nil {
			t.Fatal(err)
		}
		old, err := newOldCSVDecoder(csvDiffCols, mask)
		if err != nil {
			t.Fatal(err)
		}
		r := rand.New(rand.NewPCG(14, uint64(len(mask))))
		meta := &Meta{ShardID: "s-1"}
		decoded := 0
		for range 20000 {
			n := len(csvDiffCols) - 1
			if r.IntN(10) == 0 {
				n += r.IntN(3) - 1
			}
			fields := make([]string, n)
			for i := range fields {
				pool := csvFields
				if i+1 < len(csvDiffCols) && r.IntN(8) != 0 {
					pool = csvValid[csvDiffCols[i+1].Name]
				}
				fields[i] = pool[r.IntN(len(pool))]
			}
			line := strings.Join(fields, ",") + []string{"", "\n", "\r\n"}[r.IntN(3)]
			buf := []byte(line)
			got, gotErr := dec.Decode(buf, meta, nil)
			for i := range buf {
				buf[i] = '#'
			}
			want, wantErr := old.Decode([]byte(line), meta, nil)
			if (gotErr == nil) != (wantErr == nil) || gotErr != nil && gotErr.Error() != wantErr.Error() {
				t.Fatalf("%q\nerror %v\nwant  %v", line, gotErr, wantErr)
			}
			if gotErr == nil {
				decoded++
			}
			if gotErr == nil && !sameRow(got, want) {
				t.Fatalf("%q\nrow  %v\nwant %v", line, got, want)
			}
		}
		if decoded < 2000 {
			t.Errorf("only %d lines of 20000 decoded: the test hardly compares rows", decoded)
		}
	}
}
