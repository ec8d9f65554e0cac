package middleware_test

import (
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/bot"
	"github.com/kfbot/kfbot/bot/middleware"
	"github.com/kfbot/kfbot/kf/syncmsg"
)

// observations collects what Metrics reports.
type observations struct {
	mu  sync.Mutex
	obs []middleware.Observation
}

func (o *observations) observe(x middleware.Observation) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.obs = append(o.obs, x)
}

func (o *observations) all() []middleware.Observation {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]middleware.Observation(nil), o.obs...)
}

func TestMetrics(t *testing.T) {
	tests := []struct {
		name string
		msg  func() syncmsg.Message
		work time.Duration // how long the handler takes
		err  error
		want middleware.Observation // Duration and Err are taken from work and err
	}{
		{"customer text", func() syncmsg.Message { return text(testKF, customer, "", "hi") }, 250 * time.Millisecond, nil,
			middleware.Observation{MsgType: syncmsg.TypeText, Origin: syncmsg.OriginCustomer, OpenKFID: testKF}},
		{"handler error", func() syncmsg.Message { return text("wkOther", customer, "", "hi") }, 2 * time.Second, errBoom,
			middleware.Observation{MsgType: syncmsg.TypeText, Origin: syncmsg.OriginCustomer, OpenKFID: "wkOther"}},
		{"event", func() syncmsg.Message { return enterSession(testKF, customer) }, 0, nil,
			middleware.Observation{MsgType: syncmsg.TypeEvent, EventType: syncmsg.EventEnterSession, Origin: syncmsg.OriginSystem, OpenKFID: testKF}},
		{"servicer message", func() syncmsg.Message { return servicerText(testKF, customer) }, time.Minute, nil,
			middleware.Observation{MsgType: syncmsg.TypeText, Origin: syncmsg.OriginServicer, OpenKFID: testKF}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { // Metrics reads time.Now: the bubble makes it exact
				var obs observations
				b := newBot(t, offlineClient(), nil)
				b.Use(middleware.Metrics(obs.observe))
				b.HandleDefault(func(*bot.Context) error {
					time.Sleep(tt.work)
					return tt.err
				})

				err := dispatch(t, b, tt.msg())
				require.ErrorIs(t, err, tt.err)
				want := tt.want
				want.Duration, want.Err = tt.work, tt.err
				assert.Equal(t, []middleware.Observation{want}, obs.all())
			})
		})
	}
}

func TestMetricsSeesWhatEarlierMiddlewareStopped(t *testing.T) {
	var obs observations
	b := newBot(t, offlineClient(), nil)
	b.Use(middleware.Metrics(obs.observe), middleware.Block(middleware.AccessConfig{ExternalUserIDs: []string{"wmBlocked"}}))
	var handled counter
	b.HandleDefault(handled.handler)

	require.NoError(t, dispatch(t, b, text(testKF, "wmBlocked", "", "hi")))
	require.NoError(t, dispatch(t, b, text(testKF, customer, "", "hi")))
	assert.Len(t, obs.all(), 2, "one observation per message, stopped or not")
	assert.Len(t, handled.seen(), 1)
}

func TestMetricsNilObservePanics(t *testing.T) {
	assert.PanicsWithValue(t, "middleware: Metrics: nil observe function", func() { middleware.Metrics(nil) })
}
