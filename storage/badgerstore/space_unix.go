//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package badgerstore

import "syscall"

// statfs returns the bytes available to unprivileged users on dir's filesystem.
func statfs(dir string) (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return uint64(st.Bavail) * uint64(st.Bsize), nil //nolint:unconvert // field types differ by OS
}
