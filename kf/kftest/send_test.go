package kftest_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/kf/kftest"
)

func TestSendQuotaAndWindow(t *testing.T) {
	clk := newClock()
	srv := kftest.NewUnstartedServer(kftest.WithClock(clk.Now))
	a := newAPI(t, srv)

	assert.Equal(t, 95031, a.sendText(acct, user, "", "hi").ErrCode, "customer never wrote")
	assert.Equal(t, kftest.StateEnded, srv.SessionState(acct, user))

	srv.AddText(acct, user, "hello")
	assert.Equal(t, kftest.StateUntreated, srv.SessionState(acct, user), "a customer message turns 4 into 0")
	for i := range 5 {
		r := a.sendText(acct, user, fmt.Sprint("r", i), "reply")
		require.Equal(t, 0, r.ErrCode, "send %d: %s", i, r.ErrMsg)
		assert.Equal(t, fmt.Sprint("r", i), r.MsgID, "msgid echoed")
	}
	assert.Equal(t, kftest.StateBot, srv.SessionState(acct, user), "sending in state 0 moves to 1")
	assert.Equal(t, 95001, a.sendText(acct, user, "r5", "sixth").ErrCode)

	srv.AddText(acct, user, "more")
	assert.Equal(t, 0, a.sendText(acct, user, "r5", "allowance reset").ErrCode)

	clk.Advance(kftest.SendWindow)
	assert.Equal(t, 0, a.sendText(acct, user, "", "at 48 h").ErrCode)
	clk.Advance(time.Second)
	assert.Equal(t, 95002, a.sendText(acct, user, "", "late").ErrCode)

	srv.AddText(acct, user, "back")
	for _, st := range []int{kftest.StatePool, kftest.StateHuman, kftest.StateEnded} {
		srv.SetSessionState(acct, user, st, "")
		assert.Equal(t, 95018, a.sendText(acct, user, "", "x").ErrCode, "state %d", st)
	}
	srv.SetSessionState(acct, user, kftest.StateBot, "")
	assert.Equal(t, 0, a.sendText(acct, user, "", "x").ErrCode)

	assert.Len(t, srv.SentTo(acct, user), 8)
	assert.Len(t, srv.Sent(), 8)
	assert.Empty(t, srv.SentTo(acct, user2))
}

func TestSendRecorded(t *testing.T) {
	clk := newClock()
	srv := kftest.NewUnstartedServer(kftest.WithClock(clk.Now))
	a := newAPI(t, srv)
	srv.AddText(acct, user, "hello")
	r := a.sendText(acct, user, "", "généré")
	require.Equal(t, 0, r.ErrCode)
	require.NotEmpty(t, r.MsgID, "a msgid is generated when absent")

	sent := srv.Sent()
	require.Len(t, sent, 1)
	s := sent[0]
	assert.Equal(t, "send_msg", s.Path)
	assert.Equal(t, acct, s.OpenKFID)
	assert.Equal(t, user, s.ToUser)
	assert.Equal(t, r.MsgID, s.MsgID)
	assert.Equal(t, "text", s.MsgType)
	assert.Equal(t, "généré", s.Text)
	assert.Empty(t, s.Code)
	assert.JSONEq(t, `{"touser":"`+user+`","open_kfid":"`+acct+`","msgtype":"text","text":{"content":"généré"}}`, string(s.Body))
	assert.Equal(t, t0, s.Time)

	sent[0].Text = "mutated"
	assert.Equal(t, "généré", srv.Sent()[0].Text, "Sent returns a copy")
	srv.ResetSent()
	assert.Empty(t, srv.Sent())
	assert.Equal(t, 1, srv.Calls("send_msg"))
}

func TestSendMsgIDRules(t *testing.T) {
	srv := kftest.NewUnstartedServer()
	a := newAPI(t, srv)
	srv.AddText(acct, user, "hi")
	srv.AddText(acct2, user, "hi")

	tests := []struct {
		name, msgID string
		code        int
	}{
		{"32 bytes", strings.Repeat("a", 32), 0},
		{"all allowed characters", "az_AZ-09", 0},
		{"33 bytes", strings.Repeat("b", 33), 40058},
		{"prefix plus uuid is too long", "reply_0123456789abcdef0123456789abcdef", 40058},
		{"dot", "a.b", 40058},
		{"space", "a b", 40058},
		{"non-ascii", "ü", 40058},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := a.sendText(acct, user, tt.msgID, "x")
			assert.Equal(t, tt.code, r.ErrCode, r.ErrMsg)
		})
	}

	r := a.post("kf/send_msg", `{"touser":"`+user+`","open_kfid":"`+acct+`","msgid":"","msgtype":"text","text":{"content":"x"}}`)
	assert.Equal(t, 40058, r.ErrCode)
	assert.Contains(t, r.ErrMsg, "field msgid unexpected empty string")

	require.Equal(t, 0, a.sendText(acct, user, "once", "x").ErrCode)
	r = a.sendText(acct, user, "once", "x")
	assert.Equal(t, kftest.ErrCodeDuplicateMsgID, r.ErrCode)
	assert.Contains(t, r.ErrMsg, "msgid duplicated")
	assert.Equal(t, 0, a.sendText(acct2, user, "once", "x").ErrCode, "msgids are unique per account")
	assert.Len(t, srv.SentTo(acct, user), 3, "only accepted sends are recorded")
}

func TestSendDuplicateBeforeQuota(t *testing.T) {
	srv := kftest.NewUnstartedServer()
	a := newAPI(t, srv)
	srv.AddText(acct, user, "hi")
	for i := range 5 {
		require.Equal(t, 0, a.sendText(acct, user, fmt.Sprint("m", i), "x").ErrCode)
	}
	// A retry of an accepted send learns it was a duplicate, not 95001.
	assert.Equal(t, kftest.ErrCodeDuplicateMsgID, a.sendText(acct, user, "m4", "x").ErrCode)
}

func TestSendPayloadValidation(t *testing.T) {
	srv := kftest.NewUnstartedServer()
	a := newAPI(t, srv)
	srv.AddText(acct, user, "hi")
	img := srv.PutMedia("image", "a.png", []byte("\x89PNG\r\n\x1a\nrest"))
	voice := srv.PutMedia("voice", "a.amr", []byte("#!AMR\nxx"))

	env := `"touser":"` + user + `","open_kfid":"` + acct + `"`
	menu := func(n int, typ string) string {
		items := make([]string, n)
		for i := range items {
			items[i] = `{"type":"` + typ + `","click":{"id":"` + fmt.Sprint(i) + `","content":"c"}}`
		}
		return `{` + env + `,"msgtype":"msgmenu","msgmenu":{"head_content":"h","list":[` + strings.Join(items, ",") + `]}}`
	}
	tests := []struct {
		name string
		body string
		code int
	}{
		{"text ok", `{` + env + `,"msgtype":"text","text":{"content":"x"}}`, 0},
		{"text 2048 bytes", `{` + env + `,"msgtype":"text","text":{"content":"` + strings.Repeat("a", 2048) + `"}}`, 0},
		{"text 2049 bytes", `{` + env + `,"msgtype":"text","text":{"content":"` + strings.Repeat("a", 2049) + `"}}`, 45002},
		{"text multibyte over 2048 bytes", `{` + env + `,"msgtype":"text","text":{"content":"` + strings.Repeat("中", 683) + `"}}`, 45002},
		{"text empty", `{` + env + `,"msgtype":"text","text":{"content":""}}`, 44004},
		{"text missing payload", `{` + env + `,"msgtype":"text"}`, 40058},
		{"missing touser", `{"open_kfid":"` + acct + `","msgtype":"text","text":{"content":"x"}}`, 40058},
		{"empty touser", `{"touser":"","open_kfid":"` + acct + `","msgtype":"text","text":{"content":"x"}}`, 40058},
		{"empty open_kfid", `{"touser":"` + user + `","open_kfid":"","msgtype":"text","text":{"content":"x"}}`, 40058},
		{"missing msgtype", `{` + env + `,"text":{"content":"x"}}`, 40058},
		{"unknown msgtype", `{` + env + `,"msgtype":"menu","menu":{}}`, 40008},
		{"business_card is not official", `{` + env + `,"msgtype":"business_card","business_card":{"userid":"u"}}`, 40008},
		{"menu 10 items", menu(10, "click"), 0},
		{"menu 11 items", menu(11, "click"), 95008},
		{"menu bad item type", menu(1, "button"), 95009},
		{"menu click without content", `{` + env + `,"msgtype":"msgmenu","msgmenu":{"list":[{"type":"click","click":{"id":"1"}}]}}`, 40058},
		{"menu view ok", `{` + env + `,"msgtype":"msgmenu","msgmenu":{"list":[{"type":"view","view":{"url":"https://x","content":"c"}}]}}`, 0},
		{"menu text line", `{` + env + `,"msgtype":"msgmenu","msgmenu":{"list":[{"type":"text","text":{"content":"c","no_newline":1}}]}}`, 0},
		{"image uploaded", `{` + env + `,"msgtype":"image","image":{"media_id":"` + img + `"}}`, 0},
		{"image unknown media", `{` + env + `,"msgtype":"image","image":{"media_id":"nope"}}`, 40007},
		{"image with a voice media", `{` + env + `,"msgtype":"image","image":{"media_id":"` + voice + `"}}`, 40007},
		{"voice ok", `{` + env + `,"msgtype":"voice","voice":{"media_id":"` + voice + `"}}`, 0},
		{"link ok", `{` + env + `,"msgtype":"link","link":{"title":"t","url":"https://x","thumb_media_id":"` + img + `"}}`, 0},
		{"link without scheme", `{` + env + `,"msgtype":"link","link":{"title":"t","url":"x.com","thumb_media_id":"` + img + `"}}`, 40058},
		{"location ok", `{` + env + `,"msgtype":"location","location":{"latitude":23.1,"longitude":113.3}}`, 0},
		{"location out of range", `{` + env + `,"msgtype":"location","location":{"latitude":91,"longitude":0}}`, 40058},
		{"miniprogram missing pagepath", `{` + env + `,"msgtype":"miniprogram","miniprogram":{"appid":"wx1","thumb_media_id":"` + img + `"}}`, 40058},
		{"ca_link ok", `{` + env + `,"msgtype":"ca_link","ca_link":{"link_url":"https://work.weixin.qq.com/ca/x"}}`, 0},
		{"not json", `{"touser":`, 40058},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv.AddText(acct, user, "refill") // keep the allowance
			r := a.post("kf/send_msg", tt.body)
			assert.Equal(t, tt.code, r.ErrCode, r.ErrMsg)
		})
	}
}

func TestWelcomeCode(t *testing.T) {
	clk := newClock()
	srv := kftest.NewUnstartedServer(kftest.WithClock(clk.Now))
	a := newAPI(t, srv)

	_, code := srv.EnterSession(acct, user, "s", "")
	require.NotEmpty(t, code)
	clk.Advance(kftest.WelcomeCodeTTL)
	r := a.sendOnEvent(code, "msgmenu")
	require.Equal(t, 0, r.ErrCode, "valid for 20 s: %s", r.ErrMsg)
	r = a.sendOnEvent(code, "text")
	assert.Equal(t, kftest.ErrCodeInvalidEventCode, r.ErrCode)
	assert.Contains(t, r.ErrMsg, "code already used")

	sent := srv.SentTo(acct, user)
	require.Len(t, sent, 1)
	assert.Equal(t, "send_msg_on_event", sent[0].Path)
	assert.Equal(t, code, sent[0].Code)
	assert.Equal(t, "msgmenu", sent[0].MsgType)

	// Welcomed within 48 h: no new code.
	_, again := srv.EnterSession(acct, user, "s", "")
	assert.Empty(t, again)

	// Expiry.
	_, code2 := srv.EnterSession(acct, user2, "s", "")
	require.NotEmpty(t, code2)
	clk.Advance(kftest.WelcomeCodeTTL + time.Second)
	r = a.sendOnEvent(code2, "text")
	assert.Equal(t, kftest.ErrCodeInvalidEventCode, r.ErrCode)
	assert.Contains(t, r.ErrMsg, "code expired")

	// A customer who wrote recently gets no welcome code.
	srv.AddText(acct2, user, "hi")
	_, none := srv.EnterSession(acct2, user, "s", "")
	assert.Empty(t, none)

	assert.Equal(t, kftest.ErrCodeInvalidEventCode, a.sendOnEvent("forged", "text").ErrCode)
	assert.Equal(t, 40058, a.post("kf/send_msg_on_event", `{"code":"","msgtype":"text","text":{"content":"x"}}`).ErrCode)
	assert.Len(t, srv.Sent(), 1, "failed sends record nothing")
}

func TestEventCodeRules(t *testing.T) {
	clk := newClock()
	srv := kftest.NewUnstartedServer(kftest.WithClock(clk.Now))
	srv.AddServicer(acct, "alice")
	a := newAPI(t, srv)

	_, wcode := srv.EnterSession(acct, user, "s", "")
	assert.Equal(t, 40008, a.sendOnEvent(wcode, "image").ErrCode, "text or msgmenu only")

	srv.AddText(acct, user, "hi")
	r := a.trans(acct, user, kftest.StatePool, "")
	require.Equal(t, 0, r.ErrCode, r.ErrMsg)
	poolCode := r.MsgCode
	require.NotEmpty(t, poolCode, "first change to 2 returns a msg_code")
	assert.Equal(t, 40008, a.sendOnEvent(poolCode, "msgmenu").ErrCode, "pool code: text only")

	r = a.trans(acct, user, kftest.StateHuman, "alice")
	require.Equal(t, 0, r.ErrCode, r.ErrMsg)
	assert.Empty(t, r.MsgCode, "not the first change to 2/3")
	assert.Equal(t, 95018, a.sendOnEvent(poolCode, "text").ErrCode, "session left the pool")

	r = a.trans(acct, user, kftest.StateEnded, "")
	require.Equal(t, 0, r.ErrCode, r.ErrMsg)
	closing := r.MsgCode
	require.NotEmpty(t, closing)

	// New session: the closing code belongs to the old one.
	srv.AddText(acct, user, "again")
	assert.Equal(t, 95018, a.sendOnEvent(closing, "text").ErrCode)

	// Closing code used within 20 s.
	srv.SetSessionState(acct, user, kftest.StateHuman, "alice")
	r = a.trans(acct, user, kftest.StateEnded, "")
	require.Equal(t, 0, r.ErrCode)
	clk.Advance(10 * time.Second)
	assert.Equal(t, 0, a.sendOnEvent(r.MsgCode, "msgmenu").ErrCode)

	// Pick-up code lives 48 h.
	srv.AddText(acct, user, "third")
	r = a.trans(acct, user, kftest.StateHuman, "alice")
	require.NotEmpty(t, r.MsgCode)
	clk.Advance(47 * time.Hour)
	assert.Equal(t, 0, a.sendOnEvent(r.MsgCode, "text").ErrCode)
}
