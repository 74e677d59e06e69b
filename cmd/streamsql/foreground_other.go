//go:build !linux && !darwin

package main

// takeForeground is a no-op where the terminal's process groups are not
// handled (see foreground_unix.go).
func takeForeground() (restore func()) { return func() {} }
