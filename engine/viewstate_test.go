package engine

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/streamsql/streamsql/exec"
)

// TestViewHealth_Streak: restarts back off 1 s doubling up to 1 min, the
// same cause three times in a row (request ids aside) makes a view failed,
// another cause makes it restarting again, and recovery ends the streak.
func TestViewHealth_Streak(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h := &viewHealth{created: time.Now()}
	notFound := func(id string) error {
		return errors.New("get records: https response error StatusCode: 400, RequestID: " + id + ", ResourceNotFoundException: gone")
	}
	steps := []struct {
		err      error
		state    string
		minDelay time.Duration
		maxDelay time.Duration
	}{
		{notFound("a1-b2"), stateRestarting, 900 * time.Millisecond, 1100 * time.Millisecond},
		{notFound("c3-d4"), stateRestarting, 1800 * time.Millisecond, 2200 * time.Millisecond},
		{notFound("e5-f6"), stateFailed, 3600 * time.Millisecond, 4400 * time.Millisecond},
		{notFound("g7"), stateFailed, 7200 * time.Millisecond, 8800 * time.Millisecond},
		{errors.New("decode: bad"), stateRestarting, 14400 * time.Millisecond, 17600 * time.Millisecond},
		{errors.New("decode: bad"), stateRestarting, 28800 * time.Millisecond, 35200 * time.Millisecond},
		{errors.New("decode: bad"), stateFailed, 54 * time.Second, 66 * time.Second},
		{errors.New("decode: bad"), stateFailed, 54 * time.Second, 66 * time.Second},
	}
	for i, s := range steps {
		d := h.lifeFailed(s.err, time.Millisecond, log)
		var st viewStatus
		h.notRunning(&st)
		if st.State != s.state || d < s.minDelay || d > s.maxDelay || st.Err != s.err {
			t.Fatalf("failure %d: %s after %v, want %s after %v..%v", i+1, st.State, d, s.state, s.minDelay, s.maxDelay)
		}
	}
	h.recovered(log)
	if h.failing() {
		t.Fatal("still failing after recovery")
	}
	if d := h.lifeFailed(errors.New("x"), time.Millisecond, log); d > 1100*time.Millisecond {
		t.Fatalf("first failure after recovery backs off %v", d)
	}
	// A life that ran long enough starts a new streak too.
	if d := h.lifeFailed(errors.New("x"), streakResetAfter, log); d > 1100*time.Millisecond {
		t.Fatalf("failure after a long life backs off %v", d)
	}
}

// TestViewHealth_SupervisePanic: a life that panics is recorded as a failed
// life with a PanicError, and the next life starts after the backoff.
func TestViewHealth_SupervisePanic(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h := &viewHealth{created: time.Now()}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	second := make(chan struct{})
	lives := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.supervise(ctx, log, func(ctx context.Context) error {
			lives++
			if lives == 1 {
				var rows []int
				_ = rows[3] // index out of range
			}
			close(second)
			<-ctx.Done()
			return ctx.Err()
		}, func() {})
	}()
	select {
	case <-second:
	case <-time.After(10 * time.Second):
		t.Fatal("no second life within 10 s of a panicking first one")
	}
	var pe *exec.PanicError
	if h.mu.Lock(); !errors.As(h.cause, &pe) || h.streak != 1 {
		t.Errorf("after a panicking life: cause %v, streak %d; want a PanicError, streak 1", h.cause, h.streak)
	}
	h.mu.Unlock()
	cancel()
	<-done
}
