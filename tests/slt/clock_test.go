package slt

import (
	"strings"
	"testing"
	"time"
)

func TestParse_Clock(t *testing.T) {
	recs, err := Parse("x.slt", strings.NewReader("clock set 2026-01-01T00:00:10.5Z\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Kind != KindClock || !recs[0].Clock.Equal(time.Date(2026, 1, 1, 0, 0, 10, 5e8, time.UTC)) {
		t.Fatalf("records %+v", recs)
	}
	for _, bad := range []string{"clock set\n", "clock at 2026-01-01T00:00:00Z\n", "clock set yesterday\n"} {
		if _, err := Parse("x.slt", strings.NewReader(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}
