package exprdiff

import (
	"os"
	"path/filepath"
	"testing"
)

func TestMySQLJSON(t *testing.T) {
	cases := []struct{ in, want string }{
		{`[1,2,{"c":3}]`, `[1, 2, {"c": 3}]`},
		{`{"b":1,"a":2}`, `{"a": 2, "b": 1}`},
		{`{"bb":1,"a":2,"c":3}`, `{"a": 2, "c": 3, "bb": 1}`}, // by length, then bytes
		{`{"a":1,"a":2}`, `{"a": 2}`},                         // the last duplicate wins
		{`[2.5,-1.0,1e308,null,true,"<&>"]`, `[2.5, -1.0, 1e308, null, true, "<&>"]`},
	}
	for _, c := range cases {
		got, err := mysqlJSON(c.in)
		if err != nil || got != c.want {
			t.Errorf("mysqlJSON(%s) = %s, %v; want %s", c.in, got, err, c.want)
		}
	}
	if _, err := mysqlJSON("not json"); err == nil {
		t.Errorf("mysqlJSON of invalid text: no error")
	}
}

func TestLoadList(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) string {
		f := filepath.Join(dir, "l.txt")
		if err := os.WriteFile(f, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return f
	}
	l, err := loadList(write("# c\nCEIL(1) => value 1 | https://x\n~^A\\( => skip | https://y\n"), true)
	if err != nil {
		t.Fatal(err)
	}
	if e := l.find("CEIL(1)"); e == nil || e.answer != "value" || e.text != "1" {
		t.Errorf("exact entry: %+v", e)
	}
	if e := l.find("A(2)"); e == nil || e.answer != "skip" {
		t.Errorf("regexp entry: %+v", e)
	}
	if e := l.find("CEIL(2)"); e != nil {
		t.Errorf("CEIL(2) matched %+v", e)
	}
	for _, bad := range []string{
		"X => value 1\n",               // no why
		"X => value 1 | no citation\n", // no cite where one is needed
		"X => maybe | https://x\n",     // unknown answer
		"X value 1 | https://x\n",      // no =>
		"~( => skip | https://x\n",     // bad regexp
	} {
		if _, err := loadList(write(bad), true); err == nil {
			t.Errorf("loadList(%q): no error", bad)
		}
	}
}

func TestApply_NullIfEmpty(t *testing.T) {
	e := &entry{answer: "null-if-empty"}
	if got, _ := e.apply(outcome{Kind: kValue, Text: ""}); got.Kind != kNull {
		t.Errorf("'' became %v, want NULL", got)
	}
	if got, _ := e.apply(outcome{Kind: kValue, Text: "b"}); got.Kind != kValue || got.Text != "b" {
		t.Errorf("'b' became %v, want it kept", got)
	}
}
