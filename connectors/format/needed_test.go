package format

import (
	"testing"

	"github.com/streamsql/streamsql/sql/types"
)

// TestNeededColumns checks that unneeded columns stay NULL (their values
// not even converted: a bad value there is no error), that the row keeps
// its full width, and that needed ones decode as before.
func TestNeededColumns(t *testing.T) {
	cols := append(append([]types.Column{}, clickCols...),
		types.Column{Name: "nested", Type: types.TypeBigInt},
		types.Column{Name: ColShardID, Type: types.TypeText})
	meta := &Meta{ShardID: "shard-1"}
	cases := []struct {
		name   string
		format string
		paths  map[string]string
		needed []bool
		data   string
		want   []string // per column; "NULL" for NULL
	}{
		{"json all", JSON, map[string]string{"nested": "$.n.v"}, nil,
			`{"user_id":1,"url":"/x","amount":1.5,"ts":"2026-11-25T10:00:00Z","n":{"v":7}}`,
			[]string{"1", "/x", "1.5", "2026-11-25 10:00:00", "7", "shard-1"}},
		{"json user_id only", JSON, map[string]string{"nested": "$.n.v"}, []bool{true, false, false, false, false, false},
			`{"user_id":1,"url":"/x","amount":"not a number","ts":"bad","n":{"v":"bad"}}`,
			[]string{"1", "NULL", "NULL", "NULL", "NULL", "NULL"}},
		{"json nested and meta", JSON, map[string]string{"nested": "$.n.v"}, []bool{false, false, false, true, true, true},
			`{"user_id":"bad","url":[1],"amount":{},"ts":"2026-11-25T10:00:00Z","n":{"v":7}}`,
			[]string{"NULL", "NULL", "NULL", "2026-11-25 10:00:00", "7", "shard-1"}},
		{"csv url only", CSV, nil, []bool{false, true, false, false, false, false},
			`bad,"/x",bad,bad,bad`,
			[]string{"NULL", "/x", "NULL", "NULL", "NULL", "NULL"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dec, err := NewDecoder(Options{Format: c.format, Columns: cols, Paths: c.paths, Needed: c.needed})
			if err != nil {
				t.Fatal(err)
			}
			row, err := dec.Decode([]byte(c.data), meta, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(row) != len(cols) {
				t.Fatalf("row width %d, want %d", len(row), len(cols))
			}
			for i, w := range c.want {
				got := "NULL"
				if !row[i].IsNull() {
					got = row[i].String()
				}
				if got != w {
					t.Errorf("column %s = %q, want %q", cols[i].Name, got, w)
				}
			}
		})
	}
}

func TestNeededRaw(t *testing.T) {
	cols := []types.Column{{Name: "data", Type: types.TypeBytes}, {Name: ColShardID, Type: types.TypeText}}
	dec, err := NewDecoder(Options{Format: Raw, Columns: cols, Needed: []bool{false, true}})
	if err != nil {
		t.Fatal(err)
	}
	row, err := dec.Decode([]byte("x"), &Meta{ShardID: "s"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !row[0].IsNull() || row[1].IsNull() {
		t.Fatalf("row = %v, want NULL, 's'", row)
	}
}
