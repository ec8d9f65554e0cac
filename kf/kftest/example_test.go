package kftest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/kfbot/kfbot/kf/kftest"
)

func Example() {
	clock := func() time.Time { return time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC) }
	srv := kftest.NewServer(kftest.WithClock(clock))
	defer srv.Close()

	srv.AddText("wkSHOP", "wmALICE", "Do you ship to Shenzhen?")

	client := srv.Client()
	resp, err := client.Get(srv.URL + "/cgi-bin/gettoken?corpid=" + srv.CorpID() + "&corpsecret=" + srv.Secret())
	if err != nil {
		panic(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()

	resp, err = client.Post(srv.URL+"/cgi-bin/kf/sync_msg?access_token="+tok.AccessToken,
		"application/json", strings.NewReader(`{"open_kfid":"wkSHOP","limit":100}`))
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var page struct {
		ErrCode int               `json:"errcode"`
		HasMore int               `json:"has_more"`
		MsgList []json.RawMessage `json:"msg_list"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&page)
	fmt.Println(resp.StatusCode == http.StatusOK, page.ErrCode, page.HasMore)
	for _, item := range page.MsgList {
		fmt.Println(string(item))
	}
	// Output:
	// true 0 0
	// {"msgid":"from_msgid_1","open_kfid":"wkSHOP","external_userid":"wmALICE","send_time":1740830400,"origin":3,"msgtype":"text","text":{"content":"Do you ship to Shenzhen?"}}
}

func ExampleServer_SentTo() {
	srv := kftest.NewUnstartedServer()
	srv.AddText("wkSHOP", "wmALICE", "hi")

	body := `{"touser":"wmALICE","open_kfid":"wkSHOP","msgid":"reply1","msgtype":"text","text":{"content":"Hello!"}}`
	client := &http.Client{Transport: srv.Transport()}
	resp, err := client.Get("https://qyapi.weixin.qq.com/cgi-bin/gettoken?corpid=" + srv.CorpID() + "&corpsecret=" + srv.Secret())
	if err != nil {
		panic(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	resp, err = client.Post("https://qyapi.weixin.qq.com/cgi-bin/kf/send_msg?access_token="+tok.AccessToken,
		"application/json", strings.NewReader(body))
	if err != nil {
		panic(err)
	}
	resp.Body.Close()

	for _, s := range srv.SentTo("wkSHOP", "wmALICE") {
		fmt.Println(s.Path, s.MsgID, s.MsgType, s.Text)
	}
	fmt.Println(srv.SessionState("wkSHOP", "wmALICE"))
	// Output:
	// send_msg reply1 text Hello!
	// 1
}
