package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Usage is what one run cost the process.
type Usage struct {
	Wall time.Duration
	// CPU is user plus system time of the whole process (every goroutine,
	// the GC included), from getrusage.
	CPU time.Duration
	// PeakRSS is the resident set's high-water mark during the run, in
	// bytes: VmHWM after resetting it through /proc/self/clear_refs. Where
	// the reset is not allowed it is the process's lifetime peak, and
	// PeakRSSLifetime says so.
	PeakRSS         int64
	PeakRSSLifetime bool
	// StartRSS is the resident set when the run began (the events of the
	// scenario included), so PeakRSS - StartRSS is what the run added.
	StartRSS int64
	// Mallocs and AllocBytes are heap allocations during the run.
	Mallocs, AllocBytes uint64
}

// Measure runs fn and reports its cost. It first collects garbage and
// returns freed memory to the OS, so that one contender's leftovers do not
// count against the next. Inside a profiled run (see profiled) it also
// writes a CPU profile of fn.
func Measure(fn func() error) (Usage, error) {
	stop, err := startProfile()
	if err != nil {
		return Usage{}, err
	}
	u, err := measure(fn)
	if perr := stop(); err == nil {
		err = perr
	}
	return u, err
}

func measure(fn func() error) (Usage, error) {
	debug.FreeOSMemory()
	lifetime := !resetPeakRSS()
	startRSS := statusKB("VmRSS:")
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	cpu0 := cpuTime()
	start := time.Now()
	err := fn()
	u := Usage{Wall: time.Since(start), CPU: cpuTime() - cpu0, PeakRSSLifetime: lifetime, StartRSS: startRSS}
	runtime.ReadMemStats(&ms1)
	u.Mallocs = ms1.Mallocs - ms0.Mallocs
	u.AllocBytes = ms1.TotalAlloc - ms0.TotalAlloc
	u.PeakRSS = peakRSS()
	return u, err
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// resetPeakRSS asks Linux (4.0 and later) to restart VmHWM from the
// current RSS.
func resetPeakRSS() bool {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}

// peakRSS reads VmHWM, or getrusage's lifetime maximum where /proc is not
// there.
func peakRSS() int64 {
	if n := statusKB("VmHWM:"); n > 0 {
		return n
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		return ru.Maxrss * 1024 // kilobytes on Linux
	}
	return 0
}

// statusKB reads a "Name:  123 kB" line of /proc/self/status, in bytes;
// 0 if there is none.
func statusKB(name string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if rest, ok := bytes.CutPrefix(sc.Bytes(), []byte(name)); ok {
			if f := bytes.Fields(rest); len(f) > 0 {
				if kb, err := strconv.ParseInt(string(f[0]), 10, 64); err == nil {
					return kb * 1024
				}
			}
		}
	}
	return 0
}

// profile is where the next Measure writes a CPU profile, set by
// profiled. It is the process's, as the CPU figures are: Go runs one CPU
// profile at a time, and runs are measured one after another, never
// together, since each counts the whole process's CPU.
var profile struct {
	mu   sync.Mutex
	path string
}

// profiled runs fn with Measure writing a CPU profile (pprof format) of
// the measured part to dir/name.pprof; with dir empty it just runs fn.
// name is made a file name (anything but letters, digits, '.', '_' and '-'
// becomes '-'). A self-measuring contender that calls Measure more than
// once leaves the last call's profile.
func profiled(dir, name string, fn func()) {
	if dir == "" {
		fn()
		return
	}
	profile.mu.Lock()
	profile.path = filepath.Join(dir, ProfileName(name))
	profile.mu.Unlock()
	defer func() {
		profile.mu.Lock()
		profile.path = ""
		profile.mu.Unlock()
	}()
	fn()
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// ProfileName is the file a profile named name is written to.
func ProfileName(name string) string {
	return strings.Trim(unsafeName.ReplaceAllString(name, "-"), "-") + ".pprof"
}

// startProfile starts the CPU profile profiled asked for, if any, and
// returns what stops it and closes its file.
func startProfile() (func() error, error) {
	profile.mu.Lock()
	path := profile.path
	profile.mu.Unlock()
	if path == "" {
		return func() error { return nil }, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("bench: cpu profile: %w", err)
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("bench: cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("bench: cpu profile %s: %w", path, err)
	}
	return func() error {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			return fmt.Errorf("bench: cpu profile %s: %w", path, err)
		}
		return nil
	}, nil
}
