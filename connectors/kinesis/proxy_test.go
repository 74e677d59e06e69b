package kinesis

import (
	"bytes"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// faultProxy sits on loopback in front of kinesalite. For a fraction of the
// calls it names it answers ProvisionedThroughputExceededException, a 500,
// or drops the connection, before the call reaches the emulator, so a
// fault never has a side effect. For PutRecords it can also fail a
// fraction of the entries: those are not forwarded, and the answer carries
// an error for them, which is a real partial failure.
type faultProxy struct {
	t       testing.TB
	srv     *httptest.Server
	target  string
	rp      *httputil.ReverseProxy
	ops     map[string]bool
	rate    float64 // of calls to ops
	partial float64 // of PutRecords entries

	mu  sync.Mutex
	rng *rand.Rand

	throttled, failed, dropped, partialEntries atomic.Int64
}

func newFaultProxy(t testing.TB, target string, rate, partial float64, ops ...string) *faultProxy {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{t: t, target: target, rp: httputil.NewSingleHostReverseProxy(u), ops: map[string]bool{},
		rate: rate, partial: partial, rng: rand.New(rand.NewPCG(1, 2))}
	for _, op := range ops {
		p.ops[op] = true
	}
	p.srv = httptest.NewServer(p) // httptest listens on 127.0.0.1
	t.Cleanup(p.srv.Close)
	return p
}

func (p *faultProxy) URL() string { return p.srv.URL }

func (p *faultProxy) roll() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rng.Float64()
}

func (p *faultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "Kinesis_20131202.")
	if p.ops[op] {
		if x := p.roll(); x < p.rate {
			switch int(x / p.rate * 3) {
			case 0:
				p.throttled.Add(1)
				writeAWSError(w, http.StatusBadRequest, "ProvisionedThroughputExceededException", "Rate exceeded for shard")
			case 1:
				p.failed.Add(1)
				writeAWSError(w, http.StatusInternalServerError, "InternalFailure", "injected")
			default:
				p.dropped.Add(1)
				conn, _, err := w.(http.Hijacker).Hijack()
				if err == nil {
					_ = conn.Close()
				}
			}
			return
		}
	}
	if op == "PutRecords" && p.partial > 0 {
		p.partialPut(w, r)
		return
	}
	p.rp.ServeHTTP(w, r)
}

func writeAWSError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Errortype", code)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": msg})
}

func (p *faultProxy) partialPut(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var req map[string]json.RawMessage
	var records []json.RawMessage
	if err := json.Unmarshal(body, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	_ = json.Unmarshal(req["Records"], &records)
	var keep []json.RawMessage
	failedAt := map[int]bool{}
	for i, rec := range records {
		if p.roll() < p.partial {
			failedAt[i] = true
			continue
		}
		keep = append(keep, rec)
	}
	type result struct {
		SequenceNumber string `json:",omitempty"`
		ShardId        string `json:",omitempty"`
		ErrorCode      string `json:",omitempty"`
		ErrorMessage   string `json:",omitempty"`
	}
	var got struct{ Records []result }
	if len(keep) > 0 {
		req["Records"], _ = json.Marshal(keep)
		fwd, _ := json.Marshal(req)
		out, err := http.NewRequest(http.MethodPost, p.target, bytes.NewReader(fwd))
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
	all := make([]result, 0, len(records))
	j := 0
	for i := range records {
		if failedAt[i] {
			p.partialEntries.Add(1)
			all = append(all, result{ErrorCode: "ProvisionedThroughputExceededException", ErrorMessage: "injected"})
			continue
		}
		all = append(all, got.Records[j])
		j++
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(map[string]any{"FailedRecordCount": len(failedAt), "Records": all})
}
