package ai

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Backend is a model service that produces the next assistant turn of a conversation:
// an OpenAI-compatible chat completions API (package ai/openaichat), Dify's chat API
// (package ai/dify), or [Scripted] for tests.
type Backend interface {
	// Complete asks for the next assistant turn. With onText not nil the answer is
	// streamed: onText gets each piece of visible answer text, in order, as it arrives
	// (never reasoning); the Response still holds the whole answer. Retries of
	// rate-limited and failed calls happen inside, within ctx.
	Complete(ctx context.Context, req *Request, onText func(string)) (*Response, error)
}

// Request is one question to a model.
type Request struct {
	// Model is the model id; "" is the backend's configured default.
	Model string
	// System is the system prompt ("" for none).
	System string
	// Messages are the history, then the current user turn, oldest first.
	Messages []Message
	// Tools are the tools the model may call.
	Tools []Tool
	// Temperature, when not nil, is sent.
	Temperature *float64
	// MaxTokens bounds the output (0: unset).
	MaxTokens int
	// User is a stable id of the customer, "kf:<open_kfid>:<external_userid>".
	User string
	// Conversation is a backend's own conversation id from an earlier Response (Dify);
	// "" starts one.
	Conversation string
}

// Role says who speaks in a [Message].
type Role string

// The roles of messages.
const (
	RoleUser      Role = "user"
	RoleAssistant Role = "assistant"
	RoleTool      Role = "tool"
)

// Message is one turn of a conversation with a model.
type Message struct {
	Role Role
	Text string
	// Images of a user turn, sent as data: URLs.
	Images []Image
	// ToolCalls of an assistant turn that called tools.
	ToolCalls []ToolCall
	// ToolCallID names the call a tool turn answers.
	ToolCallID string
	// Reasoning of an assistant turn, echoed back where a provider requires it
	// (DeepSeek's thinking mode with tools).
	Reasoning string
}

// Image is an image a customer sent.
type Image struct {
	MIME string // e.g. "image/jpeg"
	Data []byte
}

// Tool is a tool offered to the model.
type Tool struct {
	Name, Description string
	// Parameters is the JSON schema of its arguments (an object).
	Parameters map[string]any
}

// ToolCall is the model's call of a tool.
type ToolCall struct {
	ID, Name string
	// Arguments are JSON.
	Arguments string
}

// Usage counts the tokens of a call.
type Usage struct{ InputTokens, OutputTokens int }

// Response is a model's answer.
type Response struct {
	// Text is the visible answer.
	Text string
	// FinishReason is the model's: "stop", "length", "tool_calls", "content_filter".
	FinishReason string
	// Model is the model that answered.
	Model string
	// Reasoning is the chain of thought some models return beside the answer; it is
	// never shown to the customer.
	Reasoning string
	// ToolCalls are the tools the model calls instead of (or before) answering.
	ToolCalls []ToolCall
	Usage     Usage
	// Conversation is the backend's conversation id to send with the next turn (Dify).
	Conversation string
	// ConversationReset reports that the backend had forgotten the id sent, and a new
	// conversation was started.
	ConversationReset bool
}

// ErrorKind classifies a backend's failure.
type ErrorKind string

// The kinds of backend failures.
const (
	KindAuth              ErrorKind = "auth"         // the key is wrong or lacks rights: fix the settings
	KindRateLimited       ErrorKind = "rate_limited" // 429, after the retries
	KindServer            ErrorKind = "server"       // 5xx, after the retries
	KindClient            ErrorKind = "client"       // another 4xx: the request was refused
	KindTimeout           ErrorKind = "timeout"
	KindNetwork           ErrorKind = "network"
	KindStream            ErrorKind = "stream" // an error frame in the middle of a stream
	KindImagesUnsupported ErrorKind = "images_unsupported"
)

// Error is a backend's failure. Its text never holds the API key, headers or bodies.
type Error struct {
	Backend string // "openai" or "dify"
	Kind    ErrorKind
	Status  int    // the HTTP status, when there was one
	Code    string // the provider's error code
	Message string // the provider's error message
	// RetryAfter is how long the provider asked to wait, when it said.
	RetryAfter time.Duration
	Err        error
}

// Error implements error.
func (e *Error) Error() string {
	msg := fmt.Sprintf("ai: %s: %s", e.Backend, e.Kind)
	if e.Status != 0 {
		msg += fmt.Sprintf(" (HTTP %d)", e.Status)
	}
	if e.Code != "" {
		msg += " " + e.Code
	}
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if e.Err != nil && e.Message == "" {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Retryable reports whether err may succeed when tried again later: rate limits,
// server errors, timeouts and network failures.
func Retryable(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		switch e.Kind {
		case KindRateLimited, KindServer, KindTimeout, KindNetwork, KindStream:
			return true
		}
		return false
	}
	return errors.Is(err, context.DeadlineExceeded)
}

// CheckBaseURL checks a backend's base URL: absolute http(s) with a host. backend and
// example name it in the error ("dify", "https://api.dify.ai/v1").
func CheckBaseURL(backend, raw, example string) error {
	if raw == "" {
		return fmt.Errorf("%s: no base URL (KFBOT_AI_BASE_URL), e.g. %s", backend, example)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%s: base URL %q: want http(s)://host/path, e.g. %s", backend, raw, example)
	}
	return nil
}

// Retries is a backend's retry count from its config: 0 means the default, 2; a
// negative count, none.
func Retries(n int) int {
	switch {
	case n == 0:
		return 2
	case n < 0:
		return 0
	}
	return n
}

// StatusKind classifies an HTTP error status.
func StatusKind(status int) ErrorKind {
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return KindAuth
	case status == http.StatusTooManyRequests:
		return KindRateLimited
	case status >= 500:
		return KindServer
	}
	return KindClient
}

// RetryAfter reads the delay a refusal asked for: Retry-After-Ms, else Retry-After in
// seconds; 0 when it asked for none.
func RetryAfter(h http.Header) time.Duration {
	if ms, err := strconv.ParseFloat(h.Get("Retry-After-Ms"), 64); err == nil && ms > 0 {
		return time.Duration(ms * float64(time.Millisecond))
	}
	if s, err := strconv.Atoi(h.Get("Retry-After")); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	return 0
}
