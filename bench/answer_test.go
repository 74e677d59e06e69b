package bench

import (
	"context"
	"testing"
	"time"
)

// TestCeiling_HandComputed checks the loop on a stream small enough to add
// up by hand: 10 s windows, 2 s delay.
func TestCeiling_HandComputed(t *testing.T) {
	ev := func(user int, amount string, ts int64) []byte {
		return []byte(`{"user_id":` + itoa(int64(user)) + `,"amount":` + amount + `,"ts":` + itoa(ClickBase+ts) + `}`)
	}
	events := [][]byte{
		ev(1, "1.50", 0),     // [0,10): user 1
		ev(2, "2.25", 1000),  // [0,10): user 2
		ev(1, "0.10", 9999),  // [0,10): user 1
		ev(1, "3.00", 10500), // [10,20): user 1
		ev(2, "1.00", 8600),  // [0,10), 1.9 s behind: still on time
		ev(3, "4.00", 12100), // watermark 10.1 s: [0,10) closes
		ev(2, "9.99", 9000),  // late: [0,10) is closed
		ev(3, "0.01", 25000), // [20,30); watermark 23 s: [10,20) closes
	}
	rows := []Row{}
	c := NewCeiling(TumbleQuery, func(r Row) { rows = append(rows, r) })
	for _, e := range events {
		if err := c.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	got := c.Finish()
	// [0,10): user 1 n=2 160c, user 2 n=2 325c; [10,20): user 1 n=1 300c,
	// user 3 n=1 400c; [20,30): user 3 n=1 1c.
	want := Answer{Windows: 3, Rows: 5, Count: 7, SumCents: 160 + 325 + 300 + 400 + 1}
	if got != want {
		t.Fatalf("answer %v, want %v", got, want)
	}
	if c.Late() != 1 {
		t.Fatalf("%d late events, want 1", c.Late())
	}
	if len(rows) != 5 || rows[0].WindowEndMs != ClickBase+10000 || rows[4].WindowStartMs != ClickBase+20000 {
		t.Fatalf("rows %+v", rows)
	}
}

func TestGenerateClicks(t *testing.T) {
	a := GenerateClicks(ClickOptions{Events: 1000, Keys: 10, Seed: 1})
	b := GenerateClicks(ClickOptions{Events: 1000, Keys: 10, Seed: 1})
	for i := range a.Events {
		if string(a.Events[i]) != string(b.Events[i]) {
			t.Fatalf("event %d differs for one seed: %s vs %s", i, a.Events[i], b.Events[i])
		}
	}
	if c := GenerateClicks(ClickOptions{Events: 1000, Keys: 10, Seed: 2}); string(c.Events[5]) == string(a.Events[5]) && string(c.Events[6]) == string(a.Events[6]) {
		t.Fatal("seeds 1 and 2 give the same events")
	}
	// No event lags the newest before it by the watermark delay or more.
	c := NewCeiling(TumbleQuery, nil)
	for _, e := range GenerateClicks(ClickOptions{Events: 200_000, Keys: 1000, Rate: 2000}).Events {
		if err := c.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	if ans := c.Finish(); c.Late() != 0 || ans.Count != 200_000 {
		t.Fatalf("%d late, answer %v", c.Late(), ans)
	}
}

// TestRulego_MatchesCeiling is the peer's correctness check on 100,000
// events spread over ten windows.
func TestRulego_MatchesCeiling(t *testing.T) {
	clicks := GenerateClicks(ClickOptions{Events: 100_000, Keys: 1000, Seed: 3, Rate: 1000})
	want, err := RunCeiling(clicks.Events, TumbleQuery)
	if err != nil {
		t.Fatal(err)
	}
	if want.Count != 100_000 || want.Windows < 10 {
		t.Fatalf("ceiling answer %v", want)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	got, err := RunRulego(ctx, clicks.Events, TumbleQuery)
	if err != nil {
		t.Fatal(err)
	}
	if d := got.Diff(want); d != "" {
		t.Fatalf("rulego: %s", d)
	}
}

func itoa(n int64) string { return string(appendInt(nil, n)) }
