// Package openaichat is an [ai.Backend] for OpenAI-compatible chat completions APIs —
// OpenAI, DeepSeek, Qwen (DashScope compatible mode), Moonshot, GLM, Doubao (Ark),
// Ollama, vLLM, LM Studio — through github.com/openai/openai-go/v3.
//
// It is a package of its own so that programs that do not use it (and package rules)
// do not link the SDK. The SDK's OPENAI_* environment variables are never read: the base
// URL and key come from [Config] alone.
package openaichat

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/packages/param"
	"github.com/openai/openai-go/v3/packages/respjson"
	"github.com/openai/openai-go/v3/packages/ssestream"
	"github.com/openai/openai-go/v3/shared"

	"github.com/kfbot/kfbot/ai"
)

// Config configures [New].
type Config struct {
	// BaseURL is the API's base, e.g. "https://api.deepseek.com/v1" or
	// "http://127.0.0.1:11434/v1". Required.
	BaseURL string
	// APIKey is sent as a bearer token. Local servers take any.
	APIKey string
	// Model is the default model id. Required.
	Model string
	// HTTPClient sends the requests (default: a client without a timeout; the answer's
	// context bounds each call).
	HTTPClient *http.Client
	// MaxRetries is how often a call refused with 408, 409, 429 or 5xx, or cut by the
	// network, is tried again, with back-off honouring Retry-After (default 2; -1: none).
	MaxRetries int
	// NoUsage leaves out stream_options.include_usage, for servers that refuse it.
	NoUsage bool
	// ExtraBody fields are added to every request, e.g. {"enable_thinking": false} for
	// Qwen3 on DashScope. They replace fields of the same name.
	ExtraBody map[string]any
}

// Backend is the OpenAI-compatible [ai.Backend].
type Backend struct {
	chat    openai.ChatCompletionService
	model   string
	noUsage bool
	extra   map[string]any
}

var _ ai.Backend = (*Backend)(nil)

// New returns a backend for cfg, checking it.
func New(cfg Config) (*Backend, error) {
	var errs []error
	if err := ai.CheckBaseURL("openaichat", cfg.BaseURL, "https://api.deepseek.com/v1"); err != nil {
		errs = append(errs, err)
	}
	if cfg.Model == "" {
		errs = append(errs, errors.New("openaichat: no model (KFBOT_AI_MODEL), e.g. deepseek-chat"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	opts := []option.RequestOption{
		option.WithBaseURL(strings.TrimSuffix(cfg.BaseURL, "/") + "/"),
		option.WithHTTPClient(hc),
		option.WithMaxRetries(ai.Retries(cfg.MaxRetries)),
	}
	if cfg.APIKey != "" {
		opts = append(opts, option.WithAPIKey(cfg.APIKey))
	}
	// NewChatCompletionService takes only these options: unlike openai.NewClient it
	// reads no OPENAI_* variable from the environment.
	return &Backend{chat: openai.NewChatCompletionService(opts...), model: cfg.Model, noUsage: cfg.NoUsage, extra: cfg.ExtraBody}, nil
}

// Complete implements [ai.Backend].
func (b *Backend) Complete(ctx context.Context, req *ai.Request, onText func(string)) (*ai.Response, error) {
	params := b.params(req)
	if onText == nil {
		resp, err := b.chat.New(ctx, params)
		if err != nil {
			return nil, classify(err)
		}
		if len(resp.Choices) == 0 {
			return nil, &ai.Error{Backend: "openai", Kind: ai.KindServer, Message: "the answer has no choices"}
		}
		ch := resp.Choices[0]
		out := &ai.Response{Text: ch.Message.Content, FinishReason: ch.FinishReason, Model: resp.Model,
			Reasoning: reasoning(ch.Message.JSON.ExtraFields),
			Usage:     ai.Usage{InputTokens: int(resp.Usage.PromptTokens), OutputTokens: int(resp.Usage.CompletionTokens)}}
		for _, tc := range ch.Message.ToolCalls {
			out.ToolCalls = append(out.ToolCalls, ai.ToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: tc.Function.Arguments})
		}
		return out, nil
	}
	if !b.noUsage {
		params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	}
	stream := b.chat.NewStreaming(ctx, params)
	defer stream.Close()
	var acc openai.ChatCompletionAccumulator
	var text, think strings.Builder
	consistent := true
	for stream.Next() {
		chunk := stream.Current()
		if consistent && !acc.AddChunk(chunk) {
			consistent = false // a provider that changes ids: keep the text ourselves
		}
		if chunk.Model != "" && acc.Model == "" {
			acc.Model = chunk.Model
		}
		if len(chunk.Choices) == 0 {
			if chunk.Usage.TotalTokens > 0 {
				acc.Usage = chunk.Usage
			}
			continue // the usage chunk
		}
		d := chunk.Choices[0].Delta
		think.WriteString(reasoning(d.JSON.ExtraFields))
		if d.Content != "" {
			text.WriteString(d.Content)
			onText(d.Content)
		}
	}
	if err := stream.Err(); err != nil {
		return nil, classify(err)
	}
	out := &ai.Response{Text: text.String(), Model: acc.Model, Reasoning: think.String(),
		Usage: ai.Usage{InputTokens: int(acc.Usage.PromptTokens), OutputTokens: int(acc.Usage.CompletionTokens)}}
	if len(acc.Choices) > 0 {
		ch := acc.Choices[0]
		out.FinishReason = ch.FinishReason
		for _, tc := range ch.Message.ToolCalls {
			out.ToolCalls = append(out.ToolCalls, ai.ToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: tc.Function.Arguments})
		}
	}
	return out, nil
}

// params turns req into the SDK's request.
func (b *Backend) params(req *ai.Request) openai.ChatCompletionNewParams {
	p := openai.ChatCompletionNewParams{Model: shared.ChatModel(b.model)}
	if req.Model != "" {
		p.Model = shared.ChatModel(req.Model)
	}
	if req.System != "" {
		p.Messages = append(p.Messages, openai.SystemMessage(req.System))
	}
	for _, m := range req.Messages {
		p.Messages = append(p.Messages, message(m))
	}
	for _, t := range req.Tools {
		p.Tools = append(p.Tools, openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
			Name: t.Name, Description: openai.String(t.Description), Parameters: shared.FunctionParameters(t.Parameters)}))
	}
	if req.Temperature != nil {
		p.Temperature = openai.Float(*req.Temperature)
	}
	if req.MaxTokens > 0 {
		p.MaxTokens = openai.Int(int64(req.MaxTokens))
	}
	if req.User != "" {
		p.User = openai.String(req.User)
	}
	if len(b.extra) > 0 {
		p.SetExtraFields(b.extra)
	}
	return p
}

// message turns one turn into the SDK's message.
func message(m ai.Message) openai.ChatCompletionMessageParamUnion {
	switch m.Role {
	case ai.RoleAssistant:
		var a openai.ChatCompletionAssistantMessageParam
		if m.Text != "" {
			a.Content.OfString = param.NewOpt(m.Text)
		}
		for _, tc := range m.ToolCalls {
			a.ToolCalls = append(a.ToolCalls, openai.ChatCompletionMessageToolCallUnionParam{
				OfFunction: &openai.ChatCompletionMessageFunctionToolCallParam{ID: tc.ID,
					Function: openai.ChatCompletionMessageFunctionToolCallFunctionParam{Name: tc.Name, Arguments: tc.Arguments}}})
		}
		if m.Reasoning != "" && len(m.ToolCalls) > 0 {
			a.SetExtraFields(map[string]any{"reasoning_content": m.Reasoning}) // DeepSeek's thinking mode needs it back
		}
		return openai.ChatCompletionMessageParamUnion{OfAssistant: &a}
	case ai.RoleTool:
		return openai.ToolMessage(m.Text, m.ToolCallID)
	}
	if len(m.Images) == 0 {
		return openai.UserMessage(m.Text)
	}
	var parts []openai.ChatCompletionContentPartUnionParam
	if m.Text != "" {
		parts = append(parts, openai.TextContentPart(m.Text))
	}
	for _, img := range m.Images {
		parts = append(parts, openai.ImageContentPart(openai.ChatCompletionContentPartImageImageURLParam{
			URL: "data:" + img.MIME + ";base64," + base64.StdEncoding.EncodeToString(img.Data)}))
	}
	return openai.UserMessage(parts)
}

// reasoning reads a chain of thought from a message's or delta's unknown fields: the
// field is reasoning_content (DeepSeek, Qwen) or reasoning (Ollama, vLLM).
func reasoning(extra map[string]respjson.Field) string {
	for _, k := range []string{"reasoning_content", "reasoning"} {
		if f, ok := extra[k]; ok {
			var s string
			if json.Unmarshal([]byte(f.Raw()), &s) == nil && s != "" {
				return s
			}
		}
	}
	return ""
}

// classify turns the SDK's error into an *ai.Error; its text holds no key or body.
func classify(err error) error {
	e := &ai.Error{Backend: "openai", Err: err}
	var apierr *openai.Error
	var serr *ssestream.StreamError
	switch {
	case errors.As(err, &apierr):
		e.Status, e.Code, e.Message, e.Err = apierr.StatusCode, apierr.Code, apierr.Message, nil
		if apierr.Response != nil {
			e.RetryAfter = ai.RetryAfter(apierr.Response.Header)
		}
		e.Kind = ai.StatusKind(apierr.StatusCode)
		if apierr.StatusCode == http.StatusBadRequest && strings.Contains(strings.ToLower(apierr.Message), "image") {
			e.Kind = ai.KindImagesUnsupported
		}
	case errors.Is(err, context.DeadlineExceeded):
		e.Kind = ai.KindTimeout
	case errors.Is(err, context.Canceled):
		return err
	case errors.As(err, &serr):
		e.Kind, e.Message, e.Err = ai.KindStream, serr.Message, nil
	default:
		e.Kind = ai.KindNetwork
	}
	return e
}
