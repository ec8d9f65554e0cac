package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

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

// account is the pull state of one KF account: a dirty-bit runner (triggers during a pull coalesce into one more pull) plus
// the freshest callback token.
type account struct {
	running  bool // a puller goroutine exists
	dirty    bool // a poke arrived during the pull: run one more pass
	token    string
	tokenAt  time.Time
	failures int
	progress bool // the pass handled at least one message
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
		a = &account{}
		b.accounts[id] = a
	}
	return a
}

// triggerLocked starts a puller for id, or marks the running one dirty.
func (b *Bot) triggerLocked(id string, a *account) {
	if a.running {
		a.dirty = true
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

// pullLoop runs passes for one account until no poke is pending. A failed pass is retried
// after a capped, growing delay, so a WeCom outage degrades into late replies, not lost
// ones.
func (b *Bot) pullLoop(id string, a *account) {
	defer b.pullers.Done()
	b.mu.Lock()
	stop, work := b.pullCtx, b.workCtx
	b.mu.Unlock()
	for {
		b.mu.Lock()
		a.progress = false
		b.mu.Unlock()
		err := b.pullAccount(stop, work, id)
		b.mu.Lock()
		if stop.Err() != nil {
			a.running = false
			b.mu.Unlock()
			return
		}
		if err != nil {
			a.failures++
			delay := retryDelay(b.opts.retryDelay, b.opts.maxRetryDelay, a.failures)
			level := slog.LevelError
			if errors.Is(err, errPageIncomplete) && a.progress {
				// Some messages failed for now, others went through: go again soon,
				// skipping what was done, instead of backing off as for an outage.
				a.failures = 0
				delay = min(delay, 50*time.Millisecond)
				level = slog.LevelWarn
			}
			b.mu.Unlock()
			if errors.Is(err, errLeaseHeld) {
				level = slog.LevelDebug
			}
			b.log.LogAttrs(stop, level, "bot: pull failed; retrying", slog.String(LogKeyOpenKFID, id),
				slog.Any(LogKeyError, err), slog.Int(LogKeyErrCode, errCode(err)), slog.Duration("retry_in", delay))
			t := time.NewTimer(delay)
			select {
			case <-stop.Done():
				t.Stop()
			case <-t.C:
			}
			b.mu.Lock()
			a.dirty = true
		} else {
			a.failures = 0
		}
		if a.dirty && stop.Err() == nil {
			a.dirty = false
			b.mu.Unlock()
			continue
		}
		a.running = false
		b.mu.Unlock()
		return
	}
}

func retryDelay(base, max time.Duration, failures int) time.Duration {
	d := base
	for i := 1; i < failures && d < max; i++ {
		d *= 2
	}
	return min(d, max)
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
		b.mu.Lock()
		a.running = false
		b.mu.Unlock()
	}()
	return b.pullAccount(ctx, ctx, openKFID)
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

// pullAccount drains one account: page after page while has_more, dispatching each page
// and saving the cursor only after the page is dispatched.
//
// stop ends the pull between messages (shutdown); work carries the handlers and store
// writes, so that what was started is finished and recorded.
func (b *Bot) pullAccount(stop, work context.Context, id string) error {
	ctx := stop
	acct := storage.Account{CorpID: b.corpID, OpenKFID: id}
	leaseName := "pull/" + b.corpID + "/" + id
	if _, err := b.store.AcquireLease(work, leaseName, b.owner, b.opts.leaseTTL); err != nil {
		if errors.Is(err, storage.ErrLeaseHeld) {
			return errLeaseHeld
		}
		return fmt.Errorf("bot: acquire pull lease for %s: %w", id, err)
	}
	defer func() {
		// Release even when shutdown cancelled work, or the next run waits out the lease.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(work), 5*time.Second)
		defer cancel()
		if err := b.store.ReleaseLease(ctx, leaseName, b.owner); err != nil {
			b.log.Warn("bot: release pull lease", slog.String(LogKeyOpenKFID, id), slog.Any(LogKeyError, err))
		}
	}()

	cursor, err := b.store.Cursor(work, acct)
	if err != nil {
		return fmt.Errorf("bot: load cursor for %s: %w", id, err)
	}
	cold := cursor == ""
	for ctx.Err() == nil {
		resp, err := b.syncPage(ctx, id, cursor)
		if err != nil {
			b.opts.observer.Pull(id, 0, 0, err)
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		msgs, derr := resp.Messages()
		if derr != nil {
			// Malformed or unknown items still arrive as *syncmsg.Unknown; say what was wrong.
			b.log.Warn("bot: some sync_msg items did not decode", slog.String(LogKeyOpenKFID, id), slog.Any(LogKeyError, derr))
		}
		lag := pageLag(b.opts.now(), msgs)
		complete, handled := b.dispatchPage(stop, work, id, msgs, cold)
		if handled > 0 {
			b.mu.Lock()
			if a := b.accounts[id]; a != nil {
				a.progress = true
			}
			b.mu.Unlock()
		}
		if !complete {
			if stop.Err() != nil {
				b.opts.observer.Pull(id, len(msgs), lag, stop.Err())
				return nil // shutdown: the page is pulled again on the next run
			}
			b.opts.observer.Pull(id, len(msgs), lag, errPageIncomplete)
			return errPageIncomplete
		}
		if resp.NextCursor != "" && resp.NextCursor != cursor {
			if err := b.store.SetCursor(work, acct, resp.NextCursor); err != nil {
				err = fmt.Errorf("bot: save cursor for %s: %w", id, err)
				b.opts.observer.Pull(id, len(msgs), lag, err)
				return err
			}
			cursor = resp.NextCursor
		}
		b.opts.observer.Pull(id, len(msgs), lag, nil)
		if !resp.HasMore {
			return nil
		}
		if _, err := b.store.RenewLease(work, leaseName, b.owner, b.opts.leaseTTL); err != nil {
			return fmt.Errorf("bot: renew pull lease for %s: %w", id, err)
		}
	}
	return nil
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
