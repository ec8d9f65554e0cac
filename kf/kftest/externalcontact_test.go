package kftest_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/kf/callback"
	"github.com/kfbot/kfbot/kf/kftest"
)

func welcome(code, text string, atts ...string) string {
	b, _ := json.Marshal(code)
	body := `{"welcome_code":` + string(b)
	if text != "" {
		t, _ := json.Marshal(text)
		body += `,"text":{"content":` + string(t) + `}`
	}
	if len(atts) > 0 {
		body += `,"attachments":[` + strings.Join(atts, ",") + `]`
	}
	return body + "}"
}

// TestWelcomeCodes: a code works once within 20 seconds, and only while the relationship
// lasts (https://developer.work.weixin.qq.com/document/path/92137 and 90313).
func TestWelcomeCodes(t *testing.T) {
	clock := newClock()
	srv := kftest.NewUnstartedServer(kftest.WithClock(clock.Now))
	a := newAPI(t, srv)
	ev := srv.AddExternalContact("zhangsan", "wmA", "qr-a")
	require.NotEmpty(t, ev.WelcomeCode)
	assert.Equal(t, 0, a.post("externalcontact/send_welcome_msg", welcome(ev.WelcomeCode, "hi")).ErrCode)
	assert.Equal(t, 41051, a.post("externalcontact/send_welcome_msg", welcome(ev.WelcomeCode, "again")).ErrCode, "used")

	old := srv.AddExternalContact("zhangsan", "wmB", "qr-b")
	clock.Advance(kftest.WelcomeCodeTTL + time.Second)
	assert.Equal(t, 41050, a.post("externalcontact/send_welcome_msg", welcome(old.WelcomeCode, "hi")).ErrCode, "expired")
	assert.Equal(t, 41050, a.post("externalcontact/send_welcome_msg", welcome("forged", "hi")).ErrCode)
	assert.Equal(t, 41049, a.post("externalcontact/send_welcome_msg", welcome("", "hi")).ErrCode)

	gone := srv.AddExternalContact("lisi", "wmC", "")
	srv.DeleteExternalContact("lisi", "wmC")
	assert.Equal(t, 84061, a.post("externalcontact/send_welcome_msg", welcome(gone.WelcomeCode, "hi")).ErrCode)

	assert.Empty(t, srv.AddExternalContactWithoutWelcome("lisi", "wmD", "").WelcomeCode)

	got := srv.Welcomes()
	require.Len(t, got, 1)
	assert.Equal(t, kftest.Welcome{Code: ev.WelcomeCode, UserID: "zhangsan", ExternalUserID: "wmA", State: "qr-a", Text: "hi", At: t0}, got[0])
}

// TestWelcomeLimits: the body's limits answer 40058 (or 40007 for a medium never
// uploaded), and refused bodies do not use the code.
func TestWelcomeLimits(t *testing.T) {
	srv := kftest.NewUnstartedServer()
	a := newAPI(t, srv)
	ev := srv.AddExternalContact("zhangsan", "wmA", "qr-a")
	img := `{"msgtype":"image","image":{"pic_url":"https://p.qpic.cn/x.png"}}`
	ten := make([]string, 10)
	for i := range ten {
		ten[i] = img
	}
	for name, tt := range map[string]struct {
		body string
		code int
	}{
		"nothing":             {welcome(ev.WelcomeCode, ""), 40058},
		"text too long":       {welcome(ev.WelcomeCode, strings.Repeat("x", 4001)), 40058},
		"ten attachments":     {welcome(ev.WelcomeCode, "", ten...), 40058},
		"body of another":     {welcome(ev.WelcomeCode, "", `{"msgtype":"video","image":{"media_id":"M"}}`), 40058},
		"unknown msgtype":     {welcome(ev.WelcomeCode, "", `{"msgtype":"voice","voice":{"media_id":"M"}}`), 40058},
		"link without url":    {welcome(ev.WelcomeCode, "", `{"msgtype":"link","link":{"title":"T"}}`), 40058},
		"mini program":        {welcome(ev.WelcomeCode, "", `{"msgtype":"miniprogram","miniprogram":{"title":"T","appid":"wx1","page":"/"}}`), 40058},
		"medium not uploaded": {welcome(ev.WelcomeCode, "", `{"msgtype":"file","file":{"media_id":"never"}}`), 40007},
	} {
		assert.Equal(t, tt.code, a.post("externalcontact/send_welcome_msg", tt.body).ErrCode, name)
	}
	up := upload(t, a, "image", "media", "a.png", append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 100)...))
	require.Equal(t, 0, up.ErrCode, up.ErrMsg)
	r := a.post("externalcontact/send_welcome_msg", welcome(ev.WelcomeCode, "hi", img,
		`{"msgtype":"link","link":{"title":"T","url":"https://e.com"}}`,
		`{"msgtype":"miniprogram","miniprogram":{"title":"T","pic_media_id":"`+up.MediaID+`","appid":"wx1","page":"/"}}`))
	assert.Equal(t, 0, r.ErrCode, r.ErrMsg)
	require.Len(t, srv.Welcomes(), 1)
	assert.Len(t, srv.Welcomes()[0].Attachments, 3)
}

// TestExternalContactGet: the customer with the members who added them; 84061 for
// nobody's customer.
func TestExternalContactGet(t *testing.T) {
	srv := kftest.NewUnstartedServer()
	a := newAPI(t, srv)
	srv.AddExternalContact("zhangsan", "wmA", "qr-a")
	srv.AddExternalContact("lisi", "wmA", "qr-b")
	r := a.do(http.MethodGet, "externalcontact/get", url.Values{"access_token": {a.getToken()}, "external_userid": {"wmA"}}, nil, "")
	var body struct {
		Contact struct {
			ExternalUserID string `json:"external_userid"`
		} `json:"external_contact"`
		FollowUser []struct {
			UserID string `json:"userid"`
			State  string `json:"state"`
		} `json:"follow_user"`
	}
	require.NoError(t, json.Unmarshal(r.Body, &body))
	assert.Equal(t, "wmA", body.Contact.ExternalUserID)
	require.Len(t, body.FollowUser, 2)
	assert.Equal(t, "lisi", body.FollowUser[0].UserID)
	assert.Equal(t, "qr-a", body.FollowUser[1].State)
	r = a.do(http.MethodGet, "externalcontact/get", url.Values{"access_token": {a.getToken()}, "external_userid": {"wmNobody"}}, nil, "")
	assert.Equal(t, 84061, r.ErrCode)
}

// TestNotificationXMLDecodes: every kind the fake builds decodes to its own type.
func TestNotificationXMLDecodes(t *testing.T) {
	srv := kftest.NewUnstartedServer()
	ev := srv.AddExternalContact("zhangsan", "wmA", "qr-a")
	n, err := callback.DecodeNotification(ev.XML)
	require.NoError(t, err)
	ec, ok := n.(*callback.ExternalContactChange)
	require.True(t, ok, "%T", n)
	assert.Equal(t, callback.ExternalContactChange{NotifyHeader: callback.NotifyHeader{Event: "change_external_contact", ToUserName: srv.CorpID(),
		FromUserName: "sys", Time: ev.Time.Truncate(time.Second), Raw: ev.XML, Key: n.Head().Key},
		ChangeType: "add_external_contact", UserID: "zhangsan", ExternalUserID: "wmA", State: "qr-a", WelcomeCode: ev.WelcomeCode}, *ec)
	for _, kind := range callback.Kinds() {
		x := srv.NotificationXML(kind, map[string]string{"ChangeType": "update", "UserID": "u1"})
		n, err := callback.DecodeNotification(x)
		require.NoError(t, err, kind)
		_, unknown := n.(*callback.Unknown)
		assert.False(t, unknown, kind)
		h := n.Head()
		assert.Equal(t, kind, h.InfoType+h.Event)
		assert.Equal(t, srv.CorpID(), h.Corp(), kind)
	}
}

// TestPostNotificationRetries posts one plaintext three times, freshly sealed each time.
func TestPostNotificationRetries(t *testing.T) {
	srv := kftest.NewServer()
	t.Cleanup(srv.Close)
	var bodies atomic.Int32
	seen := map[string]bool{}
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen[r.URL.Query().Get("nonce")] = true
		bodies.Add(1)
		w.WriteHeader(http.StatusInternalServerError)
	}))
	t.Cleanup(target.Close)
	codes, err := srv.PostNotification(t.Context(), target.Client(), target.URL, srv.NotificationXML("suite_ticket", nil), 3)
	require.NoError(t, err)
	assert.Equal(t, []int{500, 500, 500}, codes)
	assert.Len(t, seen, 3, "a fresh nonce per try")
}
