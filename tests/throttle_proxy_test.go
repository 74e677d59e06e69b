package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// throttleProxy sits on loopback between the server and kinesalite and
// injects faults into the calls the server makes, per kind of call
// (GetRecords, PutRecords, every other call): it answers a fraction of
// them ProvisionedThroughputExceededException or a 500, or drops the
// connection with a reset, and fails a fraction of the entries of the
// PutRecords calls it forwards (those are not forwarded, and the answer
// carries the error for them, as Kinesis does for a hot shard). It counts
// every fault, so a test can tell that each one happened. It can also play
// the endpoint gone altogether (setDown).
//
// Only the server's side of a call ever fails: the proxy reads a request
// whole before forwarding it and never abandons a call it has forwarded
// (a dropped connection is dropped before forwarding, or after kinesalite
// has answered), because kinesalite dies when a client hangs up in the
// middle of a call, and that would test the emulator, not the server.
//
// It records the "_id" of every entry kinesalite accepted, so that a test
// can tell how far a sink had got when it was killed.
type throttleProxy struct {
	srv      *httptest.Server
	target   string
	upstream *http.Client

	mu          sync.Mutex
	rng         *rand.Rand
	rates       map[string]faultRates   // by callKind
	counts      map[string]*faultCounts // by callKind
	entryRate   float64                 // of the entries of PutRecords calls forwarded
	failed      int                     // entries failed
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
		resetConn(w) // as from a host that refuses
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

// The kinds of call the proxy tells apart.
const (
	callGetRecords = "GetRecords"
	callPutRecords = "PutRecords"
	callOther      = "other" // ListShards, GetShardIterator, DescribeStreamSummary, ...
)

func callKind(r *http.Request) string {
	switch op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "Kinesis_20131202."); op {
	case callGetRecords, callPutRecords:
		return op
	default:
		return callOther
	}
}

// faultRates are the fractions of one kind of call that fail, each way.
type faultRates struct {
	throttle float64 // ProvisionedThroughputExceededException, not forwarded
	fail500  float64 // 500 InternalFailure, not forwarded
	drop     float64 // connection reset, half before forwarding, half after kinesalite answered
}

// faultCounts are the faults injected into one kind of call.
type faultCounts struct {
	Calls, Throttled, Failed500, DroppedBefore, DroppedAfter int
}

// throttleEvent is the proxy's tally when it has just throttled a call.
type throttleEvent struct {
	throttled, failed, distinct int
}

func newThrottleProxy(t *testing.T, target string) *throttleProxy {
	t.Helper()
	p := &throttleProxy{target: target, rng: rand.New(rand.NewPCG(6, 3)), written: map[string]bool{}, quit: make(chan struct{}),
		rates: map[string]faultRates{}, counts: map[string]*faultCounts{},
		upstream: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
	for _, k := range []string{callGetRecords, callPutRecords, callOther} {
		p.counts[k] = &faultCounts{}
	}
	p.srv = httptest.NewServer(p) // on 127.0.0.1
	t.Cleanup(func() {
		close(p.quit)
		p.srv.Close()
	})
	return p
}

func (p *throttleProxy) URL() string { return p.srv.URL }

// throttle sets the fractions of PutRecords calls and of the entries of
// the others that fail; 0, 0 stops.
func (p *throttleProxy) throttle(calls, entries float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := p.rates[callPutRecords]
	r.throttle = calls
	p.rates[callPutRecords], p.entryRate = r, entries
}

// failEntries sets the fraction of the entries of PutRecords calls that
// fail.
func (p *throttleProxy) failEntries(rate float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.entryRate = rate
}

// setFaults sets the faults of one kind of call.
func (p *throttleProxy) setFaults(kind string, r faultRates) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rates[kind] = r
}

// stopFaults lets every call through from now on.
func (p *throttleProxy) stopFaults() {
	p.mu.Lock()
	defer p.mu.Unlock()
	clear(p.rates)
	p.entryRate = 0
}

// faults returns the faults injected so far into one kind of call.
func (p *throttleProxy) faults(kind string) faultCounts {
	p.mu.Lock()
	defer p.mu.Unlock()
	return *p.counts[kind]
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
	return p.tallyLocked()
}

func (p *throttleProxy) tallyLocked() throttleEvent {
	return throttleEvent{throttled: p.counts[callPutRecords].Throttled, failed: p.failed, distinct: len(p.written)}
}

// notifyLocked offers the tally to a listener; p.mu is held.
func (p *throttleProxy) notifyLocked() {
	if p.onThrottled == nil {
		return
	}
	select {
	case p.onThrottled <- p.tallyLocked():
	default:
	}
}

// The ways a call can go.
const (
	passCall = iota
	throttleCall
	fail500Call
	dropBeforeCall
	dropAfterCall
)

// roll picks how a call of kind goes and counts it; p.mu is held.
func (p *throttleProxy) rollLocked(kind string) int {
	c, r := p.counts[kind], p.rates[kind]
	c.Calls++
	x := p.rng.Float64()
	switch {
	case x < r.throttle:
		c.Throttled++
		return throttleCall
	case x < r.throttle+r.fail500:
		c.Failed500++
		return fail500Call
	case x < r.throttle+r.fail500+r.drop/2:
		c.DroppedBefore++
		return dropBeforeCall
	case x < r.throttle+r.fail500+r.drop:
		c.DroppedAfter++
		return dropAfterCall
	}
	return passCall
}

func (p *throttleProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p.serveDown(w, r) {
		return
	}
	kind := callKind(r)
	p.mu.Lock()
	how := p.rollLocked(kind)
	if how == throttleCall && kind == callPutRecords {
		p.notifyLocked()
	}
	p.mu.Unlock()
	switch how {
	case throttleCall:
		writeAWSError(w, http.StatusBadRequest, "ProvisionedThroughputExceededException", "Rate exceeded for shard (injected)")
		return
	case fail500Call:
		writeAWSError(w, http.StatusInternalServerError, "InternalFailure", "injected")
		return
	case dropBeforeCall:
		resetConn(w)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return // the server hung up
	}
	var a answer
	if kind == callPutRecords {
		a = p.putRecords(r, body)
	} else {
		a = p.forward(r, body)
	}
	if how == dropAfterCall {
		resetConn(w)
		return
	}
	a.write(w)
}

// answer is a response to send back to the server.
type answer struct {
	status int
	header http.Header // nil: only the Content-Type below
	ctype  string
	body   []byte
}

func (a answer) write(w http.ResponseWriter) {
	for k, vs := range a.header {
		switch k {
		case "Content-Length", "Transfer-Encoding", "Connection", "Keep-Alive":
			continue // about kinesalite's connection, not the answer
		}
		w.Header()[k] = vs
	}
	if a.ctype != "" {
		w.Header().Set("Content-Type", a.ctype)
	}
	w.WriteHeader(a.status)
	_, _ = w.Write(a.body)
}

func gatewayError(err error) answer {
	return answer{status: http.StatusBadGateway, ctype: "text/plain; charset=utf-8", body: []byte(err.Error())}
}

func writeAWSError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Errortype", code)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": msg})
}

// resetConn drops the server's connection with a reset, as a network
// fault does, instead of a clean close.
func resetConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "connection reset (injected)", http.StatusBadGateway)
		return
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		http.Error(w, "connection reset (injected)", http.StatusBadGateway)
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// forward sends a call to kinesalite and reads its whole answer. The call
// is not cancelled when the server gives up on it (see throttleProxy).
func (p *throttleProxy) forward(r *http.Request, body []byte) answer {
	out, err := http.NewRequestWithContext(context.WithoutCancel(r.Context()), r.Method, p.target+r.URL.RequestURI(),
		bytes.NewReader(body))
	if err != nil {
		return gatewayError(err)
	}
	out.Header = r.Header.Clone()
	resp, err := p.upstream.Do(out)
	if err != nil {
		return gatewayError(err)
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(resp.Body)
	if err != nil {
		return gatewayError(err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: rb}
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
func (p *throttleProxy) putRecords(r *http.Request, body []byte) answer {
	var req map[string]json.RawMessage
	var entries []putEntry
	if err := json.Unmarshal(body, &req); err != nil {
		return answer{status: http.StatusBadRequest, body: []byte(err.Error())}
	}
	if err := json.Unmarshal(req["Records"], &entries); err != nil {
		return answer{status: http.StatusBadRequest, body: []byte(err.Error())}
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
		a := p.forward(r, fwd)
		if a.status != http.StatusOK {
			return a
		}
		if err := json.Unmarshal(a.body, &got); err != nil || len(got.Records) != len(keep) {
			return answer{status: http.StatusBadGateway, body: []byte("bad upstream answer")}
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
	out, _ := json.Marshal(map[string]any{"FailedRecordCount": failed, "Records": all})
	return answer{status: http.StatusOK, ctype: "application/x-amz-json-1.1", body: out}
}
