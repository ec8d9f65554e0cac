package rules

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/kfbot/kfbot/bot"
)

// Live is a rule file that can be reloaded while the bot runs: it holds the current
// [Set] behind an atomic pointer, and [Live.Reload] or [Live.Watch] swap in a new one
// only when the whole file loads; otherwise the current set stays and the errors are
// logged (and returned by Reload). The actions of one message always run against one
// set. A Live is a [bot.Plugin] like a Set and is safe for concurrent use.
type Live struct {
	path string
	opts []Option
	o    options // resolved, for the logger, debounce and reload func
	cur  atomic.Pointer[Set]
	mu   sync.Mutex // serialises reloads
	sum  [sha256.Size]byte
}

// Open loads the rule file at path and returns a Live holding it. It fails, with every
// problem, when the file does not load. opts apply to every reload.
func Open(path string, opts ...Option) (*Live, error) {
	o := newOptions(opts)
	l := &Live{path: path, o: o}
	// One media cache for every set this Live loads: a reload does not upload the
	// same files again.
	l.opts = append(append([]Option{}, opts...), withMedia(o.media))
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("rules: load %s: %w", path, err)
	}
	s, err := load(src, path, newOptions(l.opts))
	if err != nil {
		return nil, err
	}
	l.cur.Store(s)
	l.sum = sha256.Sum256(src)
	l.warn(s)
	return l, nil
}

// warn logs the set's warnings (suspicious but valid rules), one record each.
func (l *Live) warn(s *Set) {
	for _, w := range s.Warnings() {
		l.o.log.Warn("rules: "+w.Error(), slog.String(LogKeyFile, l.path))
	}
}

// Set returns the current rule set.
func (l *Live) Set() *Set { return l.cur.Load() }

// Reload reads and compiles the file again and, if it loads, makes it the current set.
// If it does not, the current set stays, and the errors are logged and returned.
// A file whose content did not change is not compiled again. Safe for concurrent use;
// reloads are serialised. Call it on SIGHUP, for example.
func (l *Live) Reload(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	start := time.Now()
	src, err := os.ReadFile(l.path)
	if err != nil {
		err = fmt.Errorf("rules: reload %s: %w", l.path, err)
		l.failed(err)
		return err
	}
	sum := sha256.Sum256(src)
	if bytes.Equal(sum[:], l.sum[:]) {
		return nil
	}
	s, err := load(src, l.path, newOptions(l.opts))
	if err != nil {
		l.failed(err)
		return err
	}
	old := l.cur.Swap(s)
	l.sum = sum
	if !equalHandback(old.handback, s.handback) {
		l.o.log.Warn("rules: the handback section changed; it takes effect when kfbot restarts", slog.String(LogKeyFile, l.path))
	}
	l.o.log.Info("rules: reloaded", slog.String(LogKeyFile, l.path), slog.Int(LogKeyCount, s.Len()),
		slog.Duration(LogKeyDuration, time.Since(start)))
	l.warn(s)
	if l.o.onReload != nil {
		l.o.onReload(s, nil)
	}
	return nil
}

func (l *Live) failed(err error) {
	l.o.log.Error("rules: reload failed; keeping the current rules", slog.String(LogKeyFile, l.path),
		slog.Any(LogKeyError, err))
	if l.o.onReload != nil {
		l.o.onReload(l.cur.Load(), err)
	}
}

// Watch reloads the file whenever it changes, until ctx is done; then it returns nil.
// It watches the file's directory, not the file, so that editors and Kubernetes
// ConfigMaps, which replace the file (rename, symlink swap), keep being seen, and it
// waits until changes have been quiet for the debounce delay ([WithDebounce], default
// 200 ms) before it reloads. It returns an error only when the watch cannot start.
func (l *Live) Watch(ctx context.Context) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("rules: watch %s: %w", l.path, err)
	}
	defer w.Close()
	dir := filepath.Dir(l.path)
	if err := w.Add(dir); err != nil {
		return fmt.Errorf("rules: watch %s: %w", dir, err)
	}
	base := filepath.Base(l.path)
	changes := make(chan struct{}, 1)
	errs := make(chan error, 1)
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				name := filepath.Base(ev.Name)
				// The file itself, or a Kubernetes ConfigMap's "..data" symlink swap.
				if name == base || strings.HasPrefix(name, "..") {
					select {
					case changes <- struct{}{}:
					default:
					}
				}
			case err, ok := <-w.Errors:
				if !ok {
					return
				}
				select {
				case errs <- err:
				default:
				}
			case <-done:
				return
			}
		}
	}()
	l.watchLoop(ctx, changes, errs)
	return nil
}

// watchLoop reloads after each burst of changes, once they have been quiet for the
// debounce delay, until ctx is done. Separate from fsnotify so that tests can drive it
// with a fake clock.
func (l *Live) watchLoop(ctx context.Context, changes <-chan struct{}, errs <-chan error) {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-changes:
			timer.Reset(l.o.debounce)
		case err := <-errs:
			l.o.log.Warn("rules: file watch error", slog.String(LogKeyFile, l.path), slog.Any(LogKeyError, err))
		case <-timer.C:
			if err := l.Reload(ctx); err != nil && errors.Is(err, context.Canceled) {
				return
			}
		}
	}
}

// Name implements [bot.Plugin]: "rules".
func (l *Live) Name() string { return "rules" }

// Install implements [bot.Plugin] as [Set.Install] does, with the current set at the
// time of each message.
func (l *Live) Install(b *bot.Bot) error {
	s := l.Set()
	// The callback route is always there: a reload may add callback rules.
	cb := func(c *bot.Context) error { return l.Set().handleCallback(c) }
	if err := install(b, s, l.Matcher(), l.Handler(), cb); err != nil {
		return err
	}
	l.o.log.Info("rules: installed", slog.String(LogKeyFile, l.path), slog.Int(LogKeyCount, s.Len()))
	return nil
}

// Matcher is [Set.Matcher] of the current set.
func (l *Live) Matcher() bot.Matcher {
	return func(c *bot.Context) bool { return l.Set().matches(c) }
}

// Handler is [Set.Handler] of the current set. A reload between the matcher and the
// handler of one message is possible; the handler then runs the new set (which may
// match nothing and do nothing).
func (l *Live) Handler() bot.HandlerFunc {
	return func(c *bot.Context) error { return l.Set().handle(c) }
}

func equalHandback(a, b *bot.Handback) bool {
	return a == b || a != nil && b != nil && *a == *b
}
