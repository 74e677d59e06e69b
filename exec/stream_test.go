package exec

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/sql/types"
)

// streamSeed seeds the metamorphic batch sizes; STREAM_SEED=n repeats a run.
var streamSeed = func() uint64 {
	if s, err := strconv.ParseUint(os.Getenv("STREAM_SEED"), 10, 64); err == nil {
		return s
	}
	return uint64(time.Now().UnixNano())
}()

// TestStreamOperators runs the datadriven files of the stateless operators
// and the runtime. Each file is run several times with random output batch
// sizes and random cuts of the input batches, so that no expectation can
// depend on batching.
//
//	run types=<t,...> op=<filter|project|union|materialize|pass> [inputs=n]
//	    [policy=skip] [key=i,...] [sort] [noend]
//	pred <sexpr>          (filter)
//	expr <sexpr>          (project: one line per output column)
//	<changes in the ParseMessages form; a line "input n" switches input>
//	----
//	<what the operator emitted; for materialize also the observer's changes>
//
// Expressions are s-expressions over expr's builtins: (> $0 3),
// (+ $0 $1), 'text', 1.5, NULL.
func TestStreamOperators(t *testing.T) {
	t.Logf("STREAM_SEED=%d", streamSeed)
	for _, file := range []string{"filter", "project", "union_all", "materialize", "runtime"} {
		t.Run(file, func(t *testing.T) {
			for round := 0; round < 4; round++ {
				rng := rand.New(rand.NewPCG(streamSeed, uint64(round)))
				datadriven.RunTest(t, "testdata/"+file, func(t *testing.T, d *datadriven.TestData) string {
					out, err := runStreamCase(t, d, rng)
					if err != nil {
						return "error: " + err.Error() + "\n"
					}
					return out
				})
			}
		})
	}
}

func runStreamCase(t *testing.T, d *datadriven.TestData, rng *rand.Rand) (string, error) {
	if d.Cmd != "run" {
		return "", fmt.Errorf("unknown command %q", d.Cmd)
	}
	var typeSpec, opName string
	d.ScanArgs(t, "types", &typeSpec)
	d.ScanArgs(t, "op", &opName)
	typs, err := ParseTypes(typeSpec)
	if err != nil {
		return "", err
	}
	nIn := 1
	if d.HasArg("inputs") {
		d.ScanArgs(t, "inputs", &nIn)
	}
	// absorb: expression errors are absorbed as a view's are (NULL and
	// count); without it they fail the query as a one-off SELECT's do.
	var errs *ExprErrors
	if d.HasArg("absorb") {
		errs = &ExprErrors{}
	}
	// Lines "pred <sexpr>" and "expr <sexpr>" before the changes configure
	// the operator (datadriven's arguments cannot hold spaces).
	var predSrc string
	var exprSrcs []string
	var body []string
	for _, line := range strings.Split(d.Input, "\n") {
		if v, ok := strings.CutPrefix(line, "pred "); ok {
			predSrc = v
		} else if v, ok := strings.CutPrefix(line, "expr "); ok {
			exprSrcs = append(exprSrcs, v)
		} else {
			body = append(body, line)
		}
	}
	var views []string
	var viewMu sync.Mutex
	var op Operator
	var state StateTable
	switch opName {
	case "filter":
		e, err := parseSexpr(predSrc, typs)
		if err != nil {
			return "", err
		}
		pred, err := expr.CompilePredicate(e)
		if err != nil {
			return "", err
		}
		op = NewFilter(pred, nil, errs)
	case "project":
		var fns []expr.Func
		for _, s := range exprSrcs {
			e, err := parseSexpr(s, typs)
			if err != nil {
				return "", err
			}
			fn, err := expr.Compile(e)
			if err != nil {
				return "", err
			}
			fns = append(fns, fn)
		}
		op = NewProject(fns, nil, errs)
	case "union":
		op = NewUnionAll()
	case "pass":
		op = NewUnionAll() // one input: the runtime's own behaviour
	case "materialize":
		var key []int
		if d.HasArg("key") {
			var ks string
			d.ScanArgs(t, "key", &ks)
			for _, s := range strings.Split(ks, ",") {
				k, err := strconv.Atoi(s)
				if err != nil {
					return "", err
				}
				key = append(key, k)
			}
		}
		state = NewMemTable()
		op = NewMaterialize(MaterializeOptions{Key: key, Observer: func(epoch uint64, b *Batch) error {
			viewMu.Lock()
			defer viewMu.Unlock()
			if epoch == syncEpoch {
				return nil
			}
			views = append(views, fmt.Sprintf("epoch %d:\n%s", epoch, b.String()))
			return nil
		}})
	default:
		return "", fmt.Errorf("unknown op %q", opName)
	}

	// Inputs: "input n" lines switch the input the following text goes to.
	texts := make([]strings.Builder, nIn)
	cur := 0
	for _, line := range body {
		if n, ok := strings.CutPrefix(strings.TrimSpace(line), "input "); ok {
			if cur, err = strconv.Atoi(n); err != nil || cur < 0 || cur >= nIn {
				return "", fmt.Errorf("bad input line %q", line)
			}
			continue
		}
		texts[cur].WriteString(line + "\n")
	}
	ins := make([][]Message, nIn)
	for i := range texts {
		if ins[i], err = ParseMessages(typs, texts[i].String()); err != nil {
			return "", err
		}
		ins[i] = recut(ins[i], rng)
	}

	g := NewGraph(GraphOptions{BatchSize: 1 + rng.IntN(4), EdgeCapacity: 1024})
	ids := make([]NodeID, nIn)
	feeds := make([]*Feed, nIn)
	for i := range ids {
		ids[i], feeds[i] = g.Input(fmt.Sprintf("in%d", i))
	}
	id := g.Add(opName, op, ids...)
	if state != nil {
		g.SetState(id, state)
	}
	var got []Message
	synced := false // what follows the last barrier depends on the order inputs close in
	g.Observe(id, func(m Message) error {
		if m.Kind == KindBarrier && m.Barrier.Epoch == syncEpoch {
			synced = true
		}
		if !synced {
			got = append(got, m)
		}
		return nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := g.Start(ctx); err != nil {
		return "", err
	}
	// Feed inputs in order: the edges are large enough never to block. The
	// inputs' order of arrival is not deterministic, so unless the case says
	// noend, a last barrier on every input makes each input's close come
	// after everything else was handled.
	if !d.HasArg("noend") {
		for i := range ins {
			ins[i] = append(ins[i], Message{Kind: KindBarrier, Barrier: Barrier{Epoch: syncEpoch}})
		}
	}
	for i, msgs := range ins {
		for _, m := range msgs {
			if err := feeds[i].Send(ctx, m); err != nil {
				feeds[i].Close()
				break
			}
		}
	}
	for _, f := range feeds {
		f.Close()
	}
	werr := g.Wait()
	var sb strings.Builder
	if werr != nil {
		// What reached the observer before the failure depends on timing.
		return fmt.Sprintf("error: %v\n", werr), nil
	}
	if d.HasArg("sort") {
		sb.WriteString(formatSorted(got))
	} else {
		sb.WriteString(FormatMessages(got))
	}
	if n := errs.Count(); n > 0 {
		last, _ := errs.Last()
		fmt.Fprintf(&sb, "expression errors: %d, last: %s\n", n, last)
	}
	if len(views) > 0 {
		sb.WriteString("view changes:\n")
		sb.WriteString(strings.Join(views, ""))
	}
	return sb.String(), nil
}

// syncEpoch is the epoch of the barrier that ends every input of a case.
const syncEpoch = 1 << 40

// recut re-batches the batches of msgs at random sizes, keeping update
// pairs together.
func recut(msgs []Message, rng *rand.Rand) []Message {
	var out []Message
	for _, m := range msgs {
		if m.Kind != KindBatch {
			out = append(out, m)
			continue
		}
		b := m.Batch
		nb := NewBatch(4)
		limit := 1 + rng.IntN(4)
		for i := 0; i < b.Len(); i++ {
			nb.Append(b.Op(i), b.Row(i))
			if nb.Len() >= limit && b.Op(i) != UpdateDelete {
				out = append(out, Message{Kind: KindBatch, Batch: nb})
				nb, limit = NewBatch(4), 1+rng.IntN(4)
			}
		}
		if nb.Len() > 0 {
			out = append(out, Message{Kind: KindBatch, Batch: nb})
		}
	}
	return out
}

// formatSorted renders msgs with the rows between two markers sorted: for
// operators with several inputs, whose interleaving is not deterministic.
func formatSorted(msgs []Message) string {
	var sb strings.Builder
	var rows []string
	flush := func() {
		slices.Sort(rows)
		for _, r := range rows {
			sb.WriteString(r + "\n")
		}
		rows = rows[:0]
	}
	for _, m := range msgs {
		if m.Kind == KindBatch {
			for i := 0; i < m.Batch.Len(); i++ {
				line := strings.TrimSuffix(FormatMessage(Message{Kind: KindBatch, Batch: sliceBatch(m.Batch, i, i+1)}), "\n")
				if m.Batch.Op(i) == UpdateInsert && len(rows) > 0 && strings.HasPrefix(rows[len(rows)-1], "U-") {
					rows[len(rows)-1] += "\n" + line // keep a pair together
					continue
				}
				rows = append(rows, line)
			}
			continue
		}
		flush()
		sb.WriteString(FormatMessage(m) + "\n")
	}
	flush()
	return sb.String()
}

func sliceBatch(b *Batch, from, to int) *Batch {
	nb := NewBatch(to - from)
	for i := from; i < to; i++ {
		nb.Append(b.Op(i), b.Row(i))
	}
	return nb
}

// parseSexpr reads a test expression: (name arg ...), $n for column n of
// typs, integers, decimals (with a point), 'strings', NULL, TRUE, FALSE.
func parseSexpr(s string, typs []types.Type) (expr.Expr, error) {
	p := &sexprParser{s: s, typs: typs}
	e, err := p.parse()
	if err != nil {
		return nil, err
	}
	if p.skipSpace(); p.i != len(p.s) {
		return nil, fmt.Errorf("trailing text in %q", s)
	}
	return e, nil
}

type sexprParser struct {
	s    string
	i    int
	typs []types.Type
}

func (p *sexprParser) skipSpace() {
	for p.i < len(p.s) && p.s[p.i] == ' ' {
		p.i++
	}
}

func (p *sexprParser) parse() (expr.Expr, error) {
	p.skipSpace()
	if p.i >= len(p.s) {
		return nil, fmt.Errorf("unexpected end of %q", p.s)
	}
	switch c := p.s[p.i]; {
	case c == '(':
		p.i++
		p.skipSpace()
		name := p.word()
		var args []expr.Expr
		for {
			p.skipSpace()
			if p.i >= len(p.s) {
				return nil, fmt.Errorf("missing ) in %q", p.s)
			}
			if p.s[p.i] == ')' {
				p.i++
				return expr.NewCall(name, 0, args...)
			}
			a, err := p.parse()
			if err != nil {
				return nil, err
			}
			args = append(args, a)
		}
	case c == '\'':
		end := strings.IndexByte(p.s[p.i+1:], '\'')
		if end < 0 {
			return nil, fmt.Errorf("unterminated string in %q", p.s)
		}
		v := p.s[p.i+1 : p.i+1+end]
		p.i += end + 2
		return &expr.Const{Value: types.NewString(v), Typ: types.TypeText}, nil
	case c == '$':
		p.i++
		n, err := strconv.Atoi(p.word())
		if err != nil || n < 0 || n >= len(p.typs) {
			return nil, fmt.Errorf("bad column in %q", p.s)
		}
		return &expr.ColumnRef{Index: n, Typ: p.typs[n], Name: fmt.Sprintf("$%d", n)}, nil
	}
	w := p.word()
	switch strings.ToUpper(w) {
	case "NULL":
		return &expr.Const{Value: types.Null, Typ: types.TypeUnknown}, nil
	case "TRUE", "FALSE":
		return &expr.Const{Value: types.NewBool(strings.EqualFold(w, "true")), Typ: types.TypeBool}, nil
	}
	if strings.Contains(w, ".") {
		return &expr.Const{Value: types.NewDecimal(w), Typ: types.DecimalType(len(w), len(w)-strings.IndexByte(w, '.')-1)}, nil
	}
	n, err := strconv.ParseInt(w, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("bad literal %q in %q", w, p.s)
	}
	return &expr.Const{Value: types.NewInt(n), Typ: types.TypeBigInt}, nil
}

func (p *sexprParser) word() string {
	start := p.i
	for p.i < len(p.s) && p.s[p.i] != ' ' && p.s[p.i] != '(' && p.s[p.i] != ')' {
		p.i++
	}
	return p.s[start:p.i]
}
