package bot

import (
	"errors"
	"fmt"
	"time"

	"github.com/kfbot/kfbot/kf/syncmsg"
	"github.com/kfbot/kfbot/storage"
)

// Defer moves the rest of this message's handling off its page, for a handler that may
// take long (a model, a webhook): the engine parks the message durably in the store's
// inbox with its page's record, the page commits and other conversations go on, and the
// message is handled again, from the start of the middleware chain, on its
// conversation's lane — where Defer returns false and the handler goes on. Every later
// message of the conversation waits behind it on the lane, in order, until the lane is
// empty. A crash leaves the parked messages in the inbox; the next start handles them.
//
//	if c.Defer(2 * time.Second) {
//		return nil // parked: handled again on the lane
//	}
//	answer := slowCall(c.Burst())
//
// On the lane, Defer first waits for merge (counted from when the message was pulled,
// and extended by each customer message that follows within it, up to 4 windows in
// all); the customer messages that arrived meanwhile join this one ([Context.Burst]) and
// are recorded processed with it, so a burst gets one answer. merge ≤ 0 merges nothing.
//
// Defer returns false, and the handler goes on where it is, when the message cannot be
// parked: it names no customer, a person owns the conversation, a reply was already
// sent for it, the store has no inbox ([storage.InboxStore]), the message did not come
// from a pull ([Bot.Dispatch]), or 10,000 conversations are parked already.
//
// Call Defer before changing anything: what ran before it (middleware, session changes)
// runs again on the lane. [Context.Deferred] tells middleware which run it sees.
func (c *Context) Defer(merge time.Duration) bool {
	st := c.state
	switch {
	case st.lane != nil:
		c.bot.lanes.gather(c, st.lane, merge)
		return false
	case st.deferred:
		return true
	case !c.canPark() || !c.bot.lanes.room():
		return false
	}
	st.deferred = true
	return true
}

// Deferred reports whether the message is being handled on its conversation's lane:
// after [Context.Defer] parked it, or because its conversation was parked when it came.
func (c *Context) Deferred() bool { return c.state.lane != nil }

// Burst returns the message and, on a lane after [Context.Defer] merged them, the
// customer messages that followed it within the merge window, oldest first.
func (c *Context) Burst() []syncmsg.Message {
	out := []syncmsg.Message{c.msg}
	if r := c.state.lane; r != nil {
		for _, e := range r.merged {
			out = append(out, e.msg)
		}
	}
	return out
}

// ErrNoMemo reports a memo asked of a store that keeps none ([storage.InboxStore]).
var ErrNoMemo = errors.New("bot: the store keeps no memos (it does not implement storage.InboxStore)")

// Memo returns the value [Context.Remember] stored under name for this message on an
// earlier attempt (one cut off by a crash, shutdown or a transient failure), and whether
// there is one. A message's first attempt finds none without asking the store.
func (c *Context) Memo(name string) ([]byte, bool, error) {
	is := c.bot.inboxStore()
	if is == nil {
		return nil, false, ErrNoMemo
	}
	if c.state.start == startNew {
		return nil, false, nil // no attempt before this one could have stored it
	}
	v, err := is.Memo(c.ctx, c.memoKey(name))
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return nil, false, nil
	case err != nil:
		return nil, false, fmt.Errorf("%w: read memo %q: %w", errStore, name, err)
	}
	return v, true, nil
}

// Remember stores value under name for this message, durably, for as long as the
// message's processed mark is kept. Store a non-deterministic result (a model's answer)
// before acting on it, and look for it with [Context.Memo] first: a replay after a crash
// then acts on the same result instead of computing another.
func (c *Context) Remember(name string, value []byte) error {
	is := c.bot.inboxStore()
	if is == nil {
		return ErrNoMemo
	}
	if err := is.PutMemo(c.ctx, c.memoKey(name), value, c.bot.opts.dedupTTL); err != nil {
		return fmt.Errorf("%w: write memo %q: %w", errStore, name, err)
	}
	return nil
}

func (c *Context) memoKey(name string) string {
	return storage.MemoKey(c.bot.account(c.head.OpenKFID), c.head.MsgID, name)
}
