package badgerstore

import (
	"fmt"
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// maxHeapAfterOpen is the target for the heap an open store adds.
const maxHeapAfterOpen = 16 << 20

// fill100k writes 100,000 dedup records (TTL 24 h) into a new store in dir and closes
// it cleanly. Under the race detector, which makes it slow, it writes 20,000.
func fill100k(tb testing.TB, dir string) {
	tb.Helper()
	s, err := Open(dir, WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(tb, err)
	wb := s.db.NewWriteBatch()
	exp := appendExpiry(nil, time.Now().Add(24*time.Hour))
	n := 100_000
	if raceEnabled {
		n = 20_000
	}
	for i := range n {
		key := idKey(kindSeen, fmt.Sprintf("from_msgid_%019d", i))
		if err := wb.SetEntry(badger.NewEntry(key, exp).WithTTL(24 * time.Hour)); err != nil {
			tb.Fatal(err)
		}
	}
	require.NoError(tb, wb.Flush())
	require.NoError(tb, s.Close())
}

// heapAlloc returns the live heap after a full GC.
func heapAlloc() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestHeapAfterOpen measures the heap a store of 100k keys (20k with -race) adds when opened after a clean
// close, and checks the 16 MiB target.
func TestHeapAfterOpen(t *testing.T) {
	dir := t.TempDir()
	fill100k(t, dir)
	before := heapAlloc()
	s, err := Open(dir, WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	defer s.Close()
	after := heapAlloc()
	added := int64(after) - int64(before)
	t.Logf("heap after open of the filled store: %.1f MiB added (%.1f MiB in total)", mib(added), mib(int64(after)))
	assert.LessOrEqual(t, added, int64(maxHeapAfterOpen))
	seen, err := s.Seen(t.Context(), fmt.Sprintf("from_msgid_%019d", 19_999))
	require.NoError(t, err)
	assert.True(t, seen)
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

// BenchmarkReopen100k measures Open of a store holding 100k keys after a clean close
// (Close is not timed), and reports the heap the open store adds (heap-MiB).
func BenchmarkReopen100k(b *testing.B) {
	dir := b.TempDir()
	fill100k(b, dir)
	b.ReportAllocs()
	var opens time.Duration
	var heap int64
	n := 0
	for b.Loop() {
		before := uint64(0)
		if n == 0 {
			b.StopTimer()
			before = heapAlloc()
			b.StartTimer()
		}
		start := time.Now()
		s, err := Open(dir, WithLogger(slog.New(slog.DiscardHandler)))
		opens += time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if n == 0 {
			heap = int64(heapAlloc()) - int64(before)
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		n++
	}
	b.ReportMetric(float64(opens.Microseconds())/1000/float64(n), "ms/open")
	b.ReportMetric(mib(heap), "heap-MiB")
}

// BenchmarkOpenInMemory measures opening a fresh in-memory store and reports the heap
// it adds (heap-MiB, measured on the first open).
func BenchmarkOpenInMemory(b *testing.B) {
	b.ReportAllocs()
	var heap int64
	n := 0
	for b.Loop() {
		var before uint64
		if n == 0 {
			b.StopTimer()
			before = heapAlloc()
			b.StartTimer()
		}
		s, err := OpenInMemory(WithLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if n == 0 {
			heap = int64(heapAlloc()) - int64(before)
		}
		_ = s.Close()
		b.StartTimer()
		n++
	}
	b.ReportMetric(mib(heap), "heap-MiB")
}
