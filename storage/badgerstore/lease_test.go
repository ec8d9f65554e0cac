package badgerstore_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/storage/badgerstore"
)

// A lease left by an earlier process (one killed before releasing it looks the same) must
// not block the next process that opens the directory.
func TestOpenDropsLeasesOfEarlierProcess(t *testing.T) {
	dir := t.TempDir()
	s, err := badgerstore.Open(dir)
	require.NoError(t, err)
	_, err = s.AcquireLease(t.Context(), "pull/ww/wk", "old-process", time.Hour)
	require.NoError(t, err)
	require.NoError(t, s.Close())

	s, err = badgerstore.Open(dir)
	require.NoError(t, err)
	defer s.Close()
	l, err := s.AcquireLease(t.Context(), "pull/ww/wk", "new-process", time.Minute)
	require.NoError(t, err)
	require.Equal(t, "new-process", l.Owner)
}
