package kinesis

import (
	"testing"
	"time"
)

func TestWatermarks(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	type step struct {
		op      string // add, event, poll, close, check
		shard   string
		sec     int  // event time (event) or now (others)
		now     int  // now for event/poll
		flag    bool // poll: caught up; event: want late
		want    int  // check: want watermark second (ok)
		wantNil bool // check: no watermark yet
	}
	for _, tc := range []struct {
		name  string
		opts  WatermarkOptions
		steps []step
	}{
		{"min over shards minus delay", WatermarkOptions{Delay: 5 * time.Second}, []step{
			{op: "add", shard: "a"}, {op: "add", shard: "b"},
			{op: "event", shard: "a", sec: 100},
			{op: "check", now: 0, wantNil: true}, // b has seen nothing
			{op: "event", shard: "b", sec: 50},
			{op: "check", now: 0, want: 45},
			{op: "event", shard: "b", sec: 200},
			{op: "check", now: 0, want: 95},
			{op: "event", shard: "a", sec: 96, flag: false}, // older than a's max, not behind the watermark
			{op: "event", shard: "a", sec: 80, flag: true},  // behind 95: late
		}},
		{"never goes back", WatermarkOptions{}, []step{
			{op: "event", shard: "a", sec: 100},
			{op: "check", want: 100},
			{op: "add", shard: "b"}, // a new shard with no event yet
			{op: "check", want: 100},
			{op: "event", shard: "b", sec: 10, flag: true},
			{op: "check", want: 100},
		}},
		{"idle shard stops holding back", WatermarkOptions{IdleTimeout: 10 * time.Second}, []step{
			{op: "event", shard: "a", sec: 100, now: 0},
			{op: "event", shard: "b", sec: 20, now: 0},
			{op: "poll", shard: "b", now: 1, flag: true},
			{op: "check", now: 5, want: 20},
			{op: "event", shard: "a", sec: 150, now: 11},
			{op: "check", now: 11, want: 150}, // b silent and caught up for 10s
		}},
		{"behind is not idle", WatermarkOptions{IdleTimeout: 10 * time.Second}, []step{
			{op: "event", shard: "a", sec: 100, now: 0},
			{op: "event", shard: "b", sec: 20, now: 0},
			{op: "poll", shard: "b", now: 30, flag: false}, // empty page, still behind
			{op: "check", now: 35, want: 20},
		}},
		{"closed shard never holds back", WatermarkOptions{}, []step{
			{op: "event", shard: "a", sec: 100},
			{op: "add", shard: "b"},
			{op: "close", shard: "b"},
			{op: "check", want: 100},
		}},
		{"wall clock when all idle", WatermarkOptions{Delay: 2 * time.Second, IdleTimeout: time.Second, WallClockWhenIdle: true}, []step{
			{op: "event", shard: "a", sec: 100, now: 100},
			{op: "poll", shard: "a", now: 100, flag: true},
			{op: "check", now: 100, want: 98},
			{op: "check", now: 500, want: 498},
		}},
		{"all idle without wall clock holds", WatermarkOptions{IdleTimeout: time.Second}, []step{
			{op: "event", shard: "a", sec: 100, now: 100},
			{op: "poll", shard: "a", now: 100, flag: true},
			{op: "check", now: 100, want: 100},
			{op: "check", now: 500, want: 100},
		}},
		// Issue 12 finding 8: records on one shard of four, every shard
		// registered and the busy one read at the same instant, and no
		// Current call before all four go idle together: the busy shard's
		// events must still make a watermark.
		{"all go idle together before any watermark", WatermarkOptions{Delay: time.Second, IdleTimeout: 2 * time.Second}, []step{
			{op: "add", shard: "a", now: 0}, {op: "add", shard: "b", now: 0},
			{op: "add", shard: "c", now: 0}, {op: "add", shard: "d", now: 0},
			{op: "event", shard: "a", sec: 70, now: 0},
			{op: "poll", shard: "a", now: 0, flag: true}, {op: "poll", shard: "b", now: 0, flag: true},
			{op: "poll", shard: "c", now: 0, flag: true}, {op: "poll", shard: "d", now: 0, flag: true},
			{op: "check", now: 1, wantNil: true}, // b, c, d have seen nothing and are not idle yet
			{op: "check", now: 2, want: 69},
			{op: "check", now: 500, want: 69},
		}},
		{"all idle: the largest a shard reached", WatermarkOptions{IdleTimeout: time.Second}, []step{
			{op: "event", shard: "a", sec: 100, now: 0}, {op: "event", shard: "b", sec: 40, now: 0},
			{op: "poll", shard: "a", now: 0, flag: true}, {op: "poll", shard: "b", now: 0, flag: true},
			{op: "check", now: 5, want: 100},
			{op: "event", shard: "b", sec: 50, now: 6, flag: true}, // b wakes up behind: late
			{op: "check", now: 6, want: 100},
		}},
		{"all idle, none has seen an event", WatermarkOptions{IdleTimeout: time.Second}, []step{
			{op: "add", shard: "a", now: 0}, {op: "poll", shard: "a", now: 0, flag: true},
			{op: "check", now: 5, wantNil: true},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := NewWatermarks(tc.opts)
			for i, s := range tc.steps {
				switch s.op {
				case "add":
					w.AddShard(s.shard, at(s.now))
				case "event":
					if late := w.Observe(s.shard, at(s.sec), at(s.now)); late != s.flag {
						t.Errorf("step %d: late %v, want %v", i, late, s.flag)
					}
				case "poll":
					w.Polled(s.shard, s.flag, at(s.now))
				case "close":
					w.Close(s.shard)
				case "check":
					wm, ok := w.Current(at(s.now))
					switch {
					case s.wantNil && ok:
						t.Errorf("step %d: watermark %v, want none", i, wm.Sub(t0))
					case !s.wantNil && (!ok || !wm.Equal(at(s.want))):
						t.Errorf("step %d: watermark %v (ok %v), want %ds", i, wm.Sub(t0), ok, s.want)
					}
				}
			}
		})
	}
}

// After a restart, the marks committed with the positions stand in for the
// events read before it: a shard with nothing new does not hold the
// watermark back as if it had seen nothing, and a seeded shard that is not
// read again (drained, aged out) holds nothing back.
func TestWatermarks_Seed(t *testing.T) {
	t0 := time.Unix(1000, 0)
	w := NewWatermarks(WatermarkOptions{Delay: 5 * time.Second})
	marks := map[string]int64{"a": t0.Add(100 * time.Second).UnixMicro(), "b": t0.Add(80 * time.Second).UnixMicro(), "gone": 0}
	w.Seed(marks, t0.Add(75*time.Second), true)
	w.AddShard("a", t0)
	w.AddShard("b", t0)
	if wm, ok := w.Current(t0); !ok || !wm.Equal(t0.Add(75*time.Second)) {
		t.Fatalf("after seeding: %v %v, want the committed 75 s", wm, ok)
	}
	// Only a has new events: b's committed 80 s bounds the watermark.
	w.Observe("a", t0.Add(200*time.Second), t0)
	if wm, ok := w.Current(t0); !ok || !wm.Equal(t0.Add(75*time.Second)) {
		t.Fatalf("a at 200 s, b seeded at 80 s: %v %v, want 75 s", wm, ok)
	}
	w.Observe("b", t0.Add(150*time.Second), t0)
	if wm, ok := w.Current(t0); !ok || !wm.Equal(t0.Add(145*time.Second)) {
		t.Fatalf("a at 200 s, b at 150 s: %v %v, want 145 s", wm, ok)
	}
	if m := w.Marks(); len(m) != 2 || m["b"] != t0.Add(150*time.Second).UnixMicro() {
		t.Errorf("marks %v: want a and b only, b at 150 s", m)
	}
	// Without seeds the same events leave no watermark while b is silent.
	fresh := NewWatermarks(WatermarkOptions{Delay: 5 * time.Second})
	fresh.AddShard("a", t0)
	fresh.AddShard("b", t0)
	fresh.Observe("a", t0.Add(200*time.Second), t0)
	if _, ok := fresh.Current(t0); ok {
		t.Error("an unseeded silent shard should hold the watermark back")
	}
}
