package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// soakConfig is one soak run.
type soakConfig struct {
	bin         string
	duration    time.Duration
	sample      time.Duration
	drain       time.Duration
	giveUp      time.Duration
	rate        float64
	faults      float64
	customers   int
	burst       int
	accounts    int
	rules       int
	concurrency int
	seed        int64
	flat        float64
	settle      time.Duration // samples before this are left out of the flatness check
}

// MemSample is one sample of the bot's memory during a soak.
type MemSample struct {
	Seconds  float64 `json:"seconds"`
	RSSMiB   float64 `json:"rss_mib"`
	AnonMiB  float64 `json:"anon_rss_mib"`
	HeapMiB  float64 `json:"heap_mib"` // live heap: the GC goal ÷ (1 + GOGC/100)
	Answered int64   `json:"answered"`
}

// SoakResult is the outcome of a soak run.
type SoakResult struct {
	Seconds     float64          `json:"seconds"`
	OfferedRate float64          `json:"offered_rate"`
	MsgsPerSec  float64          `json:"msgs_per_sec"`
	Faults      float64          `json:"faults"`
	Requests    int64            `json:"requests"`      // to gettoken, sync_msg and send_msg
	Delayed     int64            `json:"delayed"`       // requests delayed 10–200 ms
	Failures    map[string]int64 `json:"fake_failures"` // non-ok answers of the fake, by code
	Customers   int              `json:"customers"`
	Burst       int              `json:"burst"`
	Rules       int              `json:"rules"`

	P50Ms float64 `json:"p50_ms"`
	P95Ms float64 `json:"p95_ms"`
	P99Ms float64 `json:"p99_ms"`
	MaxMs float64 `json:"max_ms"`

	Samples []MemSample `json:"samples"`
	// Medians of the first and last third of the samples taken after SettleSeconds.
	FirstThirdRSS  float64 `json:"first_third_rss_mib"`
	LastThirdRSS   float64 `json:"last_third_rss_mib"`
	FirstThirdAnon float64 `json:"first_third_anon_rss_mib"`
	LastThirdAnon  float64 `json:"last_third_anon_rss_mib"`
	FirstThirdHeap float64 `json:"first_third_heap_mib"`
	LastThirdHeap  float64 `json:"last_third_heap_mib"`
	FlatBound      float64 `json:"flat_bound"`
	Judged         bool    `json:"judged"`               // enough samples after settling (6) to judge flatness
	SettleSeconds  float64 `json:"settle_seconds"`       // samples before this were left out of the check
	HeapSlope      float64 `json:"heap_mib_per_min"`     // least-squares slope after settling
	AnonSlope      float64 `json:"anon_rss_mib_per_min"` // least-squares slope after settling
	Flat           bool    `json:"flat"`
	BotWarnings    int64   `json:"bot_warnings"` // WARN log lines (retries) of kfbot
	BotErrors      int64   `json:"bot_errors"`
	BotRefused     int64   `json:"bot_refused"` // replies kfbot refused itself (quota, window, …)

	Counts
	CloseError string `json:"close_error,omitempty"`
}

// OK reports whether every message got exactly one reply.
func (r *SoakResult) OK() bool {
	return r.Lost == 0 && r.Duplicated == 0 && r.Unexpected == 0 && r.CloseError == ""
}

func runSoak(ctx context.Context, cfg soakConfig) (*SoakResult, error) {
	f, err := startFake(cfg.seed)
	if err != nil {
		return nil, err
	}
	defer f.close()
	dir, err := os.MkdirTemp("", "kfbench-soak-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	rulesFile := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(rulesFile, rulesYAML(cfg.rules), 0o644); err != nil {
		return nil, err
	}
	tr := traffic{customers: cfg.customers, burst: cfg.burst, accounts: cfg.accounts, rate: cfg.rate,
		giveUp: cfg.giveUp, seed: cfg.seed, text: textFor(cfg.rules)}
	d := newDriver(f, tr)
	p, err := startBin(ctx, f, binConfig{path: cfg.bin, dataDir: filepath.Join(dir, "data"), rulesFile: rulesFile,
		accounts: tr.accountNames(), concurrency: cfg.concurrency, logLevel: "info"})
	if err != nil {
		return nil, err
	}
	tg := &binTarget{f: f, p: p, hc: callbackClient()}
	f.setFaults(cfg.faults)
	d.setPoker(tg.poker())
	res := &SoakResult{OfferedRate: cfg.rate, Faults: cfg.faults, Customers: cfg.customers, Burst: cfg.burst,
		Rules: cfg.rules, FlatBound: cfg.flat}
	req0 := f.requests()
	d.t.measuring.Store(true)
	start := time.Now()
	d.start(ctx)
	tick := time.NewTicker(cfg.sample)
	end := time.NewTimer(cfg.duration)
loop:
	for {
		select {
		case <-tick.C:
			st := tg.stats(ctx)
			res.Samples = append(res.Samples, MemSample{Seconds: time.Since(start).Seconds(),
				RSSMiB: mibs(st.RSS), AnonMiB: mibs(st.AnonRSS), HeapMiB: mibs(st.Live), Answered: d.t.answered.Load()})
		case <-end.C:
			break loop
		case <-p.exited:
			break loop
		case <-ctx.Done():
			break loop
		}
	}
	tick.Stop()
	elapsed := time.Since(start)
	answered := d.t.answered.Load()
	res.Lost = d.finish(cfg.drain)
	d.t.measuring.Store(false)
	res.LostIDs = d.t.lostIDs(20)
	if err := tg.close(); err != nil {
		res.CloseError = err.Error()
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	res.Seconds = elapsed.Seconds()
	res.MsgsPerSec = float64(answered) / elapsed.Seconds()
	res.Requests = f.requests() - req0
	res.Delayed = f.delayed.Load()
	res.Failures = f.errorCounts()
	res.P50Ms, res.P95Ms, res.P99Ms = ms(d.t.hist.quantile(.50)), ms(d.t.hist.quantile(.95)), ms(d.t.hist.quantile(.99))
	res.MaxMs = ms(d.t.hist.maximum())
	settled := res.Samples
	for len(settled) > 0 && settled[0].Seconds < cfg.settle.Seconds() {
		settled = settled[1:]
	}
	res.SettleSeconds = cfg.settle.Seconds()
	res.FirstThirdRSS, res.LastThirdRSS = thirds(settled, func(s MemSample) float64 { return s.RSSMiB })
	res.FirstThirdAnon, res.LastThirdAnon = thirds(settled, func(s MemSample) float64 { return s.AnonMiB })
	res.FirstThirdHeap, res.LastThirdHeap = thirds(settled, func(s MemSample) float64 { return s.HeapMiB })
	res.HeapSlope = 60 * slope(settled, func(s MemSample) float64 { return s.HeapMiB })
	res.AnonSlope = 60 * slope(settled, func(s MemSample) float64 { return s.AnonMiB })
	// Flat: the Go heap and the anonymous memory. File-backed RSS is Badger's mmapped
	// files (write-ahead log, tables): page cache the kernel can reclaim, reported apart.
	res.Judged = len(settled) >= 6
	res.Flat = res.Judged && res.LastThirdAnon <= cfg.flat*res.FirstThirdAnon &&
		res.LastThirdHeap <= cfg.flat*res.FirstThirdHeap
	res.BotWarnings, res.BotErrors, res.BotRefused = p.warnings.Load(), p.errors.Load(), p.refused.Load()
	res.collect(d)
	return res, nil
}

// slope is the least-squares slope of v over the samples' times, per second.
func slope(s []MemSample, v func(MemSample) float64) float64 {
	if len(s) < 2 {
		return 0
	}
	var sx, sy, sxx, sxy float64
	for _, p := range s {
		x, y := p.Seconds, v(p)
		sx, sy, sxx, sxy = sx+x, sy+y, sxx+x*x, sxy+x*y
	}
	n := float64(len(s))
	d := n*sxx - sx*sx
	if d == 0 {
		return 0
	}
	return (n*sxy - sx*sy) / d
}

// thirds returns the medians of the first and the last third of the samples: medians,
// not means, so that a sample taken while Badger flushes a memtable (a short spike of a
// new 8 MiB arena and the table being built) does not decide the outcome.
func thirds(s []MemSample, v func(MemSample) float64) (first, last float64) {
	n := len(s) / 3
	if n == 0 {
		return 0, 0
	}
	median := func(part []MemSample) float64 {
		xs := make([]float64, len(part))
		for i, p := range part {
			xs[i] = v(p)
		}
		slices.Sort(xs)
		if len(xs)%2 == 1 {
			return xs[len(xs)/2]
		}
		return (xs[len(xs)/2-1] + xs[len(xs)/2]) / 2
	}
	return median(s[:n]), median(s[len(s)-n:])
}
