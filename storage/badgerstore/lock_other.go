//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package badgerstore

// lockDir is a no-op where flock is unavailable; Badger's own directory lock still
// refuses a second open, and Open turns its error into a [LockedError].
func lockDir(string) (*dirLock, error) { return nil, nil }

func (l *dirLock) release() error { return nil }
