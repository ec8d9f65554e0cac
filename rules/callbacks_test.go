package rules_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/bot"
	"github.com/kfbot/kfbot/kf"
	"github.com/kfbot/kfbot/kf/callback"
	"github.com/kfbot/kfbot/kf/kftest"
	"github.com/kfbot/kfbot/rules"
	"github.com/kfbot/kfbot/storage"
)

// welcomes is a bot.ContactClient that records welcomes.
type welcomes struct {
	mu      sync.Mutex
	sent    []kf.SendWelcomeMsgRequest
	contact *kf.ExternalContact // externalcontact/get answers this
	gets    int
}

func (w *welcomes) SendWelcomeMsg(_ context.Context, req kf.SendWelcomeMsgRequest) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.sent = append(w.sent, req)
	return nil
}

func (w *welcomes) GetExternalContactAll(context.Context, string) (*kf.ExternalContact, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.gets++
	if w.contact == nil {
		return nil, errors.New("externalcontact/get: 84061 no relation")
	}
	return w.contact, nil
}

func (w *welcomes) all() []kf.SendWelcomeMsgRequest {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]kf.SendWelcomeMsgRequest(nil), w.sent...)
}

// doneObserver signals every handled notification.
type doneObserver struct {
	bot.NopObserver
	done chan string
}

func (o doneObserver) Callback(kind string, r bot.CallbackResult) {
	if r == bot.CallbackHandled {
		o.done <- kind
	}
}

// callbackBot runs set on a bot whose welcomes go to w, and returns a function that
// hands it a notification and waits until it was handled.
func callbackBot(t *testing.T, set bot.Plugin, w *welcomes) (receive func(xml string, age time.Duration)) {
	t.Helper()
	srv := kftest.NewServer()
	t.Cleanup(srv.Close)
	obs := doneObserver{done: make(chan string, 16)}
	b, err := bot.New(corpClient{kf.NewClient(srv.CorpID(), srv.Secret(), kf.WithBaseURL(srv.URL)), srv.CorpID()}, storage.NewMemory(),
		bot.WithLogger(quietLog), bot.WithObserver(obs), bot.WithContactClient(w),
		bot.WithErrorHandler(func(_ *bot.Context, err error) { t.Errorf("handler error: %v", err) }))
	require.NoError(t, err)
	require.NoError(t, b.Install(set))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = b.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return func(xml string, age time.Duration) {
		n, err := callback.DecodeNotification([]byte(xml))
		require.NoError(t, err)
		require.NoError(t, b.Receive(t.Context(), n, time.Now().Add(-age)))
		select {
		case <-obs.done:
		case <-time.After(time.Minute):
			t.Fatal("the notification was not handled")
		}
	}
}

func addContact(customer, state, code string, at int) string {
	return `<xml><ToUserName>ww1</ToUserName><FromUserName>sys</FromUserName><CreateTime>` + strconv.Itoa(at) + `</CreateTime>` +
		`<MsgType>event</MsgType><Event>change_external_contact</Event><ChangeType>add_external_contact</ChangeType>` +
		`<UserID>zhangsan</UserID><ExternalUserID>` + customer + `</ExternalUserID><State>` + state + `</State>` +
		`<WelcomeCode>` + code + `</WelcomeCode></xml>`
}

const welcomeRules = `version: 1
rules:
  - name: everything
    then: [{reply: "KF rules never see notifications"}]
  - name: qr-a
    callback: change_external_contact
    when: event.change_type == "add_external_contact" && event.state == "qr-a" && event.welcome_code
    then:
      - welcome: "Welcome, you scanned A"
  - name: qr-b greeting
    callback: [change_external_contact]
    when: event.state == "qr-b"
    continue: true
    then:
      - set: {greeting: '"Hi " + event.external_user_id'}
  - name: qr-b
    callback: change_external_contact
    when: event.state == "qr-b"
    then:
      - welcome:
          text: "{{ session.vars.greeting }}, you scanned B"
          attachments:
            - link: {title: "Shop", url: "https://example.com/shop?u={{ event.external_user_id }}"}
            - image: {file: testdata/thumb.png}
            - miniprogram: {title: "Mall", appid: wx123, page: "/index", pic_media_id: "COVER"}
`

// TestCallbackRulesWelcomeEachQRCode: each 「联系我」 code gets its own welcome; an old
// code gets none; the KF catch-all rule sees no notification.
func TestCallbackRulesWelcomeEachQRCode(t *testing.T) {
	set := mustLoad(t, welcomeRules, rules.WithBaseDir("."))
	assert.Equal(t, []string{"everything", "qr-a", "qr-b greeting", "qr-b"}, set.Rules())
	w := &welcomes{}
	receive := callbackBot(t, set, w)
	receive(addContact("wmA", "qr-a", "CODE-A", 1), time.Second)
	receive(addContact("wmB", "qr-b", "CODE-B", 1), time.Second)
	receive(addContact("wmOld", "qr-a", "CODE-OLD", 1), 25*time.Second)
	receive(addContact("wmNone", "qr-c", "CODE-C", 1), time.Second)
	receive(addContact("wmB2", "qr-b", "CODE-B2", 2), time.Second)
	sent := w.all()
	require.Len(t, sent, 3)
	imageID := sent[1].Attachments[1].Image.MediaID
	require.NotEmpty(t, imageID, "uploaded")
	assert.Equal(t, imageID, sent[2].Attachments[1].Image.MediaID, "uploaded once, reused")
	assert.Equal(t, []kf.SendWelcomeMsgRequest{
		{WelcomeCode: "CODE-A", Text: "Welcome, you scanned A"},
		{WelcomeCode: "CODE-B", Text: "Hi wmB, you scanned B", Attachments: []kf.WelcomeAttachment{
			{Link: &kf.WelcomeLink{Title: "Shop", URL: "https://example.com/shop?u=wmB"}},
			{Image: &kf.WelcomeImage{MediaID: imageID}},
			{MiniProgram: &kf.WelcomeMiniProgram{Title: "Mall", AppID: "wx123", Page: "/index", PicMediaID: "COVER"}},
		}},
	}, sent[:2])
}

func TestCallbackRuleLoadErrors(t *testing.T) {
	for name, tt := range map[string]struct{ rule, want string }{
		"unknown kind": {`callback: change_external_contat
    then: [{welcome: "hi"}]`, "did you mean change_external_contact"},
		"reply": {`callback: change_external_contact
    then: [{reply: "hi"}]`, "reply needs a KF conversation"},
		"while_human": {`callback: change_contact
    while_human: true
    then: [{set: {a: "1"}}]`, "while_human is for KF conversations"},
		"empty welcome": {`callback: change_external_contact
    then: [{welcome: {}}]`, "welcome needs text or attachments"},
		"ten attachments": {`callback: change_external_contact
    then: [{welcome: {attachments: [{image: {media_id: a}}, {image: {media_id: a}}, {image: {media_id: a}}, {image: {media_id: a}}, {image: {media_id: a}}, {image: {media_id: a}}, {image: {media_id: a}}, {image: {media_id: a}}, {image: {media_id: a}}, {image: {media_id: a}}]}}]`, "at most 9"},
		"two bodies": {`callback: change_external_contact
    then: [{welcome: {attachments: [{image: {media_id: a}, file: {media_id: b}}]}}]`, "exactly one of"},
		"unknown event field": {`callback: change_external_contact
    when: event.stat == "x"
    then: [{welcome: "hi"}]`, "stat"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := rules.Load(strings.NewReader("version: 1\nrules:\n  - name: r\n    "+tt.rule+"\n"), "rules.yaml")
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

// TestCallbackRulesReadTheContact: contact.* is the customer of externalcontact/get,
// fetched only when an expression reads it; a failure leaves it empty.
func TestCallbackRulesReadTheContact(t *testing.T) {
	set := mustLoad(t, `version: 1
rules:
  - name: vip
    callback: change_external_contact
    when: "\"vip\" in contact.tags"
    then: [{welcome: "Welcome back, {{ contact.name }} ({{ contact.remark }})"}]
  - name: others
    callback: change_external_contact
    then: [{welcome: "Welcome"}]
`)
	w := &welcomes{contact: &kf.ExternalContact{Contact: kf.ExternalContactInfo{ExternalUserID: "wmA", Name: "李四", Type: 1},
		FollowUsers: []kf.FollowUser{{UserID: "other", Remark: "not mine"},
			{UserID: "zhangsan", Remark: "李部长", Tags: []kf.FollowUserTag{{TagName: "vip"}}}}}}
	receive := callbackBot(t, set, w)
	receive(addContact("wmA", "qr-a", "C1", 1), time.Second)
	w.mu.Lock()
	w.contact = nil // WeCom fails
	w.mu.Unlock()
	receive(addContact("wmB", "qr-a", "C2", 1), time.Second)
	assert.Equal(t, []kf.SendWelcomeMsgRequest{{WelcomeCode: "C1", Text: "Welcome back, 李四 (李部长)"}, {WelcomeCode: "C2", Text: "Welcome"}}, w.all())

	w2 := &welcomes{}
	receive = callbackBot(t, mustLoad(t, welcomeRules, rules.WithBaseDir(".")), w2)
	receive(addContact("wmA", "qr-a", "C3", 1), time.Second)
	assert.Zero(t, w2.gets, "no expression reads contact: not fetched")
}
