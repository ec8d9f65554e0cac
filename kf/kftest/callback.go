package kftest

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kfbot/kfbot/kf/callback"
)

type callbackState struct {
	once   sync.Once
	cipher *callback.Cipher
	err    error
}

// cipher returns the callback cipher, built on first use from the
// configured Token, EncodingAESKey and CorpID (the receive ID).
func (s *Server) cipher() (*callback.Cipher, error) {
	s.cb.once.Do(func() {
		s.cb.cipher, s.cb.err = callback.New(s.cfg.cbToken, s.cfg.cbAESKey, s.cfg.corpID)
	})
	if s.cb.err != nil {
		return nil, fmt.Errorf("kftest: callback cipher: %w", s.cb.err)
	}
	return s.cb.cipher, nil
}

// cdata wraps v in a CDATA section, splitting any "]]>" inside it.
func cdata(b *bytes.Buffer, tag, v string) {
	b.WriteString("<" + tag + "><![CDATA[")
	b.WriteString(strings.ReplaceAll(v, "]]>", "]]]]><![CDATA[>"))
	b.WriteString("]]></" + tag + ">")
}

// KFMsgOrEventXML returns the decrypted form of a kf_msg_or_event callback,
// exactly as WeCom sends it (https://developer.work.weixin.qq.com/document/path/94670).
func KFMsgOrEventXML(corpID string, createTime int64, token, openKFID string) []byte {
	var b bytes.Buffer
	b.WriteString("<xml>")
	cdata(&b, "ToUserName", corpID)
	b.WriteString("<CreateTime>" + strconv.FormatInt(createTime, 10) + "</CreateTime>")
	cdata(&b, "MsgType", "event")
	cdata(&b, "Event", "kf_msg_or_event")
	cdata(&b, "Token", token)
	cdata(&b, "OpenKfId", openKFID)
	b.WriteString("</xml>")
	return b.Bytes()
}

// callbackTokenFor returns the account's latest callback token if it is
// still valid, else a freshly issued one, plus the time and a nonce.
func (s *Server) callbackTokenFor(openKFID string) (token string, now time.Time, nonce string) {
	now = s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.accountLocked(openKFID)
	token = a.latestToken
	if token == "" || !s.validCallbackToken(a, token, now) {
		token = s.issueCallbackTokenLocked(a, now)
	}
	return token, now, s.nonceLocked()
}

func (s *Server) nonceLocked() string {
	return strconv.FormatUint(1e9+s.rng.Uint64N(9e9), 10)
}

// CallbackBody builds the signed, encrypted kf_msg_or_event callback WeCom
// would POST for the account: the query (msg_signature, timestamp, nonce)
// and the outer XML body. It carries the account's latest callback token,
// or a fresh one (valid 10 minutes) if that has expired or none was issued.
// The timestamp is the server clock.
func (s *Server) CallbackBody(openKFID string) (query url.Values, body []byte, err error) {
	c, err := s.cipher()
	if err != nil {
		return nil, nil, err
	}
	token, now, nonce := s.callbackTokenFor(openKFID)
	plain := KFMsgOrEventXML(s.cfg.corpID, now.Unix(), token, openKFID)
	return s.seal(c, plain, now, nonce)
}

func (s *Server) seal(c *callback.Cipher, plain []byte, now time.Time, nonce string) (url.Values, []byte, error) {
	ts := strconv.FormatInt(now.Unix(), 10)
	body, sig, err := c.EncryptMessage(plain, ts, nonce)
	if err != nil {
		return nil, nil, fmt.Errorf("kftest: encrypt callback: %w", err)
	}
	return url.Values{"msg_signature": {sig}, "timestamp": {ts}, "nonce": {nonce}}, body, nil
}

// NewCallbackRequest returns the POST request WeCom would send to
// targetURL (a callback endpoint, e.g. a router under httptest) to announce
// new data for the account: a kf_msg_or_event callback built as
// [Server.CallbackBody] does. Query parameters already in targetURL are
// kept. Send it with any client, or serve it with a handler directly.
func (s *Server) NewCallbackRequest(targetURL, openKFID string) (*http.Request, error) {
	q, body, err := s.CallbackBody(openKFID)
	if err != nil {
		return nil, err
	}
	return newCallbackRequest(http.MethodPost, targetURL, q, body)
}

// NewRawCallbackRequest signs and encrypts an arbitrary decrypted callback
// (the inner XML, e.g. a kf_account_auth_change event) and returns the POST
// request WeCom would send to targetURL.
func (s *Server) NewRawCallbackRequest(targetURL string, plaintext []byte) (*http.Request, error) {
	c, err := s.cipher()
	if err != nil {
		return nil, err
	}
	now := s.now()
	s.mu.Lock()
	nonce := s.nonceLocked()
	s.mu.Unlock()
	q, body, err := s.seal(c, plaintext, now, nonce)
	if err != nil {
		return nil, err
	}
	return newCallbackRequest(http.MethodPost, targetURL, q, body)
}

// NewVerifyRequest returns the GET URL-verification request WeCom sends
// when the callback URL is saved (msg_signature, timestamp, nonce, echostr)
// and the echo the endpoint must answer with as its whole body.
func (s *Server) NewVerifyRequest(targetURL string) (req *http.Request, echo string, err error) {
	c, err := s.cipher()
	if err != nil {
		return nil, "", err
	}
	now := s.now()
	s.mu.Lock()
	nonce := s.nonceLocked()
	echo = strconv.FormatUint(1e18+s.rng.Uint64N(9e18), 10)
	s.mu.Unlock()
	echostr, err := c.Encrypt([]byte(echo))
	if err != nil {
		return nil, "", fmt.Errorf("kftest: encrypt echostr: %w", err)
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	q := url.Values{
		"msg_signature": {c.Signature(ts, nonce, echostr)},
		"timestamp":     {ts},
		"nonce":         {nonce},
		"echostr":       {echostr},
	}
	req, err = newCallbackRequest(http.MethodGet, targetURL, q, nil)
	return req, echo, err
}

func newCallbackRequest(method, targetURL string, q url.Values, body []byte) (*http.Request, error) {
	u, err := url.Parse(targetURL)
	if err != nil {
		return nil, fmt.Errorf("kftest: callback request: %w", err)
	}
	all := u.Query()
	for k, v := range q {
		all[k] = v
	}
	u.RawQuery = all.Encode()
	var req *http.Request
	if body == nil {
		req, err = http.NewRequestWithContext(context.Background(), method, u.String(), nil)
	} else {
		req, err = http.NewRequestWithContext(context.Background(), method, u.String(), bytes.NewReader(body))
	}
	if err != nil {
		return nil, fmt.Errorf("kftest: callback request: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	}
	return req, nil
}
