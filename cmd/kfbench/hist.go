package main

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// histogram is a log-linear latency histogram in microseconds: exact below 128 µs, then
// 128 sub-buckets per power of two (a relative error under 0.8%), up to 2^40 µs.
// It is safe for concurrent use.
type histogram struct {
	counts [histBuckets]atomic.Uint64
	max    atomic.Int64 // µs
}

const (
	histSub     = 128
	histBuckets = histSub * 34
)

func histIndex(us uint64) int {
	if us < histSub {
		return int(us)
	}
	e := bits.Len64(us) - 8 // us>>e is in [128, 256)
	i := (e+1)*histSub + int(us>>e) - histSub
	return min(i, histBuckets-1)
}

// histValue is the lower bound, in µs, of bucket i.
func histValue(i int) uint64 {
	if i < histSub {
		return uint64(i)
	}
	e := i/histSub - 1
	return uint64(i%histSub+histSub) << e
}

func (h *histogram) record(d time.Duration) {
	us := max(d.Microseconds(), 0)
	h.counts[histIndex(uint64(us))].Add(1)
	for {
		m := h.max.Load()
		if us <= m || h.max.CompareAndSwap(m, us) {
			return
		}
	}
}

func (h *histogram) reset() {
	for i := range h.counts {
		h.counts[i].Store(0)
	}
	h.max.Store(0)
}

func (h *histogram) count() uint64 {
	var n uint64
	for i := range h.counts {
		n += h.counts[i].Load()
	}
	return n
}

// quantile returns the q-quantile (0 < q ≤ 1), or 0 when the histogram is empty.
func (h *histogram) quantile(q float64) time.Duration {
	n := h.count()
	if n == 0 {
		return 0
	}
	rank := uint64(q*float64(n) + 0.5)
	rank = min(max(rank, 1), n)
	var seen uint64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			return time.Duration(histValue(i)) * time.Microsecond
		}
	}
	return h.maximum()
}

func (h *histogram) maximum() time.Duration { return time.Duration(h.max.Load()) * time.Microsecond }
