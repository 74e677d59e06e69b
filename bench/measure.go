package bench

import (
	"bufio"
	"bytes"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
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
// count against the next.
func Measure(fn func() error) (Usage, error) {
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
