package tests

import (
	"bytes"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// throttleProxy sits on loopback between the server and kinesalite. While
// throttling, it answers ProvisionedThroughputExceededException to a
// fraction of PutRecords calls (before they reach kinesalite, so a
// throttled call has no effect) and fails a fraction of the entries of the
// others (those are not forwarded, and the answer carries the error for
// them, as Kinesis does for a hot shard). Every other call passes. It
// records the "_id" of every entry kinesalite accepted, so that a test can
// tell how far a sink had got when it was killed.
type throttleProxy struct {
	srv    *httptest.Server
	target string
	rp     *httputil.ReverseProxy

	mu          sync.Mutex
	rng         *rand.Rand
	callRate    float64 // of PutRecords calls answered with the exception
	entryRate   float64 // of the entries of the other calls
	throttled   int     // calls answered with the exception
	failed      int     // entries failed
	written     map[string]bool
	onThrottled chan throttleEvent // nil: nobody listens
	down        downMode
	quit        chan struct{} // closed when the test ends: black holes give up
}

// downMode is how the proxy plays an endpoint that has gone away.
type downMode int

const (
	up        downMode = iota
	refuse             // every call's connection is reset
	blackHole          // every call hangs until the client gives up
)

// setDown takes the endpoint away (refuse, blackHole) or brings it back
// (up); calls already black-holed stay so until their client gives up.
func (p *throttleProxy) setDown(m downMode) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = m
}

// serveDown plays the endpoint gone, reporting whether it did.
func (p *throttleProxy) serveDown(w http.ResponseWriter, r *http.Request) bool {
	p.mu.Lock()
	m := p.down
	p.mu.Unlock()
	switch m {
	case refuse:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				if tc, ok := conn.(*net.TCPConn); ok {
					_ = tc.SetLinger(0) // a reset, as from a host that refuses
				}
				_ = conn.Close()
				return true
			}
		}
		http.Error(w, "endpoint down (injected)", http.StatusBadGateway)
		return true
	case blackHole:
		// Read the body first: the server notices a client that hangs up
		// (its context ends) only once the body is read.
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-p.quit:
		}
		return true
	}
	return false
}

// throttleEvent is the proxy's tally when it has just throttled a call.
type throttleEvent struct {
	throttled, failed, distinct int
}

func newThrottleProxy(t *testing.T, target string) *throttleProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &throttleProxy{target: target, rp: httputil.NewSingleHostReverseProxy(u),
		rng: rand.New(rand.NewPCG(6, 3)), written: map[string]bool{}, quit: make(chan struct{})}
	p.srv = httptest.NewServer(p) // on 127.0.0.1
	t.Cleanup(func() {
		close(p.quit)
		p.srv.Close()
	})
	return p
}

func (p *throttleProxy) URL() string { return p.srv.URL }

// throttle sets the fractions of calls and entries that fail; 0, 0 stops.
func (p *throttleProxy) throttle(calls, entries float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.callRate, p.entryRate = calls, entries
}

// events returns a channel that gets the tally after each throttled call
// or partly failed call, dropping events nobody takes in time.
func (p *throttleProxy) events() <-chan throttleEvent {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.onThrottled = make(chan throttleEvent, 1)
	return p.onThrottled
}

// distinct returns how many distinct _ids kinesalite has accepted.
func (p *throttleProxy) distinct() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.written)
}

func (p *throttleProxy) tally() throttleEvent {
	p.mu.Lock()
	defer p.mu.Unlock()
	return throttleEvent{throttled: p.throttled, failed: p.failed, distinct: len(p.written)}
}

// notifyLocked offers the tally to a listener; p.mu is held.
func (p *throttleProxy) notifyLocked() {
	if p.onThrottled == nil {
		return
	}
	select {
	case p.onThrottled <- throttleEvent{throttled: p.throttled, failed: p.failed, distinct: len(p.written)}:
	default:
	}
}

func (p *throttleProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p.serveDown(w, r) {
		return
	}
	if strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "Kinesis_20131202.") != "PutRecords" {
		p.rp.ServeHTTP(w, r)
		return
	}
	p.mu.Lock()
	if p.callRate > 0 && p.rng.Float64() < p.callRate {
		p.throttled++
		p.notifyLocked()
		p.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Header().Set("X-Amzn-Errortype", "ProvisionedThroughputExceededException")
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{
			"__type": "ProvisionedThroughputExceededException", "message": "Rate exceeded for shard (injected)"})
		return
	}
	p.mu.Unlock()
	p.putRecords(w, r)
}

type putEntry struct {
	Data         []byte
	PartitionKey string
	ExplicitHash string `json:"ExplicitHashKey,omitempty"`
}

type putResult struct {
	SequenceNumber string `json:",omitempty"`
	ShardId        string `json:",omitempty"`
	ErrorCode      string `json:",omitempty"`
	ErrorMessage   string `json:",omitempty"`
}

// putRecords forwards the entries that do not fail and answers for all.
func (p *throttleProxy) putRecords(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var req map[string]json.RawMessage
	var entries []putEntry
	if err := json.Unmarshal(body, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if err := json.Unmarshal(req["Records"], &entries); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var keep []putEntry
	failedAt := map[int]bool{}
	p.mu.Lock()
	for i := range entries {
		if p.entryRate > 0 && p.rng.Float64() < p.entryRate {
			failedAt[i] = true
			continue
		}
		keep = append(keep, entries[i])
	}
	p.mu.Unlock()
	var got struct{ Records []putResult }
	if len(keep) > 0 {
		req["Records"], _ = json.Marshal(keep)
		fwd, _ := json.Marshal(req)
		out, err := http.NewRequestWithContext(r.Context(), http.MethodPost, p.target, bytes.NewReader(fwd))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		out.Header = r.Header.Clone()
		out.ContentLength = int64(len(fwd))
		resp, err := http.DefaultClient.Do(out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		rb, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
			w.WriteHeader(resp.StatusCode)
			_, _ = w.Write(rb)
			return
		}
		if err := json.Unmarshal(rb, &got); err != nil || len(got.Records) != len(keep) {
			http.Error(w, "bad upstream answer", http.StatusBadGateway)
			return
		}
	}
	all := make([]putResult, 0, len(entries))
	failed, j := 0, 0
	p.mu.Lock()
	for i := range entries {
		if failedAt[i] {
			failed++
			all = append(all, putResult{ErrorCode: "ProvisionedThroughputExceededException",
				ErrorMessage: "Rate exceeded for shard (injected)"})
			continue
		}
		res := got.Records[j]
		if res.ErrorCode != "" {
			failed++
		} else {
			var rec struct {
				ID string `json:"_id"`
			}
			if json.Unmarshal(keep[j].Data, &rec) == nil && rec.ID != "" {
				p.written[rec.ID] = true
			}
		}
		all = append(all, res)
		j++
	}
	p.failed += len(failedAt)
	if len(failedAt) > 0 {
		p.notifyLocked()
	}
	p.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(map[string]any{"FailedRecordCount": failed, "Records": all})
}
