package bot

import (
	"time"

	"github.com/kfbot/kfbot/kf/syncmsg"
)

// ReplyResult says how one outbound send ended, for metrics.
type ReplyResult string

// Reply results passed to [Observer.Reply].
const (
	ReplyOK       ReplyResult = "ok"       // WeCom accepted the send
	ReplyReplayed ReplyResult = "replayed" // already delivered before a restart; not sent again
	ReplyRefused  ReplyResult = "refused"  // refused by the engine (quota, window, human, stopped)
	ReplyFailed   ReplyResult = "failed"   // WeCom or the network failed the send
)

// Observer receives engine events, for metrics. Methods must be fast and safe for
// concurrent use. Embed [NopObserver] to implement only some of them.
type Observer interface {
	// Pull is called after each sync_msg page has been dispatched and its cursor saved (or
	// failed): how many items it held, the age of the newest one (the pull lag), and the
	// error that ended the pull, if any.
	Pull(openKFID string, items int, lag time.Duration, err error)
	// Message is called for every message dispatched to handlers.
	Message(msgType syncmsg.MsgType, event syncmsg.EventType)
	// Duplicate is called for every message skipped because it was already processed.
	Duplicate(openKFID string)
	// Skipped is called for every message skipped by the cold-start policy or a recall.
	Skipped(openKFID string, reason string)
	// Reply is called for every outbound send attempt; errcode is the WeCom errcode on
	// failure, else 0.
	Reply(result ReplyResult, errcode int)
	// Refused is called, after Reply(ReplyRefused, 0), when the engine refused a reply
	// without calling WeCom; reason is the [RefusalError]'s Reason.
	Refused(openKFID string, reason string)
	// Handled is called after the handler chain ran for a message.
	Handled(d time.Duration, err error)
	// Ownership is called when a conversation changes hands: human is true when a person
	// (a servicer) took it over, false when it came back to the bot.
	Ownership(openKFID string, human bool)
	// Callback is called for every callback notification that is not a KF poke ([Bot.Receive]):
	// its kind (InfoType or Event) and what became of it.
	Callback(kind string, result CallbackResult)
}

// NopObserver implements [Observer] and does nothing. Embed it to implement only some
// methods.
type NopObserver struct{}

// Pull implements [Observer].
func (NopObserver) Pull(string, int, time.Duration, error) {}

// Message implements [Observer].
func (NopObserver) Message(syncmsg.MsgType, syncmsg.EventType) {}

// Duplicate implements [Observer].
func (NopObserver) Duplicate(string) {}

// Skipped implements [Observer].
func (NopObserver) Skipped(string, string) {}

// Reply implements [Observer].
func (NopObserver) Reply(ReplyResult, int) {}

// Refused implements [Observer].
func (NopObserver) Refused(string, string) {}

// Handled implements [Observer].
func (NopObserver) Handled(time.Duration, error) {}

// Ownership implements [Observer].
func (NopObserver) Ownership(string, bool) {}

// Callback implements [Observer].
func (NopObserver) Callback(string, CallbackResult) {}
