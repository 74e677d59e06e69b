package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/common/expfmt"

	"github.com/streamsql/streamsql"
)

// ViewOptions configure the view contender.
type ViewOptions struct {
	// MemoryLimit is the engine's Config.MemoryLimit; 0 is its default
	// (streamsql.DefaultMemoryLimit).
	MemoryLimit int64
	// ScrapeEvery, when positive, gathers the engine's metrics and writes
	// them in the Prometheus text format this often while the view runs,
	// as a scraper of /metrics would: the cost of being watched.
	ScrapeEvery time.Duration
}

// ViewName is the view contender's row.
const ViewName = "streamsql view (file source)"

// ViewNote says what the view contender's figures count.
const ViewNote = "the events written as a JSON-lines file first (not measured), read by CREATE SOURCE ... " +
	"WITH (connector = 'file', mode = 'once') on a fresh engine with default settings; measured from " +
	"CREATE MATERIALIZED VIEW to FLUSH returning, whole-process CPU"

// ViewContender runs the scenario the way a user does, through the
// embedding API only: the events go into a JSON-lines file (not
// measured), a fresh engine with default settings gets a file source over
// it, and what is measured is CREATE MATERIALIZED VIEW of the scenario's
// EMIT ON WINDOW CLOSE query, then FLUSH, which returns once the file is
// read and everything committed. The view's rows must add up to the
// ceiling's answer.
func ViewContender(o ViewOptions) Contender {
	return Contender{Name: ViewName, Self: func(ctx context.Context, events [][]byte, q Query) (Outcome, error) {
		return RunView(ctx, events, q, o)
	}}
}

// RunView is the view contender's run.
func RunView(ctx context.Context, events [][]byte, q Query, o ViewOptions) (Outcome, error) {
	if err := checkWholeSeconds(q); err != nil {
		return Outcome{}, err
	}
	dir, err := os.MkdirTemp("", "streamsql-bench-view-")
	if err != nil {
		return Outcome{}, fmt.Errorf("view: %w", err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "clicks.jsonl")
	if err := writeClicksFile(path, events); err != nil {
		return Outcome{}, err
	}
	e, err := streamsql.Open(ctx, streamsql.Config{DataDir: filepath.Join(dir, "data"), MemoryLimit: o.MemoryLimit, Logger: quietLogger()})
	if err != nil {
		return Outcome{}, fmt.Errorf("view: open engine: %w", err)
	}
	defer e.Close()
	if err := e.Exec(ctx, fileSourceSQL("clicks", path, q)); err != nil {
		return Outcome{}, fmt.Errorf("view: %w", err)
	}
	u, err := Measure(func() error {
		if o.ScrapeEvery > 0 {
			stop := scrapeMetrics(e, o.ScrapeEvery)
			defer stop()
		}
		if err := e.Exec(ctx, viewSQL("per_user", "clicks", q, true)); err != nil {
			return err
		}
		return e.Exec(ctx, "FLUSH")
	})
	if err != nil {
		return Outcome{Usage: u}, fmt.Errorf("view: %w", err)
	}
	ans, err := viewAnswer(ctx, e, "per_user")
	return Outcome{Answer: ans, Usage: u, Note: ViewNote}, err
}

func fileSourceSQL(name, path string, q Query) string {
	return fmt.Sprintf("CREATE SOURCE %s (user_id BIGINT, amount DOUBLE, ts TIMESTAMP(3), "+
		"WATERMARK FOR ts AS ts - INTERVAL '%d' SECOND) WITH (connector = 'file', path = '%s', "+
		"format = 'json', mode = 'once')", name, int64(q.Delay/time.Second), strings.ReplaceAll(path, "'", "''"))
}

// writeClicksFile writes the events one per line, then one event of user 0
// an hour of event time after the last: a source's watermark follows the
// events it has read, so without it the last windows would never close
// (viewAnswer leaves user 0 out).
func writeClicksFile(path string, events [][]byte) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("view: %w", err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var maxTs int64
	for _, ev := range events {
		ts, err := tsOf(ev)
		if err != nil {
			f.Close()
			return err
		}
		maxTs = max(maxTs, ts)
		w.Write(ev)
		w.WriteByte('\n')
	}
	fmt.Fprintf(w, `{"user_id":0,"amount":0.00,"ts":%d}`+"\n", maxTs+3_600_000)
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("view: writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("view: writing %s: %w", path, err)
	}
	return nil
}

// tsOf reads the ts of a generated event, which always comes last.
func tsOf(ev []byte) (int64, error) {
	const key = `"ts":`
	i := strings.LastIndex(string(ev), key)
	if i < 0 || len(ev) == 0 || ev[len(ev)-1] != '}' {
		return 0, fmt.Errorf("view: event %q does not end with ts", ev)
	}
	ts, err := strconv.ParseInt(string(ev[i+len(key):len(ev)-1]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("view: event %q: %w", ev, err)
	}
	return ts, nil
}

// scrapeMetrics gathers e's metrics and encodes them every d until stop.
func scrapeMetrics(e *streamsql.Engine, d time.Duration) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			mfs, err := e.Metrics().Gather()
			if err != nil {
				continue // a scraper would see a partial answer: cost the same
			}
			enc := expfmt.NewEncoder(io.Discard, expfmt.NewFormat(expfmt.TypeTextPlain))
			for _, mf := range mfs {
				_ = enc.Encode(mf)
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}
