// Package storage defines what kfbot persists, one small interface per concern, and an
// in-memory [Store] for tests and examples.
//
// The engine (package bot) uses these interfaces; storage/badgerstore is the persistent
// store, storage/storagetest the conformance suite every store must pass.
//
// # Delivery and the role of each concern
//
// WeCom delivers at least once: a callback only says "there is something new", and the
// engine pulls the messages with kf/sync_msg from a cursor. kfbot turns that into
// effectively exactly-once replies with these pieces:
//
//   - [CursorStore]: the sync_msg cursor per (corp, open_kfid). The engine saves
//     next_cursor only after every message of a page has been handled, so a crash
//     replays the page instead of losing it.
//   - [Deduper]: processed msgids ([InboundKey]) with a TTL ([DefaultDedupTTL], longer
//     than the three days WeCom keeps messages), recorded atomically.
//   - [SendLog]: outbound msgids ([OutboundKey]) and the attempt marks of inbound
//     messages ([AttemptKey]). The engine derives each reply's msgid from the inbound
//     msgid and records a message's attempt mark before handling it; after a crash the
//     replies of a message with an attempt mark consult the send log ([SendLog.BeginSend])
//     and are retried with the same msgid, which WeCom accepts only once.
//   - [SessionStore]: per-conversation state ([Session]): handler variables, counters,
//     the human-owned flag and the 5-replies-per-48-hours quota window.
//   - [Leaser]: one lease per account ([PullLease]) so that only one puller runs for it.
//     With a shared store several replicas can serve one callback URL; with a
//     single-process store (Badger) the lease is local but keeps the engine's code path
//     the same.
//   - [Batcher]: what the engine does per page — one [Lookup] read ([Batcher.Load]) and
//     atomic [Batch] writes ([Batcher.Apply]): the attempt marks, then the sessions,
//     processed marks, done sends and cursor together — so a page costs three store
//     operations whatever its size.
//
// # Transcripts (optional)
//
// [TranscriptStore] keeps a bounded transcript per conversation: its newest [Turn]s —
// what the customer wrote, what the bot and human servicers answered, and when the
// conversation changed hands — for AI context, hand-over summaries and exports. A store
// may implement it; [Memory] and storage/badgerstore do. Each conversation keeps at most
// [TranscriptLimits].MaxTurns turns ([DefaultTranscriptTurns]), each for
// [TranscriptLimits].TTL from its Time ([DefaultTranscriptTTL], WeCom's reply window).
// Appends are idempotent by (conversation, msgid, reply index, kind), so a page
// replayed after a crash is recorded once. Transcripts hold customers' messages:
// whoever records them decides whether to, and keeps the TTL as short as the use
// allows.
//
// # Conventions
//
// Every method takes a [context.Context] first and every implementation is safe for
// concurrent use. Missing sessions are reported with [ErrNotFound]; a missing cursor is
// the empty string and a missing send is [SendNone]. After Close every method returns an
// error that matches [ErrClosed]. TTLs are logical: an entry is gone from the moment
// its expiry passes on the store's clock, even if it is physically removed later.
package storage
