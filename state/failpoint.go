package state

import (
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Failpoints let the crash tests (tests/) kill the real binary at exact
// moments of an epoch commit, which a SIGKILL from outside hits only by
// luck. STREAMSQL_FAILPOINT=name kills the process with SIGKILL the first
// time it reaches that point, name@N the N-th time. The points:
//
//	commit-before-txn     small epoch: every write is in the transaction, before it commits
//	commit-after-txn      small epoch: committed, before CommitEpoch returns
//	redo-after-stage      large epoch: chunks staged, before the marker (the epoch is torn)
//	redo-after-marker     large epoch: marker and redo flag written, nothing applied
//	redo-after-apply      large epoch: applied, before the redo flag and chunks are deleted
//	redo-after-clear-flag large epoch: redo flag deleted, chunks not yet deleted
//	defer-mid-apply       deferred tables: a batch of an apply written, not the rest
//	defer-after-apply     deferred tables: applied, before the log is deleted
//
// STREAMSQL_REDO_ABOVE_BYTES=N sends every epoch whose writes exceed N
// bytes through the redo log, so that a test reaches the large-epoch path
// without writing ~8 MiB per epoch.
//
// STREAMSQL_DEFER_APPLY_BYTES=N applies deferred tables' overlays when
// they exceed N bytes, in batches of 16 keys, so that a test reaches the
// apply and its failpoints without gigabytes of state.
//
// The variables are read once per process; unset, a failpoint costs a
// nil check.

// Failpoint names.
const (
	fpCommitBeforeTxn    = "commit-before-txn"
	fpCommitAfterTxn     = "commit-after-txn"
	fpRedoAfterStage     = "redo-after-stage"
	fpRedoAfterMarker    = "redo-after-marker"
	fpRedoAfterApply     = "redo-after-apply"
	fpRedoAfterClearFlag = "redo-after-clear-flag"
	fpDeferMidApply      = "defer-mid-apply"
	fpDeferAfterApply    = "defer-after-apply"
)

var failpointNames = []string{fpCommitBeforeTxn, fpCommitAfterTxn, fpRedoAfterStage,
	fpRedoAfterMarker, fpRedoAfterApply, fpRedoAfterClearFlag, fpDeferMidApply, fpDeferAfterApply}

// armedFailpoint is the one failpoint STREAMSQL_FAILPOINT names.
type armedFailpoint struct {
	name string
	at   int64 // fire on this hit, counting from 1
	hits atomic.Int64
}

type testKnobs struct {
	fp             *armedFailpoint // nil when unset
	redoAboveBytes int64           // 0 when unset
	deferApply     int64           // 0 when unset
	err            error           // a malformed variable; Open refuses to start
}

var knobs = sync.OnceValue(readKnobs)

func readKnobs() *testKnobs {
	k := &testKnobs{}
	if v := os.Getenv("STREAMSQL_FAILPOINT"); v != "" {
		name, count, hasCount := strings.Cut(v, "@")
		at := int64(1)
		if hasCount {
			n, err := strconv.ParseInt(count, 10, 64)
			if err != nil || n < 1 {
				k.err = fmt.Errorf("STREAMSQL_FAILPOINT=%q: the count after @ must be a positive integer", v)
				return k
			}
			at = n
		}
		known := false
		for _, fp := range failpointNames {
			known = known || fp == name
		}
		if !known {
			// A misspelt failpoint would let a crash test pass without
			// ever crashing.
			k.err = fmt.Errorf("STREAMSQL_FAILPOINT=%q: unknown failpoint; known: %s", v, strings.Join(failpointNames, ", "))
			return k
		}
		k.fp = &armedFailpoint{name: name, at: at}
	}
	if v := os.Getenv("STREAMSQL_REDO_ABOVE_BYTES"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			k.err = fmt.Errorf("STREAMSQL_REDO_ABOVE_BYTES=%q: want a byte count", v)
			return k
		}
		k.redoAboveBytes = n
	}
	if v := os.Getenv("STREAMSQL_DEFER_APPLY_BYTES"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			k.err = fmt.Errorf("STREAMSQL_DEFER_APPLY_BYTES=%q: want a positive byte count", v)
			return k
		}
		k.deferApply = n
	}
	return k
}

// checkKnobs reports a malformed test variable; Open calls it (through
// RecoverEpochs).
func checkKnobs() error { return knobs().err }

// failpoint kills the process with SIGKILL if name is the armed failpoint
// and this is its hit. It logs first, so a test can tell the failpoint's
// death from any other.
func failpoint(log *slog.Logger, name string) {
	fp := knobs().fp
	if fp == nil || fp.name != name {
		return
	}
	if fp.hits.Add(1) != fp.at {
		return
	}
	log.Warn("failpoint reached: killing the process", "failpoint", name, "hit", fp.at)
	_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	// SIGKILL to oneself is delivered before kill(2) returns; should it
	// not be, nothing after the failpoint may run.
	for {
		time.Sleep(time.Hour)
	}
}

// redoAbove returns the test's epoch size above which commits go through
// the redo log, 0 for the default (Badger's transaction limits).
func redoAbove() int64 {
	if testRedoAbove > 0 {
		return testRedoAbove
	}
	return knobs().redoAboveBytes
}

// testRedoAbove, when set, is redoAbove for a state test.
var testRedoAbove int64
