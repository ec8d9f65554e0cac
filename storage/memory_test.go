package storage_test

import (
	"testing"
	"time"

	"github.com/kfbot/kfbot/storage"
	"github.com/kfbot/kfbot/storage/storagetest"
)

func TestMemoryConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T, now func() time.Time) storage.Store {
		return storage.NewMemory(storage.WithClock(now))
	})
}

func BenchmarkMemory(b *testing.B) {
	storagetest.Bench(b, func(b *testing.B) storage.Store { return storage.NewMemory() })
}
