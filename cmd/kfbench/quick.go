package main

import (
	"context"
	"fmt"
	"time"
)

// quickLoad is the load of the quick variant: small and short.
func quickLoad() loadConfig {
	return loadConfig{
		traffic:     traffic{customers: 100, burst: 4, accounts: 1, seed: defaultSeed, giveUp: 10 * time.Second},
		rules:       100,
		store:       "memory",
		concurrency: 16,
		senders:     16,
		poke:        "callback",
		warmup:      500 * time.Millisecond,
		duration:    2 * time.Second,
		drain:       20 * time.Second,
	}
}

// runQuick runs small versions of every command: the CI-friendly variant.
func runQuick(ctx context.Context, r *report, bin string) error {
	bin, cleanup, err := resolveBin(ctx, bin, true)
	if err != nil {
		return err
	}
	defer cleanup()

	lc := quickLoad()
	if err := runLoadCmd(ctx, r, lc, references{ceiling: true, baseline: true}); err != nil {
		return fmt.Errorf("load: %w", err)
	}
	lc.duration = time.Second
	if err := runRulesCmd(ctx, r, lc, references{}, []int{10, 10000}); err != nil {
		return fmt.Errorf("rules: %w", err)
	}
	lc = quickLoad()
	lc.bin = bin
	if err := runLoadCmd(ctx, r, lc, references{}); err != nil {
		return fmt.Errorf("load -bin: %w", err)
	}
	res, err := runCrash(ctx, crashConfig{bin: bin, messages: 1000, kills: 5, customers: 50, burst: 4, accounts: 1,
		rules: 100, concurrency: 16, seed: defaultSeed, repoke: time.Second, giveUp: 3 * time.Second, stall: 3 * time.Second,
		wait: 2 * time.Minute, logLevel: "info"})
	if err != nil {
		return fmt.Errorf("crash: %w", err)
	}
	r.addCrash(res)
	soak, err := runSoak(ctx, soakConfig{bin: bin, duration: 6 * time.Second, sample: time.Second, drain: 30 * time.Second, giveUp: 10 * time.Second,
		rate: 200, faults: 0.2, customers: 100, burst: 4, accounts: 1, rules: 100, concurrency: 16, seed: defaultSeed, flat: 1.25, settle: 6 * time.Second}) // too short to judge memory
	if err != nil {
		return fmt.Errorf("soak: %w", err)
	}
	r.addSoak(soak)
	return nil
}
