//go:build unix

package file

import (
	"os"
	"strconv"
	"syscall"
)

// fileID is a file's identity: its device and inode.
func fileID(info os.FileInfo) string {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	return strconv.FormatUint(uint64(st.Dev), 10) + ":" + strconv.FormatUint(st.Ino, 10)
}
