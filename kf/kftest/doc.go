// Package kftest provides a stateful fake of the WeCom KF (微信客服) API, shaped
// like net/http/httptest, for tests and for the `kfbot simulate` command.
//
// The fake speaks the wire: it decodes requests itself and answers with
// WeCom's JSON, so it catches client serialization mistakes (an empty string
// for an optional field is rejected with 40058, has_more is a number,
// created_at a string, event items carry open_kfid inside "event"). It does
// not import package kf.
//
// # Using it
//
//	srv := kftest.NewServer()
//	defer srv.Close()
//	client := kf.NewClient(srv.CorpID(), srv.Secret(), kf.WithBaseURL(srv.URL))
//	srv.AddText("wkACCOUNT", "wmCUSTOMER", "hello")
//	// … run the code under test, then assert on srv.Sent() / srv.SentTo(…).
//
// [NewServer] listens on a loopback port like httptest.NewServer.
// [NewUnstartedServer] does not listen; its [Server.Transport] serves
// requests in process, on the calling goroutine, without sockets, so it
// works inside a testing/synctest bubble (the default clock, time.Now, is
// then the bubble's fake clock). [Server.Handler] mounts it anywhere.
//
// # What it keeps and enforces
//
//   - Access tokens (gettoken): wrong corpid 40013, wrong secret 40001,
//     missing corpid/corpsecret 41002/41004; every call issues a new token
//     with expires_in 7200 ([WithTokenTTL]); older tokens stay valid until
//     they expire. Using a token: missing 41001, unknown 40014, expired (or
//     after [Server.ExpireTokens]) 42001. [Server.TokenRequests] counts calls.
//     Access and callback tokens carry their issue time under a MAC that
//     binds them to the server (and a callback token to its account), so
//     the server keeps no record per token.
//   - A message log per KF account (open_kfid), filled by AddText,
//     AddMenuClick, AddImage, AddMedia (image, voice, video, file with their
//     bytes), AddLocation, AddItem, EnterSession, AddServicerText,
//     ServicerPickUp/Transfer/End, SetServicerStatus, UserRecall and
//     SendFail. Each returns the new msgid (from_msgid_<n>), stamps send_time
//     from the clock, updates the session as WeCom would, issues a fresh
//     callback token valid 10 minutes, and fires the [Server.OnAppend] hook.
//     Items are stored as their final JSON. Messages the bot sends are not
//     in the log (as in WeCom).
//   - kf/sync_msg: open_kfid required; cursor, token, limit, voice_format
//     optional and "" rejected (40058 "field cursor unexpected empty
//     string"); cursors are opaque and bound to the server and account
//     (anything else: [ErrCodeInvalidCursor]); without a cursor the log is
//     read from the first item of the last 3 days; limit defaults to and is
//     capped at 1000 ([Server.SetMaxPageSize] caps it further); has_more is
//     0/1; [Server.SetEmptyPageRate] inserts empty pages with has_more 1.
//     A token must have been issued for that account and be at most 10
//     minutes old, else 95007.
//   - Forgetting: the server forgets the items every usable cursor has
//     passed. A cursor handed out as next_cursor or presented within the
//     retention ([WithRetention], default [Retention], 72 hours) keeps
//     working — an engine replaying from its last saved cursor after a
//     crash gets the same items again — and items no next_cursor has
//     passed are always kept. A cursor that points before what was
//     forgotten fails with [ErrCodeCursorExpired] ("cursor expired") rather
//     than returning other items; [Server.Items] returns what is kept and
//     [Server.Stats] how much.
//   - kf/send_msg: touser, open_kfid, msgtype required; msgid optional, 1–32
//     bytes of [0-9a-zA-Z_-] (else 40058), unique per account
//     ([ErrCodeDuplicateMsgID]), generated when absent and echoed; payloads
//     per msgtype (text empty 44004, over 2048 bytes 45002; msgmenu over 10
//     items 95008, bad item type 95009; media ids must exist with the right
//     type, 40007; unknown msgtype 40008). Then, in this order: never
//     written by the customer 95031, more than 48 hours since the customer's
//     last message 95002, session state not 0/1 95018, more than 5 sends
//     since the last customer message 95001. Sending in state 0 moves the
//     session to 1.
//   - kf/send_msg_on_event: the code must exist, be unused and unexpired
//     ([ErrCodeInvalidEventCode] otherwise): welcome codes 20 s, closing
//     codes 20 s, pool and pick-up codes 48 h; except for welcome codes the
//     session must still be in the state (and the same session) the code
//     was obtained in, else 95018. msgtype text or msgmenu (pool/pick-up
//     codes: text only), else 40008. Each code sends once.
//   - Session states (kf/service_state/get, /trans): a customer starts in
//     4; a customer message turns 4 into 0. trans allows the documented
//     transitions 0→1/2/3, 1→2/3, 2→3, 3→3 (another servicer), 3→4, and
//     2→4 (undocumented, but what SDK users do in practice); from 4 it
//     fails with 95013, otherwise with 95016. trans to 3
//     needs a servicer added with [Server.AddServicer] (95014) who is
//     receiving (95019, see [Server.SetServicerStatus]). msg_code is
//     returned on the first change to 2 or 3 within a session and on every
//     change to 4. trans emits no events (WeCom only emits
//     session_status_change for servicer actions in the WeCom client).
//   - kf/account/list (POST offset/limit, or GET), kf/customer/batchget,
//     kf/servicer/list, media/upload (multipart field "media", type
//     image/voice/video/file, size and format checks, created_at as a
//     string) and media/get (with Range).
//   - Unknown open_kfids are created on first use, unless
//     [WithStrictAccounts] (then 95004).
//   - External contacts (客户联系): [Server.AddExternalContact] plays a member
//     adding a customer through a 「联系我」 code and returns the
//     change_external_contact event's XML with a welcome code valid
//     [WelcomeCodeTTL] and usable once (also AddExternalContactWithoutWelcome,
//     DeleteExternalContact, TransferFail). externalcontact/send_welcome_msg
//     answers 41049 (no code), 41050 (unknown or expired), 41051 (used),
//     84061 (the relationship is gone) and 40058 for a body WeCom refuses
//     (text over 4000 bytes, more than 9 attachments, both empty, a body
//     that does not match its msgtype, missing link or mini program
//     fields), 40007 for a medium never uploaded; [Server.Welcomes] lists
//     the accepted ones. externalcontact/get returns the customer and one
//     follow user per member who added them (84061 for nobody's).
//   - Other callbacks: [Server.NotificationXML] builds the decrypted XML of
//     any notification kind (app-event or InfoType form);
//     [Server.NewRawCallbackRequest] seals one; [Server.PostNotification]
//     posts one several times, as WeCom retries a callback not answered
//     with 200 (each try freshly sealed, the plaintext the same).
//
// # Undocumented error codes
//
// WeCom does not document the errcode for a duplicate send msgid, for an
// unknown/used/expired send_msg_on_event code, for a foreign cursor or for
// a cursor older than its retention. The fake answers all four with 40058
// (invalid parameter), distinguished by errmsg ("msgid duplicated",
// "invalid code" / "code already used" / "code expired", "invalid cursor",
// "cursor expired"); the constants [ErrCodeDuplicateMsgID],
// [ErrCodeInvalidEventCode], [ErrCodeInvalidCursor] and
// [ErrCodeCursorExpired] name them. Every
// errmsg carries a WeCom-style ", hint: […], more info at …" suffix, so
// clients must key on errcode.
//
// # Faults
//
// [Server.FailNext] and [Server.FailNextHTTP] queue failures for one
// endpoint, [Server.SetFaultRate] fails a random share of all requests,
// [Server.SetLatency] delays them and [Server.Handle] replaces an endpoint.
// Injected faults answer before the server looks at the request, so they
// never change state: a failed send records nothing.
//
// # Callbacks
//
// [Server.NewCallbackRequest] and [Server.CallbackBody] build the signed,
// AES-encrypted kf_msg_or_event POST WeCom sends (through package
// kf/callback, with [Server.CallbackConfig] and [Server.CorpID]);
// [Server.NewVerifyRequest] builds the URL-verification GET.
//
// # Embedding
//
// A program (such as `kfbot simulate`) embeds the fake by creating a server,
// pointing its kf client at [Server.URL] (or using [Server.Transport]) and
// setting [Server.OnAppend] to poke its engine — directly, or by sending
// [Server.NewCallbackRequest] to its callback router. A long run stays flat
// in memory when it sets a short [WithRetention] (the log then keeps only
// the items of the last retention's pulls and the outbound msgids of the
// last retention's sends) and calls [Server.ResetSent] now and then (the
// recorded sends are kept until then, for [Server.Sent] and
// [Server.SentTo]). Sessions and customers stay, one per customer.
//
// # Concurrency and determinism
//
// A Server is safe for concurrent use. Each request takes one short critical
// section; items are stored pre-encoded and a cursor names a log position,
// so paging costs O(page). Randomness (cursor and token salts, codes, empty
// pages, random faults) comes from one source seeded by [WithSeed]; a
// single-goroutine run with a fixed seed and clock ([WithClock]) is
// reproducible. The package has no dependency on package testing.
package kftest
