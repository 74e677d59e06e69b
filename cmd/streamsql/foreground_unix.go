//go:build linux || darwin

package main

import (
	"os"
	"os/signal"
	"syscall"
	"unsafe"
)

// takeForeground makes the process the terminal's foreground process group
// when a parent in its group, such as make, started it from a terminal, and
// returns what gives the terminal back.
//
// Ctrl-C signals the terminal's foreground group. Under make that group is
// make's too: make dies of the SIGINT and reports "Interrupt" whatever the
// demo did after it. With a group of its own in the foreground, the demo
// alone gets the signal, stops cleanly and exits 0, and make, which never
// saw it, exits 0 too. Started by a shell with job control, the process
// already leads the foreground group and nothing changes.
func takeForeground() (restore func()) {
	noop := func() {}
	tty := int(os.Stdin.Fd())
	fg, err := tcgetpgrp(tty)
	if err != nil {
		return noop // not a terminal
	}
	pgrp := syscall.Getpgrp()
	if fg != pgrp || pgrp == os.Getpid() {
		return noop // in the background, or already leading the foreground
	}
	// tcsetpgrp from a group that is not (yet) the foreground one stops the
	// process with SIGTTOU unless it is ignored. SIGTSTP too: a demo
	// stopped with Ctrl-Z would hold the terminal from the shell, which
	// waits for make, not for it.
	signal.Ignore(syscall.SIGTTOU, syscall.SIGTSTP)
	if err := syscall.Setpgid(0, 0); err != nil {
		return noop
	}
	if err := tcsetpgrp(tty, os.Getpid()); err != nil {
		return noop // the demo still works; Ctrl-C then stops make too
	}
	return func() { _ = tcsetpgrp(tty, fg) }
}

func tcgetpgrp(fd int) (int, error) {
	var pgrp int32
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), uintptr(syscall.TIOCGPGRP), uintptr(unsafe.Pointer(&pgrp))); errno != 0 {
		return 0, errno
	}
	return int(pgrp), nil
}

func tcsetpgrp(fd, pgrp int) error {
	p := int32(pgrp)
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), uintptr(syscall.TIOCSPGRP), uintptr(unsafe.Pointer(&p))); errno != 0 {
		return errno
	}
	return nil
}
