package bot

import (
	"context"
	"errors"
	"net"
	"net/url"

	"github.com/kfbot/kfbot/kf"
)

// ErrAlreadyRunning is returned by [Bot.Run] when the bot is already running.
var ErrAlreadyRunning = errors.New("bot: already running")

// RefusalError is the engine declining a reply without calling WeCom: an expected outcome,
// not a failure. [Context] reply methods return one of the Err values below, each a
// *RefusalError; handlers usually just return it. The default error handler logs it at Warn
// rather than Error, and [Observer.Refused] counts it by Reason. Match one refusal with
// errors.Is (errors.Is(err, ErrQuotaExceeded)), any refusal with errors.As.
type RefusalError struct {
	Reason string // one of the Refusal constants, for logs and metrics
	msg    string
}

// Error returns the refusal's message.
func (e *RefusalError) Error() string { return e.msg }

// Reasons of a [RefusalError], passed to [Observer.Refused].
const (
	RefusalQuota          = "quota"           // ErrQuotaExceeded: 5 replies used up
	RefusalWindow         = "window"          // ErrWindowClosed: no customer message in 48 h
	RefusalHuman          = "human"           // ErrHumanOwned
	RefusalStopped        = "stopped"         // ErrRepliesStopped
	RefusalNotCustomer    = "not_customer"    // ErrNotCustomerMessage
	RefusalNoConversation = "no_conversation" // ErrNoConversation
	RefusalNoEventCode    = "no_event_code"   // ErrNoEventCode
	RefusalCodeExpired    = "code_expired"    // ErrCodeExpired
)

// The refusals, each a [*RefusalError].
var (
	// ErrQuotaExceeded: the customer's message allows at most 5 replies within 48 hours;
	// this reply would be one too many. Replies resume when the customer writes again.
	ErrQuotaExceeded error = &RefusalError{RefusalQuota, "bot: reply quota exceeded: at most 5 replies per customer message"}
	// ErrWindowClosed: more than 48 hours passed since the customer's last message, or the
	// customer never wrote; WeCom would refuse the send (95002/95031).
	ErrWindowClosed error = &RefusalError{RefusalWindow, "bot: reply window closed: the customer has not written in the last 48 hours"}
	// ErrHumanOwned: a human servicer owns the conversation; the bot must not reply.
	ErrHumanOwned error = &RefusalError{RefusalHuman, "bot: conversation is owned by a human servicer"}
	// ErrRepliesStopped: WeCom refused an earlier send in this conversation (95018, 95001,
	// 95002 or 95031); replies stop until the customer writes again.
	ErrRepliesStopped error = &RefusalError{RefusalStopped, "bot: replies stopped until the customer writes again"}
	// ErrNotCustomerMessage: the message was not sent by the customer (a servicer's message
	// or an event), so there is nothing to reply to with send_msg.
	ErrNotCustomerMessage error = &RefusalError{RefusalNotCustomer, "bot: not a customer message: replies answer customer messages only"}
	// ErrNoEventCode: Welcome was called on a message that carries no welcome_code/msg_code.
	ErrNoEventCode error = &RefusalError{RefusalNoEventCode, "bot: message carries no welcome_code or msg_code"}
	// ErrCodeExpired: the welcome/closing code is already too old to use (they live 20 s);
	// it was skipped, not sent.
	ErrCodeExpired error = &RefusalError{RefusalCodeExpired, "bot: event code expired before it could be used"}
	// ErrNoConversation: the message names no customer, so it has no conversation to act on.
	ErrNoConversation error = &RefusalError{RefusalNoConversation, "bot: message names no customer conversation"}
)

// refusalReason returns the Reason of err's [RefusalError], or "" when err is not a refusal.
func refusalReason(err error) string {
	if r, ok := errors.AsType[*RefusalError](err); ok {
		return r.Reason
	}
	return ""
}

// isTransient reports whether err says WeCom, the network or the store failed for now —
// the message should be handled again later — as opposed to a business answer or a bug.
func isTransient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var apiErr *kf.APIError
	if errors.As(err, &apiErr) {
		return apiErr.Retryable() || isRetryableCode(apiErr.Code)
	}
	var httpErr *kf.HTTPError
	if errors.As(err, &httpErr) {
		return httpErr.Retryable()
	}
	var netErr net.Error
	if errors.As(err, &netErr) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, errStore) {
		return true
	}
	var urlErr *url.Error
	return errors.As(err, &urlErr)
}

// errStore marks a store failure inside a reply, which is transient.
var errStore = errors.New("bot: store failed")
