package expr

import (
	"math/rand"
	"strconv"
	"strings"
	"testing"

	"github.com/streamsql/streamsql/sql/types"
)

// randomJSON writes a random document of bounded depth.
func randomJSON(r *rand.Rand, b *strings.Builder, depth int) {
	ws := func() {
		if r.Intn(3) == 0 {
			b.WriteString([]string{" ", "\n", "\t ", "  "}[r.Intn(4)])
		}
	}
	ws()
	switch k := r.Intn(8); {
	case depth > 0 && k < 2:
		b.WriteByte('{')
		n := r.Intn(4)
		for i := 0; i < n; i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			ws()
			b.WriteString(strconv.Quote([]string{"a", "b", "c", "x y", "é", `q"`, "<"}[r.Intn(7)]))
			ws()
			b.WriteByte(':')
			randomJSON(r, b, depth-1)
		}
		ws()
		b.WriteByte('}')
	case depth > 0 && k < 4:
		b.WriteByte('[')
		n := r.Intn(4)
		for i := 0; i < n; i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			randomJSON(r, b, depth-1)
		}
		b.WriteByte(']')
	case k == 4:
		b.WriteString([]string{`"plain"`, `"esc\"aped"`, `"a\u00e9b"`, `"<tag>"`, `"tab\t"`, `""`}[r.Intn(6)])
	case k == 5:
		b.WriteString([]string{"true", "false", "null"}[r.Intn(3)])
	default:
		b.WriteString([]string{"0", "-1", "2.50", "1e3", "123456789012345678901234567890"}[r.Intn(5)])
	}
	ws()
}

var scanPaths = []string{"$", "$.a", "$.b", "$.a.b", "$.a[0]", "$[1]", "$[0].c", "$.\"x y\"", "$.a[2].b", "$[0][0]", "$.c[1]", `$."é"`}

// TestScanJSONPath_MatchesDecoding: the scanner's answer equals the one
// from decoding the whole document, on random documents and paths.
func TestScanJSONPath_MatchesDecoding(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	for i := 0; i < 20000; i++ {
		var b strings.Builder
		randomJSON(r, &b, 3)
		doc := b.String()
		path := scanPaths[r.Intn(len(scanPaths))]
		parsed, err := parseJSONPath(path)
		if err != nil {
			t.Fatal(err)
		}
		steps, _ := parsed.steps()
		want, werr := extractDecoded(doc, steps)
		c, err := NewCall("json_extract", 0, &Const{Value: types.NewJSON(doc), Typ: types.TypeJSON}, cs(path))
		if err != nil {
			t.Fatal(err)
		}
		got, gerr := eval(t, c, nil)
		if (werr != nil) != (gerr != nil) || got.String() != want.String() || got.IsNull() != want.IsNull() {
			t.Fatalf("%s on %q:\nscanned %v, %v\ndecoded %v, %v", path, doc, got, gerr, want, werr)
		}
		u, err := NewCall("json_unquote", 0, c)
		if err != nil {
			t.Fatal(err)
		}
		gu, gerr := eval(t, u, nil)
		wu, werr := eval(t, mustCall(t, "json_unquote", &Const{Value: want, Typ: types.TypeJSON}), nil)
		if want.IsNull() {
			wu, werr = types.Null, nil
		}
		if (werr != nil) != (gerr != nil) || gu.String() != wu.String() {
			t.Fatalf("unquote %s on %q: %v, %v want %v, %v", path, doc, gu, gerr, wu, werr)
		}
	}
}

func BenchmarkJSONExtractUnquote(b *testing.B) {
	doc := types.NewJSON(`{"user": 42, "page": "/checkout", "items": [{"sku": "a1", "qty": 2}], "ref": null}`)
	c, err := NewCall("json_extract", 0, &ColumnRef{Index: 0, Typ: types.TypeJSON}, cs("$.page"))
	if err != nil {
		b.Fatal(err)
	}
	u, err := NewCall("json_unquote", 0, c)
	if err != nil {
		b.Fatal(err)
	}
	f, err := Compile(u)
	if err != nil {
		b.Fatal(err)
	}
	row := types.Row{doc}
	env := &Env{}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if v, err := f(row, env); err != nil || v.Str() != "/checkout" {
			b.Fatal(v, err)
		}
	}
}

// BenchmarkJSONExtractGeneral: a path the scanner does not take ([last])
// decodes the document.
func BenchmarkJSONExtractGeneral(b *testing.B) {
	doc := types.NewJSON(`{"user": 42, "page": "/checkout", "items": [{"sku": "a1", "qty": 2}], "ref": null}`)
	c, err := NewCall("json_extract", 0, &ColumnRef{Index: 0, Typ: types.TypeJSON}, cs("$.items[last].sku"))
	if err != nil {
		b.Fatal(err)
	}
	f, err := Compile(c)
	if err != nil {
		b.Fatal(err)
	}
	row := types.Row{doc}
	env := &Env{}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if v, err := f(row, env); err != nil || v.Str() != `"a1"` {
			b.Fatal(v, err)
		}
	}
}
