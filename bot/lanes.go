package bot

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/kfbot/kfbot/internal/backoff"
	"github.com/kfbot/kfbot/kf/syncmsg"
	"github.com/kfbot/kfbot/storage"
)

// A slow lane takes a conversation's handling off the page pipeline once a handler
// defers a message ([Context.Defer]): the message, and every later one of that
// conversation until the lane is empty, is parked in the store's inbox with its page's
// record, so the page commits and its cursor moves on; the lane handles the parked
// messages in order, each recorded with the removal of its inbox entry. A crash leaves
// the entries in the inbox, and the next start handles them (see Bot.recoverInbox).
//
// Who owns a conversation's session: the page pipeline until a part parks it, then the
// lane until it ends. A page read from the store before a lane's last record may carry
// an older session; the lane leaves its session behind (a handover, stamped with the
// lanes' clock), and the first part handled after it takes that one instead.

// maxLanes bounds the conversations parked at once; past it Defer declines (the handler
// then runs on its page).
const maxLanes = 10_000

// maxMergeFactor bounds a burst's merge window: a customer who keeps writing gets an
// answer after at most this many windows.
const maxMergeFactor = 4

// lanes are the bot's slow lanes.
type lanes struct {
	mu        sync.Mutex
	byKey     map[string]*lane    // conversation key (see groupConversations) → its lane
	handovers map[string]handover // sessions of lanes that ended, for the next part
	recovered map[storage.Account]bool
	clock     uint64 // orders page loads and lanes' last records (see handover)
	seq       uint64 // the last storage.InboxEntry.Seq given
	wg        sync.WaitGroup
}

// handover is the session a lane left when it ended, and when (on the lanes' clock).
type handover struct {
	session *storage.Session
	at      uint64
}

// lane is one parked conversation.
type lane struct {
	key        string
	conv       storage.Conversation
	acct       storage.Account
	root       HandlerFunc
	stop, work context.Context

	// Guarded by lanes.mu.
	queue   []*laneEntry
	changed chan struct{} // closed (and replaced) when an entry is added or becomes durable

	// Owned by the lane's goroutine.
	session *storage.Session
	stale   bool // session may be ahead of the store: read it again before the next run
}

// laneEntry is a parked message.
type laneEntry struct {
	entry storage.InboxEntry
	msg   syncmsg.Message
	mark  string // processed-mark key
	start start
	pg    *page // guarded by lanes.mu: the page whose record writes the entry; nil once durable
}

func newLanes() *lanes {
	return &lanes{byKey: make(map[string]*lane), handovers: make(map[string]handover), recovered: make(map[storage.Account]bool)}
}

// tick advances the lanes' clock. A page stamps the convStates it reads sessions for.
func (ls *lanes) tick() uint64 {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	ls.clock++
	return ls.clock
}

// nextSeqLocked gives the next inbox sequence: increasing within the process and, after a
// restart, above what an earlier run gave (it starts from the clock's nanoseconds).
func (ls *lanes) nextSeqLocked() uint64 {
	ls.seq = max(ls.seq+1, uint64(time.Now().UnixNano()))
	return ls.seq
}

// signalLocked wakes whoever waits for the lane's queue to change.
func (l *lane) signalLocked() {
	close(l.changed)
	l.changed = make(chan struct{})
}

// inboxStore returns the store's inbox, or nil when it has none.
func (b *Bot) inboxStore() storage.InboxStore {
	is, _ := b.store.(storage.InboxStore)
	return is
}

// enter is called before a page's part of a conversation is handled. When the
// conversation is parked it appends the part's messages to the lane (they go to the
// inbox with the page's record) and returns true. Otherwise it hands the part the
// session a lane left, if the part's session was read before that lane's last record.
func (ls *lanes) enter(part *conversation, st *convState) bool {
	if part.conv.ExternalUserID == "" {
		return false
	}
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if l := ls.byKey[part.key]; l != nil {
		ls.appendLocked(l, part, 0, false)
		return true
	}
	if h, ok := ls.handovers[part.key]; ok {
		delete(ls.handovers, part.key)
		if st.loadedAt < h.at {
			st.session = h.session
		}
	}
	return false
}

// appendLocked parks part's messages from i on in l: a new entry each, or, for a message
// the lane has already but not yet durably (a page that failed is pulled again), the
// same entry written by this page too. The first is observed when observed is true.
func (ls *lanes) appendLocked(l *lane, part *conversation, i int, observed bool) {
	arrived := time.Now()
	for j := i; j < len(part.msgs); j++ {
		if part.starts[j] == startSeen {
			continue
		}
		m := part.msgs[j]
		h := m.Head()
		var e *laneEntry
		for _, q := range l.queue {
			if q.entry.MsgID == h.MsgID {
				e = q
				break
			}
		}
		if e != nil && e.pg == nil {
			continue // durable: the lane records its processed mark
		}
		if e == nil {
			e = &laneEntry{msg: m, mark: part.keys[j], start: part.starts[j], entry: storage.InboxEntry{
				Conversation: part.conv, Seq: ls.nextSeqLocked(), MsgID: h.MsgID, Message: h.Raw,
				Arrived: arrived, Observed: observed && j == i,
			}}
			l.queue = append(l.queue, e)
		}
		e.pg = part.page
		part.park = append(part.park, e.entry)
	}
	l.signalLocked()
}

// canPark reports whether c's message may be deferred to a lane.
func (c *Context) canPark() bool {
	st := c.state
	return st.part != nil && st.part.page != nil && st.lane == nil && !c.human && c.head.MsgID != "" &&
		c.head.ExternalUserID != "" && len(c.head.Raw) > 0 && st.replies == 0 && c.bot.inboxStore() != nil
}

// park moves part's message i and the rest of the part to a new lane for the
// conversation, whose session is sess. (Context.Defer checked that there is room.)
func (b *Bot) park(stop, work context.Context, root HandlerFunc, part *conversation, i int, sess *storage.Session) {
	ls := b.lanes
	ls.mu.Lock()
	defer ls.mu.Unlock()
	l := &lane{key: part.key, conv: part.conv, acct: b.account(part.conv.OpenKFID), root: root, stop: stop, work: work,
		changed: make(chan struct{}), session: sess}
	ls.byKey[part.key] = l
	delete(ls.handovers, part.key)
	ls.appendLocked(l, part, i, true)
	ls.wg.Add(1)
	go b.runLane(l)
}

// recoverInbox starts lanes for the messages a's inbox kept from an earlier run, once
// per account and process, before the account's first page: they go first.
func (b *Bot) recoverInbox(stop, work context.Context, root HandlerFunc, a storage.Account) error {
	is := b.inboxStore()
	ls := b.lanes
	ls.mu.Lock()
	done := is == nil || ls.recovered[a]
	ls.mu.Unlock()
	if done {
		return nil
	}
	entries, err := is.Inbox(work, a)
	if err != nil {
		return err
	}
	type found struct {
		conv storage.Conversation
		es   []*laneEntry
	}
	var convs []*found
	for _, e := range entries {
		m, derr := syncmsg.Decode(e.Message)
		if derr != nil && m == nil {
			b.log.Error("bot: a parked message does not decode; dropping it", slog.String(LogKeyOpenKFID, a.OpenKFID),
				slog.String(LogKeyMsgID, e.MsgID), slog.Any(LogKeyError, derr))
			continue
		}
		if len(convs) == 0 || convs[len(convs)-1].conv != e.Conversation {
			convs = append(convs, &found{conv: e.Conversation})
		}
		f := convs[len(convs)-1]
		f.es = append(f.es, &laneEntry{entry: e, msg: m, mark: storage.InboundKey(a, e.MsgID), start: startBegun})
	}
	sessions := make([]*storage.Session, len(convs))
	for i, f := range convs {
		s, err := b.store.Session(work, f.conv)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		sessions[i] = sessionOrNew(s, f.conv)
	}
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.recovered[a] {
		return nil
	}
	ls.recovered[a] = true
	for i, f := range convs {
		key := f.conv.OpenKFID + "\x00" + f.conv.ExternalUserID
		if ls.byKey[key] != nil {
			continue // parked in this process already: its entries are in its queue
		}
		l := &lane{key: key, conv: f.conv, acct: a, root: root, stop: stop, work: work, changed: make(chan struct{}),
			session: sessions[i], queue: f.es}
		for _, e := range f.es {
			ls.seq = max(ls.seq, e.entry.Seq)
		}
		ls.byKey[key] = l
		ls.wg.Add(1)
		go b.runLane(l)
	}
	if len(convs) > 0 {
		b.log.Info("bot: handling messages parked before a restart", slog.String(LogKeyOpenKFID, a.OpenKFID),
			slog.Int("conversations", len(convs)), slog.Int(LogKeyCount, len(entries)))
	}
	return nil
}

// runLane handles the lane's entries in order until none is left or shutdown.
func (b *Bot) runLane(l *lane) {
	defer b.lanes.wg.Done()
	retry := backoff.New(b.opts.retryDelay, b.opts.maxRetryDelay)
	for {
		e := b.lanes.head(l)
		if e == nil {
			return
		}
		if l.stale {
			s, err := b.store.Session(l.work, l.conv)
			if err != nil && !errors.Is(err, storage.ErrNotFound) {
				b.logStoreError(e.msg.Head(), "read the session of a parked conversation", err)
				if retry.Wait(l.stop) != nil {
					b.lanes.stopped(l)
					return
				}
				continue
			}
			l.session, l.stale = sessionOrNew(s, l.conv), false
		}
		if b.handleParked(l, e) {
			retry.Reset()
			continue
		}
		l.stale = true
		if l.stop.Err() != nil || retry.Wait(l.stop) != nil {
			b.lanes.stopped(l)
			return
		}
	}
}

// head returns the lane's first entry once it is durable, dropping entries whose page
// was not recorded (it will be pulled again). It returns nil, and ends the lane, when the
// queue is empty or the lane is stopping.
func (ls *lanes) head(l *lane) *laneEntry {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	for {
		if l.stop.Err() != nil {
			ls.endLocked(l, false)
			return nil
		}
		if len(l.queue) == 0 {
			ls.endLocked(l, true)
			return nil
		}
		e := l.queue[0]
		if e.pg == nil {
			return e
		}
		if !ls.durableLocked(l, e) {
			l.queue = l.queue[1:]
			if e.entry.Observed {
				l.stale = true // the session counted it; the store did not
			}
		}
	}
}

// durableLocked waits (releasing mu) for e's page to be committed and reports whether it
// was recorded. A page pulled again meanwhile may take over e (see appendLocked).
func (ls *lanes) durableLocked(l *lane, e *laneEntry) bool {
	for e.pg != nil {
		pg := e.pg
		ls.mu.Unlock()
		select {
		case <-pg.done:
		case <-l.stop.Done():
		}
		ls.mu.Lock()
		if l.stop.Err() != nil {
			return true // head sees the stop
		}
		if e.pg != pg {
			continue
		}
		if !pg.applied {
			return false
		}
		e.pg = nil
	}
	return true
}

// endLocked removes the lane; a lane that emptied its queue leaves its session for the
// next part (see enter).
func (ls *lanes) endLocked(l *lane, emptied bool) {
	if ls.byKey[l.key] == l {
		delete(ls.byKey, l.key)
	}
	if emptied && !l.stale {
		ls.clock++
		ls.handovers[l.key] = handover{session: l.session, at: ls.clock}
	}
}

// stopped ends the lane at shutdown; its entries stay in the inbox.
func (ls *lanes) stopped(l *lane) {
	ls.mu.Lock()
	ls.endLocked(l, false)
	ls.mu.Unlock()
}

// wait returns once every lane has ended.
func (ls *lanes) wait() { ls.wg.Wait() }

// laneRun is a parked message being handled on its lane.
type laneRun struct {
	lane   *lane
	entry  *laneEntry
	merged []*laneEntry // later entries answered with it (Context.Defer's merge window)
	part   *conversation
}

// handleParked handles e, the lane's head, with a copy of the lane's session, and
// records it with the removal of its inbox entry (and of the entries merged into it). It
// returns false when e was not handled (shutdown, or a transient failure): it stays.
func (b *Bot) handleParked(l *lane, e *laneEntry) bool {
	sess := l.session.Clone()
	h := e.msg.Head()
	part := &conversation{key: l.key, conv: l.conv, msgs: []syncmsg.Message{e.msg}, keys: []string{e.mark},
		starts: []start{e.start}, observed: e.entry.Observed}
	if h.Origin == syncmsg.OriginCustomer {
		part.newestCustomer = h.SendTime
	}
	run := &laneRun{lane: l, entry: e, part: part}
	part.run = run
	ok, _ := b.handleMessage(l.work, l.root, part, 0, sess)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(l.work), commitTimeout)
	defer cancel()
	if !ok {
		e.start = startBegun // its sends may have gone out
		if err := b.applyParts(ctx, []*conversation{part}, nil); err != nil {
			b.logStoreError(h, "record the sends of a parked message", err)
		}
		return false
	}
	part.session = sess
	part.unpark = append(part.unpark, e.entry)
	for _, m := range run.merged {
		part.marks = append(part.marks, m.mark)
		part.unpark = append(part.unpark, m.entry)
	}
	b.writeTurns(ctx, l.conv.OpenKFID, []*conversation{part})
	if err := b.applyParts(ctx, []*conversation{part}, nil); err != nil {
		b.logStoreError(h, "record a parked message's session, processed mark and sends", err)
		e.start = startBegun
		return false
	}
	l.session = sess
	b.lanes.mu.Lock()
	l.queue = l.queue[1+len(run.merged):]
	b.lanes.mu.Unlock()
	return true
}

// gather waits for the merge window of the run's message and takes the customer
// messages that followed it within the window into the burst.
func (ls *lanes) gather(c *Context, run *laneRun, window time.Duration) {
	if window <= 0 || len(run.merged) > 0 {
		return
	}
	l := run.lane
	first := run.entry.entry.Arrived
	limit := first.Add(maxMergeFactor * window)
	ls.mu.Lock()
	for {
		deadline := first.Add(window)
		n := 0
		for _, q := range l.queue[1:] {
			if !mergeable(q.msg) {
				break
			}
			n++
			deadline = q.entry.Arrived.Add(window)
		}
		deadline = minTime(deadline, limit)
		wait := time.Until(deadline)
		if wait <= 0 || c.ctx.Err() != nil {
			break
		}
		changed := l.changed
		ls.mu.Unlock()
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-changed:
		case <-c.ctx.Done():
		case <-l.stop.Done(): // shutting down: answer what came
			limit = time.Now()
		}
		t.Stop()
		ls.mu.Lock()
	}
	for _, q := range l.queue[1:] {
		if !mergeable(q.msg) || q.pg != nil && !ls.durableLocked(l, q) {
			break
		}
		run.merged = append(run.merged, q)
	}
	ls.mu.Unlock()

	// The burst's messages count as the conversation's newest: one reply window after
	// the last of them.
	b, part, sess := c.bot, run.part, c.state.session
	for _, q := range run.merged {
		h := q.msg.Head()
		part.newestCustomer = max(part.newestCustomer, h.SendTime)
	}
	part.opened = false
	for _, q := range run.merged {
		h := q.msg.Head()
		if sess != nil && !q.entry.Observed {
			b.observeMessage(sess, q.msg, h, part)
		}
		if b.opts.transcripts != TranscriptsOff {
			part.turns = append(part.turns, storage.Turn{Conversation: part.conv, Time: time.Unix(h.SendTime, 0), MsgID: h.MsgID,
				Kind: storage.TurnCustomer, MsgType: string(h.MsgType), Text: describeInbound(q.msg)})
		}
	}
}

// mergeable reports whether a parked message may join a burst: a customer's message
// (not an event).
func mergeable(m syncmsg.Message) bool {
	h := m.Head()
	return h.Origin == syncmsg.OriginCustomer && h.MsgType != syncmsg.TypeEvent
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// forgetHandovers drops the sessions lanes of account openKFID left: called when its
// pipe closed, after which every page reads sessions from the store afresh.
func (ls *lanes) forgetHandovers(openKFID string) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	for k := range ls.handovers {
		if len(k) > len(openKFID) && k[:len(openKFID)] == openKFID && k[len(openKFID)] == 0 {
			delete(ls.handovers, k)
		}
	}
}

// room reports whether another conversation may be parked.
func (ls *lanes) room() bool {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	return len(ls.byKey) < maxLanes
}
