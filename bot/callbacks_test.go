package bot_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/bot"
	"github.com/kfbot/kfbot/kf/callback"
	"github.com/kfbot/kfbot/storage"
	"github.com/kfbot/kfbot/storage/badgerstore"
)

// addContactXML is an add_external_contact notification of the self-built app form
// (https://developer.work.weixin.qq.com/document/path/92130).
func addContactXML(customer, state, code string, at int64) []byte {
	return []byte(`<xml><ToUserName><![CDATA[ww1]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>` +
		`<CreateTime>` + strconv.FormatInt(at, 10) + `</CreateTime><MsgType><![CDATA[event]]></MsgType>` +
		`<Event><![CDATA[change_external_contact]]></Event><ChangeType><![CDATA[add_external_contact]]></ChangeType>` +
		`<UserID><![CDATA[zhangsan]]></UserID><ExternalUserID><![CDATA[` + customer + `]]></ExternalUserID>` +
		`<State><![CDATA[` + state + `]]></State><WelcomeCode><![CDATA[` + code + `]]></WelcomeCode></xml>`)
}

func decode(t testing.TB, xml []byte) callback.Notification {
	t.Helper()
	n, err := callback.DecodeNotification(xml)
	require.NoError(t, err)
	return n
}

// callbackObserver counts what became of notifications.
type callbackObserver struct {
	bot.NopObserver
	mu      sync.Mutex
	results map[bot.CallbackResult]int
	done    *counter // handled or recovered
}

func newCallbackObserver() *callbackObserver {
	return &callbackObserver{results: map[bot.CallbackResult]int{}, done: newCounter()}
}

func (o *callbackObserver) Callback(_ string, r bot.CallbackResult) {
	o.mu.Lock()
	o.results[r]++
	o.mu.Unlock()
	if r == bot.CallbackHandled || r == bot.CallbackRecovered {
		o.done.add(1)
	}
}

func (o *callbackObserver) count(r bot.CallbackResult) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.results[r]
}

// TestCallbackIsHandledOnce: the same notification received 3 times (WeCom's retries) is
// handled once, by the callback route only, through the global middleware; message
// routes and the default handler never see it.
func TestCallbackIsHandledOnce(t *testing.T) {
	e := newEnv(t)
	obs := newCallbackObserver()
	b := e.newBot(bot.WithObserver(obs))
	var mu sync.Mutex
	var seen []string
	log := func(s string) { mu.Lock(); seen = append(seen, s); mu.Unlock() }
	b.Use(func(next bot.HandlerFunc) bot.HandlerFunc {
		return func(c *bot.Context) error {
			if c.Notification() != nil {
				log("middleware " + bot.NotificationKind(c.Notification()))
			}
			return next(c)
		}
	})
	b.Handle(bot.Any(), func(c *bot.Context) error { log("message route"); return nil })
	b.HandleDefault(func(c *bot.Context) error { log("default"); return nil })
	b.HandleCallback(bot.ChangeType(callback.ChangeAddExternalContact), func(c *bot.Context) error {
		ec := c.Notification().(*callback.ExternalContactChange)
		log("welcome " + ec.ExternalUserID + " " + ec.State)
		assert.Nil(t, c.Session())
		assert.ErrorIs(t, c.ReplyText("hi"), bot.ErrNoConversation)
		assert.Equal(t, "wmNew", c.ExternalUserID())
		return nil
	})
	run(t, b)
	n := addContactXML("wmNew", "qr-a", "W1", time.Now().Unix())
	for range 3 {
		require.NoError(t, b.Receive(t.Context(), decode(t, n), time.Now()))
	}
	obs.done.waitAtLeast(t, 1)
	assert.Equal(t, 2, obs.count(bot.CallbackDuplicate))
	pending, err := e.store.(storage.CallbackStore).PendingCallbacks(t.Context())
	require.NoError(t, err)
	assert.Empty(t, pending, "marked handled")
	mu.Lock()
	assert.Equal(t, []string{"middleware change_external_contact", "welcome wmNew qr-a"}, seen)
	mu.Unlock()
}

// TestCallbackMatchers: kinds, change types and states.
func TestCallbackMatchers(t *testing.T) {
	add := addContactXML("wm1", "qr-b", "W", 1)
	contact := []byte(`<xml><SuiteId>s</SuiteId><AuthCorpId>c</AuthCorpId><InfoType>change_contact</InfoType><TimeStamp>1</TimeStamp><ChangeType>update_user</ChangeType><UserID>u</UserID></xml>`)
	ticket := []byte(`<xml><SuiteId>s</SuiteId><InfoType>suite_ticket</InfoType><TimeStamp>1</TimeStamp><SuiteTicket>t</SuiteTicket></xml>`)
	for _, tt := range []struct {
		name string
		m    bot.Matcher
		xml  []byte
		want bool
	}{
		{"kind", bot.Callback("change_external_contact"), add, true},
		{"other kind", bot.Callback("change_contact", "suite_ticket"), add, false},
		{"InfoType kind", bot.Callback("suite_ticket"), ticket, true},
		{"change type", bot.ChangeType(callback.ChangeAddExternalContact), add, true},
		{"change type of change_contact", bot.ChangeType("update_user"), contact, true},
		{"no change type", bot.ChangeType("update_user"), ticket, false},
		{"state", bot.ContactState("qr-a", "qr-b"), add, true},
		{"other state", bot.ContactState("qr-a"), add, false},
		{"state of another kind", bot.ContactState(""), contact, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := matches(t, tt.m, decode(t, tt.xml))
			assert.Equal(t, tt.want, got)
		})
	}
}

// matches runs n through a bot whose only callback route has matcher m.
func matches(t *testing.T, m bot.Matcher, n callback.Notification) bool {
	e := newEnv(t)
	obs := newCallbackObserver()
	b := e.newBot(bot.WithObserver(obs))
	var hit, miss bool
	b.HandleCallback(m, func(*bot.Context) error { hit = true; return nil })
	b.HandleCallback(bot.Any(), func(*bot.Context) error { miss = true; return nil })
	run(t, b)
	require.NoError(t, b.Receive(t.Context(), n, time.Now()))
	obs.done.waitAtLeast(t, 1)
	require.NotEqual(t, hit, miss)
	return hit
}

// TestCallbackLeftPendingIsHandledAtStart: a notification recorded by a process that
// stopped before handling it is handled once by the next start, received time kept.
func TestCallbackLeftPendingIsHandledAtStart(t *testing.T) {
	e := newEnv(t)
	n := decode(t, addContactXML("wmCrash", "qr-a", "W2", 1700000000))
	received := time.Unix(1700000000, 0)
	ok, err := e.store.(storage.CallbackStore).RecordCallback(t.Context(),
		storage.CallbackEntry{Key: n.Head().Key, Payload: n.Head().Raw, ReceiveID: "ww1", Received: received}, 0)
	require.NoError(t, err)
	require.True(t, ok)

	obs := newCallbackObserver()
	b := e.newBot(bot.WithObserver(obs))
	var got []time.Time
	var rid string
	b.HandleCallback(bot.Any(), func(c *bot.Context) error {
		got = append(got, c.Received())
		rid = c.Notification().Head().ReceiveID
		return nil
	})
	stop := run(t, b)
	obs.done.waitAtLeast(t, 1)
	stop()
	assert.Equal(t, 1, obs.count(bot.CallbackRecovered))
	require.Len(t, got, 1)
	assert.True(t, got[0].Equal(received))
	assert.Equal(t, "ww1", rid)
	// A retry arriving after the restart is still a duplicate.
	b2 := e.newBot(bot.WithObserver(obs))
	b2.HandleCallback(bot.Any(), func(c *bot.Context) error { t.Error("handled twice"); return nil })
	require.NoError(t, b2.Receive(t.Context(), n, time.Now()))
	assert.Equal(t, 1, obs.count(bot.CallbackDuplicate))
}

// TestCallbackReceivedBeforeRunIsHandledWhenItRuns.
func TestCallbackReceivedBeforeRunIsHandledWhenItRuns(t *testing.T) {
	e := newEnv(t)
	obs := newCallbackObserver()
	b := e.newBot(bot.WithObserver(obs))
	handled := 0
	b.HandleCallback(bot.Any(), func(*bot.Context) error { handled++; return nil })
	require.NoError(t, b.Receive(t.Context(), decode(t, addContactXML("wm1", "", "W", 1)), time.Now()))
	run(t, b)
	obs.done.waitAtLeast(t, 1)
	assert.Equal(t, 1, handled, "queued before Run and found pending at its start: handled once")
}

// TestCallbackWithoutRoutesIsNotRecorded.
func TestCallbackWithoutRoutesIsNotRecorded(t *testing.T) {
	e := newEnv(t)
	obs := newCallbackObserver()
	b := e.newBot(bot.WithObserver(obs))
	require.NoError(t, b.Receive(t.Context(), decode(t, addContactXML("wm1", "", "W", 1)), time.Now()))
	assert.Equal(t, 1, obs.count(bot.CallbackUnrouted))
	pending, err := e.store.(storage.CallbackStore).PendingCallbacks(t.Context())
	require.NoError(t, err)
	assert.Empty(t, pending)
}

// recordFailingStore fails RecordCallback while fail is set.
type recordFailingStore struct {
	*storage.Memory
	mu   sync.Mutex
	fail bool
}

func (s *recordFailingStore) RecordCallback(ctx context.Context, e storage.CallbackEntry, ttl time.Duration) (bool, error) {
	s.mu.Lock()
	fail := s.fail
	s.mu.Unlock()
	if fail {
		return false, errors.New("disk on fire")
	}
	return s.Memory.RecordCallback(ctx, e, ttl)
}

// TestCallbackRecordFailureIsAnErrorAndTheRetryWorks: Receive fails (the router answers
// 500) while the store cannot record; WeCom's retry is then handled.
func TestCallbackRecordFailureIsAnErrorAndTheRetryWorks(t *testing.T) {
	e := newEnv(t)
	st := &recordFailingStore{Memory: storage.NewMemory(), fail: true}
	e.store = st
	obs := newCallbackObserver()
	b := e.newBot(bot.WithObserver(obs))
	handled := 0
	b.HandleCallback(bot.Any(), func(*bot.Context) error { handled++; return nil })
	run(t, b)
	n := decode(t, addContactXML("wm1", "", "W", 1))
	require.Error(t, b.Receive(t.Context(), n, time.Now()))
	assert.Equal(t, 1, obs.count(bot.CallbackFailed))
	st.mu.Lock()
	st.fail = false
	st.mu.Unlock()
	require.NoError(t, b.Receive(t.Context(), n, time.Now()))
	obs.done.waitAtLeast(t, 1)
	assert.Equal(t, 1, handled)
}

// TestCallbackHandlerErrorGoesToTheErrorHandler: an error is reported once and the
// notification is marked handled (not retried forever).
func TestCallbackHandlerErrorGoesToTheErrorHandler(t *testing.T) {
	e := newEnv(t)
	obs := newCallbackObserver()
	var errs []error
	b := e.newBot(bot.WithObserver(obs), bot.WithErrorHandler(func(c *bot.Context, err error) {
		errs = append(errs, err)
		assert.NotNil(t, c.Notification())
	}))
	b.HandleCallback(bot.Any(), func(*bot.Context) error { panic("boom") })
	run(t, b)
	require.NoError(t, b.Receive(t.Context(), decode(t, addContactXML("wm1", "", "W", 1)), time.Now()))
	obs.done.waitAtLeast(t, 1)
	require.Len(t, errs, 1)
	var p *bot.PanicError
	assert.ErrorAs(t, errs[0], &p)
}

// BenchmarkCallbackDecodeAndRoute measures what a notification costs past the crypto:
// decode, record in the store (memory, then Badger), queue, and handle through a route.
// The loop ends when every notification was handled.
func BenchmarkCallbackDecodeAndRoute(b *testing.B) {
	for _, name := range []string{"memory", "badger"} {
		b.Run(name, func(b *testing.B) {
			e := newEnv(b)
			if name == "badger" {
				st, err := badgerstore.Open(b.TempDir(), badgerstore.WithLogger(quietLog()))
				require.NoError(b, err)
				b.Cleanup(func() { _ = st.Close() })
				e.store = st
			}
			benchCallbacks(b, e)
		})
	}
}

func benchCallbacks(b *testing.B, e *env) {
	obs := newCallbackObserver()
	bt := e.newBot(bot.WithObserver(obs))
	bt.HandleCallback(bot.ChangeType(callback.ChangeEditExternalContact), func(*bot.Context) error { return nil })
	bt.HandleCallback(bot.ContactState("qr-a"), func(*bot.Context) error { return nil })
	run(b, bt)
	xml := make([][]byte, b.N)
	for i := range xml {
		xml[i] = addContactXML("wm"+strconv.Itoa(i), "qr-a", "W"+strconv.Itoa(i), 1700000000)
	}
	ctx := context.Background()
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N { // not b.Loop: the wait for the last handling below is timed too
		n, err := callback.DecodeNotification(xml[i])
		if err != nil {
			b.Fatal(err)
		}
		if err := bt.Receive(ctx, n, now); err != nil {
			b.Fatal(err)
		}
	}
	obs.done.waitAtLeast(b, int64(b.N))
}

// TestDispatchCallback handles synchronously, once, and returns the handler's error.
func TestDispatchCallback(t *testing.T) {
	e := newEnv(t)
	b := e.newBot(bot.WithErrorHandler(func(*bot.Context, error) {}))
	calls := 0
	b.HandleCallback(bot.Any(), func(*bot.Context) error { calls++; return errors.New("no luck") })
	n := decode(t, addContactXML("wm1", "", "W", 1))
	assert.EqualError(t, b.DispatchCallback(t.Context(), n, time.Now()), "no luck")
	assert.NoError(t, b.DispatchCallback(t.Context(), n, time.Now()), "a retry")
	assert.Equal(t, 1, calls)
}
