package rules

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/kfbot/kfbot/ai"
	"github.com/kfbot/kfbot/bot"
	"github.com/kfbot/kfbot/internal/backoff"
	"github.com/kfbot/kfbot/kf"
)

// The webhook action posts the message to a URL and acts on the JSON it answers. Its
// request and answer are a contract (see the package documentation and the README):
// extend them, never change them.

// Webhook headers.
const (
	HeaderWebhookTimestamp = "X-Kfbot-Timestamp" // Unix seconds of the attempt
	HeaderWebhookDelivery  = "X-Kfbot-Delivery"  // the same on retries and replays of one message
	HeaderWebhookSignature = "X-Kfbot-Signature" // "sha256=" + hex HMAC-SHA256(secret, timestamp + "." + body)
)

// Limits of the webhook action.
const (
	DefaultWebhookTimeout = 5 * time.Second
	MaxWebhookTimeout     = 30 * time.Second
	DefaultWebhookRetries = 2
	MaxWebhookAnswerBytes = 64 << 10
)

// WebhookRequest is the JSON body the webhook action posts.
type WebhookRequest struct {
	Version        int              `json:"version"` // 1
	CorpID         string           `json:"corp_id"`
	OpenKFID       string           `json:"open_kfid"`
	ExternalUserID string           `json:"external_userid"`
	MsgID          string           `json:"msgid"`
	MsgType        string           `json:"msgtype"`
	Text           string           `json:"text,omitempty"`
	Message        json.RawMessage  `json:"message"` // the sync_msg item as WeCom sent it
	Vars           map[string]any   `json:"vars"`
	Customer       *WebhookCustomer `json:"customer,omitempty"`
	RepliesLeft    int              `json:"replies_left"`
	// Event is the callback notification of a callback rule's webhook (MsgType
	// "callback"); absent for KF messages.
	Event *WebhookEvent `json:"event,omitempty"`
}

// WebhookEvent is a callback notification in a [WebhookRequest]: the fields callback
// rules see as event.*, and the decrypted XML as WeCom sent it.
type WebhookEvent struct {
	Kind           string `json:"kind"`
	ChangeType     string `json:"change_type,omitempty"`
	Corp           string `json:"corp,omitempty"`
	UserID         string `json:"user_id,omitempty"`
	ExternalUserID string `json:"external_user_id,omitempty"`
	State          string `json:"state,omitempty"`
	WelcomeCode    bool   `json:"welcome_code,omitempty"`
	XML            string `json:"xml"`
}

// WebhookCustomer is the customer's profile in a [WebhookRequest], when the bot has it.
type WebhookCustomer struct {
	Nickname string `json:"nickname"`
	Avatar   string `json:"avatar,omitempty"`
	Gender   int    `json:"gender,omitempty"`
	UnionID  string `json:"unionid,omitempty"`
}

// WebhookAnswer is the JSON a webhook answers: replies to send (text), session
// variables to set (null deletes one), and a hand-off: "pool", "end" or
// {"servicer": "userid"}.
type WebhookAnswer struct {
	Replies  []WebhookReply  `json:"replies,omitempty"`
	Set      map[string]any  `json:"set,omitempty"`
	Transfer json.RawMessage `json:"transfer,omitempty"`
	// Welcome, for a callback rule's webhook, is the text of the new external contact's
	// welcome (send_welcome_msg).
	Welcome string `json:"welcome,omitempty"`
}

// WebhookReply is one reply of a [WebhookAnswer].
type WebhookReply struct {
	Text string `json:"text"`
}

// DecodeWebhookAnswer reads and checks a webhook's answer. Unknown fields are ignored
// and reported in unknown.
func DecodeWebhookAnswer(data []byte) (a *WebhookAnswer, unknown []string, err error) {
	if len(data) > MaxWebhookAnswerBytes {
		return nil, nil, fmt.Errorf("rules: webhook answer of %d bytes; at most %d", len(data), MaxWebhookAnswerBytes)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return nil, nil, fmt.Errorf("rules: webhook answer is not a JSON object: %w", err)
	}
	for k := range fields {
		if k != "replies" && k != "set" && k != "transfer" && k != "welcome" {
			unknown = append(unknown, k)
		}
	}
	a = &WebhookAnswer{}
	if err := json.Unmarshal(data, a); err != nil {
		return nil, nil, fmt.Errorf("rules: webhook answer: %w", err)
	}
	for i, r := range a.Replies {
		switch {
		case strings.TrimSpace(r.Text) == "":
			return nil, nil, fmt.Errorf("rules: webhook answer: replies[%d] has no text", i)
		case len(r.Text) > 4*bot.MaxTextBytes:
			return nil, nil, fmt.Errorf("rules: webhook answer: replies[%d] is %d bytes", i, len(r.Text))
		}
	}
	for k := range a.Set {
		if !varName.MatchString(k) {
			return nil, nil, fmt.Errorf("rules: webhook answer: set: %q is not a variable name", k)
		}
	}
	if _, _, err := a.transfer(); err != nil {
		return nil, nil, err
	}
	if len(a.Welcome) > 4000 {
		return nil, nil, fmt.Errorf("rules: webhook answer: welcome is %d bytes, at most 4000", len(a.Welcome))
	}
	return a, unknown, nil
}

// transfer reads the answer's hand-off.
func (a *WebhookAnswer) transfer() (kind TransferKind, servicer string, err error) {
	if len(a.Transfer) == 0 || string(a.Transfer) == "null" {
		return "", "", nil
	}
	var s string
	if json.Unmarshal(a.Transfer, &s) == nil {
		switch s {
		case "pool":
			return TransferPool, "", nil
		case "end":
			return TransferEnd, "", nil
		}
		return "", "", fmt.Errorf("rules: webhook answer: transfer %q: want \"pool\", \"end\" or {\"servicer\": \"userid\"}", s)
	}
	var o struct{ Servicer string }
	if json.Unmarshal(a.Transfer, &o) != nil || o.Servicer == "" {
		return "", "", errors.New(`rules: webhook answer: transfer: want "pool", "end" or {"servicer": "userid"}`)
	}
	return TransferServicer, o.Servicer, nil
}

// SignWebhook returns the signature header value of body sent at timestamp ts.
func SignWebhook(secret []byte, ts string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// VerifyWebhook checks a webhook request as its receiver should: the signature over the
// timestamp and body, and a timestamp within maxSkew of now (≤ 0: 5 minutes).
func VerifyWebhook(secret []byte, h http.Header, body []byte, now time.Time, maxSkew time.Duration) error {
	if maxSkew <= 0 {
		maxSkew = 5 * time.Minute
	}
	ts := h.Get(HeaderWebhookTimestamp)
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("rules: webhook: bad or missing %s", HeaderWebhookTimestamp)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > maxSkew || d < -maxSkew {
		return fmt.Errorf("rules: webhook: timestamp %s is %s from now", ts, d.Round(time.Second))
	}
	if !hmac.Equal([]byte(h.Get(HeaderWebhookSignature)), []byte(SignWebhook(secret, ts, body))) {
		return errors.New("rules: webhook: bad signature")
	}
	return nil
}

// webhookAction is a compiled `webhook`.
type webhookAction struct {
	client   *http.Client
	url      string
	secret   []byte
	timeout  time.Duration
	retries  int
	fallback outMsg // nil: none
}

func (a *webhookAction) name() string { return "webhook" }

func (l *loader) webhook(n *yaml.Node) action {
	v := l.deref(n)
	f := l.fields(v, "webhook", "url", "secret_env", "timeout", "retries", "fallback")
	if f == nil {
		return nil
	}
	if a := l.webhookFields(v, f); a != nil {
		return a
	}
	return nil
}

// webhookFields reads a webhook's url, secret_env, timeout, retries and fallback from
// fields f of mapping v (a webhook action, or an HTTP tool).
func (l *loader) webhookFields(v *yaml.Node, f map[string]pair) *webhookAction {
	client := l.opts.webhookClient
	if client == nil {
		client = http.DefaultClient
	}
	a := &webhookAction{client: client, timeout: DefaultWebhookTimeout, retries: DefaultWebhookRetries}
	p, ok := f["url"]
	if !ok {
		l.errAt(v, ErrInvalid, "webhook needs url")
		return nil
	}
	if a.url, ok = l.nonEmpty(p.v, "webhook.url"); !ok {
		return nil
	}
	if err := bot.CheckMediaURL(a.url); err != nil {
		l.errAt(l.deref(p.v), ErrInvalid, "webhook: url %q: want https (http only to loopback, for tests)", a.url)
		return nil
	}
	if p, ok := f["secret_env"]; ok {
		name, ok := l.nonEmpty(p.v, "webhook.secret_env")
		if !ok {
			return nil
		}
		secret, set := os.LookupEnv(name)
		if !set || secret == "" {
			l.errAt(l.deref(p.v), ErrInvalid, "webhook: secret_env: the environment variable %s is not set (the HMAC key never goes in the file)", name)
			return nil
		}
		a.secret = []byte(secret)
	} else {
		l.errAt(v, ErrInvalid, "webhook needs secret_env: the environment variable holding the HMAC key the receiver checks")
		return nil
	}
	if p, ok := f["timeout"]; ok {
		if s, ok := l.str(p.v, "webhook.timeout"); ok {
			d, err := time.ParseDuration(s)
			if err != nil || d <= 0 || d > MaxWebhookTimeout {
				l.errAt(l.deref(p.v), ErrInvalid, "webhook: timeout %q: want a duration up to %s", s, MaxWebhookTimeout)
				return nil
			}
			a.timeout = d
		}
	}
	if p, ok := f["retries"]; ok {
		if x, ok := l.float(p.v, "webhook.retries"); ok {
			if x < 0 || x > 5 || x != float64(int(x)) {
				l.errAt(l.deref(p.v), ErrInvalid, "webhook: retries %v: want 0 to 5", x)
				return nil
			}
			a.retries = int(x)
		}
	}
	if p, ok := f["fallback"]; ok {
		a.fallback = l.outMessage(p.v, "webhook.fallback", false)
	}
	return a
}

// webhookMemo names the memo of a rule's webhook answer.
func webhookMemo(x *run) string { return "webhook:" + x.rule.name }

func (a *webhookAction) run(x *run) error {
	ans, err := a.answer(x)
	if err != nil {
		x.c.Logger().Warn("rules: webhook failed; sending the fallback", slog.String(LogKeyRule, x.rule.name),
			slog.String("url", a.url), slog.Any(LogKeyError, err))
		if a.fallback == nil {
			return nil
		}
		if x.c.Notification() != nil {
			m, err := a.fallback.build(x)
			if err != nil {
				return err
			}
			if t, ok := m.(kf.Text); ok {
				return x.c.WelcomeContact(t.Content)
			}
			return nil
		}
		return (&replyAction{msg: a.fallback}).run(x)
	}
	if x.c.Notification() != nil {
		return a.applyCallback(x, ans)
	}
	return a.apply(x, ans)
}

// answer returns the webhook's answer for the message: the one remembered by an earlier
// attempt (a replay acts on the same answer), else a new call's, remembered before it
// is acted on.
func (a *webhookAction) answer(x *run) (*WebhookAnswer, error) {
	if data, ok, err := x.c.Memo(webhookMemo(x)); err == nil && ok {
		if ans, _, err := DecodeWebhookAnswer(data); err == nil {
			return ans, nil
		}
	}
	body, err := json.Marshal(a.request(x))
	if err != nil {
		return nil, fmt.Errorf("encode the request: %w", err)
	}
	h := x.c.Header()
	data, err := a.callFor(x.c, a.client, body, bot.OutMsgID(h.OpenKFID, h.MsgID, "wh"))
	if err != nil {
		return nil, err
	}
	ans, unknown, err := DecodeWebhookAnswer(data)
	if err != nil {
		return nil, err
	}
	if len(unknown) > 0 {
		x.c.Logger().Warn("rules: webhook answer has fields kfbot does not know; ignored", slog.Any("fields", unknown))
	}
	if err := x.c.Remember(webhookMemo(x), data); err != nil && !errors.Is(err, bot.ErrNoMemo) {
		return nil, err
	}
	return ans, nil
}

func (a *webhookAction) request(x *run) *WebhookRequest {
	c := x.c
	h := c.Header()
	if n := c.Notification(); n != nil {
		ev := x.env.Event
		return &WebhookRequest{Version: 1, CorpID: c.Client().CorpID(), ExternalUserID: ev.ExternalUserID, MsgID: h.MsgID,
			MsgType: "callback", Message: json.RawMessage("null"), Vars: x.env.Session.Vars,
			Event: &WebhookEvent{Kind: ev.Kind, ChangeType: ev.ChangeType, Corp: ev.Corp, UserID: ev.UserID,
				ExternalUserID: ev.ExternalUserID, State: ev.State, WelcomeCode: ev.WelcomeCode, XML: string(n.Head().Raw)}}
	}
	req := &WebhookRequest{Version: 1, CorpID: c.Client().CorpID(), OpenKFID: h.OpenKFID, ExternalUserID: h.ExternalUserID,
		MsgID: h.MsgID, MsgType: string(h.MsgType), Text: c.Text(), Message: json.RawMessage(h.Raw), Vars: map[string]any{}}
	if len(req.Message) == 0 || !json.Valid(req.Message) {
		req.Message = json.RawMessage("null")
	}
	if s := c.Session(); s != nil {
		if s.Vars != nil {
			req.Vars = s.Vars
		}
		req.RepliesLeft = s.RepliesLeft
		if p := s.Customer; !p.Fetched.IsZero() {
			req.Customer = &WebhookCustomer{Nickname: p.Nickname, Avatar: p.Avatar, Gender: p.Gender, UnionID: p.UnionID}
		}
	}
	return req
}

// callFor posts body for c's message with delivery id delivery, retrying network
// errors, 429 and 5xx with capped jittered back-off.
func (a *webhookAction) callFor(c *bot.Context, client *http.Client, body []byte, delivery string) ([]byte, error) {
	wait := backoff.New(200*time.Millisecond, 2*time.Second)
	var last error
	for attempt := 0; attempt <= a.retries; attempt++ {
		if attempt > 0 {
			if err := backoff.Sleep(c.Context(), wait.Next()); err != nil {
				return nil, last
			}
		}
		data, retry, err := a.post(c, client, body, delivery)
		if err == nil {
			return data, nil
		}
		last = err
		if !retry {
			break
		}
	}
	return nil, last
}

func (a *webhookAction) post(c *bot.Context, client *http.Client, body []byte, delivery string) (data []byte, retry bool, err error) {
	ctx, cancel := contextWithTimeout(c, a.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.url, bytes.NewReader(body))
	if err != nil {
		return nil, false, err
	}
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "kfbot-webhook/1")
	req.Header.Set(HeaderWebhookTimestamp, ts)
	req.Header.Set(HeaderWebhookDelivery, delivery)
	req.Header.Set(HeaderWebhookSignature, SignWebhook(a.secret, ts, body))
	resp, err := client.Do(req)
	if err != nil {
		return nil, c.Context().Err() == nil, fmt.Errorf("post: %w", err)
	}
	defer resp.Body.Close()
	data, err = io.ReadAll(io.LimitReader(resp.Body, MaxWebhookAnswerBytes+1))
	if err != nil {
		return nil, true, fmt.Errorf("read the answer: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		return nil, resp.StatusCode == 429 || resp.StatusCode >= 500, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return data, false, nil
}

// applyCallback acts on a callback rule's answer: its variables (for the notification's
// later rules), then its welcome. Replies and hand-offs need a KF conversation: logged
// and ignored.
func (a *webhookAction) applyCallback(x *run, ans *WebhookAnswer) error {
	for k, v := range ans.Set {
		if v == nil {
			delete(x.env.Session.Vars, k)
		} else {
			x.env.Session.Vars[k] = v
		}
	}
	if len(ans.Replies) > 0 || len(ans.Transfer) > 0 {
		x.c.Logger().Warn("rules: a callback rule's webhook answered with replies or a transfer, which need a KF conversation; ignored (answer welcome instead)",
			slog.String(LogKeyRule, x.rule.name))
	}
	if ans.Welcome != "" {
		return x.c.WelcomeContact(ans.Welcome)
	}
	return nil
}

// apply acts on an answer: its replies (within the allowance), variables, hand-off.
func (a *webhookAction) apply(x *run, ans *WebhookAnswer) error {
	for _, r := range ans.Replies {
		if err := x.c.ReplyText(r.Text); err != nil {
			if refusal(err) {
				break
			}
			return err
		}
	}
	if len(ans.Set) > 0 {
		s := x.c.Session()
		if s.Vars == nil {
			s.Vars = map[string]any{}
		}
		for k, v := range ans.Set {
			if v == nil {
				delete(s.Vars, k)
			} else {
				s.Vars[k] = v
			}
		}
	}
	kind, servicer, _ := ans.transfer() // checked by DecodeWebhookAnswer
	if kind == "" {
		return nil
	}
	var err error
	switch kind {
	case TransferPool:
		_, err = x.c.TransferToPool()
	case TransferEnd:
		_, err = x.c.EndSession()
	case TransferServicer:
		_, err = x.c.TransferTo(servicer)
	}
	return err
}

// MaxToolAnswerBytes bounds what an HTTP tool's answer gives the model.
const MaxToolAnswerBytes = 16 << 10

// ToolRequest is the JSON body an HTTP tool of the rule file's `ai: tools` gets, signed
// like a webhook's: the tool's name, the model's arguments, and the conversation.
type ToolRequest struct {
	Version        int             `json:"version"` // 1
	Tool           string          `json:"tool"`
	Arguments      json.RawMessage `json:"arguments"`
	OpenKFID       string          `json:"open_kfid"`
	ExternalUserID string          `json:"external_userid"`
	MsgID          string          `json:"msgid"`
}

// httpTool reads one of `ai: tools`: a tool the model may call that POSTs a
// [ToolRequest] to url and gives the model what it answers (at most 16 KiB).
//
//	tools:
//	  - name: order_status
//	    description: Look up an order by its number.
//	    url: https://shop.example.com/kfbot/order
//	    secret_env: KFBOT_TOOL_SECRET
//	    parameters: {type: object, properties: {order_id: {type: string}}, required: [order_id]}
//	    timeout: 5s
func (l *loader) httpTool(n *yaml.Node) (ai.Function, bool) {
	v := l.deref(n)
	f := l.fields(v, "a tool", "name", "description", "url", "secret_env", "parameters", "timeout", "retries")
	if f == nil {
		return ai.Function{}, false
	}
	name, ok := l.nonEmpty(f["name"].v, "tool name")
	if !ok {
		return ai.Function{}, false
	}
	if !varName.MatchString(name) {
		l.errAt(l.deref(f["name"].v), ErrInvalid, "ai: tools: name %q: want letters, digits and _", name)
		return ai.Function{}, false
	}
	desc := ""
	if p, ok := f["description"]; ok {
		desc, _ = l.str(p.v, "description")
	}
	hook := l.webhookFields(v, f)
	if hook == nil {
		return ai.Function{}, false
	}
	params := map[string]any{"type": "object", "properties": map[string]any{}}
	if p, ok := f["parameters"]; ok {
		var schema map[string]any
		if err := l.deref(p.v).Decode(&schema); err != nil || schema["type"] != "object" {
			l.errAt(l.deref(p.v), ErrInvalid, "ai: tools: %s: parameters must be a JSON schema of type object", name)
			return ai.Function{}, false
		}
		params = schema
	}
	return ai.Function{Name: name, Description: desc, Parameters: params, Run: func(c *bot.Context, args json.RawMessage) (string, error) {
		h := c.Header()
		body, err := json.Marshal(ToolRequest{Version: 1, Tool: name, Arguments: args, OpenKFID: h.OpenKFID, ExternalUserID: h.ExternalUserID, MsgID: h.MsgID})
		if err != nil {
			return "", err
		}
		data, err := hook.callFor(c, hook.client, body, bot.OutMsgID(h.OpenKFID, h.MsgID, "t"))
		if err != nil {
			return "", fmt.Errorf("tool %s: %w", name, err)
		}
		if len(data) > MaxToolAnswerBytes {
			data = data[:MaxToolAnswerBytes]
		}
		return string(data), nil
	}}, true
}
