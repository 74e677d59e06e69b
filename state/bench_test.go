package state

import (
	"context"
	"encoding/binary"
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// Benchmarks of a Table's write and read paths and of CommitEpoch, on a
// Badger database in a temporary directory (as a view's state is). Keys
// are 8 bytes after the table prefix, values 24 bytes: a tumbling
// COUNT/SUM group's window index key and summary are about that size.
//
//	go test -run '^$' -bench 'Table|CommitEpoch' -benchmem ./state/

const benchValLen = 24

func openBench(b *testing.B) *DB {
	b.Helper()
	db, err := Open(context.Background(), Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

func benchKey(dst []byte, i int) []byte {
	return binary.BigEndian.AppendUint64(dst[:0], uint64(i)*0x9E3779B97F4A7C15)
}

// fillCommitted writes n keys and commits them as epoch 1.
func fillCommitted(b *testing.B, db *DB, tb *Table, n int) {
	b.Helper()
	val := make([]byte, benchValLen)
	var k []byte
	for i := range n {
		k = benchKey(k, i)
		if err := tb.Put(k, val); err != nil {
			b.Fatal(err)
		}
	}
	if err := db.CommitEpoch(1, nil, tb); err != nil {
		b.Fatal(err)
	}
}

var benchSizes = []int{1000, 100_000}

// BenchmarkTable_Put is one Put into the dirty buffer (no commit): the
// cost an operator pays per changed key between barriers.
func BenchmarkTable_Put(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			db := openBench(b)
			tb := db.Table(1, 1)
			val := make([]byte, benchValLen)
			var k []byte
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				k = benchKey(k, i%n)
				if err := tb.Put(k, val); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkTable_Get reads committed keys: from the dirty buffer's miss
// through the read cache to Badger. cache=off makes every read a Badger
// read.
func BenchmarkTable_Get(b *testing.B) {
	for _, n := range benchSizes {
		for _, cache := range []int{0, -1} {
			name := fmt.Sprintf("keys=%d/cache=%s", n, map[int]string{0: "default", -1: "off"}[cache])
			b.Run(name, func(b *testing.B) {
				db := openBench(b)
				tb := db.TableWithOptions(1, 1, TableOptions{CacheBytes: cache})
				fillCommitted(b, db, tb, n)
				var k []byte
				b.ReportAllocs()
				b.ResetTimer()
				for i := range b.N {
					k = benchKey(k, i%n)
					if _, ok, err := tb.Get(k); err != nil || !ok {
						b.Fatal(ok, err)
					}
				}
			})
		}
	}
}

// BenchmarkTable_GetMissing reads keys that were never written: what an
// aggregate pays for a new group it cannot prove new.
func BenchmarkTable_GetMissing(b *testing.B) {
	db := openBench(b)
	tb := db.TableWithOptions(1, 1, TableOptions{CacheBytes: -1})
	fillCommitted(b, db, tb, 1000)
	var k []byte
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		k = benchKey(k, 1_000_000+i)
		if _, ok, err := tb.Get(k); err != nil || ok {
			b.Fatal(ok, err)
		}
	}
}

// BenchmarkTable_Delete is one Delete of a committed key into the dirty
// buffer.
func BenchmarkTable_Delete(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			db := openBench(b)
			tb := db.Table(1, 1)
			fillCommitted(b, db, tb, n)
			var k []byte
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				k = benchKey(k, i%n)
				if err := tb.Delete(k); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkTable_Scan is one Scan of 100 committed keys of a table of
// 100,000 (a window closing scans its index range); ns/op is per Scan.
func BenchmarkTable_Scan(b *testing.B) {
	db := openBench(b)
	tb := db.Table(1, 1)
	const n = 100_000
	val := make([]byte, benchValLen)
	for i := range n {
		if err := tb.Put(binary.BigEndian.AppendUint64(nil, uint64(i)), val); err != nil {
			b.Fatal(err)
		}
	}
	if err := db.CommitEpoch(1, nil, tb); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		lo := uint64(i*100) % n
		start := binary.BigEndian.AppendUint64(nil, lo)
		end := binary.BigEndian.AppendUint64(nil, lo+100)
		seen := 0
		if err := tb.Scan(start, end, func(_, _ []byte) error { seen++; return nil }); err != nil {
			b.Fatal(err)
		}
		if seen != 100 && lo+100 <= n {
			b.Fatal(seen)
		}
	}
}

// BenchmarkCommitEpoch commits an epoch of N changed keys: puts of keys
// overwritten every epoch (an aggregate storing its changed groups), and
// puts then deletes of new keys in one epoch (groups whose window opened
// and closed between two barriers). One op is one epoch; ns/key and
// allocs/key are per key committed (the Puts are not timed).
func BenchmarkCommitEpoch(b *testing.B) {
	for _, n := range []int{1000, 100_000} {
		for _, kind := range []string{"put", "put+delete", "deferred/put", "deferred/put+delete"} {
			b.Run(fmt.Sprintf("keys=%d/%s", n, kind), func(b *testing.B) {
				db := openBench(b)
				deferred := strings.HasPrefix(kind, "deferred/")
				kind := strings.TrimPrefix(kind, "deferred/")
				tb := db.TableWithOptions(1, 1, TableOptions{Deferred: deferred})
				val := make([]byte, benchValLen)
				var k []byte
				var ms runtime.MemStats
				var mallocs uint64
				b.ReportAllocs()
				b.ResetTimer()
				for epoch := uint64(1); epoch <= uint64(b.N); epoch++ {
					base := 0
					if kind == "put+delete" {
						base = int(epoch) * n
					}
					b.StopTimer()
					for i := range n {
						k = benchKey(k, base+i)
						put := tb.Put
						if kind == "put+delete" {
							put = tb.PutNew // a new group, as an aggregate writes it
						}
						if err := put(k, val); err != nil {
							b.Fatal(err)
						}
						if kind == "put+delete" {
							if err := tb.Delete(k); err != nil {
								b.Fatal(err)
							}
						}
					}
					runtime.ReadMemStats(&ms)
					before := ms.Mallocs
					b.StartTimer()
					if err := db.CommitEpoch(epoch, nil, tb); err != nil {
						b.Fatal(err)
					}
					b.StopTimer()
					runtime.ReadMemStats(&ms)
					mallocs += ms.Mallocs - before
					b.StartTimer()
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/key")
				b.ReportMetric(float64(mallocs)/float64(b.N*n), "allocs/key")
			})
		}
	}
}
