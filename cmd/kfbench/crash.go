package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// crashConfig is one crash run.
type crashConfig struct {
	bin         string
	messages    int64
	kills       int
	customers   int
	burst       int
	accounts    int
	rules       int
	concurrency int
	seed        int64
	repoke      time.Duration
	giveUp      time.Duration
	stall       time.Duration // go on when no reply came for this long
	wait        time.Duration // longest wait for any step
	logLevel    string        // KFBOT_LOG_LEVEL
}

// CrashResult is the outcome of a crash run.
type CrashResult struct {
	Messages      int64   `json:"messages"`
	Kills         int     `json:"kills"`
	Restarts      int     `json:"restarts"`
	KillPoints    []int64 `json:"kill_points"` // replies counted when each SIGKILL was sent
	Customers     int     `json:"customers"`
	Burst         int     `json:"burst"`
	Rules         int     `json:"rules"`
	Seconds       float64 `json:"seconds"`
	MeanRestartMs float64 `json:"mean_restart_ms"` // exec to ready, after a SIGKILL
	MaxRestartMs  float64 `json:"max_restart_ms"`

	Counts
	CleanRunSends  int64  `json:"clean_run_sends"`          // replies accepted during a clean restart after the stream: must be 0
	CleanRunCalls  int64  `json:"clean_run_send_calls"`     // kf/send_msg calls during that restart
	Stalls         int    `json:"stalls"`                   // kill points not reached because replies stopped coming
	LogTail        string `json:"log_tail,omitempty"`       // the last log lines of the run that stalled, if any
	Refused        int64  `json:"refused"`                  // replies kfbot refused itself (logged), all runs
	DuplicateMsgID int64  `json:"duplicate_msgid_refusals"` // sends the fake refused as an already used msgid
}

// OK reports whether every message got exactly one reply.
func (r *CrashResult) OK() bool {
	return r.Lost == 0 && r.Duplicated == 0 && r.Unexpected == 0 && r.CleanRunSends == 0 && r.Answered == r.Messages
}

func runCrash(ctx context.Context, cfg crashConfig) (*CrashResult, error) {
	f, err := startFake(cfg.seed)
	if err != nil {
		return nil, err
	}
	defer f.close()
	dir, err := os.MkdirTemp("", "kfbench-crash-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	rulesFile := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(rulesFile, rulesYAML(cfg.rules), 0o644); err != nil {
		return nil, err
	}
	tr := traffic{customers: cfg.customers, burst: cfg.burst, accounts: cfg.accounts, messages: cfg.messages,
		repoke: cfg.repoke, giveUp: cfg.giveUp, seed: cfg.seed, text: textFor(cfg.rules)}
	bc := binConfig{path: cfg.bin, dataDir: filepath.Join(dir, "data"), rulesFile: rulesFile,
		accounts: tr.accountNames(), concurrency: cfg.concurrency, logLevel: cfg.logLevel}
	d := newDriver(f, tr)
	res := &CrashResult{Messages: cfg.messages, Customers: cfg.customers, Burst: cfg.burst, Rules: cfg.rules}

	// Kill points: distinct reply counts in [1, messages), sorted.
	rng := rand.New(rand.NewPCG(uint64(cfg.seed), 0x6372617368))
	points := make(map[int64]bool)
	for len(points) < min(cfg.kills, int(cfg.messages-1)) {
		points[1+rng.Int64N(cfg.messages-1)] = true
	}
	targets := make([]int64, 0, len(points))
	for p := range points {
		targets = append(targets, p)
	}
	slices.Sort(targets)

	hc := callbackClient()
	start := time.Now()
	p, err := startBin(ctx, f, bc)
	if err != nil {
		return nil, err
	}
	defer func() {
		if p != nil {
			p.kill()
		}
	}()
	d.setPoker(callbackPoker(f, p.callbackURL(), hc))
	d.start(ctx)
	defer d.finish(0)

	var restartTotal time.Duration
	for _, target := range targets {
		stalled, err := waitReplies(ctx, d, p, target, cfg.stall, cfg.wait)
		if err != nil {
			return nil, err
		}
		if stalled {
			res.Stalls++
			res.LogTail = stallReport(f, p)
		}
		sleepCtx(ctx, time.Duration(rng.Int64N(int64(20*time.Millisecond))))
		res.KillPoints = append(res.KillPoints, d.t.answered.Load())
		p.kill()
		res.Refused += p.refused.Load()
		res.Kills++
		if p, err = startBin(ctx, f, bc); err != nil {
			return nil, fmt.Errorf("restart %d: %w", res.Kills, err)
		}
		res.Restarts++
		restartTotal += p.ready
		res.MaxRestartMs = max(res.MaxRestartMs, ms(p.ready))
		d.setPoker(callbackPoker(f, p.callbackURL(), hc))
	}
	stalled, err := waitReplies(ctx, d, p, cfg.messages, cfg.stall, cfg.wait)
	if err != nil {
		return nil, err
	}
	if stalled {
		res.Stalls++
		res.LogTail = stallReport(f, p)
	}
	res.Lost = d.finish(cfg.stall)
	res.LostIDs = d.t.lostIDs(20)
	res.Seconds = time.Since(start).Seconds()
	if res.Restarts > 0 {
		res.MeanRestartMs = ms(restartTotal) / float64(res.Restarts)
	}
	hc.CloseIdleConnections() // or kfbot's graceful shutdown waits for them
	if err := p.stop(30 * time.Second); err != nil {
		return nil, err
	}
	res.Refused += p.refused.Load()

	// A clean restart on the same directory must find nothing left to send.
	before := f.srv.Calls("send_msg")
	answered := d.t.answered.Load() + d.t.duplicates.Load() + d.t.unexpected.Load()
	if p, err = startBin(ctx, f, bc); err != nil {
		return nil, fmt.Errorf("clean restart: %w", err)
	}
	if err := waitIdle(ctx, f, p, cfg.wait); err != nil {
		return nil, err
	}
	if err := p.stop(30 * time.Second); err != nil {
		return nil, err
	}
	res.CleanRunCalls = int64(f.srv.Calls("send_msg") - before)
	res.CleanRunSends = d.t.answered.Load() + d.t.duplicates.Load() + d.t.unexpected.Load() - answered
	res.collect(d)
	res.DuplicateMsgID = f.errorCounts()["errcode 40058"]
	return res, nil
}

// waitReplies waits until n messages are answered. It reports stalled when no reply
// came for stall; it fails if kfbot exits or the wait is longer than limit.
func waitReplies(ctx context.Context, d *driver, p *binProc, n int64, stall, limit time.Duration) (stalled bool, err error) {
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	tick := time.NewTicker(stall / 10)
	defer tick.Stop()
	reached := d.t.reached(n)
	last, since := d.t.answered.Load(), time.Now()
	for {
		select {
		case <-reached:
			return false, nil
		case <-tick.C:
			if a := d.t.answered.Load(); a != last {
				last, since = a, time.Now()
			} else if time.Since(since) >= stall {
				return true, nil
			}
		case <-p.exited:
			return false, fmt.Errorf("kfbot exited unexpectedly (%v) at %d of %d replies:\n%s", p.waitErr, d.t.answered.Load(), n, p.logTail())
		case <-deadline.C:
			return false, fmt.Errorf("only %d of %d replies within %s:\n%s", d.t.answered.Load(), n, limit, p.logTail())
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
}

// waitIdle waits until a freshly started kfbot has finished its first pull: it has
// dispatched a page and the fake has seen no kf/sync_msg or kf/send_msg call for 300 ms.
func waitIdle(ctx context.Context, f *fake, p *binProc, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	last, quiet := int64(-1), 0
	for time.Now().Before(deadline) {
		pulls := scrape(ctx, p.metricsURL(), "kfbot_pulls_total")["kfbot_pulls_total"]
		calls := int64(f.srv.Calls("sync_msg") + f.srv.Calls("send_msg"))
		if pulls >= 1 && calls == last {
			if quiet++; quiet >= 3 {
				return nil
			}
		} else {
			quiet = 0
		}
		last = calls
		sleepCtx(ctx, 100*time.Millisecond)
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return fmt.Errorf("kfbot did not finish its first pull within %s:\n%s", limit, p.logTail())
}

// stallReport describes the fake's traffic and kfbot's last log lines.
func stallReport(f *fake, p *binProc) string {
	return fmt.Sprintf("fake: %d sync_msg, %d send_msg calls; non-ok answers %v\n%s",
		f.srv.Calls("sync_msg"), f.srv.Calls("send_msg"), f.errorCounts(), p.logTail())
}
