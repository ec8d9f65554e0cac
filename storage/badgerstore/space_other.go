//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package badgerstore

import "errors"

// statfs cannot measure free space on this OS; the store then never refuses writes.
func statfs(string) (uint64, error) {
	return 0, errors.New("badgerstore: free space cannot be measured on this OS")
}
