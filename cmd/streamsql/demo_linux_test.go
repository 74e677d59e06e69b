package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// Ctrl-C in the terminal that runs `make demo` signals the terminal's
// foreground process group. The demo must stop cleanly and make must exit
// 0, not die of the signal with "make: *** [demo] Interrupt".
func TestDemo_CtrlCUnderMakeExitsZero(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs the demo")
	}
	makeTool, err := exec.LookPath("make")
	if err != nil {
		t.Skip("make is not on PATH")
	}
	root, err := filepath.Abs("../..") // the emulator is found from the repository, as under make
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "streamsql")
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	if out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	dataDir := filepath.Join(dir, "streamsql-demo")
	// The Makefile's recipe, on free ports: make runs the binary as its child.
	makefile := filepath.Join(dir, "Makefile")
	recipe := fmt.Sprintf("demo:\n\t%s demo --listen 127.0.0.1:%d --http-listen 127.0.0.1:%d --emulator-port %d --data-dir %s\n",
		bin, freePort(t), freePort(t), freePort(t), dataDir)
	if err := os.WriteFile(makefile, []byte(recipe), 0o644); err != nil {
		t.Fatal(err)
	}

	master, slave := openPTY(t)
	cmd := exec.Command(makeTool, "-f", makefile, "demo")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "MAKEFLAGS=")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	// A session of its own with the pty as its terminal: make leads the
	// foreground process group, as when typed at a shell.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	var out lockedBuffer
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			out.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
		master.Close()
		if t.Failed() {
			t.Logf("terminal:\n%s", out.String())
		}
	})

	deadline := time.After(3 * time.Minute)
	for !strings.Contains(out.String(), "Ctrl-C stops the demo") {
		select {
		case <-exited:
			t.Fatalf("make exited before the demo ran:\n%s", out.String())
		case <-deadline:
			t.Fatalf("no banner within 3 minutes:\n%s", out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	if _, err := master.Write([]byte{0x03}); err != nil { // Ctrl-C
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(time.Minute):
		t.Fatalf("make still runs a minute after Ctrl-C:\n%s", out.String())
	}
	// What the demo wrote last may still be in the terminal: the read
	// ends (EIO) once it is drained and every writer has closed it.
	select {
	case <-readDone:
	case <-time.After(10 * time.Second):
		t.Fatalf("the terminal's output did not end 10 s after make exited:\n%s", out.String())
	}
	if code := cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("make demo ended with %v after Ctrl-C, want exit status 0:\n%s", cmd.ProcessState, out.String())
	}
	if !strings.Contains(out.String(), "stopped; removed its data") {
		t.Fatalf("the demo did not say it stopped:\n%s", out.String())
	}
	if _, err := os.Stat(dataDir); !os.IsNotExist(err) {
		t.Fatalf("the demo's data is still there after a clean stop: %v", err)
	}
}

// openPTY opens a pseudo-terminal pair.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	var unlock int32
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, m.Fd(), syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); errno != 0 {
		t.Fatalf("unlockpt: %v", errno)
	}
	var n uint32
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, m.Fd(), syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); errno != 0 {
		t.Fatalf("ptsname: %v", errno)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	return m, s
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
