package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const usage = `Usage: kfbench COMMAND [flags]

Plays WeCom against kfbot and reports how much it takes and what happens when things break.

Commands:
  load      customers × bursts against kfbot (in-process, or the binary with -bin),
            compared with the ceiling
  ceiling   the ceiling alone: a minimal direct client against the same fake
  baseline  the baseline alone: a sequential SDK-style bot (one pull loop, sends one
            by one, no store) against the same fake
  rules     the load with 10, 100, 1,000 and 10,000 rules
  crash     SIGKILL the kfbot binary 20 times during 10,000 messages; count exactly once
  soak      minutes of traffic with 20% injected faults: lost, duplicated, memory
  quick     small versions of all of these, in under a minute (CI)

Run "kfbench COMMAND -h" for the flags of a command. Exit status: 0 all checks passed,
1 a message lost, answered twice or answered unasked (or a run failed), 2 bad usage.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit codes.
const (
	exitOK      = 0
	exitFailed  = 1
	exitUsage   = 2
	defaultSeed = 1
)

// usageError is a flag value that makes no sense; the command exits 2.
type usageError struct{ error }

// report collects the results of one command; with -json it is printed at the end.
type report struct {
	Command string         `json:"command"`
	Machine machine        `json:"machine"`
	Loads   []*LoadResult  `json:"loads,omitempty"`
	Crashes []*CrashResult `json:"crashes,omitempty"`
	Soaks   []*SoakResult  `json:"soaks,omitempty"`
	Failed  []string       `json:"failed,omitempty"`

	w    io.Writer
	json bool
}

func (r *report) ok() bool { return len(r.Failed) == 0 }

func (r *report) addLoad(res *LoadResult) {
	r.Loads = append(r.Loads, res)
	if !res.OK() {
		r.Failed = append(r.Failed, res.Name+" "+res.Target+": exactly-once check failed")
	}
	if !r.json {
		printLoad(r.w, res)
	}
}

func (r *report) addCrash(res *CrashResult) {
	r.Crashes = append(r.Crashes, res)
	if !res.OK() {
		r.Failed = append(r.Failed, "crash: exactly-once check failed")
	}
	if !r.json {
		printCrash(r.w, res)
	}
}

func (r *report) addSoak(res *SoakResult) {
	r.Soaks = append(r.Soaks, res)
	if !res.OK() {
		r.Failed = append(r.Failed, "soak: exactly-once check failed")
	}
	if !r.json {
		printSoak(r.w, res)
	}
}

func (r *report) finish() int {
	if r.json {
		enc := json.NewEncoder(r.w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			return exitFailed
		}
	} else {
		for _, f := range r.Failed {
			fmt.Fprintf(r.w, "FAIL: %s\n", f)
		}
	}
	if !r.ok() {
		return exitFailed
	}
	return exitOK
}

// run is the whole program, for tests.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, usage)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	cmd, rest := args[0], args[1:]
	fs := flag.NewFlagSet("kfbench "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	jsonOut := fs.Bool("json", false, "print the results as JSON")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of this process to `file`")

	var body func(ctx context.Context, r *report) error
	switch cmd {
	case "load", "ceiling", "baseline", "rules":
		lc, refs, sizes := loadFlags(fs, cmd)
		body = func(ctx context.Context, r *report) error {
			bin, cleanup, err := resolveBin(ctx, lc.bin, false)
			if err != nil {
				return err
			}
			defer cleanup()
			lc.bin = bin
			switch cmd {
			case "ceiling", "baseline":
				return runReferenceCmd(ctx, r, *lc, cmd)
			case "load":
				return runLoadCmd(ctx, r, *lc, *refs)
			default:
				ns, err := parseSizes(*sizes)
				if err != nil {
					return err
				}
				return runRulesCmd(ctx, r, *lc, *refs, ns)
			}
		}
	case "crash":
		cc := crashFlags(fs)
		body = func(ctx context.Context, r *report) error {
			if err := validateShape(cc.customers, cc.accounts, cc.burst); err != nil {
				return err
			}
			if cc.messages < 2 || cc.kills < 0 || cc.stall <= 0 {
				return usageError{errors.New("-messages must be at least 2, -kills not negative, -stall positive")}
			}
			bin, cleanup, err := resolveBin(ctx, cc.bin, true)
			if err != nil {
				return err
			}
			defer cleanup()
			cc.bin = bin
			res, err := runCrash(ctx, *cc)
			if err != nil {
				return err
			}
			r.addCrash(res)
			return nil
		}
	case "soak":
		sc := soakFlags(fs)
		body = func(ctx context.Context, r *report) error {
			if err := validateShape(sc.customers, sc.accounts, sc.burst); err != nil {
				return err
			}
			if sc.rate <= 0 || sc.faults < 0 || sc.faults >= 1 || sc.duration <= 0 || sc.sample <= 0 {
				return usageError{errors.New("-rate, -duration and -sample must be positive, -faults in [0, 1)")}
			}
			bin, cleanup, err := resolveBin(ctx, sc.bin, true)
			if err != nil {
				return err
			}
			defer cleanup()
			sc.bin = bin
			if !r.json {
				fmt.Fprintf(r.w, "soak: %s at %s msgs/s with %.0f%% faults…\n", sc.duration, num(sc.rate), 100*sc.faults)
			}
			res, err := runSoak(ctx, *sc)
			if err != nil {
				return err
			}
			r.addSoak(res)
			return nil
		}
	case "quick":
		bin := fs.String("bin", "", "the kfbot binary for the crash, soak and binary runs (default: build ./cmd/kfbot)")
		body = func(ctx context.Context, r *report) error { return runQuick(ctx, r, *bin) }
	default:
		fmt.Fprintf(stderr, "kfbench: unknown command %q\n\n%s", cmd, usage)
		return exitUsage
	}
	if err := fs.Parse(rest); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "kfbench %s: unexpected argument %q\n", cmd, fs.Arg(0))
		return exitUsage
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintf(stderr, "kfbench: %v\n", err)
			return exitFailed
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(stderr, "kfbench: %v\n", err)
			return exitFailed
		}
		defer pprof.StopCPUProfile()
	}
	r := &report{Command: strings.Join(append([]string{"kfbench"}, args...), " "), Machine: thisMachine(), w: stdout, json: *jsonOut}
	if !r.json {
		printMachine(stdout, r.Machine)
	}
	if err := body(ctx, r); err != nil {
		fmt.Fprintf(stderr, "kfbench %s: %v\n", cmd, err)
		if errors.As(err, new(usageError)) {
			return exitUsage
		}
		return exitFailed
	}
	return r.finish()
}

const giveUpUsage = "a customer whose replies take this long leaves (its messages count as lost unless answered later) and a new customer takes its place; 0: wait forever"

// references says which reference bots run beside kfbot, with the same customers.
type references struct{ ceiling, baseline bool }

// loadFlags defines the flags of load, ceiling, baseline and rules.
func loadFlags(fs *flag.FlagSet, cmd string) (*loadConfig, *references, *string) {
	c := &loadConfig{}
	fs.StringVar(&c.bin, "bin", "", "drive the kfbot binary at `path` (\"build\": build ./cmd/kfbot first); default: kfbot in this process")
	fs.IntVar(&c.rules, "rules", 100, "number of rules (n−1 keyword rules and a catch-all); 0: a Go handler, in-process only")
	fs.StringVar(&c.store, "store", "memory", "in-process store: memory or badger (the binary always uses Badger)")
	fs.IntVar(&c.customers, "customers", 200, "customers")
	fs.IntVar(&c.burst, "burst", 4, "messages per burst (at most 5: WeCom allows 5 replies per customer message)")
	fs.IntVar(&c.accounts, "accounts", 1, "KF accounts (open_kfid) the customers are spread over")
	fs.Float64Var(&c.rate, "rate", 0, "messages/s over all customers; 0: closed loop, as fast as replies come")
	fs.IntVar(&c.concurrency, "concurrency", 16, "kfbot's conversations in parallel (bot.WithConcurrency, KFBOT_CONCURRENCY)")
	fs.IntVar(&c.senders, "senders", 16, "the ceiling's sender goroutines")
	fs.StringVar(&c.poke, "poke", "callback", "in-process: callback (signed callbacks over HTTP) or direct (bot.Notify)")
	fs.DurationVar(&c.warmup, "warmup", 2*time.Second, "load before measuring")
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "measurement window")
	fs.DurationVar(&c.drain, "drain", 30*time.Second, "longest wait for the replies in flight after the window")
	fs.DurationVar(&c.giveUp, "give-up", 10*time.Second, giveUpUsage)
	fs.Int64Var(&c.seed, "seed", defaultSeed, "random seed (texts, fake server)")
	fs.DurationVar(&c.rtt, "rtt", 0, "delay every API call of the fake by this `duration` (WeCom's round trip is about 30ms), for kfbot and the references alike")
	fs.IntVar(&c.pagesAhead, "pages-in-flight", 0, "kfbot's sync_msg pages in flight (bot.WithPagesInFlight, KFBOT_PAGES_IN_FLIGHT); 0: kfbot's default, 1: page by page")
	refs := &references{}
	fs.BoolVar(&refs.ceiling, "ceiling", cmd == "load" || cmd == "rules", "also run the ceiling with the same customers and report kfbot as a fraction of it")
	fs.BoolVar(&refs.baseline, "baseline", cmd == "load", "also run the baseline (a sequential SDK-style bot) and report kfbot as a multiple of it")
	sizes := fs.String("sizes", "10,100,1000,10000", "rules: the rule counts to run")
	return c, refs, sizes
}

func crashFlags(fs *flag.FlagSet) *crashConfig {
	c := &crashConfig{}
	fs.StringVar(&c.bin, "bin", "", "the kfbot binary (default: build ./cmd/kfbot into a temporary directory)")
	fs.Int64Var(&c.messages, "messages", 10000, "customer messages in the stream")
	fs.IntVar(&c.kills, "kills", 20, "SIGKILLs during the stream")
	fs.IntVar(&c.customers, "customers", 200, "customers")
	fs.IntVar(&c.burst, "burst", 4, "messages per burst")
	fs.IntVar(&c.accounts, "accounts", 1, "KF accounts")
	fs.IntVar(&c.rules, "rules", 100, "number of rules")
	fs.IntVar(&c.concurrency, "concurrency", 16, "KFBOT_CONCURRENCY")
	fs.Int64Var(&c.seed, "seed", defaultSeed, "random seed (kill points, texts, fake server)")
	fs.DurationVar(&c.repoke, "repoke", time.Second, "post a customer's callback again when its replies take this long")
	fs.DurationVar(&c.giveUp, "give-up", 5*time.Second, giveUpUsage)
	fs.DurationVar(&c.stall, "stall", 10*time.Second, "go on (to the next kill, or to counting) when no reply came for this long")
	fs.DurationVar(&c.wait, "wait", 5*time.Minute, "longest wait for any step")
	fs.StringVar(&c.logLevel, "log-level", "info", "kfbot's KFBOT_LOG_LEVEL (its last lines are shown when replies stop coming)")
	return c
}

func soakFlags(fs *flag.FlagSet) *soakConfig {
	c := &soakConfig{}
	fs.StringVar(&c.bin, "bin", "", "the kfbot binary (default: build ./cmd/kfbot into a temporary directory)")
	fs.DurationVar(&c.duration, "duration", 10*time.Minute, "how long to send")
	fs.DurationVar(&c.sample, "sample", 10*time.Second, "memory sampling interval")
	fs.DurationVar(&c.drain, "drain", time.Minute, "longest wait for the replies in flight at the end")
	fs.DurationVar(&c.giveUp, "give-up", 30*time.Second, giveUpUsage)
	fs.Float64Var(&c.rate, "rate", 300, "messages/s offered (customers wait for their replies, so a slower bot gets less)")
	fs.Float64Var(&c.faults, "faults", 0.2, "share of the fake's requests that see a fault")
	fs.IntVar(&c.customers, "customers", 1000, "customers")
	fs.IntVar(&c.burst, "burst", 4, "messages per burst")
	fs.IntVar(&c.accounts, "accounts", 1, "KF accounts")
	fs.IntVar(&c.rules, "rules", 100, "number of rules")
	fs.IntVar(&c.concurrency, "concurrency", 16, "KFBOT_CONCURRENCY")
	fs.Int64Var(&c.seed, "seed", defaultSeed, "random seed")
	fs.Float64Var(&c.flat, "flat", 1.25, "memory is flat when the median of the last third of the samples is at most this times the first third's")
	fs.DurationVar(&c.settle, "settle", 6*time.Minute, "leave the samples of the first settle out of the flatness check (start-up, and the router's 5-minute window of callback nonces filling)")
	return c
}

func parseSizes(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, usageError{fmt.Errorf("-sizes: %q is not a rule count ≥ 1", f)}
		}
		out = append(out, n)
	}
	return out, nil
}

// validateShape checks the customers, accounts and burst flags.
func validateShape(customers, accounts, burst int) error {
	switch {
	case customers < 1 || accounts < 1 || accounts > customers:
		return usageError{errors.New("-customers and -accounts must be ≥ 1, with at least one customer per account")}
	case burst < 1 || burst > 5:
		return usageError{errors.New("-burst must be 1–5: WeCom allows 5 replies after a customer's last message")}
	}
	return nil
}

func (c loadConfig) validate() error {
	if err := validateShape(c.customers, c.accounts, c.burst); err != nil {
		return err
	}
	switch {
	case c.rate < 0 || c.duration <= 0 || c.warmup < 0 || c.rtt < 0:
		return usageError{errors.New("-rate, -warmup, -duration and -rtt must not be negative")}
	case c.pagesAhead < 0 || c.pagesAhead > 64:
		return usageError{errors.New("-pages-in-flight must be 0 (kfbot's default) to 64")}
	case c.poke != "callback" && c.poke != "direct":
		return usageError{errors.New("-poke must be callback or direct")}
	case c.bin != "" && c.poke == "direct":
		return usageError{errors.New("-poke direct needs kfbot in this process (no -bin)")}
	}
	return nil
}

// runReferenceCmd runs the ceiling or the baseline alone.
func runReferenceCmd(ctx context.Context, r *report, c loadConfig, which string) error {
	if err := c.validate(); err != nil {
		return err
	}
	c.ceiling, c.baseline = which == "ceiling", which == "baseline"
	res, err := runLoad(ctx, c)
	if err != nil {
		return err
	}
	r.addLoad(res)
	return nil
}

// runReferences runs the references refs asks for with c's customers and returns a
// function that puts a kfbot result beside them.
func runReferences(ctx context.Context, r *report, c loadConfig, refs references) (compare func(*LoadResult), err error) {
	var ceiling, baseline *LoadResult
	if refs.ceiling {
		cc := c
		cc.ceiling = true
		if ceiling, err = runLoad(ctx, cc); err != nil {
			return nil, fmt.Errorf("ceiling: %w", err)
		}
		r.addLoad(ceiling)
	}
	if refs.baseline {
		cc := c
		cc.baseline = true
		if baseline, err = runLoad(ctx, cc); err != nil {
			return nil, fmt.Errorf("baseline: %w", err)
		}
		r.addLoad(baseline)
	}
	return func(res *LoadResult) {
		if ceiling != nil && ceiling.MsgsPerSec > 0 {
			res.OfCeiling = res.MsgsPerSec / ceiling.MsgsPerSec
		}
		if baseline != nil && baseline.MsgsPerSec > 0 {
			res.TimesBaseline = res.MsgsPerSec / baseline.MsgsPerSec
		}
	}, nil
}

func runLoadCmd(ctx context.Context, r *report, c loadConfig, refs references) error {
	if err := c.validate(); err != nil {
		return err
	}
	compare, err := runReferences(ctx, r, c, refs)
	if err != nil {
		return err
	}
	res, err := runLoad(ctx, c)
	if err != nil {
		return err
	}
	compare(res)
	r.addLoad(res)
	return nil
}

func runRulesCmd(ctx context.Context, r *report, c loadConfig, refs references, sizes []int) error {
	if err := c.validate(); err != nil {
		return err
	}
	compare, err := runReferences(ctx, r, c, refs)
	if err != nil {
		return err
	}
	var all []*LoadResult
	for _, n := range sizes {
		c.rules = n
		c.text = nil
		res, err := runLoad(ctx, c)
		if err != nil {
			return fmt.Errorf("%d rules: %w", n, err)
		}
		compare(res)
		r.addLoad(res)
		all = append(all, res)
	}
	if !r.json {
		printRulesTable(r.w, all)
	}
	return nil
}
