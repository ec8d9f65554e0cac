package rules_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/bot"
	"github.com/kfbot/kfbot/kf"
	"github.com/kfbot/kfbot/rules"
	"github.com/kfbot/kfbot/rules/rulestest"
)

const hookSecret = "s3cret-hmac-key"

// hookServer verifies every request's signature and answers with answer(n) for the
// n-th request (status, body).
type hookServer struct {
	*httptest.Server
	mu       sync.Mutex
	requests []rules.WebhookRequest
	bodies   [][]byte
	headers  []http.Header
	bad      int // requests whose signature did not verify
}

func newHookServer(t *testing.T, answer func(n int, w http.ResponseWriter, r *http.Request)) *hookServer {
	t.Helper()
	h := &hookServer{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req rules.WebhookRequest
		_ = json.Unmarshal(body, &req)
		h.mu.Lock()
		if rules.VerifyWebhook([]byte(hookSecret), r.Header, body, time.Now(), 0) != nil {
			h.bad++
		}
		h.requests = append(h.requests, req)
		h.bodies = append(h.bodies, body)
		h.headers = append(h.headers, r.Header.Clone())
		n := len(h.requests)
		h.mu.Unlock()
		answer(n, w, r)
	}))
	t.Cleanup(h.Close)
	t.Setenv("KFBOT_TEST_HOOK_SECRET", hookSecret)
	return h
}

// hookFile is a rule file whose text rule calls the webhook at url, with extra keys.
func hookFile(url, extra, tests string) string {
	return fmt.Sprintf(`version: 1
rules:
  - name: hook
    when: msg.type == "text"
    then:
      - webhook:
          url: %s
          secret_env: KFBOT_TEST_HOOK_SECRET
          fallback: "Sorry, try again later."
%s
tests:
%s`, url, extra, tests)
}

func runHookTests(t *testing.T, file string) string {
	t.Helper()
	set, err := rules.Load(strings.NewReader(file), "rules.yaml", quiet)
	require.NoError(t, err)
	var out bytes.Buffer
	_, failed, err := rulestest.Run(t.Context(), set, set.Tests(), &out)
	require.NoError(t, err)
	assert.Zero(t, failed, out.String())
	return out.String()
}

func TestWebhookAnswerIsActedOnOnce(t *testing.T) {
	srv := newHookServer(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, `{"replies":[{"text":"Order A1 ships tomorrow."},{"text":"Anything else?"}],"set":{"order":"A1"},"transfer":"pool","later":1}`)
	})
	runHookTests(t, hookFile(srv.URL, "", `
  - name: answered
    steps:
      - say: "where is order A1?"
        expect:
          reply: ["Order A1 ships tomorrow.", "Anything else?"]
          vars: {order: "A1"}
          transfer: pool
`))
	require.Len(t, srv.requests, 1, "one call")
	assert.Zero(t, srv.bad, "every request is signed")
	req := srv.requests[0]
	assert.Equal(t, 1, req.Version)
	assert.Equal(t, "where is order A1?", req.Text)
	assert.Equal(t, "text", req.MsgType)
	assert.Equal(t, rules.DefaultTestOpenKFID, req.OpenKFID)
	assert.NotEmpty(t, req.MsgID)
	assert.NotEmpty(t, srv.headers[0].Get(rules.HeaderWebhookDelivery))
	assert.True(t, json.Valid(req.Message))
}

func TestWebhookRetriesThenAnswers(t *testing.T) {
	srv := newHookServer(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n == 1 {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, `{"replies":[{"text":"ok"}]}`)
	})
	runHookTests(t, hookFile(srv.URL, "", `
  - name: retried
    steps:
      - say: hi
        expect: {reply: ok}
`))
	require.Len(t, srv.requests, 2)
	assert.Equal(t, srv.headers[0].Get(rules.HeaderWebhookDelivery), srv.headers[1].Get(rules.HeaderWebhookDelivery),
		"a retry carries the same delivery id")
}

func TestWebhookFailuresSendTheFallback(t *testing.T) {
	tests := []struct {
		name   string
		extra  string
		answer func(w http.ResponseWriter, r *http.Request)
	}{
		{"slow", "          timeout: 50ms\n          retries: 0", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }},
		{"invalid JSON", "", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, `{"replies":`) }},
		{"too big", "", func(w http.ResponseWriter, _ *http.Request) {
			fmt.Fprintf(w, `{"replies":[{"text":"%s"}]}`, strings.Repeat("x", rules.MaxWebhookAnswerBytes))
		}},
		{"refused", "          retries: 1", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusForbidden) }},
		{"bad transfer", "", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, `{"transfer":"moon"}`) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newHookServer(t, func(_ int, w http.ResponseWriter, r *http.Request) { tt.answer(w, r) })
			runHookTests(t, hookFile(srv.URL, tt.extra, `
  - name: fallback
    steps:
      - say: hi
        expect: {reply: "Sorry, try again later."}
`))
		})
	}
}

func TestWebhookLoadErrors(t *testing.T) {
	t.Setenv("KFBOT_TEST_HOOK_SECRET", hookSecret)
	tests := []struct{ name, action, err string }{
		{"no url", "{secret_env: KFBOT_TEST_HOOK_SECRET}", "webhook needs url"},
		{"plain http", "{url: \"http://hooks.example.com/\", secret_env: KFBOT_TEST_HOOK_SECRET}", "want https"},
		{"no secret", "{url: \"https://hooks.example.com/\"}", "needs secret_env"},
		{"unset secret", "{url: \"https://hooks.example.com/\", secret_env: KFBOT_TEST_UNSET_SECRET}", "KFBOT_TEST_UNSET_SECRET is not set"},
		{"bad timeout", "{url: \"https://hooks.example.com/\", secret_env: KFBOT_TEST_HOOK_SECRET, timeout: 2m}", "want a duration up to 30s"},
		{"unknown key", "{url: \"https://hooks.example.com/\", secret_env: KFBOT_TEST_HOOK_SECRET, retry: 1}", "retry"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := rules.Load(strings.NewReader("version: 1\nrules:\n  - name: h\n    then: [{webhook: "+tt.action+"}]\n"), "rules.yaml", quiet)
			require.Error(t, err)
			assert.ErrorContains(t, err, tt.err)
		})
	}
}

func TestVerifyWebhook(t *testing.T) {
	body := []byte(`{"version":1}`)
	now := time.Unix(1_800_000_000, 0)
	h := http.Header{}
	h.Set(rules.HeaderWebhookTimestamp, fmt.Sprint(now.Unix()))
	h.Set(rules.HeaderWebhookSignature, rules.SignWebhook([]byte(hookSecret), fmt.Sprint(now.Unix()), body))
	require.NoError(t, rules.VerifyWebhook([]byte(hookSecret), h, body, now, 0))
	assert.ErrorContains(t, rules.VerifyWebhook([]byte("other"), h, body, now, 0), "bad signature")
	assert.ErrorContains(t, rules.VerifyWebhook([]byte(hookSecret), h, []byte(`{"version":2}`), now, 0), "bad signature")
	assert.ErrorContains(t, rules.VerifyWebhook([]byte(hookSecret), h, body, now.Add(time.Hour), 0), "from now")
	assert.ErrorContains(t, rules.VerifyWebhook([]byte(hookSecret), http.Header{}, body, now, 0), "X-Kfbot-Timestamp")
}

func FuzzDecodeWebhookAnswer(f *testing.F) {
	f.Add([]byte(`{"replies":[{"text":"hi"}],"set":{"a":1},"transfer":{"servicer":"u"}}`))
	f.Add([]byte(`{"transfer":"pool"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, _, err := rules.DecodeWebhookAnswer(data)
		if err == nil {
			require.NotNil(t, a)
			for _, r := range a.Replies {
				require.NotEmpty(t, strings.TrimSpace(r.Text))
			}
		}
	})
}

func TestHTTPToolsFromTheRuleFile(t *testing.T) {
	srv := newHookServer(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"status":"shipped"}`)
	})
	file := fmt.Sprintf(`version: 1
ai:
  tools:
    - name: order_status
      description: Look up an order.
      url: %s
      secret_env: KFBOT_TEST_HOOK_SECRET
      parameters: {type: object, properties: {order_id: {type: string}}, required: [order_id]}
rules:
  - name: model
    then: [{ai: {}}]
tests:
  - name: tool
    model:
      - call: order_status
        args: {order_id: A1}
      - say: "Your order has shipped."
    steps:
      - say: where is A1?
        expect: {reply: "Your order has shipped."}
`, srv.URL)
	runHookTests(t, file)
	require.Len(t, srv.requests, 1)
	assert.Zero(t, srv.bad, "signed")
	var req rules.ToolRequest
	require.NoError(t, json.Unmarshal(srv.bodies[0], &req))
	assert.Equal(t, "order_status", req.Tool)
	assert.JSONEq(t, `{"order_id":"A1"}`, string(req.Arguments))
	assert.NotEmpty(t, req.MsgID)

	_, err := rules.Load(strings.NewReader(strings.Replace(file, "type: object, properties", "type: string, properties", 1)), "rules.yaml", quiet)
	assert.ErrorContains(t, err, "parameters must be a JSON schema of type object")
}

// TestCallbackRuleWebhook: a callback rule's webhook gets the event, signed; its answer's
// welcome is sent through send_welcome_msg, its variables reach later rules; a failing
// webhook sends the fallback as the welcome.
func TestCallbackRuleWebhook(t *testing.T) {
	golds := 0
	hook := newHookServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 1 {
			_, _ = io.WriteString(w, `{"welcome":"Hi from the CRM","set":{"tier":"gold"}}`)
			return
		}
		w.WriteHeader(http.StatusBadRequest)
	})
	set := mustLoad(t, fmt.Sprintf(`version: 1
rules:
  - name: crm
    callback: change_external_contact
    continue: true
    then:
      - webhook:
          url: %s
          secret_env: KFBOT_TEST_HOOK_SECRET
          fallback: "Welcome!"
  - name: gold
    callback: change_external_contact
    when: session.vars.tier == "gold"
    then: [{handler: gold}]
`, hook.URL), rules.WithWebhookClient(hook.Client()), rules.WithHandler("gold", func(c *bot.Context) error {
		assert.Equal(t, "wmA", c.ExternalUserID())
		golds++
		return nil
	}))
	w := &welcomes{}
	receive := callbackBot(t, set, w)
	receive(addContact("wmA", "qr-a", "CODE-A", 1), time.Second)
	receive(addContact("wmB", "qr-b", "CODE-B", 1), time.Second)
	assert.Equal(t, 1, golds, "the webhook's variable reached the next rule")
	assert.Equal(t, []kf.SendWelcomeMsgRequest{{WelcomeCode: "CODE-A", Text: "Hi from the CRM"}, {WelcomeCode: "CODE-B", Text: "Welcome!"}}, w.all())
	hook.mu.Lock()
	defer hook.mu.Unlock()
	assert.Zero(t, hook.bad, "signed")
	require.Len(t, hook.requests, 2)
	req := hook.requests[0]
	assert.Equal(t, "callback", req.MsgType)
	require.NotNil(t, req.Event)
	assert.Equal(t, rules.WebhookEvent{Kind: "change_external_contact", ChangeType: "add_external_contact", Corp: "ww1", UserID: "zhangsan",
		ExternalUserID: "wmA", State: "qr-a", WelcomeCode: true, XML: addContact("wmA", "qr-a", "CODE-A", 1)}, *req.Event)
}
