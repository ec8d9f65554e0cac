package kftest_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/kf/kftest"
)

// sendLog collects what an OnSend hook received.
type sendLog struct {
	mu   sync.Mutex
	sent []kftest.Sent
}

func (l *sendLog) hook(s kftest.Sent) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sent = append(l.sent, s)
}

func (l *sendLog) got() []kftest.Sent {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append(make([]kftest.Sent, 0, len(l.sent)), l.sent...)
}

func TestOnSendSeesEveryAcceptedSendOnce(t *testing.T) {
	srv := kftest.NewUnstartedServer()
	a := newAPI(t, srv)
	var log sendLog
	srv.OnSend(log.hook)

	srv.AddText(acct, user, "hi")
	require.Equal(t, 0, a.sendText(acct, user, "reply-1", "hello").ErrCode)
	require.Equal(t, 0, a.sendText(acct, user, "", "no msgid").ErrCode)
	_, code := srv.EnterSession(acct, user2, "", "")
	require.NotEmpty(t, code)
	require.Equal(t, 0, a.sendOnEvent(code, "msgmenu").ErrCode)

	got := log.got()
	require.Len(t, got, 3, "one call per accepted send")
	assert.Equal(t, srv.Sent(), got, "the hook gets exactly what Sent records, in order")
	assert.Equal(t, "send_msg", got[0].Path)
	assert.Equal(t, "reply-1", got[0].MsgID)
	assert.Equal(t, "hello", got[0].Text)
	assert.NotEmpty(t, got[1].MsgID, "the generated msgid is reported")
	assert.Equal(t, "send_msg_on_event", got[2].Path)
	assert.Equal(t, code, got[2].Code)
	assert.Equal(t, user2, got[2].ToUser)
	assert.Equal(t, "msgmenu", got[2].MsgType)
}

func TestOnSendIsNotCalledForRefusedSends(t *testing.T) {
	tests := []struct {
		name string
		send func(a *api, srv *kftest.Server) result
	}{
		{"customer never wrote (95031)", func(a *api, _ *kftest.Server) result {
			return a.sendText(acct, user2, "", "hi")
		}},
		{"invalid msgid (40058)", func(a *api, _ *kftest.Server) result {
			return a.sendText(acct, user, "not valid!", "hi")
		}},
		{"duplicate msgid", func(a *api, _ *kftest.Server) result {
			return a.sendText(acct, user, "dup-1", "again")
		}},
		{"empty text (44004)", func(a *api, _ *kftest.Server) result {
			return a.sendText(acct, user, "", "")
		}},
		{"human owns the session (95018)", func(a *api, srv *kftest.Server) result {
			srv.SetSessionState(acct, user, kftest.StateHuman, "servicer1")
			return a.sendText(acct, user, "", "hi")
		}},
		{"injected fault", func(a *api, srv *kftest.Server) result {
			srv.FailNext("send_msg", kftest.ErrCodeSystemBusy)
			return a.sendText(acct, user, "", "hi")
		}},
		{"unknown event code", func(a *api, _ *kftest.Server) result {
			return a.sendOnEvent("no-such-code", "text")
		}},
		{"used event code", func(a *api, srv *kftest.Server) result {
			_, code := srv.EnterSession(acct, "wmWELCOME", "", "")
			if r := a.sendOnEvent(code, "text"); r.ErrCode != 0 {
				return r
			}
			return a.sendOnEvent(code, "text")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := kftest.NewUnstartedServer()
			a := newAPI(t, srv)
			srv.AddText(acct, user, "hi")
			require.Equal(t, 0, a.sendText(acct, user, "dup-1", "first").ErrCode)
			accepted := len(srv.Sent())

			var log sendLog
			srv.OnSend(log.hook)
			r := tt.send(a, srv)
			require.NotEqual(t, 0, r.ErrCode, "the send was refused")
			newlyAccepted := srv.Sent()[accepted:]
			assert.Equal(t, newlyAccepted, log.got(), "the hook saw only the accepted sends")
		})
	}
}

func TestOnSendNilRemovesHook(t *testing.T) {
	srv := kftest.NewUnstartedServer()
	a := newAPI(t, srv)
	srv.AddText(acct, user, "hi")
	var first, second sendLog

	srv.OnSend(first.hook)
	require.Equal(t, 0, a.sendText(acct, user, "", "one").ErrCode)
	srv.OnSend(second.hook) // replaces the first hook
	require.Equal(t, 0, a.sendText(acct, user, "", "two").ErrCode)
	srv.OnSend(nil)
	require.Equal(t, 0, a.sendText(acct, user, "", "three").ErrCode)

	require.Len(t, first.got(), 1)
	assert.Equal(t, "one", first.got()[0].Text)
	require.Len(t, second.got(), 1)
	assert.Equal(t, "two", second.got()[0].Text)
	assert.Len(t, srv.Sent(), 3, "sends are still recorded without a hook")
}

func TestOnSendConcurrentSends(t *testing.T) {
	srv := kftest.NewServer()
	t.Cleanup(srv.Close)
	token := newAPI(t, srv).getToken()
	var log sendLog
	srv.OnSend(log.hook)
	const customers = 20
	for i := range customers {
		srv.AddText(acct, fmt.Sprintf("%s_%d", user, i), "hi")
	}
	var wg sync.WaitGroup
	errs := make(chan error, customers)
	for i := range customers {
		wg.Go(func() {
			body := fmt.Sprintf(`{"touser":"%s_%d","open_kfid":%q,"msgtype":"text","text":{"content":"hello"}}`, user, i, acct)
			resp, err := srv.Client().Post(srv.URL+"/cgi-bin/kf/send_msg?access_token="+token, "application/json", strings.NewReader(body))
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			var r result
			if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || r.ErrCode != 0 {
				errs <- fmt.Errorf("send %d: errcode %d %s (%v)", i, r.ErrCode, r.ErrMsg, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	assert.Len(t, log.got(), customers)
	assert.ElementsMatch(t, srv.Sent(), log.got())
}
