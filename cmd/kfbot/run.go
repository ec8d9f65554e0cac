package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/kfbot/kfbot/bot"
	"github.com/kfbot/kfbot/kf"
	"github.com/kfbot/kfbot/router"
	"github.com/kfbot/kfbot/rules"
	"github.com/kfbot/kfbot/storage"
	"github.com/kfbot/kfbot/storage/badgerstore"
)

const runUsage = `Usage: kfbot run [flags]

Serves the bot: the WeCom callback (GET/POST /callback), /healthz, /readyz and /metrics
(on -admin-listen instead when set, with /debug/pprof/ when -pprof).
Settings come from an optional YAML file (-config), then the environment, then flags.
Secrets (KFBOT_SECRET, KFBOT_CALLBACK_TOKEN, KFBOT_ENCODING_AES_KEY) have no flags.
SIGTERM or SIGINT drains and exits 0; SIGHUP reloads the rule file.

Flags:
`

// runCmd is `kfbot run`.
func (m *Main) runCmd(ctx context.Context, args []string) error {
	// Catch SIGHUP from the start: its default action would kill the process.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	fset := flag.NewFlagSet("kfbot run", flag.ContinueOnError)
	fset.SetOutput(m.Stderr)
	given, configPath := runFlags(fset)
	fset.Usage = func() {
		fmt.Fprint(fset.Output(), runUsage)
		fset.PrintDefaults()
		fmt.Fprint(fset.Output(), "\nEnvironment:\n")
		for _, s := range settings {
			fmt.Fprintf(fset.Output(), "  %-24s %s\n", s.env, strings.ReplaceAll(s.usage, "`", ""))
		}
		fmt.Fprintf(fset.Output(), "  %-24s %s\n", configEnv, "config file, when -config is not given")
	}
	if err := parseFlags(fset, "run", args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fset.NArg() > 0 {
		return &usageError{msg: fmt.Sprintf("run: unexpected argument %q (settings are flags, e.g. -rules FILE)", fset.Arg(0))}
	}

	cfg, err := LoadConfig(*configPath, *given, m.LookupEnv)
	var problems []string
	if err != nil {
		var ce *ConfigError
		if !errors.As(err, &ce) {
			return err
		}
		problems = ce.Problems
	}
	logger := newLogger(m.Stderr, cfg.LogLevel, cfg.LogFormat)
	met := newMetrics()

	var live *rules.Live
	if cfg.Rules != "" {
		ropts := []rules.Option{rules.WithLogger(logger), rules.WithReloadFunc(met.rulesReloaded)}
		model, merr := cfg.aiBackend()
		if merr == nil && model != nil {
			ropts = append(ropts, rules.WithModel(model, cfg.aiOptions(aiObserver{met})...))
		}
		live, err = rules.Open(cfg.Rules, ropts...)
		switch {
		case err != nil:
			problems = append(problems, rulesProblems(cfg.Rules, err)...)
		case model == nil && merr == nil && live.Set().UsesAI():
			problems = append(problems, fmt.Sprintf("%s uses ai actions but no model is set: set KFBOT_AI_BASE_URL and KFBOT_AI_MODEL (and KFBOT_AI_API_KEY; KFBOT_AI_BACKEND=dify for Dify)", cfg.Rules))
		}
	}
	mws, perrs := buildPlugins(cfg.Plugins)
	problems = append(problems, perrs...)
	if len(problems) > 0 {
		return &ConfigError{Problems: problems}
	}
	met.rulesLoaded.Set(float64(live.Set().Len()))
	logger.Info("kfbot: starting", append([]any{"version", Version()}, cfg.Redacted()...)...)
	if live != nil && live.Set().UsesAI() && (cfg.Transcripts == "" || cfg.Transcripts == "off") {
		logger.Warn("kfbot: the model sees only the current question: set KFBOT_TRANSCRIPTS=on to give it the conversation's history")
	}

	start := time.Now()
	store, err := badgerstore.Open(cfg.DataDir, badgerstore.WithLogger(logger))
	if err != nil {
		if errors.Is(err, badgerstore.ErrLocked) {
			return fmt.Errorf("data directory %s is in use by another kfbot process; stop that process, or set KFBOT_DATA_DIR (-data) to another directory: %w", cfg.DataDir, err)
		}
		return fmt.Errorf("open data directory %s (KFBOT_DATA_DIR): %w", cfg.DataDir, err)
	}
	met.watchStore(store)
	defer func() {
		if err := store.Close(); err != nil {
			logger.Error("kfbot: close data directory", "err", err)
		}
	}()
	logger.Debug("kfbot: store open", "dir", store.Dir(), "duration", time.Since(start))

	client := kf.NewClient(cfg.CorpID, cfg.Secret, kf.WithBaseURL(cfg.APIBase), kf.WithLogger(logger))
	started := make(chan struct{})
	check := newCredCheck()
	opts := []bot.Option{
		bot.WithLogger(logger),
		bot.WithObserver(checkedObserver{metrics: met, check: check, logger: logger}),
		bot.WithConcurrency(cfg.Concurrency),
		bot.WithPagesInFlight(cfg.PagesInFlight),
		bot.WithColdStartAge(time.Duration(cfg.ColdStartAge)),
		bot.WithShutdownTimeout(time.Duration(cfg.ShutdownTimeout)),
	}
	if cfg.PollInterval > 0 {
		opts = append(opts, bot.WithPollInterval(time.Duration(cfg.PollInterval)))
	}
	if cfg.ContactSecret != "" {
		// Its own token cache: one per secret.
		opts = append(opts, bot.WithContactClient(kf.NewClient(cfg.CorpID, cfg.ContactSecret, kf.WithBaseURL(cfg.APIBase), kf.WithLogger(logger))))
	}
	if len(cfg.Accounts) > 0 {
		opts = append(opts, bot.WithAccounts(cfg.Accounts...))
	}
	if mode, _ := bot.ParseTranscriptMode(cfg.Transcripts); mode != bot.TranscriptsOff { // validated
		opts = append(opts, bot.WithTranscripts(mode, storage.TranscriptLimits{
			TTL: time.Duration(cfg.TranscriptTTL), MaxTurns: cfg.TranscriptMaxTurns}))
	}
	b, err := bot.New(client, store, opts...)
	if err != nil {
		return &ConfigError{Problems: []string{err.Error()}}
	}
	b.OnStart(func(context.Context) error { close(started); return nil })
	if len(mws) > 0 {
		b.Use(mws...)
	}
	if err := b.Install(live); err != nil {
		return fmt.Errorf("install rules: %w", err)
	}
	if err := b.SetHandback(cfg.handback(b.Handback())); err != nil {
		return &ConfigError{Problems: []string{err.Error()}}
	}
	if hb := b.Handback(); hb.PoolTimeout > 0 || hb.IdleTimeout > 0 {
		logger.Info("kfbot: conversations come back to the bot by timeout", "pool_timeout", hb.PoolTimeout, "idle_timeout", hb.IdleTimeout)
	}

	var ready atomic.Bool
	readyFunc := func(ctx context.Context) error {
		if !ready.Load() {
			return errNotReady
		}
		if err := check.Err(); err != nil {
			return err
		}
		return b.Ready(ctx)
	}
	// With an admin listener, /metrics is served there only.
	mainMetrics := met.Handler()
	if cfg.AdminListen != "" {
		mainMetrics = nil
	}
	h, err := router.New(router.Config{
		Token:          cfg.CallbackToken,
		EncodingAESKey: cfg.EncodingAESKey,
		CorpID:         cfg.CorpID,
		Logger:         logger,
		Ready:          readyFunc,
		Metrics:        mainMetrics,
		MetricsToken:   cfg.MetricsToken,
		Observe:        met.Observe,
	}, b)
	if err != nil {
		return &ConfigError{Problems: []string{err.Error()}}
	}

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s (KFBOT_LISTEN, -listen): %w", cfg.Listen, err)
	}
	// Tests and scripts read the bound address here (KFBOT_LISTEN=127.0.0.1:0).
	logger.Info("kfbot: listening", "addr", ln.Addr().String())
	// Bounded against slow clients: read deadlines, a header cap and a connection cap.
	sc := router.ServerConfig{Logger: logger}
	srv := router.NewServer(h, sc)
	ln = router.LimitListener(ln, sc)

	var admin *adminServer
	if cfg.AdminListen != "" {
		admin, err = listenAdmin(cfg, met.Handler(), readyFunc, logger)
		if err != nil {
			ln.Close()
			return err
		}
	}

	// The bot stops after the HTTP server, so that callbacks accepted during the drain
	// are not lost; it gets its own context.
	botCtx, cancelBot := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelBot()
	runErr := make(chan error, 1)
	go func() { runErr <- b.Run(botCtx) }()
	select {
	case <-started:
	case err := <-runErr:
		ln.Close()
		admin.close()
		return fmt.Errorf("start bot: %w", err)
	case <-ctx.Done():
		ln.Close()
		admin.close()
		cancelBot()
		return <-runErr
	}

	// Serve only now: /healthz answers 200 once the store is open and the bot runs.
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	adminErr := admin.serve()
	ready.Store(true)
	met.ready.Set(1)
	logger.Info("kfbot: ready", "addr", ln.Addr().String(), "startup", time.Since(start).Round(time.Millisecond),
		"rules", live.Set().Len())

	checkCtx, cancelCheck := context.WithCancel(ctx)
	defer cancelCheck()
	go check.run(checkCtx, client, cfg.APIBase, logger)

	watchCtx, cancelWatch := context.WithCancel(ctx)
	defer cancelWatch()
	watchDone := make(chan struct{})
	if cfg.RulesWatch {
		go func() {
			defer close(watchDone)
			if err := live.Watch(watchCtx); err != nil {
				logger.Warn("kfbot: cannot watch the rule file; SIGHUP still reloads it", "err", err)
			}
		}()
	} else {
		close(watchDone)
	}

	var failure error
	botDone := false
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-hup:
			logger.Info("kfbot: SIGHUP: reloading the rule file", "file", cfg.Rules)
			_ = live.Reload(ctx) // failures are logged and keep the current rules
		case err := <-serveErr:
			failure = fmt.Errorf("serve http: %w", err)
			break loop
		case err := <-adminErr:
			failure = fmt.Errorf("serve the admin listener (KFBOT_ADMIN_LISTEN): %w", err)
			break loop
		case err := <-runErr:
			botDone = true
			if err == nil {
				err = errors.New("stopped unexpectedly")
			}
			failure = fmt.Errorf("bot: %w", err)
			break loop
		}
	}

	logger.Info("kfbot: shutting down")
	ready.Store(false)
	met.ready.Set(0)
	shCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Duration(cfg.ShutdownTimeout)+5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shCtx); err != nil {
		logger.Warn("kfbot: http shutdown", "err", err)
	}
	admin.shutdown(shCtx, logger)
	cancelWatch()
	<-watchDone
	cancelBot()
	if !botDone {
		if err := <-runErr; err != nil && failure == nil {
			failure = fmt.Errorf("bot: %w", err)
		}
	}
	logger.Info("kfbot: stopped")
	return failure
}

// rulesProblems turns a rules load error into configuration problems.
func rulesProblems(path string, err error) []string {
	if errors.Is(err, fs.ErrNotExist) {
		return []string{fmt.Sprintf("rules: %s does not exist; set KFBOT_RULES (or -rules, or rules: in the config file) to your rule file (examples/rules.yaml shows the format)", path)}
	}
	var out []string
	for _, e := range rules.Errors(err) {
		out = append(out, "rules: "+e.Error())
	}
	return out
}
