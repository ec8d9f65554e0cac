package bot

import (
	"context"
	"errors"
	"net"
	"net/url"

	"github.com/kfbot/kfbot/kf"
)

// Errors returned by the engine. Reply refusals are returned by [Context] reply methods
// without calling WeCom; handlers usually just return them, and the default error handler
// logs them at Warn rather than Error.
var (
	// ErrAlreadyRunning is returned by [Bot.Run] when the bot is already running.
	ErrAlreadyRunning = errors.New("bot: already running")
	// ErrQuotaExceeded: the customer's message allows at most 5 replies within 48 hours;
	// this reply would be one too many. Replies resume when the customer writes again.
	ErrQuotaExceeded = errors.New("bot: reply quota exceeded: at most 5 replies per customer message")
	// ErrWindowClosed: more than 48 hours passed since the customer's last message, or the
	// customer never wrote; WeCom would refuse the send (95002/95031).
	ErrWindowClosed = errors.New("bot: reply window closed: the customer has not written in the last 48 hours")
	// ErrHumanOwned: a human servicer owns the conversation; the bot must not reply.
	ErrHumanOwned = errors.New("bot: conversation is owned by a human servicer")
	// ErrRepliesStopped: WeCom refused an earlier send in this conversation (95018, 95001,
	// 95002 or 95031); replies stop until the customer writes again.
	ErrRepliesStopped = errors.New("bot: replies stopped until the customer writes again")
	// ErrNotCustomerMessage: the message was not sent by the customer (a servicer's message
	// or an event), so there is nothing to reply to with send_msg.
	ErrNotCustomerMessage = errors.New("bot: not a customer message: replies answer customer messages only")
	// ErrNoEventCode: Welcome was called on a message that carries no welcome_code/msg_code.
	ErrNoEventCode = errors.New("bot: message carries no welcome_code or msg_code")
	// ErrCodeExpired: the welcome/closing code is already too old to use (they live 20 s);
	// it was skipped, not sent.
	ErrCodeExpired = errors.New("bot: event code expired before it could be used")
	// ErrNoConversation: the message names no customer, so it has no conversation to act on.
	ErrNoConversation = errors.New("bot: message names no customer conversation")
)

// isRefusal reports whether err is one of the engine's reply refusals: expected outcomes
// that are logged at Warn, not Error.
func isRefusal(err error) bool {
	return errors.Is(err, ErrQuotaExceeded) || errors.Is(err, ErrWindowClosed) ||
		errors.Is(err, ErrHumanOwned) || errors.Is(err, ErrRepliesStopped) ||
		errors.Is(err, ErrNotCustomerMessage) || errors.Is(err, ErrCodeExpired)
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
