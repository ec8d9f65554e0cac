// Package bot is kfbot's engine: it pulls WeChat Customer Service messages, runs them
// through middleware and handlers, and sends the replies — exactly once, in order, fast.
//
// # Lifecycle
//
// Create a bot with [New], register handlers with [Bot.Handle], [Bot.Use], [Bot.Group],
// [Bot.HandleDefault] and [Bot.Install], then call [Bot.Run], which blocks until its context
// is cancelled. Registration closes when the bot starts (Run or the first Dispatch); a
// registration after that panics, as does a nil matcher, handler or middleware: those are
// programmer errors. Nothing panics on message data.
//
// The HTTP callback (package router) calls [Bot.Notify] with the KF account and the
// callback token; Notify never blocks.
//
// # Callback notifications
//
// The other callbacks of the WeCom world — external-contact changes (a member added a
// customer through a 「联系我」 code, with a welcome code), address-book, provider and
// license events, decoded by package kf/callback — reach routes registered with
// [Bot.HandleCallback] (matchers [Callback], [ChangeType], [ContactState]), through the
// global middleware, the error handler and the observer ([Observer.Callback]). The
// router calls [Bot.Receive], which records the notification in the store
// (storage.CallbackStore) under its key before the router answers 200: WeCom retries a
// notification not answered within 5 seconds, and a retry of a recorded one is answered
// without being handled again. Handling is asynchronous (the answer never waits for a
// handler or for WeCom); a notification a stop left unhandled is handled at the next
// start, with its original [Context.Received] time, so a handler can tell a welcome code
// that is too old (20 seconds) from one still usable.
//
// # Matching
//
// Global middleware ([Bot.Use]) runs first, for every message. Then the first handler, in
// registration order, whose [Matcher] matches takes the message; if none does, the default
// handler does. A [Group]'s middleware runs only after the group's matcher matched.
//
// # Delivery semantics
//
// WeCom delivers at least once; kfbot makes replies reach the customer exactly once:
//
//   - One puller per KF account (a store lease; never two pulls of one account at once).
//     Callbacks that arrive during a pull cause exactly one more pass.
//   - Pages are pipelined ([WithPagesInFlight]): the next page of kf/sync_msg is pulled
//     while earlier ones are handled. A page is read from the store in one operation (its
//     processed marks, and the sessions of conversations no page in flight has; the
//     others continue with the session in memory) and recorded in one atomic write
//     (storage.Batch): the sessions, processed marks and done sends of its messages, and
//     its cursor. Pages are recorded in page order; a page's cursor is saved only with
//     the page and every earlier one fully handled, and a page's batch is written only
//     when every earlier page's was, so a conversation's stored session never skips a
//     page. A crash replays from the last saved cursor.
//   - Processed msgids are remembered for 3 days and skipped on replay.
//   - Every reply carries a msgid derived from the inbound msgid and the reply's index
//     ([OutMsgID]). Before a page's messages are handled, one write records an attempt
//     mark for each that no earlier pass began (storage.AttemptKey): a message without
//     one cannot have had a reply sent, so its replies need no store operation. A crash
//     before the page's record replays its messages with their old sessions and their
//     attempt marks set: then each reply consults the send log — a send marked done is
//     skipped, any other is repeated with the same msgid, which WeCom refuses as a
//     duplicate (WeCom requires a msgid unique per KF account:
//     https://developer.work.weixin.qq.com/document/path/94677) and the engine then counts
//     as delivered, without using the reply allowance, since it went out before. So a
//     replayed message never reaches the customer twice, and its effects count once:
//     they were never recorded. A page costs three store operations (read, attempt
//     marks, record), whatever its size. While Run runs, confirmed sends are also
//     marked done in batches every 10 ms, so a crash repeats (and WeCom refuses) only
//     the sends of its last moments.
//   - A message that fails for a transient reason (WeCom, the network or the store
//     failing for now) leaves its conversation's part of the page unrecorded except for
//     its done sends; that part and the conversation's later messages are handled again
//     on the next pass, while other conversations' work is recorded. A batch too big for
//     the store is split between conversations, each conversation's writes staying
//     together.
//   - A handler that may take long defers its message ([Context.Defer]): the message,
//     and every later one of its conversation until none is left, is parked in the
//     store's inbox (storage.InboxStore) by its page's record, instead of being marked
//     processed, and is handled on the conversation's lane; each is recorded processed
//     in one write that removes its inbox entry. So a slow conversation never holds a
//     page, its cursor or other conversations, and a crash finds what was parked at the
//     next start, where it is handled before the account's first page. A parked
//     message's replies are derived from its msgid like any other's; a non-deterministic
//     answer is made exactly once by storing it before the first reply
//     ([Context.Remember]) and looking for it first ([Context.Memo]).
//   - Cold start: with no cursor yet, messages older than 5 minutes are skipped
//     ([WithColdStartAge]), so a fresh deploy never answers days-old history.
//
// # Ordering and concurrency
//
// Messages of one conversation (open_kfid + external_userid) are handled one at a time in
// the order WeCom returned them, across pages in flight too; different conversations run
// in parallel up to [WithConcurrency], on long-lived workers. Within a page, enter_session
// events go first: their welcome codes live only 20 seconds.
//
// # Conversations
//
// Each conversation has a [storage.Session]: handler variables, counters, whether a human
// owns it, and the reply quota. WeCom allows 5 messages within 48 hours after each customer
// message; the engine counts, and a reply that would exceed it returns [ErrQuotaExceeded]
// without calling WeCom. Text longer than 2,048 bytes is split. WeCom errors
// 95018/95001/95002/95031 stop replies until the customer writes again.
//
// # A person's conversation
//
// A message typed by a servicer (origin 5), a session_status_change other than an end, and
// the bot's own [Context.TransferToPool] or [Context.TransferTo] give the conversation to
// a person. From then on nothing of the bot runs for the customer's messages: no route
// registered with [Bot.Handle], no default handler, no change to the session's counters or
// reply window. Global middleware ([Bot.Use]) still sees them, and routes registered with
// [Bot.HandleHuman] see only them (to record or forward them). Events and servicer
// messages reach the routes as usual.
//
// The conversation comes back to the bot with a session_status_change end, when WeCom
// says so (kf/service_state/get, asked when the customer writes, at most once per
// conversation per [Handback.CheckInterval]), or by policy ([Handback.PoolTimeout],
// [Handback.IdleTimeout]). Each change of hands is logged at Info and reported to
// [Observer.Ownership].
//
// # Errors and shutdown
//
// Handler errors and panics go to one error handler ([WithErrorHandler]) and never stop
// the bot. When Run's context is cancelled, the bot stops pulling, lets in-flight handlers
// finish within [WithShutdownTimeout], then cancels them, and returns.
//
// # Example
//
//	client := kf.NewClient(corpID, secret)
//	store, _ := badgerstore.Open("./data")
//	defer store.Close()
//	b, err := bot.New(client, store)
//	if err != nil {
//		log.Fatal(err)
//	}
//	b.Handle(bot.Event(syncmsg.EventEnterSession), func(c *bot.Context) error {
//		return c.WelcomeText("Hi! How can we help?")
//	})
//	b.Handle(bot.Text("ping"), func(c *bot.Context) error { return c.ReplyText("pong") })
//	h, _ := router.New(router.Config{Token: tok, EncodingAESKey: key, CorpID: corpID}, b)
//	go http.ListenAndServe(":8080", h)
//	_ = b.Run(ctx)
package bot
