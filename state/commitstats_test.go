package state

import "testing"

// TestCommitStats commits known writes through each path of CommitEpoch
// and checks the bytes CommitStats counts against sums worked out by hand
// from the key layouts:
//
//   - table key: 't' | object id (8) | operator id (4) | key = 13 + len(key)
//   - epoch marker 'm' "epoch" (6) = epoch (8): 14; redo flag 'm' "redo"
//     (5) = epoch (8): 13
//   - staged chunk 'w' | epoch | seq and log chunk 'l' | epoch | seq: 17-byte
//     keys; log mark 'l' | epoch | ^0: 17 bytes, no value
//   - a chunk entry: uvarint(len key) | key | 0 | uvarint(len value) | value,
//     or uvarint(len key) | key | 1 for a delete
//
// The writes of epoch 1: Put k1=value-1 (15+7 = 22), Put key-2=v2
// (18+2 = 20), Delete gone (17), and PutNew tmp then Delete tmp (nothing:
// the key never had a value). As chunk entries: 1+15+1+1+7 = 25,
// 1+18+1+1+2 = 23, 1+17+1 = 19: one 67-byte chunk.
func TestCommitStats(t *testing.T) {
	for _, tc := range []struct {
		name     string
		deferred bool
		large    bool
		want     int64
	}{
		// One transaction: the writes and the epoch marker.
		{"small", false, false, 22 + 20 + 17 + 14},
		// Staged chunk (17+67), marker and redo flag (14+13), then the
		// writes applied.
		{"large", false, true, 17 + 67 + 14 + 13 + 22 + 20 + 17},
		// Log chunk (17+67), log mark, epoch marker.
		{"deferred small", true, false, 17 + 67 + 17 + 14},
		// The same log chunk and mark written first, then a large commit
		// with nothing to stage: marker and redo flag.
		{"deferred large", true, true, 17 + 67 + 17 + 14 + 13},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.large {
				testRedoAbove = 1
				defer func() { testRedoAbove = 0 }()
			}
			db := openTest(t, "")
			defer db.Close()
			if s := db.CommitStats(); s != (CommitStats{}) {
				t.Fatalf("before any commit: %+v", s)
			}
			tb := db.TableWithOptions(1, 1, TableOptions{Deferred: tc.deferred})
			must(t, tb.Put([]byte("k1"), []byte("value-1")))
			must(t, tb.Put([]byte("key-2"), []byte("v2")))
			must(t, tb.Delete([]byte("gone")))
			must(t, tb.PutNew([]byte("tmp"), []byte("x")))
			must(t, tb.Delete([]byte("tmp")))
			must(t, db.CommitEpoch(1, nil, tb))
			want := CommitStats{Commits: 1, Bytes: tc.want, LastEpoch: 1, LastBytes: tc.want}
			if s := db.CommitStats(); s != want {
				t.Fatalf("after epoch 1: got %+v, want %+v", s, want)
			}

			// Epoch 2 through the small path, k1=v: the write (15+1) and
			// the marker (14), or for a deferred table a log chunk of one
			// entry (17 + 1+15+1+1+1), its mark (17) and the marker. The
			// counts add up.
			testRedoAbove = 0
			must(t, tb.Put([]byte("k1"), []byte("v")))
			must(t, db.CommitEpoch(2, nil, tb))
			var second int64 = 16 + 14
			if tc.deferred {
				second = 17 + 19 + 17 + 14
			}
			want = CommitStats{Commits: 2, Bytes: tc.want + second, LastEpoch: 2, LastBytes: second}
			if s := db.CommitStats(); s != want {
				t.Fatalf("after epoch 2: got %+v, want %+v", s, want)
			}
		})
	}
}
