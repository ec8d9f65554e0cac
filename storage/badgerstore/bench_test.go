package badgerstore_test

import (
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/storage"
	"github.com/kfbot/kfbot/storage/badgerstore"
	"github.com/kfbot/kfbot/storage/storagetest"
)

// BenchmarkDisk runs the shared benchmarks on a store in a temporary directory with the
// default options (SyncWrites off).
func BenchmarkDisk(b *testing.B) {
	storagetest.Bench(b, func(b *testing.B) storage.Store {
		s, err := badgerstore.Open(b.TempDir(), badgerstore.WithLogger(slog.New(slog.DiscardHandler)))
		require.NoError(b, err)
		return s
	})
}

// BenchmarkInMemory runs the shared benchmarks on an in-memory store.
func BenchmarkInMemory(b *testing.B) {
	storagetest.Bench(b, func(b *testing.B) storage.Store {
		s, err := badgerstore.OpenInMemory(badgerstore.WithLogger(slog.New(slog.DiscardHandler)))
		require.NoError(b, err)
		return s
	})
}
