package bot

import (
	"context"
	"log/slog"
	"reflect"
	"time"

	"github.com/kfbot/kfbot/kf/callback"
	"github.com/kfbot/kfbot/kf/syncmsg"
	"github.com/kfbot/kfbot/storage"
)

// Context is what a handler gets for one message: the typed message, its conversation's
// session, a tagged logger, and methods to reply. It carries a context.Context the way
// *http.Request does: [Context.Context] returns it and [Context.WithContext] replaces it.
// A Context is used by one goroutine at a time and must not be kept after the handler
// returns; its context is cancelled when shutdown's grace period ends.
type Context struct {
	ctx   context.Context
	bot   *Bot
	msg   syncmsg.Message
	head  *syncmsg.Header
	state *msgState // shared by every copy made with WithContext
	human bool      // a person owns the conversation of this customer message

	note     callback.Notification // the notification of a HandleCallback route, else nil
	received time.Time             // when the router accepted note
}

// routeKind says which routes c is offered.
func (c *Context) routeKind() routeKind {
	switch {
	case c.note != nil:
		return routeCallback
	case c.human:
		return routeHuman
	}
	return routeMessage
}

// msgState is the mutable per-message state shared by a Context and its copies.
type msgState struct {
	session *storage.Session
	start   start // whether a pass began the message before (see Bot.begin)
	replies int   // index of the next reply, for deterministic outbound msgids
	logger  *slog.Logger
	values  []keyValue     // Context.Set
	sent    []string       // send-log keys of the sends confirmed for this message, to mark done
	turns   []storage.Turn // the replies sent, for the transcript (WithTranscripts)

	part     *conversation // the part the message belongs to
	lane     *laneRun      // set when the message is handled on its lane
	deferred bool          // Context.Defer moved it to its lane
}

type keyValue struct{ key, value any }

// Context returns the context for I/O done on behalf of this message.
func (c *Context) Context() context.Context { return c.ctx }

// WithContext returns a shallow copy of c that carries ctx. The copy shares the session
// and reply counter with c. Middleware uses it to add values: next(c.WithContext(ctx2)).
func (c *Context) WithContext(ctx context.Context) *Context {
	if ctx == nil {
		panic("bot: WithContext: nil context")
	}
	c2 := *c
	c2.ctx = ctx
	return &c2
}

// Set stores value under key (comparable, of an unexported type) for the rest of this
// message's handling: how a matcher or middleware hands a result to the handler.
func (c *Context) Set(key, value any) {
	if key == nil || !reflect.TypeOf(key).Comparable() {
		panic("bot: Context.Set: the key must be comparable and not nil")
	}
	for i := range c.state.values {
		if c.state.values[i].key == key {
			c.state.values[i].value = value
			return
		}
	}
	c.state.values = append(c.state.values, keyValue{key, value})
}

// Get returns the value stored under key by [Context.Set], or nil.
func (c *Context) Get(key any) any {
	for _, kv := range c.state.values {
		if kv.key == key {
			return kv.value
		}
	}
	return nil
}

// Message returns the typed message; switch on its concrete type (*syncmsg.Text,
// *syncmsg.EnterSession, …).
func (c *Context) Message() syncmsg.Message { return c.msg }

// Header returns the message's common fields.
func (c *Context) Header() *syncmsg.Header { return c.head }

// MsgID returns the message's msgid.
func (c *Context) MsgID() string { return c.head.MsgID }

// OpenKFID returns the KF account the message belongs to.
func (c *Context) OpenKFID() string { return c.head.OpenKFID }

// ExternalUserID returns the customer, or "" for events that name none.
func (c *Context) ExternalUserID() string { return c.head.ExternalUserID }

// Text returns the content of a text message, or "".
func (c *Context) Text() string {
	if t, ok := c.msg.(*syncmsg.Text); ok {
		return t.Content
	}
	return ""
}

// Session returns the conversation's session, or nil when the message names no customer.
// Handlers may change Vars; the engine saves the session after the handler returns.
func (c *Context) Session() *storage.Session { return c.state.session }

// Bot returns the bot handling the message.
func (c *Context) Bot() *Bot { return c.bot }

// Client returns the API client, for calls the Context does not wrap.
func (c *Context) Client() Client { return c.bot.client }

// Logger returns the bot's logger tagged with msgid, open_kfid and external_userid.
func (c *Context) Logger() *slog.Logger {
	if c.state.logger == nil && c.note != nil {
		c.state.logger = c.bot.callbackLog(c.note)
		if u := c.head.ExternalUserID; u != "" {
			c.state.logger = c.state.logger.With(slog.String(LogKeyExternalUserID, u))
		}
	}
	if c.state.logger == nil {
		c.state.logger = c.bot.log.With(
			slog.String(LogKeyMsgID, c.head.MsgID),
			slog.String(LogKeyOpenKFID, c.head.OpenKFID),
			slog.String(LogKeyExternalUserID, c.head.ExternalUserID))
	}
	return c.state.logger
}
