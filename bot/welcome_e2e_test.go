package bot_test

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/bot"
	"github.com/kfbot/kfbot/kf/callback"
	"github.com/kfbot/kfbot/kf/kftest"
	"github.com/kfbot/kfbot/router"
)

// shared is a clock the fake, the router and the bot read.
type shared struct {
	mu sync.Mutex
	t  time.Time
}

func (c *shared) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *shared) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// TestEachQRCodeGetsItsWelcomeOnce, through the real router, engine and fake WeCom: a
// customer added through QR code qr-a and another through qr-b get their own welcomes,
// each once, though WeCom posts each callback 3 times; a welcome code that is older
// than 20 seconds when it is handled (here: found pending by a restart 25 s later)
// makes no call.
func TestEachQRCodeGetsItsWelcomeOnce(t *testing.T) {
	clock := &shared{t: time.Now()}
	e := newEnv(t, kftest.WithClock(clock.now))
	welcomes := map[string]string{"qr-a": "Welcome, A", "qr-b": "Welcome, B"}
	start := func() (*bot.Bot, *httptest.Server, *callbackObserver, func()) {
		obs := newCallbackObserver()
		b := e.newBot(bot.WithObserver(obs), bot.WithClock(clock.now))
		b.HandleCallback(bot.ChangeType(callback.ChangeAddExternalContact), func(c *bot.Context) error {
			ec := c.Notification().(*callback.ExternalContactChange)
			return c.WelcomeContact(welcomes[ec.State])
		})
		token, key := e.srv.CallbackConfig()
		h, err := router.New(router.Config{Token: token, EncodingAESKey: key, CorpID: e.srv.CorpID(), Logger: quietLog(), Now: clock.now}, b)
		require.NoError(t, err)
		hs := httptest.NewServer(h)
		t.Cleanup(hs.Close)
		return b, hs, obs, run(t, b)
	}

	_, hs, obs, stop := start()
	a := e.srv.AddExternalContact("zhangsan", "wmA", "qr-a")
	b := e.srv.AddExternalContact("zhangsan", "wmB", "qr-b")
	for _, ev := range []kftest.ExternalContactEvent{a, b} {
		codes, err := e.srv.PostNotification(t.Context(), hs.Client(), hs.URL+"/callback", ev.XML, 3)
		require.NoError(t, err)
		assert.Equal(t, []int{http.StatusOK, http.StatusOK, http.StatusOK}, codes)
	}
	obs.done.waitAtLeast(t, 2)
	stop()
	got := e.srv.Welcomes()
	require.Len(t, got, 2)
	byCustomer := map[string]string{got[0].ExternalUserID: got[0].Text, got[1].ExternalUserID: got[1].Text}
	assert.Equal(t, map[string]string{"wmA": "Welcome, A", "wmB": "Welcome, B"}, byCustomer)
	assert.Equal(t, 4, obs.count(bot.CallbackDuplicate), "2 retries of each")
	assert.Equal(t, 2, e.srv.Calls("externalcontact/send_welcome_msg"))

	// A code whose event waited: recorded, the bot stopped before handling it, and
	// started again 25 s later.
	old := e.srv.AddExternalContact("lisi", "wmOld", "qr-a")
	n, err := callback.DecodeNotification(old.XML)
	require.NoError(t, err)
	b2 := e.newBot(bot.WithClock(clock.now))
	b2.HandleCallback(bot.Any(), func(*bot.Context) error { return nil })
	require.NoError(t, b2.Receive(t.Context(), n, clock.now())) // recorded; never run
	clock.add(25 * time.Second)
	_, _, obs3, _ := start()
	obs3.done.waitAtLeast(t, 1)
	assert.Equal(t, 1, obs3.count(bot.CallbackRecovered))
	assert.Equal(t, 2, e.srv.Calls("externalcontact/send_welcome_msg"), "an expired code makes no call")
	assert.Len(t, e.srv.Welcomes(), 2)
}
