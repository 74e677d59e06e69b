package engine

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/dustin/go-humanize"
	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/state"
)

// One memory limit for the whole engine (Config.MemoryLimit, the binary's
// --memory-limit), divided into budgets:
//
//	Badger's memtables         limit/48 each (8 to 64 MiB), 3 of them: each
//	                           takes about 1.3 times its size in memory, and
//	                           flushing one builds its table in memory too,
//	                           for a while some 4 times its size
//	Badger's block cache       limit/8
//	Badger's index cache       limit/32 (bloom filters and block indexes)
//	writes not yet committed   limit/8: past it, views' inputs wait for the
//	                           epoch being committed (view.go, hold)
//	operators' caches          limit/8, shared by every view: join rows
//	                           and aggregate groups (exec.CacheBudget)
//	a starting view's queue    limit/64 per input that reads another
//	of its upstream's changes  view or a table; past it the changes are
//	                           read back from the upstream's changelog
//	                           table (changelog.go)
//
// The rest is headroom for batches in flight, sessions, Go's garbage
// collector, the pages of Badger's files, and its compactions, which build
// their tables in memory (2 at a time below 8 GiB, Badger's 4 above). The
// binary also sets the Go runtime's soft limit (GOMEMLIMIT) to 90% of it.

// Bounds of the default memory limit.
const (
	minDefaultMemoryLimit = 256 << 20
	maxDefaultMemoryLimit = 8 << 30
	// MinMemoryLimit is the least Config.MemoryLimit accepted: below it
	// Badger's fixed costs alone do not fit.
	MinMemoryLimit = 256 << 20
)

// DefaultMemoryLimit is the memory limit when none is given: half of the
// machine's memory (the cgroup's limit when one is set, else physical
// memory), at least 256 MiB and at most 8 GiB.
func DefaultMemoryLimit() int64 {
	total := machineMemory()
	if total <= 0 {
		return 2 << 30
	}
	return min(max(total/2, minDefaultMemoryLimit), maxDefaultMemoryLimit)
}

// machineMemory is the cgroup's memory limit (v2, then v1) if there is
// one, else MemTotal from /proc/meminfo; 0 when neither can be read.
func machineMemory() int64 {
	phys := int64(0)
	if f, err := os.Open("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
				kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
				if err == nil {
					phys = kb << 10
				}
			}
		}
		f.Close()
	}
	for _, p := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		// "max", or v1's "no limit" (a huge number), mean none.
		if err == nil && n > 0 && (phys == 0 || n < phys) {
			return n
		}
	}
	return phys
}

// ParseMemoryLimit reads a size such as "2GiB", "512MiB", "1.5GB" or a
// number of bytes.
func ParseMemoryLimit(s string) (int64, error) {
	n, err := humanize.ParseBytes(strings.TrimSpace(s))
	if err != nil || n > 1<<62 {
		return 0, fmt.Errorf("memory limit %q: want a size such as 2GiB or 512MiB", s)
	}
	if n < MinMemoryLimit {
		return 0, fmt.Errorf("memory limit %q: must be at least %s", s, humanize.IBytes(MinMemoryLimit))
	}
	return int64(n), nil
}

// memoryBudget is the memory limit divided (see the top of this file).
type memoryBudget struct {
	limit       int64
	badger      state.Memory
	uncommitted int64
	caches      *exec.CacheBudget
}

func newMemoryBudget(limit int64) memoryBudget {
	b := memoryBudget{limit: limit, uncommitted: limit / 8}
	b.badger = state.Memory{
		MemTableSize:   min(max(limit/48, 8<<20), 64<<20),
		NumMemtables:   3,
		BlockCacheSize: limit / 8,
		IndexCacheSize: limit / 32,
		// Badger's least (level 0 has one of its own), below 8 GiB.
		NumCompactors: 2,
	}
	if limit >= 8<<30 {
		b.badger.NumCompactors = 4
	}
	b.caches = exec.NewCacheBudget(limit / 8)
	return b
}
