// Package dify is an [ai.Backend] for Dify's chat API (POST /v1/chat-messages) of chat,
// agent and chatflow apps.
//
// Dify keeps the conversation's history itself: only the current user turn is sent (the
// assistant's history and system prompt are the Dify app's), with the conversation id of
// the previous answer (kept by package ai in the session). When Dify has forgotten that
// conversation (deleted, another app, another user: 404 "Conversation Not Exists."), the
// question is asked again once in a new conversation, and the Response says so. Tools
// are the Dify app's own: [ai.Request.Tools] are not sent. Images are not supported
// (Dify wants them uploaded first); a request with images fails with
// [ai.KindImagesUnsupported].
package dify

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/kfbot/kfbot/ai"
	"github.com/kfbot/kfbot/internal/backoff"
)

// Config configures [New].
type Config struct {
	// BaseURL is the API base, e.g. "https://api.dify.ai/v1". Required.
	BaseURL string
	// APIKey is the app's key ("app-…"). Required.
	APIKey string
	// HTTPClient sends the requests (default: a client without a timeout; the
	// answer's context bounds each call).
	HTTPClient *http.Client
	// MaxRetries is how often a call refused with 429 or 5xx, or cut by the network,
	// is tried again with capped jittered back-off honouring Retry-After (default 2;
	// -1: none).
	MaxRetries int
	// Inputs are the app's variables, sent with every question ({} when nil).
	Inputs map[string]any
}

// Backend is the Dify [ai.Backend].
type Backend struct {
	endpoint string
	key      string
	hc       *http.Client
	retries  int
	inputs   json.RawMessage
}

var _ ai.Backend = (*Backend)(nil)

// New returns a backend for cfg, checking it.
func New(cfg Config) (*Backend, error) {
	var errs []error
	if err := ai.CheckBaseURL("dify", cfg.BaseURL, "https://api.dify.ai/v1"); err != nil {
		errs = append(errs, err)
	}
	if cfg.APIKey == "" {
		errs = append(errs, errors.New("dify: no API key (KFBOT_AI_API_KEY): the app's app-… key"))
	}
	inputs := cfg.Inputs
	if inputs == nil {
		inputs = map[string]any{}
	}
	in, err := json.Marshal(inputs)
	if err != nil {
		errs = append(errs, fmt.Errorf("dify: inputs: %w", err))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	return &Backend{endpoint: strings.TrimSuffix(cfg.BaseURL, "/") + "/chat-messages", key: cfg.APIKey, hc: hc,
		retries: ai.Retries(cfg.MaxRetries), inputs: in}, nil
}

// Complete implements [ai.Backend].
func (b *Backend) Complete(ctx context.Context, req *ai.Request, onText func(string)) (*ai.Response, error) {
	query := ""
	for i := len(req.Messages) - 1; i >= 0; i-- {
		if m := req.Messages[i]; m.Role == ai.RoleUser {
			if len(m.Images) > 0 {
				return nil, &ai.Error{Backend: "dify", Kind: ai.KindImagesUnsupported, Message: "the Dify backend sends no images"}
			}
			query = m.Text
			break
		}
	}
	resp, err := b.ask(ctx, req.User, req.Conversation, query, onText)
	var e *ai.Error
	if req.Conversation != "" && errors.As(err, &e) && e.Status == http.StatusNotFound && e.Code == "not_found" {
		// Dify forgot the conversation: ask once more in a new one.
		resp, err = b.ask(ctx, req.User, "", query, onText)
		if err == nil {
			resp.ConversationReset = true
		}
	}
	return resp, err
}

// ask sends one question, with the retries.
func (b *Backend) ask(ctx context.Context, user, conversation, query string, onText func(string)) (*ai.Response, error) {
	body := map[string]any{"query": query, "inputs": b.inputs, "user": user, "response_mode": "blocking"}
	if onText != nil {
		body["response_mode"] = "streaming"
	}
	if conversation != "" {
		body["conversation_id"] = conversation // omitted when empty: Dify ≥ 1.11 refuses ""
	}
	data, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("dify: encode the request: %w", err)
	}
	wait := backoff.New(500*time.Millisecond, 8*time.Second)
	for attempt := 0; ; attempt++ {
		resp, err := b.post(ctx, data, onText)
		if err == nil || attempt >= b.retries || !retryable(err) {
			return resp, err
		}
		d := wait.Next()
		var e *ai.Error
		if errors.As(err, &e) && e.RetryAfter > 0 {
			if e.RetryAfter > 2*time.Minute {
				return nil, err
			}
			d = e.RetryAfter
		}
		if serr := backoff.Sleep(ctx, d); serr != nil {
			return nil, err
		}
	}
}

// retryable reports the failures worth another attempt before anything was streamed.
func retryable(err error) bool {
	var e *ai.Error
	var streamed streamedError
	return errors.As(err, &e) && (e.Kind == ai.KindRateLimited || e.Kind == ai.KindServer || e.Kind == ai.KindNetwork) &&
		!errors.As(err, &streamed)
}

func (b *Backend) post(ctx context.Context, data []byte, onText func(string)) (*ai.Response, error) {
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, b.endpoint, bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("dify: %w", err)
	}
	hr.Header.Set("Authorization", "Bearer "+b.key)
	hr.Header.Set("Content-Type", "application/json")
	resp, err := b.hc.Do(hr)
	if err != nil {
		kind := ai.KindNetwork
		if errors.Is(err, context.DeadlineExceeded) {
			kind = ai.KindTimeout
		} else if errors.Is(err, context.Canceled) {
			return nil, err
		}
		return nil, &ai.Error{Backend: "dify", Kind: kind, Err: stripURL(err)}
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return nil, statusError(resp)
	}
	if onText == nil {
		var out struct {
			Answer         string                `json:"answer"`
			ConversationID string                `json:"conversation_id"`
			Metadata       struct{ Usage usage } `json:"metadata"`
		}
		if err := json.NewDecoder(io.LimitReader(resp.Body, 4<<20)).Decode(&out); err != nil {
			return nil, &ai.Error{Backend: "dify", Kind: ai.KindServer, Message: "the answer is not JSON", Err: err}
		}
		return &ai.Response{Text: out.Answer, FinishReason: "stop", Model: "dify", Conversation: out.ConversationID, Usage: out.Metadata.Usage.usage()}, nil
	}
	return readStream(resp.Body, onText)
}

type usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
}

func (u usage) usage() ai.Usage {
	return ai.Usage{InputTokens: u.PromptTokens, OutputTokens: u.CompletionTokens}
}

// event is one frame of Dify's stream: the event's name is inside the JSON.
type event struct {
	Event          string                `json:"event"`
	Answer         string                `json:"answer"`
	ConversationID string                `json:"conversation_id"`
	Metadata       struct{ Usage usage } `json:"metadata"`
	Status         int                   `json:"status"`
	Code           string                `json:"code"`
	Message        string                `json:"message"`
}

// streamedError marks an error that came after some text was streamed: not retried.
type streamedError struct{ error }

// readStream reads Dify's server-sent events, handing out the answer's text.
func readStream(r io.Reader, onText func(string)) (*ai.Response, error) {
	out := &ai.Response{Model: "dify", FinishReason: "stop"}
	var text strings.Builder
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if !bytes.HasPrefix(line, []byte("data:")) {
			continue // blank lines, comments, event: lines
		}
		var ev event
		if err := json.Unmarshal(bytes.TrimSpace(line[len("data:"):]), &ev); err != nil {
			return nil, &ai.Error{Backend: "dify", Kind: ai.KindStream, Message: "a stream frame is not JSON", Err: streamedError{err}}
		}
		if ev.ConversationID != "" {
			out.Conversation = ev.ConversationID
		}
		switch ev.Event {
		case "message", "agent_message":
			text.WriteString(ev.Answer)
			onText(ev.Answer)
		case "message_replace": // moderation replaced the answer
			text.Reset()
			text.WriteString(ev.Answer)
		case "message_end":
			out.Usage = ev.Metadata.Usage.usage()
		case "error":
			return nil, &ai.Error{Backend: "dify", Kind: ai.KindStream, Status: ev.Status, Code: ev.Code, Message: ev.Message,
				Err: streamedError{errors.New("error event")}}
		}
	}
	if err := sc.Err(); err != nil {
		kind := ai.KindNetwork
		if errors.Is(err, context.DeadlineExceeded) {
			kind = ai.KindTimeout
		}
		return nil, &ai.Error{Backend: "dify", Kind: kind, Err: streamedError{err}}
	}
	out.Text = text.String()
	return out, nil
}

// statusError reads Dify's error body {"code","message","status"}.
func statusError(resp *http.Response) error {
	var body struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	_ = json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&body)
	return &ai.Error{Backend: "dify", Kind: ai.StatusKind(resp.StatusCode), Status: resp.StatusCode, Code: body.Code,
		Message: body.Message, RetryAfter: ai.RetryAfter(resp.Header)}
}

// stripURL keeps the URL (which names no secret, but is noise) out of a transport error.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
