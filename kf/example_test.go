package kf_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/kfbot/kfbot/kf"
)

// exampleServer is a tiny stand-in for WeCom: it issues a token and answers
// kf/send_msg, refusing customer "wm-human" with 95018 as WeCom does when a
// human servicer owns the session.
func exampleServer() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/cgi-bin/gettoken":
			fmt.Fprint(w, `{"errcode":0,"errmsg":"ok","access_token":"ACCESS_TOKEN","expires_in":7200}`)
		case "/cgi-bin/kf/send_msg":
			var req struct {
				ToUser string `json:"touser"`
				MsgID  string `json:"msgid"`
			}
			_ = json.NewDecoder(r.Body).Decode(&req)
			if req.ToUser == "wm-human" {
				fmt.Fprint(w, `{"errcode":95018,"errmsg":"invalid service state, hint: [1700000000]"}`)
				return
			}
			fmt.Fprintf(w, `{"errcode":0,"errmsg":"ok","msgid":%q}`, req.MsgID)
		default:
			http.NotFound(w, r)
		}
	}))
}

func ExampleClient_SendMsg() {
	srv := exampleServer()
	defer srv.Close()

	client := kf.NewClient("wwCorpID", "app-secret", kf.WithBaseURL(srv.URL))
	resp, err := client.SendMsg(context.Background(), kf.SendMsgRequest{
		ToUser:   "wmCustomer",
		OpenKFID: "wkAccount",
		MsgID:    "reply-0001", // deterministic: makes retries safe
		Message:  kf.Text{Content: "Hello! How can I help?"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("sent", resp.MsgID)
	// Output: sent reply-0001
}

func ExampleAPIError() {
	srv := exampleServer()
	defer srv.Close()

	client := kf.NewClient("wwCorpID", "app-secret", kf.WithBaseURL(srv.URL))
	_, err := client.SendMsg(context.Background(), kf.SendMsgRequest{
		ToUser: "wm-human", OpenKFID: "wkAccount", Message: kf.Text{Content: "hi"},
	})
	err = fmt.Errorf("reply: %w", err) // wrapping keeps the code reachable

	if errors.Is(err, kf.ErrSessionStateForbidsSend) {
		fmt.Println("a human owns this session; stop replying")
	}
	var apiErr *kf.APIError
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.Op, apiErr.Code, kf.CodeText(apiErr.Code), apiErr.Retryable())
	}
	fmt.Println(err)
	// Output:
	// a human owns this session; stop replying
	// send_msg 95018 session state forbids sending false
	// reply: kf: send_msg: errcode 95018: invalid service state, hint: [1700000000]; what to do: a human servicer owns the session, or it is older than 48 hours: the bot cannot send to this customer until the customer writes again
}

func ExampleSendMsgRequest_MarshalJSON() {
	req := kf.SendMsgRequest{
		ToUser:   "wmCustomer",
		OpenKFID: "wkAccount",
		Message: kf.Menu{
			Head: "Was this helpful?",
			Items: []kf.MenuItem{
				kf.MenuClick{ID: "yes", Content: "Yes"},
				kf.MenuClick{ID: "no", Content: "No"},
				kf.MenuView{URL: "https://example.com/help", Content: "Help center"},
			},
		},
	}
	b, _ := json.Marshal(req)
	fmt.Println(string(b))
	// Output:
	// {"touser":"wmCustomer","open_kfid":"wkAccount","msgtype":"msgmenu","msgmenu":{"head_content":"Was this helpful?","list":[{"type":"click","click":{"id":"yes","content":"Yes"}},{"type":"click","click":{"id":"no","content":"No"}},{"type":"view","view":{"url":"https://example.com/help","content":"Help center"}}]}}
}

func ExampleNewClient() {
	client := kf.NewClient("wwCorpID", "app-secret",
		kf.WithRetry(kf.RetryPolicy{MaxAttempts: 5}), // other fields keep their defaults
	)
	fmt.Println(client)
	fmt.Println(kf.Secret("app-secret"))
	// Output:
	// kf.Client{corpID: "wwCorpID", baseURL: "https://qyapi.weixin.qq.com"}
	// REDACTED
}
