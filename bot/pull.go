package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/kfbot/kfbot/internal/backoff"
	"github.com/kfbot/kfbot/kf"
	"github.com/kfbot/kfbot/storage"
)

// callbackTokenLife is how long a callback Token authorises sync_msg (10 minutes), less a
// margin for clock skew and the time a pull takes.
const callbackTokenLife = 9 * time.Minute

// errPageIncomplete: a message could not be handled for a transient reason (WeCom or the
// store failing); the page is pulled again after a delay, and what was done is skipped.
var errPageIncomplete = errors.New("bot: page not fully handled (transient failure); it will be pulled again")

// errLeaseHeld: another replica is pulling this account; try again later.
var errLeaseHeld = errors.New("bot: another instance holds the pull lease")

// errStuckCursor: WeCom said has_more but gave no new cursor, so the next pull would ask
// for the same page again. The account backs off instead of spinning.
var errStuckCursor = errors.New("bot: sync_msg answered has_more=1 without a new next_cursor; backing off instead of asking for the same page again")

// noSpaceRetry caps the pause between passes while the store refuses writes for lack of
// disk space, so pulling resumes within seconds of the space being freed.
const noSpaceRetry = 5 * time.Second

// account is the pull state of one KF account: a dirty-bit runner (a poke during a pass
// asks for exactly one more pass, so pokes coalesce) plus the freshest callback token and
// what the last pass ended with.
type account struct {
	running  bool // a puller goroutine exists
	dirty    bool // a poke arrived during the pull: run one more pass
	token    string
	tokenAt  time.Time
	progress bool // the pass handled at least one message

	retry   *backoff.Backoff // the pause after a failed pass; reset by a success
	wake    chan struct{}    // a poke during the pause after a failure (buffered, 1)
	passed  bool             // a pass has ended, so lastErr says something
	lastErr error            // how the last pass ended; nil when it succeeded
	noSpace bool             // the store is refusing writes for lack of disk space
}

// Notify tells the bot that openKFID has new messages; token is the callback Token that
// authorises the pull (may be empty). It never blocks: pokes that arrive while the account
// is being pulled cause exactly one more pass. An empty openKFID pulls every known account.
// Pokes received before Run are remembered and served when it starts. Safe for concurrent
// use.
func (b *Bot) Notify(openKFID, token string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if openKFID == "" {
		for id, a := range b.accounts {
			b.triggerLocked(id, a)
		}
		return
	}
	a := b.accountLocked(openKFID)
	if token != "" {
		a.token, a.tokenAt = token, b.opts.now()
	}
	b.triggerLocked(openKFID, a)
}

// AccountsChanged handles a kf_account_auth_change callback: added accounts are pulled at
// once; removed ones are forgotten.
func (b *Bot) AccountsChanged(added, removed []string) {
	for _, id := range added {
		b.Notify(id, "")
	}
	b.mu.Lock()
	for _, id := range removed {
		if a, ok := b.accounts[id]; ok && !a.running {
			delete(b.accounts, id)
		}
	}
	b.mu.Unlock()
	b.log.Info("bot: KF accounts changed", slog.Any("added", added), slog.Any("removed", removed))
}

func (b *Bot) accountLocked(id string) *account {
	a := b.accounts[id]
	if a == nil {
		a = &account{retry: backoff.New(b.opts.retryDelay, b.opts.maxRetryDelay), wake: make(chan struct{}, 1)}
		b.accounts[id] = a
	}
	return a
}

// triggerLocked starts a puller for id, or marks the running one dirty.
func (b *Bot) triggerLocked(id string, a *account) {
	if a.running {
		a.dirty = true
		select { // cut short a pause after a failure (the floor still applies)
		case a.wake <- struct{}{}:
		default:
		}
		return
	}
	if b.pullCtx == nil || b.stopping {
		a.dirty = true // served when Run starts pulling
		return
	}
	a.running, a.dirty = true, false
	b.pullers.Add(1)
	go b.pullLoop(id, a)
}

// pullLoop runs passes for one account until no poke is pending. While pokes keep
// coming, each pass pulls on from where the last one stopped while the last one's pages
// are still being handled (see pipe). A failed pass is retried after a capped, jittered,
// growing pause (internal/backoff), so a WeCom outage degrades into late replies, not
// lost ones. A poke during the pause cuts it short, but never below the floor (the base
// retry delay) after the failed attempt, so a failing WeCom is not hammered; a pass that
// made progress is retried almost at once.
func (b *Bot) pullLoop(id string, a *account) {
	defer b.pullers.Done()
	b.mu.Lock()
	stop, work := b.pullCtx, b.workCtx
	b.mu.Unlock()
	p := b.newPipe(stop, work, id)
	for {
		err := p.pass()
		b.mu.Lock()
		again := err == nil && a.dirty && stop.Err() == nil
		if again {
			a.dirty = false
		}
		b.mu.Unlock()
		if again {
			continue
		}
		if werr := p.wait(); err == nil {
			err = werr
		}
		progress := p.tookProgress()
		// Give the lease up before the account can be pulled by a new loop, or by another
		// replica during the pause after a failure.
		_ = p.close()
		failedAt := time.Now()
		b.mu.Lock()
		a.progress = progress
		if stop.Err() != nil {
			a.running = false
			b.mu.Unlock()
			return
		}
		if err == nil {
			b.passSucceededLocked(id, a)
			if a.dirty {
				a.dirty = false
				b.mu.Unlock()
				continue
			}
			a.running = false
			b.mu.Unlock()
			return
		}
		delay, floor, logFailure := b.passFailedLocked(id, a, err)
		// A poke that came during the pass is answered by the retry below; drain its
		// wake-up so that only pokes during the pause cut it short.
		select {
		case <-a.wake:
		default:
		}
		b.mu.Unlock()
		logFailure()
		b.pause(stop, a, failedAt, delay, floor)
		b.mu.Lock()
		a.dirty = false
		b.mu.Unlock()
	}
}

// passSucceededLocked records a successful pass.
func (b *Bot) passSucceededLocked(id string, a *account) {
	a.retry.Reset()
	a.passed, a.lastErr = true, nil
	if a.noSpace {
		a.noSpace = false
		b.log.Info("bot: the store accepts writes again; pulling resumed", slog.String(LogKeyOpenKFID, id))
	}
}

// passFailedLocked records a failed pass and returns the pause before the next attempt,
// the floor below which a poke may not cut it, and the logging of the failure, to be
// called after b.mu is released.
func (b *Bot) passFailedLocked(id string, a *account, err error) (delay, floor time.Duration, logFailure func()) {
	floor = b.opts.retryDelay
	delay = max(a.retry.Next(), floor)
	level := slog.LevelError
	msg := "bot: pull failed; retrying"
	a.passed, a.lastErr = true, err
	switch {
	case errors.Is(err, errPageIncomplete) && a.progress:
		// Some messages failed for now, others went through: go again soon, skipping
		// what was done, instead of backing off as for an outage.
		a.retry.Reset()
		delay, floor = min(delay, 50*time.Millisecond), 0
		level = slog.LevelWarn
		a.lastErr = nil // the account is working
	case errors.Is(err, errLeaseHeld):
		level = slog.LevelDebug
		a.lastErr = nil // another replica serves the account
	case errors.Is(err, errStuckCursor):
		level = slog.LevelWarn
	case errors.Is(err, storage.ErrNoSpace):
		delay = max(min(delay, noSpaceRetry), floor)
		if a.noSpace {
			level = slog.LevelDebug // said once per episode
		} else {
			a.noSpace = true
			msg = "bot: the store refuses writes: the data directory's disk is nearly full; pulling stops (messages wait on WeCom, nothing is lost) and resumes by itself once space is freed: free space on that disk"
		}
	}
	attrs := []slog.Attr{slog.String(LogKeyOpenKFID, id), slog.Any(LogKeyError, err), slog.Duration("retry_in", delay)}
	if code := errCode(err); code != 0 {
		attrs = append(attrs, slog.Int(LogKeyErrCode, code))
	}
	return delay, floor, func() { b.log.LogAttrs(context.Background(), level, msg, attrs...) }
}

// pause waits delay before the next attempt, or less when a poke arrives — but at least
// floor after failedAt. It returns early when stop is cancelled.
func (b *Bot) pause(stop context.Context, a *account, failedAt time.Time, delay, floor time.Duration) {
	t := time.NewTimer(delay)
	defer t.Stop()
	select {
	case <-stop.Done():
		return
	case <-t.C:
		return
	case <-a.wake:
	}
	if rest := floor - time.Since(failedAt); rest > 0 {
		t.Reset(rest)
		select {
		case <-stop.Done():
		case <-t.C:
		}
	}
}

// Pull pulls openKFID now and returns once every page up to has_more == 0 is handled. It
// is for tests, tools and custom schedulers, and must not be called while [Bot.Run] runs
// (it returns [ErrAlreadyRunning] then). Cancelling ctx stops between messages.
func (b *Bot) Pull(ctx context.Context, openKFID string) error {
	b.freeze()
	b.mu.Lock()
	if b.running {
		b.mu.Unlock()
		return ErrAlreadyRunning
	}
	a := b.accountLocked(openKFID)
	if a.running {
		b.mu.Unlock()
		return fmt.Errorf("bot: Pull: account %s is already being pulled", openKFID)
	}
	a.running, a.dirty = true, false
	b.mu.Unlock()
	defer func() {
		b.workers.drain() // leave no worker behind
		b.mu.Lock()
		a.running = false
		b.mu.Unlock()
	}()
	p := b.newPipe(ctx, ctx, openKFID)
	err := p.pass()
	if werr := p.close(); err == nil {
		err = werr
	}
	b.lanes.wait() // the messages its pages deferred are answered too
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// freshToken returns the account's callback token while it is still valid.
func (b *Bot) freshToken(id string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	a := b.accounts[id]
	if a == nil || a.token == "" || b.opts.now().Sub(a.tokenAt) > callbackTokenLife {
		return ""
	}
	return a.token
}

// dropToken forgets token after WeCom refused it (95007), unless a newer one arrived.
func (b *Bot) dropToken(id, token string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if a := b.accounts[id]; a != nil && a.token == token {
		a.token = ""
	}
}

// syncPage pulls one page with the freshest callback token; when WeCom refuses the token
// (95007) it retries once without it.
func (b *Bot) syncPage(ctx context.Context, id, cursor string) (*kf.SyncMsgResponse, error) {
	token := b.freshToken(id)
	req := kf.SyncMsgRequest{OpenKFID: id, Cursor: cursor, Token: token, Limit: b.opts.pageLimit}
	resp, err := b.client.SyncMsg(ctx, req)
	if err != nil && token != "" && errors.Is(err, kf.ErrInvalidMsgToken) {
		b.log.Warn("bot: callback token refused (95007); pulling without it", slog.String(LogKeyOpenKFID, id))
		b.dropToken(id, token)
		req.Token = ""
		resp, err = b.client.SyncMsg(ctx, req)
	}
	if err != nil {
		return nil, fmt.Errorf("bot: sync_msg for %s: %w", id, err)
	}
	return resp, nil
}

// errCode returns the WeCom errcode inside err, or 0.
func errCode(err error) int {
	var apiErr *kf.APIError
	if errors.As(err, &apiErr) {
		return apiErr.Code
	}
	return 0
}
