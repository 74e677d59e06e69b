package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// memBlobs is blobs in a map, for the tests that need no S3 server.
type memBlobs struct {
	mu   sync.Mutex
	objs map[string][]byte
	gets int
	// now, when set, dates each put (list's modified time); else every
	// object is from 1970.
	now      func() time.Time
	modified map[string]time.Time
}

func newMemBlobs() *memBlobs {
	return &memBlobs{objs: map[string][]byte{}, modified: map[string]time.Time{}}
}

func (m *memBlobs) name(key string) string { return "mem://" + key }

func (m *memBlobs) put(_ context.Context, key string, body []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.objs[key] = append([]byte(nil), body...)
	if m.now != nil {
		m.modified[key] = m.now()
	}
	return nil
}

func (m *memBlobs) get(_ context.Context, key string, off, n int64) ([]byte, int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gets++
	b, ok := m.objs[key]
	if !ok {
		return nil, 0, errNotFound
	}
	if off >= int64(len(b)) {
		return nil, 0, fmt.Errorf("%w: object ends before byte %d", errCorrupt, off)
	}
	end := int64(len(b))
	if n >= 0 && off+n < end {
		end = off + n
	}
	return append([]byte(nil), b[off:end]...), int64(len(b)), nil
}

func (m *memBlobs) del(_ context.Context, keys []string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range keys {
		delete(m.objs, k)
		delete(m.modified, k)
	}
	return nil
}

func (m *memBlobs) list(_ context.Context, prefix string, fn func(string, time.Time) error) error {
	m.mu.Lock()
	var keys []string
	modified := map[string]time.Time{}
	for k := range m.objs {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
			modified[k] = m.modified[k] // zero: 1970 below
		}
	}
	m.mu.Unlock()
	sort.Strings(keys)
	for _, k := range keys {
		at := modified[k]
		if at.IsZero() {
			at = time.Unix(0, 0)
		}
		if err := fn(k, at); err != nil {
			return err
		}
	}
	return nil
}

// randomWrites makes n writes over a key space small enough that keys
// repeat and tombstones hit existing keys; values include the empty one.
func randomWrites(rng *rand.Rand, n int) []Write {
	ws := make([]Write, n)
	for i := range ws {
		ws[i].Key = []byte(fmt.Sprintf("k%03d", rng.Intn(50)))
		if rng.Intn(4) == 0 {
			ws[i].Delete = true
			continue
		}
		v := make([]byte, rng.Intn(40))
		rng.Read(v)
		ws[i].Value = v
	}
	return ws
}

// collect decodes a section into copies of its writes.
func collect(t *testing.T, obj []byte, partition string) ([]Write, error) {
	t.Helper()
	x, err := decodeIndex(obj)
	if err != nil {
		return nil, err
	}
	e, ok := x.find(partition)
	if !ok {
		return nil, fmt.Errorf("no partition %q", partition)
	}
	start := x.dataStart + e.offset
	if start+e.length > uint64(len(obj)) {
		return nil, fmt.Errorf("%w: truncated", errCorrupt)
	}
	var got []Write
	err = decodeSection(obj[start:start+e.length], e, func(w Write) error {
		got = append(got, Write{Key: append([]byte(nil), w.Key...), Value: append([]byte(nil), w.Value...), Delete: w.Delete})
		return nil
	})
	return got, err
}

func sameWrites(a, b []Write) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i].Key, b[i].Key) || !bytes.Equal(a[i].Value, b[i].Value) || a[i].Delete != b[i].Delete {
			return false
		}
	}
	return true
}

func TestStateFormat_RoundTrip(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	parts := map[string][]Write{
		"view/a#0/8": randomWrites(rng, 100),
		"view/a#1/8": nil, // committed the epoch with nothing changed
		"sink/s#3/8": randomWrites(rng, 3),
		"view/b#0/1": {{Key: []byte{}, Value: []byte{}}, {Key: []byte{0, 0xff}, Delete: true}},
	}
	obj := encodeObject(kindEpoch, 42, parts)
	x, err := decodeIndex(obj)
	if err != nil {
		t.Fatal(err)
	}
	if x.kind != kindEpoch || x.epoch != 42 || len(x.entries) != len(parts) {
		t.Fatalf("index: kind %q epoch %d entries %d", x.kind, x.epoch, len(x.entries))
	}
	for p, want := range parts {
		got, err := collect(t, obj, p)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if !sameWrites(got, want) {
			t.Errorf("%s: got %d writes, want %d (or contents differ)", p, len(got), len(want))
		}
	}
	if _, ok := x.find("view/a#2/8"); ok {
		t.Error("found a partition that is not in the object")
	}
}

// Every single-byte corruption and every truncation of an object is an
// error, and no write of a corrupt section reaches apply.
func TestStateFormat_CorruptionAndTruncation(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	parts := map[string][]Write{"p/1": randomWrites(rng, 20), "p/2": randomWrites(rng, 20)}
	obj := encodeObject(kindEpoch, 7, parts)
	check := func(what string, b []byte) {
		t.Helper()
		for p, want := range parts {
			applied := 0
			x, err := decodeIndex(b)
			if err == nil {
				e, ok := x.find(p)
				if !ok {
					err = errors.New("partition lost from the index")
				} else {
					start := x.dataStart + e.offset
					end := min(start+e.length, uint64(len(b)))
					if start > end {
						start = end
					}
					err = decodeSection(b[start:end], e, func(Write) error { applied++; return nil })
				}
			}
			if err == nil {
				// A flip in the other partition's section leaves this one intact.
				got, _ := collect(t, b, p)
				if sameWrites(got, want) {
					continue
				}
				t.Fatalf("%s: %s decoded different writes without an error", what, p)
			}
			if applied != 0 {
				t.Fatalf("%s: %s: %d writes applied before the error %v", what, p, applied, err)
			}
		}
	}
	for i := range obj {
		b := append([]byte(nil), obj...)
		b[i] ^= 0x41
		check(fmt.Sprintf("byte %d flipped", i), b)
	}
	for n := 0; n < len(obj); n++ {
		b := obj[:n]
		bad := 0
		for p := range parts {
			if _, err := collect(t, b, p); err != nil {
				bad++
			}
		}
		// Only the last section can be cut without the other noticing.
		if bad == 0 {
			t.Fatalf("truncated to %d of %d bytes: no error", n, len(obj))
		}
	}
}

func TestStateFormat_Version(t *testing.T) {
	obj := encodeObject(kindBase, 1, map[string][]Write{"p": nil})
	obj[4] = 2
	if _, err := decodeIndex(obj); err == nil || !strings.Contains(err.Error(), "version 2") {
		t.Fatalf("got %v, want an error naming version 2", err)
	}
}

func TestStateLocation_ExtendAndValidate(t *testing.T) {
	var loc Location
	loc = Extend(loc, "n1", "i1", 3)
	loc = Extend(loc, "n1", "i1", 4)
	before := loc
	loc = Extend(loc, "n1", "i1", 6) // epoch 5 not committed by this lease
	loc = Extend(loc, "n2", "i1", 7) // another owner
	loc = Extend(loc, "n2", "i1", 8)
	want := []Run{{"n1", "i1", 3, 4}, {"n1", "i1", 6, 6}, {"n2", "i1", 7, 8}}
	if fmt.Sprint(loc.Runs) != fmt.Sprint(want) {
		t.Fatalf("runs %v, want %v", loc.Runs, want)
	}
	if fmt.Sprint(before.Runs) != fmt.Sprint([]Run{{"n1", "i1", 3, 4}}) {
		t.Fatalf("Extend changed its argument: %v", before.Runs)
	}
	// Extending a copy must not write into the other's backing array.
	a := Extend(before, "n1", "i1", 5)
	b := Extend(before, "n3", "i9", 5)
	if a.Runs[0].Last != 5 || b.Runs[0].Last != 4 || len(b.Runs) != 2 {
		t.Fatalf("copies share runs: %v %v", a.Runs, b.Runs)
	}
	// The location travels in the lease's checkpoint as JSON.
	js, err := json.Marshal(Location{Base: "b/p/2-ab", BaseEpoch: 2, Runs: loc.Runs})
	if err != nil {
		t.Fatal(err)
	}
	var back Location
	if err := json.Unmarshal(js, &back); err != nil || fmt.Sprint(back) != fmt.Sprint(Location{Base: "b/p/2-ab", BaseEpoch: 2, Runs: loc.Runs}) {
		t.Fatalf("JSON round trip: %s gave %+v, %v", js, back, err)
	}
	for _, tc := range []struct {
		name string
		loc  Location
		last uint64
		err  string
	}{
		{"empty", Location{}, 0, ""},
		{"runs", loc, 8, ""},
		{"base only", Location{Base: "b/p/5-x", BaseEpoch: 5}, 5, ""},
		{"ends early", loc, 9, "end at 8 but the lease committed epoch 9"},
		{"base only, behind", Location{Base: "b/p/5-x", BaseEpoch: 5}, 6, "end at 5"},
		{"run before base", Location{Base: "b", BaseEpoch: 5, Runs: []Run{{"n", "i", 5, 6}}}, 6, "not after epoch 5"},
		{"overlap", Location{Runs: []Run{{"n", "i", 1, 3}, {"m", "i", 3, 4}}}, 4, "not after epoch 3"},
		{"backwards", Location{Runs: []Run{{"n", "i", 3, 1}}}, 1, "back to 1"},
		{"no node", Location{Runs: []Run{{"", "i", 1, 1}}}, 1, "no node"},
		{"epoch without base", Location{BaseEpoch: 3}, 3, "without a base"},
	} {
		err := tc.loc.Validate(tc.last)
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.err)
		}
	}
}

func TestStateURL(t *testing.T) {
	for _, tc := range []struct {
		url, bucket, prefix, err string
	}{
		{"s3://bucket/some/prefix", "bucket", "some/prefix/", ""},
		{"s3://bucket/some/prefix/", "bucket", "some/prefix/", ""},
		{"s3://my.bucket-1", "my.bucket-1", "", ""},
		{"s3://bucket/", "bucket", "", ""},
		{"http://bucket/p", "", "", "scheme must be s3"},
		{"bucket/p", "", "", "scheme must be s3"},
		{"s3:///p", "", "", "no bucket"},
		{"s3://Bucket/p", "", "", "lower-case"},
		{"s3://ab/p", "", "", "3 to 63"},
		{"s3://-ab/p", "", "", "begin and end"},
		{"s3://bucket:9000/p", "", "", "not a bucket name"},
		{"s3://bucket/a//b", "", "", "empty, . or .."},
		{"s3://bucket/a/../b", "", "", "empty, . or .."},
		{"s3://bucket/p?x=1", "", "", "no query"},
	} {
		b, p, err := ParseStateURL(tc.url)
		if tc.err == "" && (err != nil || b != tc.bucket || p != tc.prefix) {
			t.Errorf("%s: got %q %q %v, want %q %q", tc.url, b, p, err, tc.bucket, tc.prefix)
		}
		if tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), tc.url)) {
			t.Errorf("%s: got %v, want an error naming the URL and %q", tc.url, err, tc.err)
		}
	}
}
