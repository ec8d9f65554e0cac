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
//   - Each page of kf/sync_msg is dispatched completely before its cursor is saved. A crash
//     replays the page from the old cursor.
//   - Processed msgids are remembered for 3 days and skipped on replay.
//   - Every reply carries a msgid derived from the inbound msgid and the reply's index
//     ([OutMsgID]). Before the send, the send log marks it pending (one BeginSend, which
//     also tells a retry that it was sent before); after the handler, one atomic write
//     (storage.Batch) stores the session, the processed mark and the done marks together.
//     A crash before that write replays the message with its old session; a send marked
//     done is skipped, one marked pending is repeated with the same msgid, which WeCom
//     refuses as a duplicate and the engine then counts as delivered. So a replayed
//     message never reaches the customer twice, and its effects count once.
//   - Cold start: with no cursor yet, messages older than 5 minutes are skipped
//     ([WithColdStartAge]), so a fresh deploy never answers days-old history.
//
// # Ordering and concurrency
//
// Messages of one conversation (open_kfid + external_userid) are handled one at a time in
// the order WeCom returned them; different conversations run in parallel up to
// [WithConcurrency]. Within a page, enter_session events go first: their welcome codes live
// only 20 seconds.
//
// # Conversations
//
// Each conversation has a [storage.Session]: handler variables, counters, whether a human
// owns it, and the reply quota. WeCom allows 5 messages within 48 hours after each customer
// message; the engine counts, and a reply that would exceed it returns [ErrQuotaExceeded]
// without calling WeCom. Text longer than 2,048 bytes is split. A message typed by a human
// servicer (origin 5) or a session_status_change marks the conversation human-owned, and the
// bot stops replying there; WeCom errors 95018/95001/95002/95031 stop replies until the
// customer writes again.
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
