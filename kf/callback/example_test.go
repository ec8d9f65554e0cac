package callback_test

import (
	"fmt"
	"log"
	"net/url"

	"github.com/kfbot/kfbot/kf/callback"
)

// Answer WeCom's GET URL verification (official vector of https://developer.work.weixin.qq.com/document/path/90968). The query values
// come URL-decoded from r.URL.Query(); the plaintext is the whole response body.
func ExampleCipher_VerifyURL() {
	c, err := callback.New("QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wx5823bf96d3bd56c7")
	if err != nil {
		log.Fatal(err)
	}
	q, _ := url.ParseQuery("msg_signature=5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3&timestamp=1409659589&nonce=263014780" +
		"&echostr=P9nAzCzyDtyTWESHep1vC5X9xho%2FqYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp%2B4RPcs8TgAE7OaBO%2BFZXvnaqQ%3D%3D")

	plain, err := c.VerifyURL(q.Get("msg_signature"), q.Get("timestamp"), q.Get("nonce"), q.Get("echostr"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s\n", plain)
	// Output: 1616140317555161061
}

// Handle a POST callback: verify and decrypt the body, then parse the kf_msg_or_event poke
// (vector C of vectors_test.go, made with the official Token and key).
func ExampleCipher_DecryptMessage() {
	c, err := callback.New("QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wx5823bf96d3bd56c7")
	if err != nil {
		log.Fatal(err)
	}
	body := []byte("<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><Encrypt><![CDATA[" +
		"sKqRbbiSUnDhFHOvPjtUMUx6o8/E2uRRniEu+jjdYMX7PCvfKzXTKLkR6gm8E3S2SZ+vpjj383+VncwV0OUtWxk/bZxsNBIDx+jnuqweqLuDM2k0" +
		"sQYBlDPvHfkOy9T9cNS9I/8tfr2HBKrOrMEOejlzAtQjUWk0hl0s3jFtQFpeYIp5fBgtvou5BEXFjdlCTZt9FDyzdF+lohOZsdIP8T/2uZ6Ghxs" +
		"MEY4Eri5R+egWpXIHYd5nm6lHMAQRplgqb2HVh23AP1qtJvcifW3iKvq4gaK8QBav8cmmCxUTKcU1nC+7O1Z+J795nfJaZhLbKHp/874+qtphCc" +
		"ZZftVWRo6frEGwLm3gBSLiuKtWd7xv22RPmA3VwANHyikh2iYWtJiKAh445F9lLuM87kkmWotsNN3z/pE/M7ahSl5+5L4qRuIsCwGuUFg5Uwm31" +
		"sCHKw4naUvzMSmBhmcGXpww8A==]]></Encrypt><AgentID><![CDATA[]]></AgentID></xml>")

	plain, err := c.DecryptMessage("52668329fdbfe7231f633f5fcd0c0f4c0b29780e", "1700000000", "123456789", body)
	if err != nil {
		log.Fatal(err) // in a handler: log err and answer 400
	}
	ev, err := callback.ParseEvent(plain)
	if err != nil {
		log.Fatal(err)
	}
	switch ev.Event {
	case callback.EventKFMsgOrEvent:
		fmt.Println("sync", ev.OpenKFID, "with token", ev.Token)
	case callback.EventKFAccountAuthChange:
		fmt.Println("accounts changed:", ev.AuthAddOpenKFID, ev.AuthDelOpenKFID)
	default:
		fmt.Println("ignore", ev.Event)
	}
	// Output: sync wkxxxxxxx with token ENCApHxnGDNAVNY4AaSJKj4Tb5mwsEMzxhFmHVGcra996NR
}

// Build a signed, encrypted POST callback, as a fake WeCom server does.
func ExampleCipher_EncryptMessage() {
	c, err := callback.New("QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wx5823bf96d3bd56c7")
	if err != nil {
		log.Fatal(err)
	}
	inner := []byte("<xml><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[kf_msg_or_event]]></Event>" +
		"<Token><![CDATA[tok]]></Token><OpenKfId><![CDATA[wk1]]></OpenKfId></xml>")
	body, sig, err := c.EncryptMessage(inner, "1700000000", "42")
	if err != nil {
		log.Fatal(err)
	}
	// POST body to <URL>?msg_signature=sig&timestamp=1700000000&nonce=42
	plain, err := c.DecryptMessage(sig, "1700000000", "42", body)
	if err != nil {
		log.Fatal(err)
	}
	ev, _ := callback.ParseEvent(plain)
	fmt.Println(ev.Event, ev.OpenKFID, ev.Token)
	// Output: kf_msg_or_event wk1 tok
}
