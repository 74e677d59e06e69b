package bench

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	json "github.com/goccy/go-json"
	"github.com/rulego/streamsql"
	"github.com/rulego/streamsql/logger"
	rtypes "github.com/rulego/streamsql/types"
)

// RulegoSQL is the scenario's query in rulego/streamsql's dialect: windows
// in GROUP BY, event time and the watermark delay in WITH.
func RulegoSQL(q Query) string {
	return fmt.Sprintf("SELECT user_id, COUNT(*) AS n, SUM(amount) AS total, window_start() AS ws, window_end() AS we "+
		"FROM stream GROUP BY user_id, TumblingWindow('%s') "+
		"WITH (TIMESTAMP='ts', TIMEUNIT='ms', MAXOUTOFORDERNESS='%s')", q.Size, q.Delay)
}

// rulegoPerformance is the configuration rulego needs to give right
// answers (PEERS.md): by default it drops input and results when a buffer
// is full. Block instead, for as long as it takes; a BlockTimeout of zero
// would mean 5 s for window output, after which it drops again.
func rulegoPerformance() rtypes.PerformanceConfig {
	c := rtypes.DefaultPerformanceConfig()
	c.OverflowConfig.Strategy = rtypes.OverflowStrategyBlock
	c.OverflowConfig.AllowDataLoss = false
	c.OverflowConfig.BlockTimeout = 24 * time.Hour
	c.BufferConfig.DataChannelSize = 10000
	return c
}

// RunRulego runs github.com/rulego/streamsql in process over events:
// each event decoded with goccy/go-json into a map (rulego's input type)
// and emitted. Results are read by a synchronous sink, the one kind rulego
// never drops. At the end of input one sentinel event an hour past the
// last moves rulego's watermark past every real window (its own window
// never closes, so it is not counted); RunRulego returns once the last real
// window has been emitted, or with an error when ctx ends first.
func RunRulego(ctx context.Context, events [][]byte, q Query) (Answer, error) {
	ssql := streamsql.New(streamsql.WithCustomPerformance(rulegoPerformance()), streamsql.WithLogger(logger.NewDiscardLogger()))
	defer ssql.Stop()
	if err := ssql.Execute(RulegoSQL(q)); err != nil {
		return Answer{}, fmt.Errorf("rulego: %w", err)
	}
	sizeMs := q.Size.Milliseconds()
	var (
		mu      sync.Mutex
		b       answerBuilder
		lastEnd int64 = math.MaxInt64 // set once the input is in
		seenEnd int64
		done    = make(chan struct{})
		once    sync.Once
		bad     error
	)
	ssql.AddSyncSink(func(rows []map[string]any) {
		mu.Lock()
		defer mu.Unlock()
		for _, r := range rows {
			n, ok1 := toInt(r["n"])
			total, ok2 := toFloat(r["total"])
			we, ok3 := toInt(r["we"])
			if !ok1 || !ok2 || !ok3 {
				if bad == nil {
					bad = fmt.Errorf("rulego: unexpected result row %v", r)
				}
				continue
			}
			endMs := we / 1e6 // window_end() is in nanoseconds
			b.add(endMs, n, int64(math.Round(total*100)))
			seenEnd = max(seenEnd, endMs)
		}
		if seenEnd >= lastEnd {
			once.Do(func() { close(done) })
		}
	})
	var maxTs int64 = math.MinInt64
	for _, e := range events {
		m := make(map[string]any, 3)
		if err := json.UnmarshalNoEscape(e, &m); err != nil {
			return Answer{}, fmt.Errorf("rulego: decoding %q: %w", e, err)
		}
		if ts, ok := toInt(m["ts"]); ok {
			maxTs = max(maxTs, ts)
		}
		ssql.Emit(m)
	}
	if len(events) == 0 {
		return Answer{}, nil
	}
	ssql.Emit(map[string]any{"user_id": -1, "amount": 0.0, "ts": float64(maxTs + 3_600_000)})
	mu.Lock()
	lastEnd = maxTs - ((maxTs%sizeMs)+sizeMs)%sizeMs + sizeMs
	if seenEnd >= lastEnd {
		once.Do(func() { close(done) })
	}
	mu.Unlock()
	select {
	case <-done:
	case <-ctx.Done():
		mu.Lock()
		defer mu.Unlock()
		return b.a, fmt.Errorf("rulego: the window ending at %d never came (last seen %d; %v so far): %w", lastEnd, seenEnd, b.a, ctx.Err())
	}
	mu.Lock()
	defer mu.Unlock()
	return b.a, bad
}

func toInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case int:
		return int64(x), true
	case float64:
		return int64(x), true
	case int32:
		return int64(x), true
	}
	return 0, false
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int64:
		return float64(x), true
	case int:
		return float64(x), true
	}
	return 0, false
}
