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

// The real-time variant of the suite, for stores whose expiry a server keeps, checked
// against a store on the real clock.
func TestMemoryConformanceRealTime(t *testing.T) {
	storagetest.Run(t, func(t *testing.T, now func() time.Time) storage.Store {
		return storage.NewMemory(storage.WithClock(now))
	}, storagetest.WithRealTime(100*time.Millisecond))
}
