// Package router serves the HTTP side of a kfbot: the WeCom callback URL, health checks and
// an optional metrics endpoint, as one [http.Handler].
//
// WeCom calls the callback URL in two ways (https://developer.work.weixin.qq.com/document/path/90930):
//
//   - GET: URL verification when an administrator saves the callback settings. The router
//     checks the signature, decrypts echostr and answers with the plaintext alone. No
//     timestamp window applies here: the check changes nothing and the official test vector
//     carries a 2014 timestamp.
//   - POST: a "something changed" poke for one KF account (kf_msg_or_event). The router
//     checks the signature and a timestamp window (default 5 minutes), refuses a nonce it has
//     already accepted inside that window, caps the body (default 64 KiB), decrypts, parses
//     and calls [Notifier.Notify], then answers 200 at once. The messages themselves are
//     pulled later by the engine with kf/sync_msg, so nothing slow ever runs in the request.
//
// Any bad input — a forged signature, a stale timestamp, a replayed nonce, an oversized or
// garbage body — gets a 4xx answer and triggers no pull. Unknown callback events (other app
// events sent to the same URL) are acknowledged with 200 and ignored.
//
// The router also serves GET /healthz (always 200 while the process serves HTTP), GET /readyz
// (200 when [Config.Ready] reports ready, else 503) and, when [Config.Metrics] is set,
// GET /metrics. Logging and [Config.Observe] wrap the whole mux, so they see 404 and 405
// answers too; a 405 answer carries an Allow header.
//
// gorilla/mux is used inside this package only; nothing of it appears in the API, so it can
// be replaced without notice.
//
// The router does not import the engine: it calls a [Notifier], which *bot.Bot satisfies.
//
// [Config.MetricsToken] (or [BearerAuth] around any handler) puts /metrics behind a bearer
// token.
//
// Serve the handler with [NewServer] and [LimitListener]: slow clients are cut off (header
// and whole-request read deadlines, a header size cap) and the connections are bounded,
// the oldest giving way when the server is full, so a crowd of clients trickling bytes
// cannot hold the server or keep real callbacks out.
//
//	h, err := router.New(router.Config{Token: tok, EncodingAESKey: key, CorpID: corpID}, b)
//	if err != nil { ... }
//	ln, err := net.Listen("tcp", ":8080")
//	if err != nil { ... }
//	srv := router.NewServer(h, router.ServerConfig{})
//	go func() {
//		if err := srv.Serve(router.LimitListener(ln, router.ServerConfig{})); !errors.Is(err, http.ErrServerClosed) { ... }
//	}()
package router
