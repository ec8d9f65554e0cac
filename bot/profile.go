package bot

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/kfbot/kfbot/kf"
	"github.com/kfbot/kfbot/storage"
)

// DefaultProfileTTL is how long a customer's profile is reused before it is fetched again.
const DefaultProfileTTL = 24 * time.Hour

// profileTimeout bounds one batchget call with its retries: a profile is never worth
// delaying replies longer.
const profileTimeout = 3 * time.Second

// profilePause is how long profile fetches pause after one failed: a broken or slow
// batchget costs at most one call per pause, never one per message.
const profilePause = time.Minute

// WithProfileTTL sets how long a customer's profile (kf/customer/batchget), cached in the
// session, is reused. Default: [DefaultProfileTTL].
func WithProfileTTL(d time.Duration) Option { return func(o *options) { o.profileTTL = d } }

// PrefetchProfiles makes the bot fetch the profiles of a page's customers whose profile
// it does not have (or is older than the TTL) before handling the page, up to 100 per
// kf/customer/batchget call, so that [Context.Customer] finds them. Without it,
// Context.Customer fetches one customer at a time when first asked. The rules plugin
// calls it when a rule uses customer.*. It must be called before the bot starts.
func (b *Bot) PrefetchProfiles() {
	b.mustNotRun("PrefetchProfiles")
	b.mu.Lock()
	b.opts.prefetch = true
	b.mu.Unlock()
}

// Customer returns the profile of the message's customer: nickname, avatar, gender and
// unionid, from the session when fetched within the TTL ([WithProfileTTL]), else fetched
// now with kf/customer/batchget and kept in the session. A failure to fetch is logged and
// gives the profile known so far (empty fields if none); it never fails the message. A
// message without a customer gives the zero Customer.
func (c *Context) Customer() storage.Customer {
	s := c.state.session
	if s == nil {
		return storage.Customer{}
	}
	if c.bot.profileStale(s) {
		c.bot.fetchProfiles(c.ctx, c.head.OpenKFID, []*storage.Session{s})
	}
	return s.Customer
}

// profileStale reports whether s needs its profile fetched.
func (b *Bot) profileStale(s *storage.Session) bool {
	return s.ExternalUserID != "" && (s.Customer.Fetched.IsZero() || b.opts.now().Sub(s.Customer.Fetched) >= b.opts.profileTTL)
}

// profiles is the engine's state of profile fetching: when fetches may resume after a
// failure (Unix nanoseconds; 0: now).
type profiles struct{ resume atomic.Int64 }

// fetchProfiles fills in the profiles of sessions (of one account), 100 per call. A
// customer WeCom calls invalid gets an empty profile with a fetch time, so that it is not
// asked for again before the TTL. A failure pauses fetching for profilePause.
func (b *Bot) fetchProfiles(ctx context.Context, openKFID string, sessions []*storage.Session) {
	now := b.opts.now()
	if now.UnixNano() < b.profiles.resume.Load() {
		return
	}
	for len(sessions) > 0 {
		batch := sessions[:min(len(sessions), kf.MaxBatchGetCustomer)]
		sessions = sessions[len(batch):]
		ids := make([]string, len(batch))
		for i, s := range batch {
			ids[i] = s.ExternalUserID
		}
		callCtx, cancel := context.WithTimeout(ctx, profileTimeout)
		resp, err := b.client.BatchGetCustomer(callCtx, kf.BatchGetCustomerRequest{ExternalUserIDs: ids})
		cancel()
		if err != nil {
			b.profiles.resume.Store(now.Add(profilePause).UnixNano())
			b.log.Warn("bot: cannot fetch customer profiles; their fields stay empty for now",
				slog.String(LogKeyOpenKFID, openKFID), slog.Int(LogKeyCount, len(ids)), slog.Any(LogKeyError, err),
				slog.Int(LogKeyErrCode, errCode(err)), slog.Duration("retry_in", profilePause))
			return
		}
		found := make(map[string]*kf.Customer, len(resp.CustomerList))
		for i := range resp.CustomerList {
			found[resp.CustomerList[i].ExternalUserID] = &resp.CustomerList[i]
		}
		for _, s := range batch {
			p := storage.Customer{Fetched: now}
			if f := found[s.ExternalUserID]; f != nil {
				p.Nickname, p.Avatar, p.Gender, p.UnionID = f.Nickname, f.Avatar, f.Gender, f.UnionID
			}
			s.Customer = p
		}
	}
}
