package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeSource returns overviews whose records grow by 10 per call.
type fakeSource struct {
	mu    sync.Mutex
	calls int64
	err   error
}

func (f *fakeSource) Overview(context.Context) (Overview, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return Overview{}, f.err
	}
	f.calls++
	return Overview{Sources: []SourceStatus{{Name: "clicks", Shards: []Shard{{Consumer: "v", ShardID: "shardId-0", State: "reading", Records: 10 * f.calls}}}}}, nil
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func TestHandler_ServesPageAndOverview(t *testing.T) {
	srv := httptest.NewServer(Handler(&fakeSource{}))
	defer srv.Close()
	for _, tc := range []struct{ path, want string }{
		{"/", `<script src="app.js">`},
		{"/app.js", "api/overview"},
		{"/style.css", ".graph"},
	} {
		code, body := get(t, srv.URL+tc.path)
		if code != http.StatusOK || !strings.Contains(body, tc.want) {
			t.Errorf("GET %s: %d, want 200 with %q; body starts %.80q", tc.path, code, tc.want, body)
		}
	}
	code, body := get(t, srv.URL+"/api/overview")
	if code != http.StatusOK {
		t.Fatalf("GET /api/overview: %d %s", code, body)
	}
	var r Response
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Current.Sources) != 1 || r.Current.Sources[0].Shards[0].Records != 10 {
		t.Errorf("current = %+v, want clicks with 10 records", r.Current)
	}
	if len(r.History) != 1 || r.History[0].Shards["clicks/v/shardId-0"].Records != 10 {
		t.Errorf("history = %+v, want one sample of 10 records", r.History)
	}
}

func TestHandler_SourceErrorIs503(t *testing.T) {
	srv := httptest.NewServer(Handler(&fakeSource{err: errors.New("engine closed")}))
	defer srv.Close()
	code, body := get(t, srv.URL+"/api/overview")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "engine closed") {
		t.Errorf("GET /api/overview = %d %q, want 503 naming the error", code, body)
	}
}

// The history keeps samples at least an interval apart, at most Keep of
// them, oldest first.
func TestRing(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(sec int) Sample { return Sample{At: t0.Add(time.Duration(sec) * time.Second)} }
	tests := []struct {
		name string
		secs []int
		want []int
	}{
		{"empty", nil, nil},
		{"too close is dropped", []int{0, 1, 2, 3}, []int{0, 2}},
		{"bounded, oldest dropped", []int{0, 2, 4, 6, 8}, []int{4, 6, 8}},
		{"wraps twice", []int{0, 2, 4, 6, 8, 10, 12}, []int{8, 10, 12}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var r ring
			for _, s := range tc.secs {
				r.add(at(s), 2*time.Second, 3)
			}
			got := r.list()
			if len(got) != len(tc.want) {
				t.Fatalf("got %d samples, want %v", len(got), tc.want)
			}
			for i, s := range got {
				if want := t0.Add(time.Duration(tc.want[i]) * time.Second); !s.At.Equal(want) {
					t.Errorf("sample %d at %v, want +%ds", i, s.At, tc.want[i])
				}
			}
		})
	}
}
