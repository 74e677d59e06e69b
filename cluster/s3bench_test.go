package cluster

import (
	"context"
	"fmt"
	"math/rand"
	"testing"
)

// benchParts is one node's epoch: 8 partitions of 1,000 writes each, keys
// of 24 bytes, values of 100, one write in ten a tombstone.
func benchParts() (map[string][]Write, int) {
	rng := rand.New(rand.NewSource(1))
	parts := map[string][]Write{}
	raw := 0
	for p := 0; p < 8; p++ {
		ws := make([]Write, 1000)
		for i := range ws {
			ws[i].Key = []byte(fmt.Sprintf("t\x00\x01%03dkey-%012d", p, rng.Int63()))
			if i%10 == 9 {
				ws[i].Delete = true
			} else {
				ws[i].Value = make([]byte, 100)
				rng.Read(ws[i].Value)
			}
			raw += len(ws[i].Key) + len(ws[i].Value)
		}
		parts[fmt.Sprintf("view/v#%d/8", p)] = ws
	}
	return parts, raw
}

// BenchmarkStatePutRestore is one epoch's PutEpoch and the Restore of each
// of its partitions, over the in-memory blob store: the cost of the format
// and of the store's own work, not of S3. MB/s counts keys and values.
func BenchmarkStatePutRestore(b *testing.B) {
	parts, raw := benchParts()
	ctx := context.Background()
	s := &Store{b: newMemBlobs()}
	loc := Extend(Location{}, "n", "i", 1)
	b.SetBytes(int64(raw))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.PutEpoch(ctx, "n", "i", 1, parts); err != nil {
			b.Fatal(err)
		}
		for p := range parts {
			if err := s.Restore(ctx, loc, p, 1, func(Write) error { return nil }); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkStateEncode and BenchmarkStateDecode split the format's part.
func BenchmarkStateEncode(b *testing.B) {
	parts, raw := benchParts()
	b.SetBytes(int64(raw))
	b.ReportAllocs()
	for b.Loop() {
		_ = encodeObject(kindEpoch, 1, parts)
	}
}

func BenchmarkStateDecode(b *testing.B) {
	parts, raw := benchParts()
	obj := encodeObject(kindEpoch, 1, parts)
	b.SetBytes(int64(raw))
	b.ReportAllocs()
	for b.Loop() {
		x, err := decodeIndex(obj)
		if err != nil {
			b.Fatal(err)
		}
		for _, e := range x.entries {
			start := x.dataStart + e.offset
			if err := decodeSection(obj[start:start+e.length], e, func(Write) error { return nil }); err != nil {
				b.Fatal(err)
			}
		}
	}
}
