package exec

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/cockroachdb/datadriven"
)

// aggHarness drives one operator through datadriven commands:
//
//	hash|window|tumble|hop|session <options>  create the operator on a fresh state table
//	process                                   feed the batch in the input; print emitted rows
//	watermark <seconds>                       OnWatermark; print emitted rows
//	barrier                                   OnBarrier; print emitted rows
//	reopen                                    a new operator with the same options on the same state
//	stats                                     the operator's counters
type aggHarness struct {
	cols  []testCol
	make  func() (Operator, error)
	op    Operator
	st    StateTable
	out   aggRecorder
	epoch uint64
}

func (h *aggHarness) run(t *testing.T, d *datadriven.TestData) string {
	ctx := context.Background()
	h.out.reset()
	var err error
	switch d.Cmd {
	case "hash", "window", "tumble", "hop", "session":
		h.cols, h.make, err = makeTestOperator(d)
		if err != nil {
			return "error: " + err.Error()
		}
		h.st = NewMemTable()
		if h.op, err = h.make(); err != nil {
			return "error: " + err.Error()
		}
		err = h.op.Open(ctx, &OpContext{Name: d.Cmd, State: h.st})
	case "reopen":
		if err = h.op.Close(); err == nil {
			if h.op, err = h.make(); err == nil {
				err = h.op.Open(ctx, &OpContext{Name: "reopen", State: h.st})
			}
		}
	case "process":
		var b *Batch
		if b, err = parseTestBatch(h.cols, d.Input); err == nil {
			err = h.op.Process(ctx, 0, b, &h.out)
		}
	case "watermark":
		var secs float64
		if secs, err = strconv.ParseFloat(d.CmdArgs[0].Key, 64); err == nil {
			err = h.op.OnWatermark(ctx, Watermark{Micros: int64(secs * 1e6)}, &h.out)
		}
	case "barrier":
		h.epoch++
		err = h.op.OnBarrier(ctx, Barrier{Epoch: h.epoch}, &h.out)
	case "stats":
		return testStats(h.op)
	default:
		d.Fatalf(t, "unknown command %s", d.Cmd)
	}
	if err != nil {
		return h.out.String() + "error: " + err.Error() + "\n"
	}
	if s := h.out.String(); s != "" {
		return s
	}
	return "ok\n"
}

func TestAgg_DataDriven(t *testing.T) {
	// Only this file's families: other operators' testdata shares the folder.
	var paths []string
	for _, pat := range []string{"testdata/agg_*", "testdata/window_*"} {
		m, err := filepath.Glob(pat)
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, m...)
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			h := &aggHarness{}
			datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
				return h.run(t, d)
			})
		})
	}
}

func argOr(d *datadriven.TestData, key, def string) string {
	for _, a := range d.CmdArgs {
		if a.Key == key {
			if len(a.Vals) == 0 {
				return "true"
			}
			s := a.Vals[0]
			for _, v := range a.Vals[1:] {
				s += "," + v
			}
			return s
		}
	}
	return def
}

// makeTestOperator builds the operator a create command describes.
func makeTestOperator(d *datadriven.TestData) ([]testCol, func() (Operator, error), error) {
	cols, err := parseTestCols(argOr(d, "cols", ""))
	if err != nil {
		return nil, nil, err
	}
	switch d.Cmd {
	case "hash":
		o, err := testAggOptions(d, cols)
		if err != nil {
			return nil, nil, err
		}
		return cols, func() (Operator, error) { return NewHashAgg(o) }, nil
	}
	return makeTestWindowOperator(d, cols)
}

func testAggOptions(d *datadriven.TestData, cols []testCol) (AggOptions, error) {
	keys, keyCols, err := parseTestKeys(cols, argOr(d, "keys", ""))
	if err != nil {
		return AggOptions{}, err
	}
	aggs, err := parseTestAggs(cols, argOr(d, "aggs", ""))
	if err != nil {
		return AggOptions{}, err
	}
	having, err := parseTestHaving(testOutCols(keyCols, aggs), argOr(d, "having", ""))
	if err != nil {
		return AggOptions{}, err
	}
	cache, err := strconv.Atoi(argOr(d, "cache", "0"))
	if err != nil {
		return AggOptions{}, err
	}
	return AggOptions{Keys: keys, Aggs: aggs, Having: having, CacheSize: cache}, nil
}

func testStats(op Operator) string {
	if s, ok := op.(interface{ Late() int64 }); ok {
		return fmt.Sprintf("late=%d\n", s.Late())
	}
	return "no stats\n"
}
