package bot

import (
	"context"
	"errors"
	"net"
	"net/url"

	"github.com/kfbot/kfbot/kf"
)

// RefusalError is a reply the engine declined without calling WeCom: logged at Warn,
// counted by [Observer.Refused]. Match one with errors.Is, any with errors.As.
type RefusalError struct {
	Reason string // one of the Refusal constants, for logs and metrics
	msg    string
}

// Error returns the refusal's message.
func (e *RefusalError) Error() string { return e.msg }

// Reasons of a [RefusalError], passed to [Observer.Refused], and when each happens.
const (
	RefusalQuota          = "quota"           // the 5 replies allowed after the customer's last message are used
	RefusalWindow         = "window"          // no customer message in 48 h: WeCom would refuse (95002/95031)
	RefusalHuman          = "human"           // a human servicer owns the conversation
	RefusalStopped        = "stopped"         // WeCom refused a send here (95018/95001/95002/95031) until the customer writes
	RefusalNotCustomer    = "not_customer"    // a servicer's message or an event: nothing to answer with send_msg
	RefusalNoConversation = "no_conversation" // the message names no customer
	RefusalNoEventCode    = "no_event_code"   // Welcome on a message without welcome_code/msg_code
	RefusalCodeExpired    = "code_expired"    // the event code is older than its 20 s life: skipped, not sent
)

// Errors of the engine. All but ErrAlreadyRunning (from [Bot.Run] when the bot runs
// already) are [*RefusalError] values, one per Refusal reason.
var (
	ErrAlreadyRunning           = errors.New("bot: already running")
	ErrQuotaExceeded      error = &RefusalError{RefusalQuota, "bot: reply quota exceeded: at most 5 replies per customer message"}
	ErrWindowClosed       error = &RefusalError{RefusalWindow, "bot: reply window closed: the customer has not written in the last 48 hours"}
	ErrHumanOwned         error = &RefusalError{RefusalHuman, "bot: conversation is owned by a human servicer"}
	ErrRepliesStopped     error = &RefusalError{RefusalStopped, "bot: replies stopped until the customer writes again"}
	ErrNotCustomerMessage error = &RefusalError{RefusalNotCustomer, "bot: not a customer message: replies answer customer messages only"}
	ErrNoEventCode        error = &RefusalError{RefusalNoEventCode, "bot: message carries no welcome_code or msg_code"}
	ErrCodeExpired        error = &RefusalError{RefusalCodeExpired, "bot: event code expired before it could be used"}
	ErrNoConversation     error = &RefusalError{RefusalNoConversation, "bot: message names no customer conversation"}
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
