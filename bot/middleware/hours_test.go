package middleware_test

import (
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the zones below, even on machines without a zone database

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/bot/middleware"
	"github.com/kfbot/kfbot/kf"
	"github.com/kfbot/kfbot/kf/kftest"
	"github.com/kfbot/kfbot/kf/syncmsg"
)

func mustZone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	require.NoError(t, err)
	return loc
}

func TestBusinessHoursIsOpen(t *testing.T) {
	sh := mustZone(t, "Asia/Shanghai")
	// 2024-06-03 is a Monday.
	cst := func(day, h, m, s, ns int) time.Time { return time.Date(2024, 6, day, h, m, s, ns, sh) }
	utc := func(day, h, m int) time.Time { return time.Date(2024, 6, day, h, m, 0, 0, time.UTC) }
	tests := []struct {
		name string
		at   time.Time
		want bool
	}{
		{"Monday 08:59:59.999", cst(3, 8, 59, 59, 999_999_999), false},
		{"Monday 09:00 opens (inclusive)", cst(3, 9, 0, 0, 0), true},
		{"Monday noon", cst(3, 12, 0, 0, 0), true},
		{"Monday 17:59:59.999", cst(3, 17, 59, 59, 999_999_999), true},
		{"Monday 18:00 closes (exclusive)", cst(3, 18, 0, 0, 0), false},
		{"Monday midnight", cst(3, 0, 0, 0, 0), false},
		{"Wednesday 23:59", cst(5, 23, 59, 0, 0), false},
		{"Friday 17:00", cst(7, 17, 0, 0, 0), true},
		{"Saturday 10:00", cst(8, 10, 0, 0, 0), false},
		{"Sunday 10:00", cst(9, 10, 0, 0, 0), false},
		{"UTC Monday 01:00 is 09:00 in Shanghai", utc(3, 1, 0), true},
		{"UTC Monday 00:59 is 08:59 in Shanghai", utc(3, 0, 59), false},
		{"UTC Friday 10:00 is 18:00 in Shanghai", utc(7, 10, 0), false},
		{"UTC Friday 17:00 is Saturday 01:00 in Shanghai", utc(7, 17, 0), false},
		{"UTC Sunday 23:30 is Monday 07:30 in Shanghai", utc(2, 23, 30), false},
		{"UTC Sunday 03:00 is Sunday 11:00 in Shanghai", utc(9, 3, 0), false},
	}
	cfg := middleware.DefaultBusinessHoursConfig()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, cfg.IsOpen(tt.at))
			assert.Equal(t, tt.want, middleware.BusinessHoursConfig{}.IsOpen(tt.at), "a zero config means the defaults")
		})
	}
}

func TestBusinessHoursIsOpenCustom(t *testing.T) {
	berlin := mustZone(t, "Europe/Berlin")
	everyDay := []time.Weekday{time.Sunday, time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday}
	nineToSix := middleware.BusinessHoursConfig{Location: berlin, Days: everyDay, Open: 9 * time.Hour, Close: 18 * time.Hour}
	weekendAllDay := middleware.BusinessHoursConfig{Location: berlin, Days: []time.Weekday{time.Saturday, time.Sunday}, Open: 0, Close: 24 * time.Hour}
	tests := []struct {
		name string
		cfg  middleware.BusinessHoursConfig
		at   time.Time
		want bool
	}{
		// On 2024-03-31 clocks go from 02:00 to 03:00: 09:00 is 8 hours after midnight.
		{"spring forward: 08:30", nineToSix, time.Date(2024, 3, 31, 8, 30, 0, 0, berlin), false},
		{"spring forward: 09:00 opens", nineToSix, time.Date(2024, 3, 31, 9, 0, 0, 0, berlin), true},
		{"spring forward: 18:30", nineToSix, time.Date(2024, 3, 31, 18, 30, 0, 0, berlin), false},
		// On 2024-10-27 clocks go from 03:00 back to 02:00: 09:00 is 10 hours after midnight.
		{"fall back: 08:30", nineToSix, time.Date(2024, 10, 27, 8, 30, 0, 0, berlin), false},
		{"fall back: 17:30", nineToSix, time.Date(2024, 10, 27, 17, 30, 0, 0, berlin), true},
		{"Close 24h: Saturday 00:00", weekendAllDay, time.Date(2024, 6, 8, 0, 0, 0, 0, berlin), true},
		{"Close 24h: Sunday 23:59:59", weekendAllDay, time.Date(2024, 6, 9, 23, 59, 59, 0, berlin), true},
		{"Close 24h: Monday 00:00", weekendAllDay, time.Date(2024, 6, 10, 0, 0, 0, 0, berlin), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.cfg.IsOpen(tt.at))
		})
	}
}

func TestBusinessHoursValidate(t *testing.T) {
	withReply := func(c middleware.BusinessHoursConfig) middleware.BusinessHoursConfig {
		c.Reply = "closed"
		return c
	}
	tests := []struct {
		name    string
		cfg     middleware.BusinessHoursConfig
		wantErr []string // substrings, one per problem; nil: valid
	}{
		{"defaults with a reply", withReply(middleware.DefaultBusinessHoursConfig()), nil},
		{"zero config with hand-off only: defaults fill the rest", middleware.BusinessHoursConfig{HandOff: true}, nil},
		{"zero config", middleware.BusinessHoursConfig{}, []string{"need a Reply, HandOff, or both"}},
		{"open midnight to noon", withReply(middleware.BusinessHoursConfig{Open: 0, Close: 12 * time.Hour}), nil},
		{"close before open", withReply(middleware.BusinessHoursConfig{Open: 18 * time.Hour, Close: 9 * time.Hour}),
			[]string{"close (9h0m0s) must be after open (18h0m0s)"}},
		{"close equals open", withReply(middleware.BusinessHoursConfig{Open: 9 * time.Hour, Close: 9 * time.Hour}),
			[]string{"must be after open"}},
		{"close after midnight", withReply(middleware.BusinessHoursConfig{Open: 9 * time.Hour, Close: 25 * time.Hour}),
			[]string{"both must be within a day"}},
		{"negative open", withReply(middleware.BusinessHoursConfig{Open: -time.Hour, Close: 10 * time.Hour}),
			[]string{"both must be within a day"}},
		{"not a weekday", withReply(middleware.BusinessHoursConfig{Days: []time.Weekday{time.Monday, 7}}),
			[]string{"day 7: not a weekday"}},
		{"every problem at once", middleware.BusinessHoursConfig{Open: 20 * time.Hour, Close: 30 * time.Hour, Days: []time.Weekday{-1}},
			[]string{"within a day", "day -1", "need a Reply"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			mw, newErr := middleware.BusinessHours(tt.cfg)
			if tt.wantErr == nil {
				require.NoError(t, err)
				require.NoError(t, newErr)
				assert.NotNil(t, mw)
				return
			}
			require.Error(t, err)
			for _, want := range tt.wantErr {
				assert.Contains(t, err.Error(), want)
			}
			assert.Equal(t, len(tt.wantErr), strings.Count(err.Error(), "middleware: business hours"), "one line per problem:\n%v", err)
			assert.Equal(t, err.Error(), newErr.Error(), "BusinessHours refuses what Validate reports")
			assert.Nil(t, mw)
		})
	}
}

func TestBusinessHoursThroughTheEngine(t *testing.T) {
	sh := mustZone(t, "Asia/Shanghai")
	var (
		mondayMorning = time.Date(2025, 3, 3, 10, 0, 0, 0, sh)
		mondayOpening = time.Date(2025, 3, 3, 9, 0, 0, 0, sh)
		mondayEarly   = time.Date(2025, 3, 3, 8, 59, 59, 0, sh)
		mondayClosing = time.Date(2025, 3, 3, 18, 0, 0, 0, sh)
		saturday      = time.Date(2025, 3, 8, 11, 0, 0, 0, sh)
	)
	const closed = "We are closed. Opening hours: Mon–Fri 9:00–18:00."
	type kind int
	const (
		customerText kind = iota
		enterEvent
		servicerMessage
	)
	tests := []struct {
		name        string
		at          time.Time
		reply       string
		handOff     bool
		msg         kind
		wantHandled bool
		wantSent    []string
		wantState   int
	}{
		{"open: the handler answers", mondayMorning, closed, true, customerText, true, nil, kftest.StateUntreated},
		{"09:00 is open", mondayOpening, closed, true, customerText, true, nil, kftest.StateUntreated},
		{"08:59:59 is closed: reply and hand off", mondayEarly, closed, true, customerText, false, []string{closed}, kftest.StatePool},
		{"18:00 is closed: hand off only", mondayClosing, "", true, customerText, false, nil, kftest.StatePool},
		{"weekend: reply only", saturday, closed, false, customerText, false, []string{closed}, kftest.StateBot},
		{"weekend: events pass", saturday, closed, true, enterEvent, true, nil, kftest.StateEnded},
		{"weekend: servicer messages pass", saturday, closed, true, servicerMessage, true, nil, kftest.StateHuman},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFake(t)
			clk := newClock(tt.at)
			var errs errorLog
			b := newBot(t, fakeClient(srv), &errs)
			mw, err := middleware.BusinessHours(middleware.BusinessHoursConfig{Reply: tt.reply, HandOff: tt.handOff, Now: clk.Now})
			require.NoError(t, err)
			b.Use(mw)
			var handled counter
			b.HandleDefault(handled.handler)

			var m syncmsg.Message
			switch tt.msg {
			case customerText:
				m = text(testKF, customer, srv.AddText(testKF, customer, "hello?"), "hello?")
			case enterEvent:
				id, _ := srv.EnterSession(testKF, customer, "", "")
				e := enterSession(testKF, customer)
				e.MsgID = id
				m = e
			case servicerMessage:
				st := servicerText(testKF, customer)
				st.MsgID = srv.AddServicerText(testKF, customer, "alice", st.Content)
				m = st
			}
			require.NoError(t, dispatch(t, b, m))
			assert.Empty(t, errs.all())

			assert.Equal(t, tt.wantHandled, len(handled.seen()) == 1, "handler ran")
			var sent []string
			for _, s := range srv.SentTo(testKF, customer) {
				sent = append(sent, s.Text)
			}
			assert.Equal(t, tt.wantSent, sent)
			assert.Equal(t, tt.wantState, srv.SessionState(testKF, customer))
		})
	}
}

func TestBusinessHoursReplyFailureStopsTheHandOff(t *testing.T) {
	srv := newFake(t)
	saturday := time.Date(2025, 3, 8, 11, 0, 0, 0, mustZone(t, "Asia/Shanghai"))
	b := newBot(t, fakeClient(srv), nil)
	mw, err := middleware.BusinessHours(middleware.BusinessHoursConfig{Reply: "closed", HandOff: true,
		Now: func() time.Time { return saturday }})
	require.NoError(t, err)
	b.Use(mw)

	id := srv.AddText(testKF, customer, "hello?")
	srv.SetSessionState(testKF, customer, kftest.StateHuman, "alice") // WeCom will refuse the reply
	err = dispatch(t, b, text(testKF, customer, id, "hello?"))
	require.ErrorIs(t, err, kf.ErrSessionStateForbidsSend)
	assert.Zero(t, srv.Calls("service_state/trans"), "no hand-off after a failed reply")
	assert.Equal(t, kftest.StateHuman, srv.SessionState(testKF, customer))
}
