package kf

import (
	"errors"
	"strconv"
)

// APIError is a non-zero `errcode` answered by WeCom. Match it with
// [errors.Is] against the sentinels below (comparison is by Code only, so
// any *APIError with the same code matches, however deeply it is wrapped),
// or with [errors.As] to read Code and Message:
//
//	if errors.Is(err, kf.ErrSessionStateForbidsSend) { /* a human owns the session */ }
//	var apiErr *kf.APIError
//	if errors.As(err, &apiErr) && apiErr.Code == 95004 { /* account gone */ }
//
// The full code table is at https://developer.work.weixin.qq.com/document/path/90313
// (general) and on each KF page (95xxx).
type APIError struct {
	// Op is the API operation, e.g. "send_msg" or "gettoken".
	Op string
	// Code is WeCom's `errcode`.
	Code int
	// Message is WeCom's `errmsg`, verbatim (it usually ends with a
	// "hint: [...]" request id). Never branch on it. Whole occurrences of the
	// access token or the secret are replaced with REDACTED.
	Message string
}

// Error returns "kf: <op>: errcode <code>: <errmsg>; what to do: <hint>".
// When errmsg is empty the short English meaning from [CodeText] is used
// instead; the "what to do" part is [APIError.Hint] and is left out for a
// code without one.
func (e *APIError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = CodeText(e.Code)
	}
	s := "kf: "
	if e.Op != "" {
		s += e.Op + ": "
	}
	s += "errcode " + strconv.Itoa(e.Code)
	if msg != "" {
		s += ": " + msg
	}
	if h := e.Hint(); h != "" {
		s += "; what to do: " + h
	}
	return s
}

// Hint says what to do about the error, in English without a final period:
// which setting or console page to check, or what the caller (or the client
// by itself) does next. It is [CodeHint] of e.Code, so it is "" for a code
// without a hint.
func (e *APIError) Hint() string { return CodeHint(e.Code) }

// Is reports whether target is an *APIError with the same Code.
func (e *APIError) Is(target error) bool {
	t, ok := target.(*APIError)
	return ok && t != nil && t.Code == e.Code
}

// Retryable reports whether repeating the same request later may succeed:
// true for -1 (system busy), 45033 (concurrency limit) and 45009 (frequency
// limit; needs a longer pause). The [Client] already retries these according
// to its [RetryPolicy], so a caller seeing one has exhausted the policy.
// Token errors (40014, 42001, 41001) are not reported as retryable: the client
// refreshes the token and retries once by itself.
func (e *APIError) Retryable() bool { return RetryableCode(e.Code) }

// RetryableCode reports the errcodes [APIError.Retryable] retries: -1, 45033, 45009.
func RetryableCode(code int) bool {
	switch code {
	case -1, 45033, 45009:
		return true
	}
	return false
}

func apiErr(code int, text string) *APIError { return &APIError{Code: code, Message: text} }

// Sentinel API errors, for use with [errors.Is]. They carry only a code and the
// short meaning; errors returned by the client carry Op and WeCom's errmsg.
var (
	// ErrSystemBusy is -1 (系统繁忙); retried with back-off.
	ErrSystemBusy = apiErr(-1, "system busy")
	// ErrInvalidSecret is 40001: corpid/secret mismatch, secret reset or app disabled. A configuration error.
	ErrInvalidSecret = apiErr(40001, "invalid secret")
	// ErrInvalidAccessToken is 40014; the client refreshes the token and retries once.
	ErrInvalidAccessToken = apiErr(40014, "invalid access_token")
	// ErrInvalidParameter is 40058: bad JSON, missing field, field too long or an empty string where a value is required.
	ErrInvalidParameter = apiErr(40058, "invalid parameter")
	// ErrAccessTokenMissing is 41001; the client refreshes the token and retries once.
	ErrAccessTokenMissing = apiErr(41001, "access_token missing")
	// ErrAccessTokenExpired is 42001; the client refreshes the token and retries once.
	ErrAccessTokenExpired = apiErr(42001, "access_token expired")
	// ErrEmptyContent is 44004: the text content is empty.
	ErrEmptyContent = apiErr(44004, "empty content")
	// ErrContentTooLong is 45002: the content exceeds the limit (text: 2048 bytes).
	ErrContentTooLong = apiErr(45002, "content too long")
	// ErrRateLimited is 45009: API frequency limit (minute or hour ban); retried after a longer pause.
	ErrRateLimited = apiErr(45009, "api frequency limit exceeded")
	// ErrConcurrencyLimit is 45033: too many concurrent calls of one API; retried with back-off.
	ErrConcurrencyLimit = apiErr(45033, "api concurrency limit exceeded")
	// ErrSendCountLimit is 95001: the 5 messages allowed per customer message are used up.
	ErrSendCountLimit = apiErr(95001, "send count limit reached")
	// ErrSendTimeLimit is 95002: the 48-hour window after the customer's last message has passed.
	ErrSendTimeLimit = apiErr(95002, "send time limit (48h) exceeded")
	// ErrInvalidMsgToken is 95007: the callback Token given to sync_msg is expired or invalid; retry without it.
	ErrInvalidMsgToken = apiErr(95007, "invalid msg token")
	// ErrMenuTooManyItems is 95008: a menu message has more than 10 items.
	ErrMenuTooManyItems = apiErr(95008, "too many menu items")
	// ErrInvalidMenuItemType is 95009: unknown menu item type.
	ErrInvalidMenuItemType = apiErr(95009, "invalid menu item type")
	// ErrSessionEnded is 95013: the session has ended.
	ErrSessionEnded = apiErr(95013, "session ended")
	// ErrNotServicer is 95014: the user is not an (activated) servicer of the account.
	ErrNotServicer = apiErr(95014, "user is not a servicer")
	// ErrInvalidTransition is 95016: this service-state transition is not allowed.
	ErrInvalidTransition = apiErr(95016, "state transition not allowed")
	// ErrSessionStateForbidsSend is 95018: the session state (not 0/1, or older than 48h) forbids sending; a human owns it.
	ErrSessionStateForbidsSend = apiErr(95018, "session state forbids sending")
	// ErrServicerUnavailable is 95019: the servicer has stopped receiving or is suspended.
	ErrServicerUnavailable = apiErr(95019, "servicer stopped or suspended")
	// ErrNoConsultation48h is 95031: the customer has not started a consultation within 48 hours.
	ErrNoConsultation48h = apiErr(95031, "no customer consultation within 48h")

	// ErrWelcomeCodeMissing is 41049 (缺少欢迎语code): send_welcome_msg without a
	// welcome_code. [Client.SendWelcomeMsg] rejects this locally, so it only
	// comes from another client.
	ErrWelcomeCodeMissing = apiErr(41049, "welcome code missing")
	// ErrWelcomeCodeInvalid is 41050 (无效的欢迎语code): the welcome code is
	// unknown or expired; it must be used within 20 s of the
	// add_external_contact event. Not retryable: see [WelcomeSkippable].
	ErrWelcomeCodeInvalid = apiErr(41050, "invalid or expired welcome code")
	// ErrWelcomeAlreadyChatting is 41051: the customer and the member have
	// already chatted, or another app already used the welcome code. Not
	// retryable: see [WelcomeSkippable].
	ErrWelcomeAlreadyChatting = apiErr(41051, "customer and member already chatting, or welcome code used")
	// ErrWelcomeSending is 41096 (欢迎语已在发送中): a welcome for this code is
	// already being sent. Not retryable: see [WelcomeSkippable].
	ErrWelcomeSending = apiErr(41096, "welcome message already being sent")
	// ErrNoExternalContactRelation is 84061 (不存在外部联系人的关系): the member and
	// the customer have no relationship: the member deleted the customer, or
	// a 免验证 add is not yet confirmed. Not retryable.
	ErrNoExternalContactRelation = apiErr(84061, "no external contact relationship")
)

// WelcomeSkippable reports whether err (however wrapped) is one of the
// errors after which a welcome message can never be sent: 41050 (code
// expired), 41051 (already chatting or code used by another app), 41096
// (already being sent) and 84061 (no relationship). A bot logs these at Info
// level and moves on; it neither retries nor alerts. Any other error of
// [Client.SendWelcomeMsg] deserves attention.
func WelcomeSkippable(err error) bool {
	return errors.Is(err, ErrWelcomeCodeInvalid) || errors.Is(err, ErrWelcomeAlreadyChatting) ||
		errors.Is(err, ErrWelcomeSending) || errors.Is(err, ErrNoExternalContactRelation)
}

// codeText maps errcodes to a short English meaning (codes of
// https://developer.work.weixin.qq.com/document/path/90313 and of the KF pages).
var codeText = map[int]string{
	-1: "system busy", 40001: "invalid secret", 40003: "invalid userid",
	40004: "invalid media type", 40005: "invalid type parameter", 40006: "invalid file size",
	40007: "invalid media_id", 40008: "invalid msgtype", 40009: "invalid image size",
	40011: "invalid video size", 40013: "invalid corpid", 40014: "invalid access_token",
	40058: "invalid parameter", 40091: "invalid secret", 41001: "access_token missing",
	41049: "welcome code missing", 41050: "invalid or expired welcome code",
	41051: "customer and member already chatting, or welcome code used",
	41096: "welcome message already being sent", 84061: "no external contact relationship",
	42001: "access_token expired", 44004: "empty content", 45001: "media too large",
	45002: "content too long", 45009: "api frequency limit exceeded",
	45033: "api concurrency limit exceeded", 48002: "api forbidden",
	60011: "no permission for the user or department", 60020: "caller IP not trusted",
	90206: "mini program not bound", 90207: "invalid mini program appid",
	95000: "invalid open_kfid", 95001: "send count limit reached",
	95002: "send time limit (48h) exceeded", 95003: "consultation limit (corp not verified)",
	95004: "open_kfid does not exist", 95005: "too many KF accounts",
	95006: "invalid KF account name", 95007: "invalid msg token",
	95008: "too many menu items", 95009: "invalid menu item type",
	95011: "KF is used inside WeCom (wrong secret mode)", 95012: "KF is not used inside WeCom (wrong secret mode)",
	95013: "session ended", 95014: "user is not a servicer",
	95016: "state transition not allowed", 95017: "api switch is off",
	95018: "session state forbids sending", 95019: "servicer stopped or suspended",
	95021: "upgrade service not configured", 95023: "api switch granted to another app",
	95030: "message type forbidden by the KF component", 95031: "no customer consultation within 48h",
}

// CodeText returns a short English meaning of a WeCom errcode, or "" for a
// code not in the table. Useful for logs and metrics labels.
func CodeText(code int) string { return codeText[code] }

// CodeHint returns what to do about a WeCom errcode, or "" for a code
// without a hint: which setting or WeCom admin console page
// (https://work.weixin.qq.com/wework_admin) to check, or what the client does
// by itself. [APIError.Error] ends with it.
func CodeHint(code int) string { return codeHint[code] }

// Console paths name the WeCom admin console's Chinese menu items, as the
// admin sees them.
const (
	hintSecret = "use the corp ID (我的企业 → 企业ID) with the Secret of the self-built app that " +
		"微信客服 → 可调用接口的应用 lists (应用管理 → the app → Secret). Since 2023-12-01 the 微信客服 " +
		"system-app secret no longer works for new corps, and repeated wrong secrets get the IP banned for an hour"
	hintToken   = "the client fetches a new access token and retries once by itself, and if it keeps happening, check the TokenSource"
	hintMedia   = "check the media type and size (image JPG/PNG ≤ 10 MB, voice AMR ≤ 2 MB and ≤ 60 s, video MP4 ≤ 10 MB, file ≤ 20 MB)"
	hintNoReply = "the bot cannot send to this customer until the customer writes again"
	hintAPIApp  = "in the WeCom admin console add this self-built app under 微信客服 → 可调用接口的应用, " +
		"and let it manage the KF accounts (微信客服 → 通过API管理微信客服账号)"
)

// codeHint maps errcodes to what to do (codes of
// https://developer.work.weixin.qq.com/document/path/90313 and the 95xxx codes
// of the KF pages).
var codeHint = map[int]string{
	-1:    "WeCom is busy: the client retries with back-off, and if it persists, try again later",
	40001: hintSecret,
	40003: "the userid is not a member of the corp: use the WeCom userid of a servicer (接待人员) of this KF account",
	40004: hintMedia, 40005: hintMedia, 40006: hintMedia, 40009: hintMedia, 40011: hintMedia,
	40007: "the media_id is unknown or expired (temporary media lives 3 days): upload the file again and send the new media_id",
	40008: "send only the message types that kf/send_msg accepts",
	40013: "the corp ID is wrong: copy it from the WeCom admin console, 我的企业 → 企业ID (it starts with ww)",
	40014: hintToken, 42001: hintToken,
	41001: hintToken + " (a token from the 微信客服 system-app secret also gets 41001: " + hintAPIApp + ")",
	40058: "a request field is missing, empty or too long: fix the request, repeating it will not help",
	40091: hintSecret,
	41049: "pass the WelcomeCode of the add_external_contact or add_half_external_contact event",
	41050: "the welcome code is unknown or older than 20 seconds: send the welcome from the callback's fast path, " +
		"before slow work, and log this at Info level (the welcome can no longer be sent)",
	41051: "the customer and the member already chatted, or another app sent the welcome first: " +
		"log it at Info level and move on, no welcome is due",
	41096: "a welcome for this code is already being sent (a duplicate callback or a second worker): " +
		"dedup callbacks on WelcomeCode and move on",
	44004: "the text is empty: send a non-empty content",
	45001: "the media file is too large: keep image and video ≤ 10 MB, voice ≤ 2 MB, file ≤ 20 MB",
	45002: "the content is too long (text: at most 2048 bytes): shorten it or split it into several messages",
	45009: "the API frequency limit was hit (a ban of a minute or an hour, which repeated wrong secrets cause too): " +
		"slow down (the client retries after a long pause)",
	45033: "too many concurrent calls of this API: lower the concurrency (the client retries with back-off)",
	48002: "the app may not call this API: " + hintAPIApp,
	60011: "the app has no permission for this user or department: add them to the app's visible range (应用管理 → the app → 可见范围)",
	60020: "this server's IP is not trusted: add its public egress IP to the app's 企业可信IP (应用管理 → the app → 企业可信IP)",
	84061: "the member and the customer have no relationship (the member deleted the customer, " +
		"or a 免验证 add is not confirmed yet): mark the relationship gone and move on",
	90206: "bind the mini program to the corp (应用管理 → 小程序) before sending it",
	90207: "the mini program appid is wrong: use the appid of a mini program bound to the corp",
	95000: "the open_kfid is malformed: copy it from the KF account list (kf/account/list)",
	95001: "the 5 replies allowed per customer message are used up: " + hintNoReply,
	95002: "more than 48 hours passed since the customer's last message: " + hintNoReply,
	95003: "the corp is not verified (企业认证), which limits consultations: verify the corp in the WeCom admin console",
	95004: "the open_kfid does not exist (deleted, or of another corp): remove it from the configuration",
	95005: "the corp has reached its number of KF accounts: delete an unused account first",
	95006: "the KF account name is invalid: choose another name",
	95007: "the callback Token is expired or invalid: pull without it, or wait for the next callback",
	95008: "a menu has at most 10 items: remove some",
	95009: "use only click, view, miniprogram and text menu items",
	95011: "微信客服 is used inside WeCom, but the secret is the standalone KF one: " + hintSecret,
	95012: "微信客服 is not used inside WeCom, but the secret is a WeCom app's: use the secret from kf.weixin.qq.com → 开发配置, " +
		"or move 微信客服 into WeCom",
	95013: "the session has ended: read the service state again (kf/service_state/get) before acting on it",
	95014: "pick a servicer of this KF account, activated in WeCom and within the app's visible range",
	95016: "this service-state change is not allowed from the current state: read the state first (kf/service_state/get)",
	95017: "the API switch of 微信客服 is off: " + hintAPIApp,
	95018: "a human servicer owns the session, or it is older than 48 hours: " + hintNoReply,
	95019: "the servicer stopped receiving or is suspended: pick another servicer",
	95021: "configure the upgrade-service members or groups (升级服务) in the WeCom admin console first",
	95023: "the API switch of 微信客服 is granted to another (代开发) app: " + hintAPIApp,
	95030: "the KF component forbids this message type: send another type",
	95031: "the customer has not written within the last 48 hours: " + hintNoReply,
}

// HTTPError is an HTTP answer other than 2xx that carried no WeCom errcode,
// e.g. an HTML 502 page from a proxy. 5xx and 429 are retried.
type HTTPError struct {
	// Op is the API operation, e.g. "sync_msg".
	Op string
	// StatusCode is the HTTP status code.
	StatusCode int
	// Status is the HTTP status line, e.g. "502 Bad Gateway".
	Status string
}

// Error returns "kf: <op>: unexpected HTTP status <status>".
func (e *HTTPError) Error() string {
	return "kf: " + e.Op + ": unexpected HTTP status " + e.Status
}

// Retryable reports whether the status is 5xx or 429.
func (e *HTTPError) Retryable() bool {
	return e.StatusCode >= 500 || e.StatusCode == 429
}

var (
	// ErrInvalidRequest is matched (with [errors.Is]) by every error from local
	// validation of a request, before anything is sent: a missing required
	// field, a msgid that is too long, an over-long text, too many menu items.
	// The error text says what to change.
	ErrInvalidRequest = errors.New("kf: invalid request")

	// ErrInvalidResponse is matched by errors for a 2xx answer that could not be
	// understood: not JSON (for example an HTML page) or larger than the
	// response size cap. Not retried.
	ErrInvalidResponse = errors.New("kf: invalid response")
)

// requestError is a local validation failure; it matches ErrInvalidRequest.
type requestError struct {
	op, msg string
}

func invalid(op, msg string) error { return &requestError{op: op, msg: msg} }

func (e *requestError) Error() string        { return "kf: " + e.op + ": " + e.msg }
func (e *requestError) Is(target error) bool { return target == ErrInvalidRequest }
