package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/kfbot/kfbot/kf/syncmsg"
	"github.com/kfbot/kfbot/storage"
)

// commitTimeout bounds the write that records a page: it runs even after shutdown's grace
// period ended, so that what was done is recorded.
const commitTimeout = 5 * time.Second

// pipe pulls one account's pages and handles several at once: the next page is pulled
// while earlier ones are handled. Each conversation's messages run in page order, one at
// a time; each page's effects (sessions, processed marks, done sends) and its cursor are
// written in one batch, in page order. See the package documentation for why this keeps
// every reply exactly once.
//
// The pull goroutine owns the fields above mu; page goroutines and workers share the rest.
type pipe struct {
	b          *Bot
	id         string
	acct       storage.Account
	lease      string
	stop, work context.Context
	root       HandlerFunc

	leased time.Time     // when the lease was last acquired or renewed; zero: not held
	loaded bool          // cursor is known: read from the store, then kept in memory
	cursor string        // where the next page starts
	slots  chan struct{} // one per page in flight
	last   *page         // the newest page started, nil when none is in flight
	pages  sync.WaitGroup

	mu        sync.Mutex
	convs     map[string]*convState // conversations of pages not yet committed
	inflight  map[string]struct{}   // processed-mark keys of pages not yet committed
	committed string                // the cursor the last committed page saved
	err       error                 // the first failure; no page is started after it
	progress  bool                  // a page handled at least one message
}

// page is one sync_msg page on its way through the pipe.
type page struct {
	msgs []syncmsg.Message
	next string // next_cursor
	cold bool
	lag  time.Duration
	prev *page

	queued chan struct{} // closed once its conversations are queued (or it is abandoned)
	done   chan struct{} // closed once it is committed (or abandoned)
	parts  sync.WaitGroup
	convs  []*conversation

	// Set by the page goroutine before done is closed.
	applied  bool // its batch was written
	complete bool // it and every page before it were fully handled: the cursor moved
	failed   bool // guarded by pipe.mu: a conversation of it was not fully handled
}

// conversation is the part of a page that belongs to one conversation.
type conversation struct {
	key            string
	conv           storage.Conversation // zero for messages without a customer
	msgs           []syncmsg.Message
	keys           []string // the processed-mark key (storage.InboundKey) of msgs[i]; "" without a msgid
	starts         []start  // what the store said about msgs[i] before this pass
	page           *page
	opened         bool  // a customer message of the page has opened the reply window
	handled        int   // messages handled in this pass (not skipped as duplicates)
	newestCustomer int64 // send_time of the newest customer message in the page

	// What the worker leaves for the page's batch.
	session *storage.Session     // a snapshot after the part, nil unless it fully succeeded
	marks   []string             // processed-mark keys, nil unless it fully succeeded
	covered []string             // sends of the messages in marks: done marks only if it fails
	sent    []string             // done sends to record whatever happens
	turns   []storage.Turn       // transcript turns of the handled messages (WithTranscripts)
	park    []storage.InboxEntry // messages parked on the conversation's lane (see lanes.go)
	unpark  []storage.InboxEntry // inbox entries its handling removes (a lane's part)

	deferred bool     // the handler of its last handled message deferred it (Context.Defer)
	observed bool     // a lane's part: its message was counted in the session when parked
	run      *laneRun // a lane's part: the run it belongs to
}

// convState is a conversation with parts queued or not yet committed.
type convState struct {
	queue    []*conversation
	running  bool             // a worker is taking parts off queue
	session  *storage.Session // the live session (nil for messages without a customer)
	last     *page            // the newest page with a part of it
	failed   bool             // a part failed: later parts wait for the next pass
	loadedAt uint64           // the lanes' clock when its session was read (see lanes.enter)
}

func (b *Bot) newPipe(stop, work context.Context, id string) *pipe {
	acct := b.account(id)
	return &pipe{
		b: b, id: id, acct: acct, lease: storage.PullLease(acct), stop: stop, work: work, root: b.freeze(),
		slots:    make(chan struct{}, b.opts.pagesInFlight),
		convs:    make(map[string]*convState),
		inflight: make(map[string]struct{}),
	}
}

// pass pulls pages from the cursor until WeCom says has_more=0, starting each page's
// handling as it comes. It returns once the last page is pulled, not handled: [pipe.wait]
// waits for that and reports how it went.
func (p *pipe) pass() error {
	if err := p.hold(); err != nil {
		return err
	}
	cold := p.cursor == ""
	for p.stop.Err() == nil && p.failure() == nil {
		if err := p.hold(); err != nil { // renews the lease once a third of its TTL passed
			return err
		}
		if !p.takeSlot() {
			return nil
		}
		resp, err := p.b.syncPage(p.stop, p.id, p.cursor)
		if err != nil {
			<-p.slots
			p.b.opts.observer.Pull(p.id, 0, 0, err)
			if p.stop.Err() != nil {
				return nil
			}
			return err
		}
		msgs, derr := resp.Messages()
		if derr != nil {
			// Malformed or unknown items still arrive as *syncmsg.Unknown; say what was wrong.
			p.b.log.Warn("bot: some sync_msg items did not decode", slog.String(LogKeyOpenKFID, p.id), slog.Any(LogKeyError, derr))
		}
		pg := &page{msgs: msgs, next: resp.NextCursor, cold: cold, lag: pageLag(p.b.opts.now(), msgs), prev: p.last,
			queued: make(chan struct{}), done: make(chan struct{})}
		p.last = pg
		p.pages.Add(1)
		go p.handle(pg)
		moved := resp.NextCursor != "" && resp.NextCursor != p.cursor
		if moved {
			p.cursor = resp.NextCursor
		}
		if !resp.HasMore {
			return nil
		}
		if !moved {
			p.b.log.Warn("bot: sync_msg said has_more=1 but the cursor did not move; backing off",
				slog.String(LogKeyOpenKFID, p.id), slog.String("cursor", p.cursor), slog.String("next_cursor", resp.NextCursor))
			return fmt.Errorf("%w (open_kfid %s, cursor %q)", errStuckCursor, p.id, p.cursor)
		}
	}
	return nil
}

// hold makes sure the pipe holds the account's pull lease, renewing it once a third of
// its TTL has passed, and knows the cursor. A replica that took the lease over may have
// moved the cursor, so it is read again after the lease was lost or a pass failed.
func (p *pipe) hold() error {
	b := p.b
	if !p.leased.IsZero() && time.Since(p.leased) < b.opts.leaseTTL/3 {
		return nil
	}
	var err error
	if p.leased.IsZero() {
		_, err = b.store.AcquireLease(p.work, p.lease, b.owner, b.opts.leaseTTL)
	} else {
		_, err = b.store.RenewLease(p.work, p.lease, b.owner, b.opts.leaseTTL)
	}
	if err != nil {
		held := !p.leased.IsZero()
		p.leased, p.loaded = time.Time{}, false
		switch {
		case errors.Is(err, storage.ErrLeaseHeld):
			return errLeaseHeld
		case held:
			return fmt.Errorf("bot: renew pull lease for %s: %w", p.id, err)
		}
		return fmt.Errorf("bot: acquire pull lease for %s: %w", p.id, err)
	}
	p.leased = time.Now()
	if !p.loaded {
		cur, err := b.store.Cursor(p.work, p.acct)
		if err != nil {
			return fmt.Errorf("bot: load cursor for %s: %w", p.id, err)
		}
		// Messages parked before a restart go before the account's first page.
		if err := b.recoverInbox(p.stop, p.work, p.root, p.acct); err != nil {
			return fmt.Errorf("bot: read the inbox of parked messages for %s: %w", p.id, err)
		}
		p.cursor, p.loaded = cur, true
		p.mu.Lock()
		p.committed = cur
		p.mu.Unlock()
	}
	return nil
}

// takeSlot waits for room for one more page in flight, renewing the lease meanwhile. It
// returns false when stop is done or the pipe has failed (a renewal can fail it).
func (p *pipe) takeSlot() bool {
	select {
	case p.slots <- struct{}{}:
		return true
	default:
	}
	for p.stop.Err() == nil && p.failure() == nil {
		if p.waitRenewing(func(renew <-chan time.Time) bool {
			select {
			case p.slots <- struct{}{}:
				return true
			case <-p.stop.Done():
			case <-renew:
			}
			return false
		}) {
			return true
		}
	}
	return false
}

// waitRenewing runs wait with a channel that fires when the lease is due for renewal (nil
// when no lease is held) and, when wait returns false after it fired, renews the lease. A
// failed renewal fails the pipe.
func (p *pipe) waitRenewing(wait func(renew <-chan time.Time) bool) bool {
	var renew <-chan time.Time
	if !p.leased.IsZero() {
		t := time.NewTimer(max(p.b.opts.leaseTTL/3-time.Since(p.leased), 0))
		defer t.Stop()
		renew = t.C
	}
	if wait(renew) {
		return true
	}
	if renew != nil && p.stop.Err() == nil {
		if err := p.hold(); err != nil {
			p.fail(err)
		}
	}
	return false
}

// wait returns once every page started is committed (or abandoned), with the first
// failure. After a failure the pipe starts over from the committed cursor, read again.
func (p *pipe) wait() error {
	if p.last != nil {
		for !p.waitRenewing(func(renew <-chan time.Time) bool {
			select {
			case <-p.last.done:
				return true
			case <-renew:
				return false
			}
		}) {
		}
	}
	p.pages.Wait()
	p.last = nil
	p.mu.Lock()
	defer p.mu.Unlock()
	err := p.err
	if err != nil {
		p.err = nil
		p.cursor, p.loaded = p.committed, false
		p.forgetLocked()
	}
	return err
}

// forgetLocked drops what the pipe keeps of pages no longer in flight.
func (p *pipe) forgetLocked() {
	clear(p.convs)
	clear(p.inflight)
}

// close waits for the pages in flight and gives the lease up; a later pass takes it again
// and reads the cursor.
func (p *pipe) close() error {
	err := p.wait()
	if !p.leased.IsZero() {
		// Release even when shutdown cancelled work, or the next run waits out the lease.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(p.work), commitTimeout)
		defer cancel()
		if rerr := p.b.store.ReleaseLease(ctx, p.lease, p.b.owner); rerr != nil {
			p.b.log.Warn("bot: release pull lease", slog.String(LogKeyOpenKFID, p.id), slog.Any(LogKeyError, rerr))
		}
		p.leased, p.loaded = time.Time{}, false // another replica may move the cursor now
	}
	p.mu.Lock()
	p.forgetLocked() // and write the sessions
	p.mu.Unlock()
	p.b.lanes.forgetHandovers(p.id) // the next page reads what lanes recorded
	return err
}

// fail records the pipe's first failure: no page is started after it.
func (p *pipe) fail(err error) {
	p.mu.Lock()
	if p.err == nil {
		p.err = err
	}
	p.mu.Unlock()
}

func (p *pipe) failure() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// tookProgress reports, and forgets, whether a page handled a message since the last call.
func (p *pipe) tookProgress() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	ok := p.progress
	p.progress = false
	return ok
}

// handle takes one page through the pipe: queue its conversations after the previous
// page queued its own (so each conversation keeps page order), wait for them, then commit
// after the previous page committed.
func (p *pipe) handle(pg *page) {
	defer p.pages.Done()
	defer func() { <-p.slots }()
	if pg.prev != nil {
		<-pg.prev.queued
	}
	queued := p.queue(pg)
	close(pg.queued)
	if queued {
		pg.parts.Wait()
	}
	if pg.prev != nil {
		<-pg.prev.done
	}
	p.commit(pg, queued)
	close(pg.done)
}

// queue plans the page (what to skip, which sessions to read), reads what the store must
// say in one Load, and hands each conversation to its worker. It returns false, having
// queued nothing, when the pipe has failed or the read failed.
func (p *pipe) queue(pg *page) bool {
	b := p.b
	if p.failure() != nil {
		return false
	}
	msgs := b.filterPage(p.id, pg.msgs, pg.cold, b.opts.now())
	pg.convs = groupConversations(b.corpID, msgs)

	// Reserve each conversation's state for this page (so that an earlier page's commit
	// keeps it), and list what only the store knows: the processed and attempt marks of
	// msgids no page in flight has, the sessions of conversations no page in flight has.
	look := &storage.Lookup{}
	stamp := b.lanes.tick()
	states := make([]*convState, len(pg.convs))
	loadAt := make([]int, len(pg.convs)) // index into look.Sessions, or -1
	p.mu.Lock()
	for j, c := range pg.convs {
		c.page = pg
		c.starts = make([]start, len(c.msgs))
		for i, key := range c.keys {
			if key == "" {
				continue
			}
			if _, ok := p.inflight[key]; ok {
				c.starts[i] = startSeen // an earlier page in flight has it
				continue
			}
			p.inflight[key] = struct{}{}
			addLookup(look, p.acct, c.msgs[i].Head().MsgID, key)
		}
		st := p.convs[c.key]
		loadAt[j] = -1
		if st == nil {
			st = &convState{loadedAt: stamp}
			p.convs[c.key] = st
			if c.conv.ExternalUserID != "" {
				loadAt[j] = len(look.Sessions)
				look.Sessions = append(look.Sessions, c.conv)
			}
		}
		st.last = pg
		states[j] = st
	}
	p.mu.Unlock()
	starts, err := b.begin(p.work, look)
	if err != nil {
		b.log.Error("bot: store failed reading or marking the page's messages; it will be pulled again",
			slog.String(LogKeyOpenKFID, p.id), slog.Int(LogKeyCount, len(msgs)), slog.Any(LogKeyError, err))
		p.fail(fmt.Errorf("bot: begin page for %s: %w", p.id, err))
		return false
	}
	k := 0
	for _, c := range pg.convs { // the order addLookup saw them in
		for i, key := range c.keys {
			if c.starts[i] == startUnknown && key != "" {
				c.starts[i] = starts[k]
				k++
			}
		}
	}

	loaded := make([]*storage.Session, len(pg.convs)) // sessions read for this page
	var stale []*storage.Session                      // of those, without a fresh profile
	for j, c := range pg.convs {
		if k := loadAt[j]; k >= 0 {
			loaded[j] = sessionOrNew(look.SessionsFound[k], c.conv)
			if b.opts.prefetch && b.profileStale(loaded[j]) {
				stale = append(stale, loaded[j])
			}
		}
	}
	if len(stale) > 0 {
		b.fetchProfiles(p.work, p.id, stale) // before any runner can see the sessions
	}

	var start []*convState
	p.mu.Lock()
	for j, c := range pg.convs {
		st := states[j]
		if loaded[j] != nil {
			st.session = loaded[j]
		}
		pg.parts.Add(1)
		st.queue = append(st.queue, c)
		if !st.running {
			st.running = true
			start = append(start, st)
		}
	}
	p.mu.Unlock()

	for _, st := range start {
		if !b.workers.do(p.stop, func() { p.run(st) }) {
			p.run(st) // shutdown: skips what is queued, on this goroutine
		}
	}
	return true
}

// run handles a conversation's queued parts in order until none is left. After a part
// failed, the later ones are skipped: they wait for the next pass.
func (p *pipe) run(st *convState) {
	for {
		p.mu.Lock()
		c := st.queue[0] // a runner is started, and goes on, only while parts are queued
		st.queue[0] = nil
		st.queue = st.queue[1:]
		skip := st.failed || p.stop.Err() != nil
		p.mu.Unlock()

		ok := !skip && (p.b.lanes.enter(c, st) || p.b.handleConversation(p.stop, p.work, p.root, c, st.session))

		p.mu.Lock()
		if !ok {
			st.failed = true
			c.page.failed = true
			if p.err == nil {
				p.err = errPageIncomplete
			}
		}
		// Stop running before the last part is done, so that its page's commit can forget
		// the conversation; a part queued from now on starts a new runner.
		more := len(st.queue) > 0
		st.running = more
		p.mu.Unlock()
		c.page.parts.Done()
		if !more {
			return
		}
	}
}

// commit writes the page's batch — only if every earlier page's batch was written, so no
// conversation's state skips a page — with its cursor when it and every earlier page
// were fully handled.
func (p *pipe) commit(pg *page, queued bool) {
	b := p.b
	prevApplied := pg.prev == nil || pg.prev.applied
	prevComplete := pg.prev == nil || pg.prev.complete
	var err error
	switch {
	case !queued || !prevApplied:
		err = errPageIncomplete
		if failure := p.failure(); failure != nil {
			err = failure
		}
	default:
		p.mu.Lock()
		pg.complete = !pg.failed && prevComplete
		committed := p.committed
		p.mu.Unlock()
		var cursor *storage.CursorUpdate
		if pg.complete && pg.next != "" && pg.next != committed {
			cursor = &storage.CursorUpdate{Account: p.acct, Cursor: pg.next}
		}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(p.work), commitTimeout)
		b.writeTurns(ctx, p.id, pg.convs)
		err = b.applyParts(ctx, pg.convs, cursor)
		cancel()
		if err != nil {
			b.log.Error("bot: store failed recording a page; its messages will be pulled again (sends already made are not repeated)",
				slog.String(LogKeyOpenKFID, p.id), slog.Int(LogKeyCount, len(pg.msgs)), slog.Any(LogKeyError, err))
			err = fmt.Errorf("bot: record page for %s: %w", p.id, err)
			p.fail(err)
			pg.complete = false
		} else {
			pg.applied = true
			if !pg.complete {
				err = errPageIncomplete
			}
		}
	}

	p.mu.Lock()
	handled := 0
	for _, c := range pg.convs {
		handled += c.handled
		if st := p.convs[c.key]; st != nil && st.last == pg && !st.running && !st.failed && pg.applied {
			delete(p.convs, c.key) // its state is in the store now
		}
		if pg.applied {
			for _, key := range c.keys {
				delete(p.inflight, key) // "" is never in it
			}
		}
	}
	if pg.complete && pg.next != "" {
		p.committed = pg.next
	}
	if handled > 0 {
		p.progress = true
	}
	p.mu.Unlock()
	b.opts.observer.Pull(p.id, len(pg.msgs), pg.lag, err)
}

// applyParts writes what the parts left (sessions, processed marks, done sends) and the
// cursor in one batch. A batch too big for the store is split between conversations, so
// each conversation's session and marks still land together; the cursor goes last.
func (b *Bot) applyParts(ctx context.Context, parts []*conversation, cursor *storage.CursorUpdate) error {
	batch := &storage.Batch{SessionTTL: b.opts.sessionTTL, DedupTTL: b.opts.dedupTTL, Cursor: cursor}
	for _, c := range parts {
		if c.session != nil {
			batch.Sessions = append(batch.Sessions, c.session)
		}
		batch.Seen = append(batch.Seen, c.marks...)
		batch.Sent = append(batch.Sent, c.sent...)
		batch.Park = append(batch.Park, c.park...)
		batch.Unpark = append(batch.Unpark, c.unpark...)
	}
	if len(batch.Sessions)+len(batch.Seen)+len(batch.Sent)+len(batch.Park)+len(batch.Unpark) == 0 && cursor == nil {
		return nil
	}
	err := b.store.Apply(ctx, batch)
	if errors.Is(err, storage.ErrBatchTooBig) && len(parts) > 1 {
		half := len(parts) / 2
		if err := b.applyParts(ctx, parts[:half], nil); err != nil {
			return err
		}
		return b.applyParts(ctx, parts[half:], cursor)
	}
	return err
}

// start is what the store said about a message before this pass handled it.
type start uint8

const (
	startUnknown start = iota // no msgid: each reply checks the send log itself
	startNew                  // no pass began it; its attempt mark is recorded now
	startBegun                // an earlier pass began it: its replies may have gone out
	startSeen                 // processed before: skipped
)

// addLookup adds to look what the store knows about inbound msgID: its processed mark
// (key, its [storage.InboundKey]) and its attempt mark.
func addLookup(look *storage.Lookup, acct storage.Account, msgID, key string) {
	look.Seen = append(look.Seen, key)
	look.Sends = append(look.Sends, storage.AttemptKey(acct, msgID))
}

// begin reads look (the marks added by addLookup, and sessions) in one Load, then records
// the attempt marks of the messages no pass has begun, in one write, before any of them is
// handled: a send of a message whose attempt mark is missing cannot have happened, so its
// replies need no send-log write of their own. It returns each message's start, in the
// order they were added.
func (b *Bot) begin(ctx context.Context, look *storage.Lookup) ([]start, error) {
	if len(look.Seen)+len(look.Sessions) == 0 {
		return nil, nil
	}
	if err := b.store.Load(ctx, look); err != nil {
		return nil, err
	}
	starts := make([]start, len(look.Seen))
	var pending []string
	for i := range look.Seen {
		switch {
		case look.SeenFound[i]:
			starts[i] = startSeen
		case look.SendsFound[i] != storage.SendNone:
			starts[i] = startBegun
		default:
			starts[i] = startNew
			pending = append(pending, look.Sends[i])
		}
	}
	if len(pending) > 0 {
		if err := b.store.Apply(ctx, &storage.Batch{Pending: pending, DedupTTL: b.opts.dedupTTL}); err != nil {
			return nil, err
		}
	}
	return starts, nil
}

// sessionOrNew returns found, or a new session of conv when the store had none.
func sessionOrNew(found *storage.Session, conv storage.Conversation) *storage.Session {
	if found == nil {
		return &storage.Session{Conversation: conv}
	}
	return found
}

// groupConversations splits a page by conversation, keeping page order inside each and
// first-appearance order across them; conversations with an enter_session event lead,
// since its welcome code lives only 20 s.
func groupConversations(corpID string, msgs []syncmsg.Message) []*conversation {
	if len(msgs) == 0 {
		return nil
	}
	groups := make(map[string]*conversation)
	var order []*conversation
	add := func(m syncmsg.Message) {
		h := m.Head()
		key := h.OpenKFID + "\x00" + h.ExternalUserID
		g := groups[key]
		if g == nil {
			g = &conversation{key: key}
			if h.ExternalUserID != "" {
				g.conv = storage.Conversation{CorpID: corpID, OpenKFID: h.OpenKFID, ExternalUserID: h.ExternalUserID}
			}
			groups[key] = g
			order = append(order, g)
		}
		g.msgs = append(g.msgs, m)
		mark := ""
		if h.MsgID != "" {
			mark = storage.InboundKey(storage.Account{CorpID: corpID, OpenKFID: h.OpenKFID}, h.MsgID)
		}
		g.keys = append(g.keys, mark)
		if h.Origin == syncmsg.OriginCustomer {
			g.newestCustomer = max(g.newestCustomer, h.SendTime)
		}
	}
	for _, m := range msgs {
		if m.Head().EventType == syncmsg.EventEnterSession {
			add(m)
		}
	}
	for _, m := range msgs {
		if m.Head().EventType != syncmsg.EventEnterSession {
			add(m)
		}
	}
	return order
}
