// Package kf is a client for the server API of WeChat Customer Service
// (微信客服, WeCom "KF"): pulling messages and events with kf/sync_msg,
// replying with kf/send_msg and kf/send_msg_on_event, reading and changing
// session state, listing accounts, looking up customers, uploading media and
// streaming down the media customers sent.
//
//	client := kf.NewClient(corpID, secret, kf.WithLogger(logger)) // no I/O
//	page, err := client.SyncMsg(ctx, kf.SyncMsgRequest{OpenKFID: openKFID, Cursor: cursor, Token: cbToken})
//	...
//	_, err = client.SendMsg(ctx, kf.SendMsgRequest{
//		ToUser: externalUserID, OpenKFID: openKFID, MsgID: replyID,
//		Message: kf.Text{Content: "hello"},
//	})
//
// Every call takes a context first and a request struct, and returns a
// response struct or an error. Requests are validated locally where a
// mistake is certain (missing ids, a msgid longer than 32 bytes, an empty or
// over-long text, more than 10 menu items); such errors match
// [ErrInvalidRequest] and say what to change. Empty optional fields are
// omitted from the JSON, since WeCom rejects empty strings. A [Client] is
// safe for concurrent use; create one per corp and app secret and share it.
//
// # Access tokens
//
// The client fetches an access token with gettoken on first use and caches
// it until [DefaultTokenRefreshMargin] (5 minutes, see
// [WithTokenRefreshMargin]) before it expires. Concurrent callers share one
// in-flight fetch (singleflight); a caller whose context ends stops waiting
// without failing the fetch for the others. When an API call answers 40014
// (invalid), 42001 (expired) or 41001 (missing), the client drops that token,
// gets a new one and repeats the call once; a second rejection is returned.
// [WithTokenSource] replaces the cache with your own [TokenSource], e.g. a
// token service shared by several processes.
//
// # Retries
//
// Transient failures are retried with capped exponential back-off and full
// jitter, up to [RetryPolicy].MaxAttempts attempts (default 3): errcode -1
// (system busy) and 45033 (concurrency limit), HTTP 5xx and 429 answers and
// transport errors. Errcode 45009 (frequency limit) waits
// [RetryPolicy].RateLimitDelay longer. Business errors — 95xxx and 40xxx
// other than the token codes — are never retried. A request that may already
// have reached WeCom is repeated only when that is safe: sends need a MsgID
// (WeCom rejects a duplicate msgid), trans is never repeated. Every wait ends
// when the context is done; the call then returns an error matching
// ctx.Err().
//
// # Errors
//
// A non-zero errcode is returned as [*APIError]; its text reads
// "kf: send_msg: errcode 95018: <errmsg>; what to do: <hint>", where the hint
// ([APIError.Hint], [CodeHint]) names the setting or console page to fix, or
// what happens next. Match codes with [errors.Is]
// against the sentinels, which compare by code through any wrapping, or read
// the code with [errors.As]:
//
//	switch {
//	case errors.Is(err, kf.ErrSessionStateForbidsSend): // 95018: a human owns the session
//	case errors.Is(err, kf.ErrSendCountLimit):          // 95001: wait for the customer
//	}
//	var apiErr *kf.APIError
//	if errors.As(err, &apiErr) {
//		log.Printf("errcode %d (%s): %s", apiErr.Code, kf.CodeText(apiErr.Code), apiErr.Hint())
//	}
//
// Non-2xx answers without an errcode are [*HTTPError]; a 2xx answer that is
// not JSON (or larger than 8 MiB) matches [ErrInvalidResponse].
//
// # Secrets
//
// The access token travels in the query string; it and the app secret never
// appear in an error text or a log line: they are removed from the URL of a
// *url.Error and from WeCom's errmsg, and the client never logs URLs or
// bodies. [Secret] and [AccessToken] print, log and marshal as REDACTED. At
// Debug level the client logs one record per HTTP exchange (op, attempt,
// errcode, status, duration); retries are logged at Warn.
package kf
