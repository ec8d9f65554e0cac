package middleware_test

import (
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/bot"
	"github.com/kfbot/kfbot/kf"
	"github.com/kfbot/kfbot/kf/kftest"
	"github.com/kfbot/kfbot/kf/syncmsg"
	"github.com/kfbot/kfbot/storage"
)

const (
	testKF   = "wkMiddleware01"
	customer = "wmCustomer01"
)

var quiet = slog.New(slog.DiscardHandler)

// offlineClient is a client for tests whose handlers never call WeCom; a call would fail.
func offlineClient() *kf.Client {
	return kf.NewClient("wwOffline", "offline-secret", kf.WithBaseURL("http://127.0.0.1:1"), kf.WithLogger(quiet),
		kf.WithRetry(kf.RetryPolicy{MaxAttempts: 1}))
}

// fakeClient is a client for a kftest server.
func fakeClient(srv *kftest.Server) *kf.Client {
	return kf.NewClient(srv.CorpID(), srv.Secret(), kf.WithBaseURL(srv.URL), kf.WithHTTPClient(srv.Client()), kf.WithLogger(quiet))
}

// newFake starts a kftest server for one test.
func newFake(t *testing.T) *kftest.Server {
	t.Helper()
	srv := kftest.NewServer()
	t.Cleanup(srv.Close)
	return srv
}

// errorLog records what reached the bot's error handler.
type errorLog struct {
	mu   sync.Mutex
	errs []error
}

func (l *errorLog) handle(_ *bot.Context, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.errs = append(l.errs, err)
}

func (l *errorLog) all() []error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]error(nil), l.errs...)
}

// newBot returns a bot on client with a quiet logger and, unless opts set another, an error
// handler that records into errs (which may be nil).
func newBot(t *testing.T, client bot.Client, errs *errorLog, opts ...bot.Option) *bot.Bot {
	t.Helper()
	if errs == nil {
		errs = new(errorLog)
	}
	base := []bot.Option{bot.WithLogger(quiet), bot.WithErrorHandler(errs.handle)}
	b, err := bot.New(client, storage.NewMemory(), append(base, opts...)...)
	require.NoError(t, err)
	return b
}

var msgSeq atomic.Int64

// text builds a customer text message as sync_msg would deliver it. An empty msgID gets a
// unique one.
func text(openKFID, user, msgID, content string) *syncmsg.Text {
	if msgID == "" {
		msgID = fmt.Sprintf("m%d", msgSeq.Add(1))
	}
	return &syncmsg.Text{Header: syncmsg.Header{
		MsgID: msgID, OpenKFID: openKFID, ExternalUserID: user, Origin: syncmsg.OriginCustomer,
		MsgType: syncmsg.TypeText, SendTime: time.Now().Unix(),
	}, Content: content}
}

// enterSession builds an enter_session event of a customer.
func enterSession(openKFID, user string) *syncmsg.EnterSession {
	return &syncmsg.EnterSession{Header: syncmsg.Header{
		MsgID: fmt.Sprintf("e%d", msgSeq.Add(1)), OpenKFID: openKFID, ExternalUserID: user,
		Origin: syncmsg.OriginSystem, MsgType: syncmsg.TypeEvent, EventType: syncmsg.EventEnterSession,
		SendTime: time.Now().Unix(),
	}, Scene: "scene"}
}

// servicerStatus builds a servicer_status_change event, which names no customer.
func servicerStatus(openKFID string) *syncmsg.ServicerStatusChange {
	return &syncmsg.ServicerStatusChange{Header: syncmsg.Header{
		MsgID: fmt.Sprintf("s%d", msgSeq.Add(1)), OpenKFID: openKFID, ServicerUserID: "alice",
		Origin: syncmsg.OriginSystem, MsgType: syncmsg.TypeEvent, EventType: syncmsg.EventServicerStatusChange,
		SendTime: time.Now().Unix(),
	}}
}

// servicerText builds a text a servicer typed in the WeCom client (origin 5).
func servicerText(openKFID, user string) *syncmsg.Text {
	m := text(openKFID, user, "", "a servicer speaking")
	m.Origin, m.ServicerUserID = syncmsg.OriginServicer, "alice"
	return m
}

// sessionEnd builds the session_status_change event of a servicer ending the session.
func sessionEnd(openKFID, user string) *syncmsg.SessionStatusChange {
	return &syncmsg.SessionStatusChange{Header: syncmsg.Header{
		MsgID: fmt.Sprintf("x%d", msgSeq.Add(1)), OpenKFID: openKFID, ExternalUserID: user,
		Origin: syncmsg.OriginSystem, MsgType: syncmsg.TypeEvent, EventType: syncmsg.EventSessionStatusChange,
		SendTime: time.Now().Unix(),
	}, ChangeType: syncmsg.ChangeTypeEnd, OldServicerUserID: "alice"}
}

// counter counts handler runs per msgid.
type counter struct {
	mu  sync.Mutex
	ids []string
}

func (c *counter) handler(ctx *bot.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ids = append(c.ids, ctx.MsgID())
	return nil
}

func (c *counter) seen() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.ids...)
}

// clock is a settable clock for the middlewares' Now options.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// dispatch runs msg through b and returns the handler chain's error.
func dispatch(t *testing.T, b *bot.Bot, msg syncmsg.Message) error {
	t.Helper()
	return b.Dispatch(t.Context(), msg)
}
