package aitest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// A Request is one chat completion request as the server decoded it, kept
// for assertions ([Server.Requests]). Requests the server refused are kept
// too, with the fields it had decoded before it found the error (Time,
// Path, Header and Status always; Body once it was read; Conversation only
// for a body that decoded entirely).
type Request struct {
	// Time is when the request arrived (time.Now; the fake clock inside a
	// testing/synctest bubble).
	Time time.Time
	// Path is the URL path, "/v1/chat/completions" or "/chat/completions".
	Path string
	// Header holds the request headers (including Authorization).
	Header http.Header
	// Body is the raw request body.
	Body []byte
	// Status is the HTTP status the server answered with (200 for a stream
	// that started, even if a scripted error frame ended it; 0 when the
	// request was cancelled, or the server closed, before any answer). A
	// request is recorded before its status is written, so a client that
	// has its answer finds it in [Server.Requests].
	Status int

	// Model is `model`.
	Model string
	// Messages are `messages`, in order.
	Messages []Message
	// Tools are the function tools of `tools`.
	Tools []Tool
	// ToolChoice is `tool_choice` as raw JSON (nil when absent).
	ToolChoice json.RawMessage
	// Temperature is `temperature` (nil when absent).
	Temperature *float64
	// TopP is `top_p` (nil when absent).
	TopP *float64
	// MaxTokens is `max_tokens` (nil when absent).
	MaxTokens *int64
	// MaxCompletionTokens is `max_completion_tokens` (nil when absent).
	MaxCompletionTokens *int64
	// Stream is `stream`.
	Stream bool
	// IncludeUsage is `stream_options.include_usage`.
	IncludeUsage bool
	// User is `user` (deprecated by OpenAI in favour of SafetyIdentifier,
	// still sent by many clients and accepted by compatible providers).
	User string
	// SafetyIdentifier is `safety_identifier`.
	SafetyIdentifier string
	// Conversation identifies the conversation for per-conversation
	// scripts ([Server.Script]): SafetyIdentifier, or User when that is
	// empty.
	Conversation string
	// Extra holds the top-level fields the server does not model
	// (`thinking`, `enable_thinking`, `seed`, …) as raw JSON.
	Extra map[string]json.RawMessage
}

// LastUserText returns the text of the last message with role "user", or ""
// when there is none.
func (r *Request) LastUserText() string {
	for i := len(r.Messages) - 1; i >= 0; i-- {
		if r.Messages[i].Role == "user" {
			return r.Messages[i].Text()
		}
	}
	return ""
}

// System returns the text of the system (or developer) messages, joined by
// a newline.
func (r *Request) System() string {
	var parts []string
	for _, m := range r.Messages {
		if m.Role == "system" || m.Role == "developer" {
			parts = append(parts, m.Text())
		}
	}
	return strings.Join(parts, "\n")
}

// Images returns the image parts of every message, in order.
func (r *Request) Images() []Part {
	var out []Part
	for _, m := range r.Messages {
		out = append(out, m.Images()...)
	}
	return out
}

// A Message is one entry of `messages`.
type Message struct {
	// Role is `role`: "system", "developer", "user", "assistant" or "tool".
	Role string
	// Content is `content` when it was a string. When it was an array of
	// parts, Content is empty and Parts holds them.
	Content string
	// Parts are the content parts when `content` was an array.
	Parts []Part
	// Name is `name`.
	Name string
	// ToolCalls are an assistant message's `tool_calls`.
	ToolCalls []ToolCall
	// ToolCallID is a tool message's `tool_call_id`.
	ToolCallID string
	// ReasoningContent is `reasoning_content` (echoed back by clients of
	// DeepSeek-style thinking models).
	ReasoningContent string
}

// Text returns Content, or the text parts joined without a separator.
func (m Message) Text() string {
	if len(m.Parts) == 0 {
		return m.Content
	}
	var b strings.Builder
	for _, p := range m.Parts {
		if p.Type == "text" {
			b.WriteString(p.Text)
		}
	}
	return b.String()
}

// Images returns the message's image_url parts.
func (m Message) Images() []Part {
	var out []Part
	for _, p := range m.Parts {
		if p.Type == "image_url" {
			out = append(out, p)
		}
	}
	return out
}

// A Part is one content part of a message.
type Part struct {
	// Type is `type`: "text", "image_url", or another type the server
	// records without interpreting ("input_audio", "file", "refusal").
	Type string
	// Text is a text part's `text`.
	Text string
	// URL is an image part's `image_url.url`.
	URL string
	// Detail is an image part's `image_url.detail` ("", "low", "high",
	// "auto").
	Detail string
	// MediaType is the media type of a data: URL image ("image/png").
	MediaType string
	// Data holds the decoded bytes of a data: URL image.
	Data []byte
	// Raw is the part as sent.
	Raw json.RawMessage
}

// A Tool is one function tool of `tools`.
type Tool struct {
	// Name is `function.name`.
	Name string
	// Description is `function.description`.
	Description string
	// Parameters is `function.parameters` (a JSON Schema) as raw JSON.
	Parameters json.RawMessage
	// Strict is `function.strict` (nil when absent).
	Strict *bool
}

var (
	toolNameRE = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)
	// imageTypes are the image formats OpenAI accepts.
	imageTypes = map[string]bool{"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true}
	roles      = map[string]bool{"system": true, "developer": true, "user": true, "assistant": true, "tool": true, "function": true}
)

// decodeRequest fills r from body, checking what OpenAI checks. Its errors
// are 400s in OpenAI's shape.
func decodeRequest(r *Request, body []byte) *APIError {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil || top == nil {
		msg := "We could not parse the JSON body of your request. The API expects a JSON object."
		if err != nil {
			msg += " (" + err.Error() + ")"
		}
		return invalid("", "", msg)
	}
	str := func(key string, dst *string) *APIError {
		raw, ok := top[key]
		if !ok || isNull(raw) {
			return nil
		}
		if json.Unmarshal(raw, dst) != nil {
			return invalidType(key, "a string", raw)
		}
		return nil
	}
	num := func(key string, lo, hi float64) (*float64, *APIError) {
		raw, ok := top[key]
		if !ok || isNull(raw) {
			return nil, nil
		}
		var f float64
		if json.Unmarshal(raw, &f) != nil {
			return nil, invalidType(key, "a number", raw)
		}
		if f < lo {
			return nil, invalid(key, "decimal_below_min_value", fmt.Sprintf("Invalid '%s': decimal below minimum value. Expected a value >= %g, but got %g instead.", key, lo, f))
		}
		if f > hi {
			return nil, invalid(key, "decimal_above_max_value", fmt.Sprintf("Invalid '%s': decimal above maximum value. Expected a value <= %g, but got %g instead.", key, hi, f))
		}
		return &f, nil
	}
	integer := func(key string) (*int64, *APIError) {
		raw, ok := top[key]
		if !ok || isNull(raw) {
			return nil, nil
		}
		var n int64
		if json.Unmarshal(raw, &n) != nil {
			return nil, invalidType(key, "an integer", raw)
		}
		if n < 1 {
			return nil, invalid(key, "integer_below_min_value", fmt.Sprintf("Invalid '%s': integer below minimum value. Expected a value >= 1, but got %d instead.", key, n))
		}
		return &n, nil
	}

	known := map[string]bool{}
	for _, k := range []string{"model", "messages", "tools", "tool_choice", "temperature", "top_p", "max_tokens", "max_completion_tokens", "stream", "stream_options", "user", "safety_identifier"} {
		known[k] = true
	}
	var e *APIError
	if raw, ok := top["model"]; !ok || isNull(raw) {
		return invalid("model", "", "you must provide a model parameter")
	}
	if e = str("model", &r.Model); e != nil {
		return e
	}
	if r.Model == "" {
		return invalid("model", "", "you must provide a model parameter")
	}
	if e = decodeMessages(r, top["messages"]); e != nil {
		return e
	}
	if e = decodeTools(r, top["tools"]); e != nil {
		return e
	}
	if raw, ok := top["tool_choice"]; ok && !isNull(raw) {
		r.ToolChoice = raw
	}
	if r.Temperature, e = num("temperature", 0, 2); e != nil {
		return e
	}
	if r.TopP, e = num("top_p", 0, 1); e != nil {
		return e
	}
	if r.MaxTokens, e = integer("max_tokens"); e != nil {
		return e
	}
	if r.MaxCompletionTokens, e = integer("max_completion_tokens"); e != nil {
		return e
	}
	if raw, ok := top["stream"]; ok && !isNull(raw) {
		if json.Unmarshal(raw, &r.Stream) != nil {
			return invalidType("stream", "a boolean", raw)
		}
	}
	if raw, ok := top["stream_options"]; ok && !isNull(raw) {
		if !r.Stream {
			return invalid("stream_options", "invalid_value", "The 'stream_options' parameter is only allowed when 'stream' is enabled.")
		}
		var so struct {
			IncludeUsage *bool `json:"include_usage"`
		}
		if json.Unmarshal(raw, &so) != nil {
			return invalidType("stream_options", "an object", raw)
		}
		r.IncludeUsage = so.IncludeUsage != nil && *so.IncludeUsage
	}
	if e = str("user", &r.User); e != nil {
		return e
	}
	if e = str("safety_identifier", &r.SafetyIdentifier); e != nil {
		return e
	}
	if len(r.SafetyIdentifier) > 128 {
		return invalid("safety_identifier", "string_above_max_length", "Invalid 'safety_identifier': string too long. Expected a string with maximum length 128.")
	}
	r.Conversation = r.SafetyIdentifier
	if r.Conversation == "" {
		r.Conversation = r.User
	}
	for k, v := range top {
		if !known[k] {
			if r.Extra == nil {
				r.Extra = make(map[string]json.RawMessage)
			}
			r.Extra[k] = v
		}
	}
	return nil
}

func isNull(raw json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(raw), []byte("null")) }

func invalidType(param, want string, got json.RawMessage) *APIError {
	g := strings.TrimSpace(string(got))
	if len(g) > 40 {
		g = g[:40] + "…"
	}
	return invalid(param, "invalid_type", fmt.Sprintf("Invalid type for '%s': expected %s, but got %s instead.", param, want, g))
}

type wireMessage struct {
	Role             string          `json:"role"`
	Content          json.RawMessage `json:"content"`
	Name             string          `json:"name"`
	ToolCalls        []wireToolCall  `json:"tool_calls"`
	ToolCallID       string          `json:"tool_call_id"`
	ReasoningContent string          `json:"reasoning_content"`
}

type wireToolCall struct {
	Index    *int   `json:"index,omitempty"`
	ID       string `json:"id,omitempty"`
	Type     string `json:"type,omitempty"`
	Function struct {
		Name      string `json:"name,omitempty"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

func decodeMessages(r *Request, raw json.RawMessage) *APIError {
	if raw == nil || isNull(raw) {
		return invalid("messages", "missing_required_parameter", "Missing required parameter: 'messages'.")
	}
	var msgs []json.RawMessage
	if json.Unmarshal(raw, &msgs) != nil {
		return invalidType("messages", "an array", raw)
	}
	if len(msgs) == 0 {
		return invalid("messages", "empty_array", "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.")
	}
	pending := map[string]bool{} // tool_call_ids still to be answered
	pendingAt := -1
	for i, m := range msgs {
		p := "messages[" + strconv.Itoa(i) + "]"
		var wm wireMessage
		if err := json.Unmarshal(m, &wm); err != nil {
			return invalid(p, "invalid_type", fmt.Sprintf("Invalid '%s': %v", p, err))
		}
		if !roles[wm.Role] {
			return invalid(p+".role", "invalid_value", fmt.Sprintf("Invalid value: '%s'. Supported values are: 'system', 'assistant', 'user', 'function', 'tool', and 'developer'.", wm.Role))
		}
		if len(pending) > 0 && wm.Role != "tool" {
			return invalid("messages", "", "An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: "+strings.Join(sortedKeys(pending), ", "))
		}
		msg := Message{Role: wm.Role, Name: wm.Name, ToolCallID: wm.ToolCallID, ReasoningContent: wm.ReasoningContent}
		if e := decodeContent(&msg, p, wm.Content); e != nil {
			return e
		}
		hasContent := wm.Content != nil && !isNull(wm.Content)
		switch wm.Role {
		case "assistant":
			if !hasContent && len(wm.ToolCalls) == 0 {
				return invalid(p+".content", "missing_required_parameter", fmt.Sprintf("Missing required parameter: '%s.content'.", p))
			}
			for j, tc := range wm.ToolCalls {
				tp := fmt.Sprintf("%s.tool_calls[%d]", p, j)
				if tc.ID == "" {
					return invalid(tp+".id", "missing_required_parameter", fmt.Sprintf("Missing required parameter: '%s.id'.", tp))
				}
				if tc.Type != "function" {
					return invalid(tp+".type", "invalid_value", fmt.Sprintf("Invalid value: '%s'. Supported values are: 'function'.", tc.Type))
				}
				if tc.Function.Name == "" {
					return invalid(tp+".function.name", "missing_required_parameter", fmt.Sprintf("Missing required parameter: '%s.function.name'.", tp))
				}
				msg.ToolCalls = append(msg.ToolCalls, ToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: tc.Function.Arguments})
				pending[tc.ID] = true
				pendingAt = i
			}
		case "tool":
			if wm.ToolCallID == "" {
				return invalid(p+".tool_call_id", "missing_required_parameter", fmt.Sprintf("Missing required parameter: '%s.tool_call_id'.", p))
			}
			if !pending[wm.ToolCallID] {
				return invalid(p+".role", "", "Invalid parameter: messages with role 'tool' must be a response to a preceding message with 'tool_calls'.")
			}
			delete(pending, wm.ToolCallID)
			if !hasContent {
				return invalid(p+".content", "missing_required_parameter", fmt.Sprintf("Missing required parameter: '%s.content'.", p))
			}
		default:
			if !hasContent {
				return invalid(p+".content", "missing_required_parameter", fmt.Sprintf("Missing required parameter: '%s.content'.", p))
			}
		}
		r.Messages = append(r.Messages, msg)
	}
	if len(pending) > 0 {
		return invalid(fmt.Sprintf("messages[%d]", pendingAt), "", "An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: "+strings.Join(sortedKeys(pending), ", "))
	}
	return nil
}

func decodeContent(msg *Message, p string, raw json.RawMessage) *APIError {
	if raw == nil || isNull(raw) {
		return nil
	}
	if err := json.Unmarshal(raw, &msg.Content); err == nil {
		return nil
	}
	var parts []json.RawMessage
	if json.Unmarshal(raw, &parts) != nil {
		return invalidType(p+".content", "a string or an array of content parts", raw)
	}
	for j, pr := range parts {
		pp := fmt.Sprintf("%s.content[%d]", p, j)
		var wp struct {
			Type     string  `json:"type"`
			Text     *string `json:"text"`
			ImageURL *struct {
				URL    string `json:"url"`
				Detail string `json:"detail"`
			} `json:"image_url"`
		}
		if json.Unmarshal(pr, &wp) != nil {
			return invalidType(pp, "an object", pr)
		}
		part := Part{Type: wp.Type, Raw: pr}
		switch wp.Type {
		case "text":
			if wp.Text == nil {
				return invalid(pp+".text", "missing_required_parameter", fmt.Sprintf("Missing required parameter: '%s.text'.", pp))
			}
			part.Text = *wp.Text
		case "image_url":
			if msg.Role != "user" {
				return invalid(pp+".type", "invalid_value", fmt.Sprintf("Invalid value: 'image_url'. Supported values are: 'text'. Image content parts are only allowed in user messages (%s).", pp))
			}
			if wp.ImageURL == nil || wp.ImageURL.URL == "" {
				return invalid(pp+".image_url.url", "missing_required_parameter", fmt.Sprintf("Missing required parameter: '%s.image_url.url'.", pp))
			}
			switch wp.ImageURL.Detail {
			case "", "low", "high", "auto":
			default:
				return invalid(pp+".image_url.detail", "invalid_value", fmt.Sprintf("Invalid value: '%s'. Supported values are: 'low', 'high', and 'auto'.", wp.ImageURL.Detail))
			}
			part.URL, part.Detail = wp.ImageURL.URL, wp.ImageURL.Detail
			if e := decodeImage(&part, pp); e != nil {
				return e
			}
		case "input_audio", "file", "refusal":
		case "":
			return invalid(pp+".type", "missing_required_parameter", fmt.Sprintf("Missing required parameter: '%s.type'.", pp))
		default:
			return invalid(pp+".type", "invalid_value", fmt.Sprintf("Invalid value: '%s'. Supported values are: 'text', 'image_url', 'input_audio', 'refusal', and 'file'.", wp.Type))
		}
		msg.Parts = append(msg.Parts, part)
	}
	return nil
}

// decodeImage checks and decodes a data: URL; other URLs are kept as they
// are (the fake does not fetch them).
func decodeImage(part *Part, pp string) *APIError {
	rest, ok := strings.CutPrefix(part.URL, "data:")
	if !ok {
		if !strings.HasPrefix(part.URL, "http://") && !strings.HasPrefix(part.URL, "https://") {
			return invalid(pp+".image_url.url", "invalid_image_url", "Invalid 'image_url': expected a data: URL or an http(s) URL.")
		}
		return nil
	}
	meta, data, ok := strings.Cut(rest, ",")
	mt, isB64 := strings.CutSuffix(meta, ";base64")
	if !ok || !isB64 {
		return invalid(pp+".image_url.url", "invalid_image_url", "Invalid 'image_url': a data: URL must be data:<image type>;base64,<data>.")
	}
	if !imageTypes[mt] {
		return invalid(pp+".image_url.url", "invalid_image_format", "You uploaded an unsupported image. Please make sure your image has of one the following formats: ['png', 'jpeg', 'gif', 'webp'].")
	}
	b, err := base64.StdEncoding.DecodeString(data)
	if err != nil || len(b) == 0 {
		return invalid(pp+".image_url.url", "invalid_image_url", "Invalid base64 image_url.")
	}
	part.MediaType, part.Data = mt, b
	return nil
}

func decodeTools(r *Request, raw json.RawMessage) *APIError {
	if raw == nil || isNull(raw) {
		return nil
	}
	var tools []struct {
		Type     string `json:"type"`
		Function *struct {
			Name        string          `json:"name"`
			Description string          `json:"description"`
			Parameters  json.RawMessage `json:"parameters"`
			Strict      *bool           `json:"strict"`
		} `json:"function"`
	}
	if json.Unmarshal(raw, &tools) != nil {
		return invalidType("tools", "an array of tools", raw)
	}
	seen := map[string]bool{}
	for i, t := range tools {
		p := fmt.Sprintf("tools[%d]", i)
		if t.Type != "function" {
			return invalid(p+".type", "invalid_value", fmt.Sprintf("Invalid value: '%s'. Supported values are: 'function'.", t.Type))
		}
		if t.Function == nil || !toolNameRE.MatchString(t.Function.Name) {
			return invalid(p+".function.name", "invalid_value", fmt.Sprintf("Invalid '%s.function.name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]{1,64}$'.", p))
		}
		if seen[t.Function.Name] {
			return invalid("tools", "", fmt.Sprintf("Invalid 'tools': duplicate function name '%s'.", t.Function.Name))
		}
		seen[t.Function.Name] = true
		if len(t.Function.Parameters) > 0 && !isNull(t.Function.Parameters) {
			var obj map[string]json.RawMessage
			if json.Unmarshal(t.Function.Parameters, &obj) != nil {
				return invalidType(p+".function.parameters", "an object", t.Function.Parameters)
			}
		}
		r.Tools = append(r.Tools, Tool{Name: t.Function.Name, Description: t.Function.Description, Parameters: t.Function.Parameters, Strict: t.Function.Strict})
	}
	return nil
}
