package kftest_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/kfbot/kfbot/kf/kftest"
)

// fuzzEndpoint feeds arbitrary bodies to an endpoint: the server never
// panics and always answers 200 with a JSON object carrying an errcode.
func fuzzEndpoint(f *testing.F, path string, seeds ...string) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	srv := kftest.NewUnstartedServer(kftest.WithSeed(1))
	srv.AddText(acct, user, "hi")
	srv.EnterSession(acct, user2, "s", "p")
	a := newAPI(f, srv)
	q := url.Values{"access_token": {a.getToken()}}
	f.Fuzz(func(t *testing.T, body []byte) {
		a := &api{t: t, srv: srv, c: a.c, base: a.base, token: a.token}
		r := a.do(http.MethodPost, path, q, body, "application/json")
		if r.Status != http.StatusOK {
			t.Fatalf("status %d", r.Status)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(r.Body, &m); err != nil {
			t.Fatalf("response is not JSON: %v: %s", err, r.Body)
		}
		if _, ok := m["errcode"]; !ok {
			t.Fatalf("no errcode: %s", r.Body)
		}
		if r.ErrCode == 0 {
			// Keep the allowance so that later inputs exercise acceptance.
			srv.AddText(acct, user, "refill")
		}
	})
}

func FuzzSendMsg(f *testing.F) {
	fuzzEndpoint(f, "kf/send_msg",
		`{"touser":"`+user+`","open_kfid":"`+acct+`","msgtype":"text","text":{"content":"x"}}`,
		`{"touser":"`+user+`","open_kfid":"`+acct+`","msgid":"a-b_c","msgtype":"msgmenu","msgmenu":{"list":[{"type":"click","click":{"content":"c"}},{"type":"text","text":{"content":"t","no_newline":1}}]}}`,
		`{"touser":"`+user+`","open_kfid":"`+acct+`","msgtype":"location","location":{"latitude":1e400,"longitude":0}}`,
		`{"touser":"`+user+`","open_kfid":"`+acct+`","msgtype":"link","link":{"title":"t","url":"https://x","thumb_media_id":"m"}}`,
		`{"touser":null,"msgtype":[]}`,
		``,
	)
}

func FuzzSendMsgOnEvent(f *testing.F) {
	fuzzEndpoint(f, "kf/send_msg_on_event",
		`{"code":"x","msgtype":"text","text":{"content":"hi"}}`,
		`{"code":"x","msgtype":"msgmenu","msgmenu":{"list":[]}}`,
		`{"code":""}`,
	)
}

func FuzzSyncMsg(f *testing.F) {
	fuzzEndpoint(f, "kf/sync_msg",
		`{"open_kfid":"`+acct+`"}`,
		`{"open_kfid":"`+acct+`","cursor":"AAAAAAAAAAAAAAAAAAAAAAAAAAA","limit":1}`,
		`{"open_kfid":"`+acct+`","token":"ENCx","voice_format":1}`,
		`{"open_kfid":""}`,
	)
}

func FuzzServiceStateTrans(f *testing.F) {
	fuzzEndpoint(f, "kf/service_state/trans",
		`{"open_kfid":"`+acct+`","external_userid":"`+user+`","service_state":1}`,
		`{"open_kfid":"`+acct+`","external_userid":"`+user+`","service_state":3,"servicer_userid":"a"}`,
		`{"open_kfid":"`+acct+`","external_userid":"`+user+`","service_state":-9}`,
	)
}
