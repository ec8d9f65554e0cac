package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/kfbot/kfbot/kf/kftest"
)

// loadConfig is one load run.
type loadConfig struct {
	traffic
	ceiling     bool          // answer with the direct client instead of kfbot
	baseline    bool          // answer with the sequential SDK-style bot instead of kfbot
	rtt         time.Duration // the fake's delay per API call
	pagesAhead  int           // kfbot's pages in flight (bot.WithPagesInFlight); 0: its default
	bin         string        // the kfbot binary; "": kfbot in this process
	rules       int           // rule count; 0: a Go handler (in-process only)
	store       string        // in-process store: memory or badger
	concurrency int
	senders     int
	poke        string // in-process: callback or direct
	warmup      time.Duration
	duration    time.Duration
	drain       time.Duration
}

// LoadResult is the outcome of a load run (kfbot or the ceiling).
type LoadResult struct {
	Name        string  `json:"name"`
	Target      string  `json:"target"` // "ceiling (direct client)", "kfbot in-process", "kfbot binary"
	Rules       int     `json:"rules"`
	Store       string  `json:"store,omitempty"`
	Poke        string  `json:"poke"`
	Customers   int     `json:"customers"`
	Burst       int     `json:"burst"`
	Accounts    int     `json:"accounts"`
	Concurrency int     `json:"concurrency"`
	OfferedRate float64 `json:"offered_rate,omitempty"`

	Seconds      float64 `json:"seconds"`
	Replies      int64   `json:"replies"`
	MsgsPerSec   float64 `json:"msgs_per_sec"`
	P50Ms        float64 `json:"p50_ms"`
	P95Ms        float64 `json:"p95_ms"`
	P99Ms        float64 `json:"p99_ms"`
	MaxMs        float64 `json:"max_ms"`
	AllocsPerMsg float64 `json:"allocs_per_msg"`
	CPUPerMsgUs  float64 `json:"cpu_per_msg_us"`
	// HarnessCPUPerMsgUs is the CPU of kfbench itself (fake and customers) per message,
	// when kfbot runs as a separate process.
	HarnessCPUPerMsgUs float64 `json:"harness_cpu_per_msg_us,omitempty"`
	RSSMiB             float64 `json:"rss_mib"`
	PeakRSSMiB         float64 `json:"peak_rss_mib"`
	HeapMiB            float64 `json:"heap_mib"`
	RulesLoadMs        float64 `json:"rules_load_ms,omitempty"`
	// StoreReadsPerMsg and StoreWritesPerMsg are kfbot's store calls per answered message
	// (in process only; a batch is one write).
	StoreReadsPerMsg  float64 `json:"store_reads_per_msg,omitempty"`
	StoreWritesPerMsg float64 `json:"store_writes_per_msg,omitempty"`
	OfCeiling         float64 `json:"of_ceiling,omitempty"`
	TimesBaseline     float64 `json:"times_baseline,omitempty"` // msgs/s as a multiple of the baseline's
	RTTMs             float64 `json:"rtt_ms,omitempty"`         // the fake's injected delay per API call
	PagesInFlight     int     `json:"pages_in_flight,omitempty"`

	Counts
	CloseError string `json:"close_error,omitempty"`
}

// OK reports whether every message got exactly one reply. The baseline is allowed to
// lose messages: it is sequential, so at a long round trip its customers give up and the
// backlog outlives the drain; that is slowness, not a wrong answer.
func (r *LoadResult) OK() bool {
	lostOK := r.Lost == 0 || r.Name == "baseline"
	return lostOK && r.Duplicated == 0 && r.Unexpected == 0 && r.CloseError == ""
}

func runLoad(ctx context.Context, cfg loadConfig) (*LoadResult, error) {
	f, err := startFake(cfg.seed, kftest.WithRetention(loadRetention))
	if err != nil {
		return nil, err
	}
	defer f.close()
	f.srv.SetLatency(cfg.rtt)
	if cfg.text == nil {
		cfg.text = textFor(cfg.rules)
	}
	d := newDriver(f, cfg.traffic)
	res := &LoadResult{
		Rules: cfg.rules, Poke: cfg.poke, Customers: cfg.customers, Burst: cfg.burst,
		Accounts: cfg.accounts, Concurrency: cfg.concurrency, OfferedRate: cfg.rate,
		RTTMs: ms(cfg.rtt), PagesInFlight: cfg.pagesAhead,
	}
	var tg target
	switch {
	case cfg.ceiling:
		res.Name, res.Target, res.Rules, res.Poke, res.Concurrency = "ceiling", "direct client", 0, "direct", cfg.senders
		tg, err = startDirect(ctx, f, cfg.accountNames(), cfg.senders)
	case cfg.baseline:
		res.Name, res.Target, res.Rules, res.Poke, res.Concurrency = "baseline", "sequential SDK-style bot", 0, "direct", 1
		tg, err = startDirect(ctx, f, cfg.accountNames(), 0)
	case cfg.bin != "":
		res.Name, res.Target, res.Store, res.Poke = "kfbot", "binary", "badger", "callback"
		tg, err = startBinTarget(ctx, f, cfg)
	default:
		res.Name, res.Target, res.Store = "kfbot", "in-process", cfg.store
		var p *inproc
		p, err = startInproc(f, inprocConfig{rules: cfg.rules, store: cfg.store, concurrency: cfg.concurrency,
			poke: cfg.poke, accounts: cfg.accountNames(), pagesAhead: cfg.pagesAhead})
		if err == nil {
			res.RulesLoadMs = ms(p.loadTime)
			tg = p
		}
	}
	if err != nil {
		return nil, err
	}
	d.setPoker(tg.poker())
	d.start(ctx)
	w := d.measure(ctx, tg, cfg.warmup, cfg.duration)
	res.Lost = d.finish(cfg.drain)
	res.LostIDs = d.t.lostIDs(20)
	if err := tg.close(); err != nil {
		res.CloseError = err.Error()
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}

	secs := w.end.Sub(w.start).Seconds()
	res.Seconds = secs
	res.Replies = w.replies
	res.MsgsPerSec = float64(w.replies) / secs
	res.P50Ms, res.P95Ms, res.P99Ms = ms(d.t.hist.quantile(.50)), ms(d.t.hist.quantile(.95)), ms(d.t.hist.quantile(.99))
	res.MaxMs = ms(d.t.hist.maximum())
	if w.replies > 0 {
		n := float64(w.replies)
		if w.last.Mallocs > 0 {
			res.AllocsPerMsg = float64(w.last.Mallocs-w.before.Mallocs) / n
		}
		res.CPUPerMsgUs = float64((w.last.CPU - w.before.CPU).Microseconds()) / n
		if w.harness1.CPU > 0 {
			res.HarnessCPUPerMsgUs = float64((w.harness1.CPU - w.harness0.CPU).Microseconds()) / n
		}
	}
	res.RSSMiB, res.PeakRSSMiB, res.HeapMiB = mibs(w.last.RSS), mibs(w.last.PeakRSS), mibs(w.last.Heap)
	res.collect(d)
	if p, ok := tg.(*inproc); ok && res.Answered > 0 {
		n := float64(res.Answered)
		res.StoreReadsPerMsg, res.StoreWritesPerMsg = float64(p.ops.Reads.Load())/n, float64(p.ops.Writes.Load())/n
	}
	return res, nil
}

// startBinTarget starts the binary on a fresh data directory with the generated rules.
func startBinTarget(ctx context.Context, f *fake, cfg loadConfig) (*binTarget, error) {
	if cfg.rules < 1 {
		return nil, fmt.Errorf("the binary answers with rules: -rules must be at least 1 with -bin")
	}
	dir, err := os.MkdirTemp("", "kfbench-bin-run-")
	if err != nil {
		return nil, err
	}
	rulesFile := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(rulesFile, rulesYAML(cfg.rules), 0o644); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	p, err := startBin(ctx, f, binConfig{path: cfg.bin, dataDir: filepath.Join(dir, "data"), rulesFile: rulesFile,
		accounts: cfg.accountNames(), concurrency: cfg.concurrency, pagesAhead: cfg.pagesAhead, logLevel: "info"})
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return &binTarget{f: f, p: p, hc: callbackClient(), dir: dir}, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func mibs(b uint64) float64 { return float64(b) / mib }
