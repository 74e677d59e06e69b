package exec

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/cockroachdb/datadriven"
	"github.com/streamsql/streamsql/exec/expr"
)

func secsArg(d *datadriven.TestData, key string) (int64, error) {
	f, err := strconv.ParseFloat(argOr(d, key, "0"), 64)
	return int64(f * 1e6), err
}

// makeTestWindowOperator builds window, tumble, hop and session operators.
// Times and sizes are in seconds.
func makeTestWindowOperator(d *datadriven.TestData, cols []testCol) ([]testCol, func() (Operator, error), error) {
	eowc := argOr(d, "eowc", "") != ""
	switch d.Cmd {
	case "window":
		o, err := testAggOptions(d, cols)
		if err != nil {
			return nil, nil, err
		}
		wend := -1
		for i, k := range strings.Split(argOr(d, "keys", ""), ",") {
			if k == argOr(d, "wend", "we") {
				wend = i
			}
		}
		wo := WindowAggOptions{AggOptions: o, WindowEnd: wend, EmitOnClose: eowc}
		return cols, func() (Operator, error) { return NewWindowAgg(wo) }, nil
	case "tumble", "hop":
		size, err := secsArg(d, "size")
		if err != nil {
			return nil, nil, err
		}
		slide, err := secsArg(d, "slide")
		if err != nil {
			return nil, nil, err
		}
		tc, err := colIndex(cols, argOr(d, "time", "t"))
		if err != nil {
			return nil, nil, err
		}
		kind := Tumble
		if d.Cmd == "hop" {
			kind = Hop
		}
		wo := WindowOptions{Kind: kind, TimeCol: tc, Size: size, Slide: slide}
		return cols, func() (Operator, error) { return NewWindow(wo) }, nil
	case "session":
		o, err := testAggOptions(d, cols)
		if err != nil {
			return nil, nil, err
		}
		gap, err := secsArg(d, "gap")
		if err != nil {
			return nil, nil, err
		}
		te, err := colRef(cols, argOr(d, "time", "t"))
		if err != nil {
			return nil, nil, err
		}
		tf, err := expr.Compile(te)
		if err != nil {
			return nil, nil, err
		}
		so := SessionOptions{AggOptions: o, Time: tf, Gap: gap, EmitOnClose: eowc}
		return cols, func() (Operator, error) { return NewSessionAgg(so) }, nil
	}
	return nil, nil, fmt.Errorf("unknown operator %s", d.Cmd)
}
