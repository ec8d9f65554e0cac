package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/kfbot/kfbot/bot"
	"github.com/kfbot/kfbot/kf"
	"github.com/kfbot/kfbot/kf/syncmsg"
	"github.com/kfbot/kfbot/router"
	"github.com/kfbot/kfbot/rules"
	"github.com/kfbot/kfbot/storage"
	"github.com/kfbot/kfbot/storage/badgerstore"
	"github.com/kfbot/kfbot/storage/storagetest"
)

// A poker tells the bot under test that an account has new messages.
type poker func(ctx context.Context, openKFID string) error

// target is what the customers talk to: kfbot in this process, the kfbot binary, or the
// ceiling's direct client.
type target interface {
	// poker returns how customers announce new messages.
	poker() poker
	// stats returns the resources of the process that runs the bot.
	stats(ctx context.Context) procStats
	// close stops the bot.
	close() error
}

var quietLog = slog.New(slog.DiscardHandler)

// inprocConfig configures the whole kfbot stack in this process.
type inprocConfig struct {
	rules       int    // 0: a Go handler
	store       string // "memory" or "badger"
	concurrency int
	poke        string // "callback" or "direct"
	accounts    []string
	pagesAhead  int // bot.WithPagesInFlight; 0: the default
}

// inproc is kfbot in this process: engine, rules, store and router on a loopback
// listener, talking to the fake over loopback HTTP like the binary.
type inproc struct {
	f        *fake
	b        *bot.Bot
	store    storage.Store
	ops      *storagetest.Counting // store wraps it: kfbot's store operations
	dir      string
	hs       *http.Server
	url      string
	hc       *http.Client
	poke     string
	cancel   context.CancelFunc
	runDone  chan error
	loadTime time.Duration
}

func startInproc(f *fake, cfg inprocConfig) (_ *inproc, err error) {
	p := &inproc{f: f, poke: cfg.poke}
	defer func() {
		if err != nil {
			_ = p.close()
		}
	}()
	switch cfg.store {
	case "memory", "":
		p.store = storage.NewMemory()
	case "badger":
		if p.dir, err = os.MkdirTemp("", "kfbench-data-"); err != nil {
			return nil, err
		}
		if p.store, err = badgerstore.Open(p.dir, badgerstore.WithLogger(quietLog)); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("unknown store %q (memory or badger)", cfg.store)
	}
	client := kf.NewClient(f.srv.CorpID(), f.srv.Secret(), kf.WithBaseURL(f.url), kf.WithLogger(quietLog))
	p.ops = &storagetest.Counting{Store: p.store}
	opts := []bot.Option{bot.WithLogger(quietLog), bot.WithConcurrency(cfg.concurrency),
		bot.WithColdStartAge(0), bot.WithAccounts(cfg.accounts...)}
	if cfg.pagesAhead > 0 {
		opts = append(opts, bot.WithPagesInFlight(cfg.pagesAhead))
	}
	p.b, err = bot.New(client, p.ops, opts...)
	if err != nil {
		return nil, err
	}
	if cfg.rules > 0 {
		start := time.Now()
		set, err := rules.Load(bytes.NewReader(rulesYAML(cfg.rules)), "kfbench-rules.yaml", rules.WithLogger(quietLog))
		if err != nil {
			return nil, fmt.Errorf("load generated rules: %w", err)
		}
		p.loadTime = time.Since(start)
		if err := p.b.Install(set); err != nil {
			return nil, err
		}
	} else {
		p.b.Handle(bot.MsgType(syncmsg.TypeText), func(c *bot.Context) error {
			return c.ReplyText(replyPrefix + c.MsgID())
		})
	}
	token, key := f.srv.CallbackConfig()
	h, err := router.New(router.Config{Token: token, EncodingAESKey: key, CorpID: f.srv.CorpID(), Logger: quietLog}, p.b)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p.url = "http://" + ln.Addr().String() + router.DefaultPath
	p.hs = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	go func() { _ = p.hs.Serve(ln) }()
	p.hc = callbackClient()
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	p.runDone = make(chan error, 1)
	go func() { p.runDone <- p.b.Run(ctx) }()
	return p, nil
}

func (p *inproc) poker() poker {
	if p.poke == "direct" {
		return func(_ context.Context, openKFID string) error {
			p.b.Notify(openKFID, p.f.srv.CallbackToken(openKFID))
			return nil
		}
	}
	return callbackPoker(p.f, p.url, p.hc)
}

func (p *inproc) stats(context.Context) procStats { return selfStats() }

func (p *inproc) close() error {
	var errs []error
	if p.hs != nil {
		// The customers are done: no callback is in flight. (Shutdown would wait 5 s for
		// connections the callback client dialled but never used.)
		errs = append(errs, p.hs.Close())
	}
	if p.cancel != nil {
		p.cancel()
		errs = append(errs, <-p.runDone)
	}
	if p.store != nil {
		errs = append(errs, p.store.Close())
	}
	if p.dir != "" {
		errs = append(errs, os.RemoveAll(p.dir))
	}
	return errors.Join(errs...)
}

// callbackClient is the HTTP client customers post callbacks with.
func callbackClient() *http.Client {
	return &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, IdleConnTimeout: time.Minute},
	}
}

// callbackPoker posts the signed, encrypted kf_msg_or_event callback WeCom would send.
func callbackPoker(f *fake, url string, hc *http.Client) poker {
	return func(ctx context.Context, openKFID string) error {
		req, err := f.srv.NewCallbackRequest(url, openKFID)
		if err != nil {
			return err
		}
		resp, err := hc.Do(req.WithContext(ctx))
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("callback: HTTP %d", resp.StatusCode)
		}
		return nil
	}
}
