package streamsql

import (
	"testing"
	"time"
)

// The log about skipped records: the first skip logs at once, then at
// most one line per badRecordLogEvery, each with the skips since the last.
func TestBadRecordLog_Skip(t *testing.T) {
	t0 := time.Unix(1000, 0)
	var l badRecordLog
	for i, step := range []struct {
		at      time.Duration
		wantN   int64
		wantLog bool
	}{
		{0, 1, true},
		{time.Second, 0, false},
		{2 * time.Second, 0, false},
		{badRecordLogEvery - time.Millisecond, 0, false},
		{badRecordLogEvery, 4, true}, // the three held back and this one
		{badRecordLogEvery + time.Second, 0, false},
		{3 * badRecordLogEvery, 2, true},
	} {
		n, ok := l.skip(t0.Add(step.at))
		if n != step.wantN || ok != step.wantLog {
			t.Errorf("step %d at %v: (%d, %v), want (%d, %v)", i, step.at, n, ok, step.wantN, step.wantLog)
		}
	}
}
