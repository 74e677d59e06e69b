package expr

import (
	"errors"
	"testing"

	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

func TestSplitFunctions(t *testing.T) {
	url := "https://www.nexmark.com/abc/item.htm?query=1&channel_id=1234"
	tests := []struct {
		name string
		fn   string
		args []Expr
		want string // "NULL" for NULL
		code sqlerr.Code
	}{
		{"regexp group", "regexp_extract", []Expr{cs(url), cs("(&|^)channel_id=([^&]*)"), ci(2)}, "1234", ""},
		{"regexp whole match", "regexp_extract", []Expr{cs("abc123def"), cs("[0-9]+")}, "123", ""},
		{"regexp no match", "regexp_extract", []Expr{cs("abc"), cs("[0-9]+")}, "NULL", ""},
		{"regexp no such group", "regexp_extract", []Expr{cs("abc1"), cs("([0-9])"), ci(2)}, "NULL", ""},
		{"regexp group that did not take part", "regexp_extract", []Expr{cs("b"), cs("(a)|b"), ci(1)}, "NULL", ""},
		{"regexp NULL input", "regexp_extract", []Expr{cnull(), cs("a")}, "NULL", ""},
		{"regexp bad pattern", "regexp_extract", []Expr{cs("a"), cs("(")}, "", sqlerr.InvalidRegularExpression},
		{"split third piece", "split_index", []Expr{cs(url), cs("/"), ci(3)}, "abc", ""},
		{"split first piece", "split_index", []Expr{cs("a,b,c"), cs(","), ci(0)}, "a", ""},
		{"split last piece", "split_index", []Expr{cs("a,b,c"), cs(","), ci(2)}, "c", ""},
		{"split past the end", "split_index", []Expr{cs("a,b,c"), cs(","), ci(3)}, "NULL", ""},
		{"split negative", "split_index", []Expr{cs("a,b"), cs(","), ci(-1)}, "NULL", ""},
		{"split longer separator", "split_index", []Expr{cs("a::b::c"), cs("::"), ci(1)}, "b", ""},
		{"substring_index left", "substring_index", []Expr{cs("www.mysql.com"), cs("."), ci(2)}, "www.mysql", ""},
		{"substring_index right", "substring_index", []Expr{cs("www.mysql.com"), cs("."), ci(-2)}, "mysql.com", ""},
		{"substring_index too many", "substring_index", []Expr{cs("a.b"), cs("."), ci(5)}, "a.b", ""},
		{"substring_index zero", "substring_index", []Expr{cs("a.b"), cs("."), ci(0)}, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := NewCall(tc.fn, 0, tc.args...)
			if err != nil {
				t.Fatal(err)
			}
			f, err := Compile(c)
			var v types.Value
			if err == nil {
				v, err = f(nil, &Env{})
			}
			if tc.code != "" {
				var se *sqlerr.Error
				if !errors.As(err, &se) || se.Code != tc.code {
					t.Fatalf("error %v, want SQLSTATE %s", err, tc.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := v.String()
			if v.IsNull() {
				got = "NULL"
			}
			if got != tc.want {
				t.Fatalf("%s = %q, want %q", c, got, tc.want)
			}
		})
	}
}
