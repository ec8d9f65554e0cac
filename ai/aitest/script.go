package aitest

import (
	"cmp"
	"maps"
	"slices"
	"time"
)

// A Reply is what the fake model answers to one request: text, tool calls
// or an error, with optional latency. A blocking request gets it as one
// chat.completion object; a streaming one as chat.completion.chunk frames.
type Reply struct {
	// Text is the assistant's content. Streamed, it is sent one rune per
	// chunk unless Chunks is set.
	Text string
	// Chunks, when set, are the content pieces of a streamed answer, one per
	// chunk; they replace Text (a blocking answer joins them).
	Chunks []string
	// Reasoning is sent as `reasoning_content`, as DeepSeek-style thinking
	// models do: beside the content in a blocking answer, and streamed one
	// rune per chunk, with `content` null, before the content.
	Reasoning string
	// ToolCalls, when set, are the assistant's tool calls; the finish
	// reason is then "tool_calls". Streamed, each call's first chunk carries
	// its index, id, type and name with empty arguments; the arguments
	// follow in pieces of at most 8 bytes.
	ToolCalls []ToolCall
	// FinishReason overrides the finish reason ("stop", or "tool_calls"
	// with ToolCalls); "length" and "content_filter" are the other values
	// OpenAI sends.
	FinishReason string
	// Usage overrides the token counts. By default they are estimated, one
	// token per 4 bytes of text (rounded up), at least 1 for the prompt.
	Usage *Usage

	// Err, when set, makes the server answer with this error status and
	// OpenAI's error body instead of a completion.
	Err *APIError
	// StreamErr, when set, ends a streamed answer after its content chunks
	// with a frame {"error":{…}} (the SDK reports it from stream.Err as an
	// *ssestream.StreamError); no finish chunk and no [DONE] follow. A
	// blocking request gets it as an HTTP error, like Err.
	StreamErr *APIError

	// Latency delays the answer: an error or a blocking answer before its
	// first byte; a stream after its headers, before its first chunk (the
	// time to first token, as real providers behave: the SDK's NewStreaming
	// returns, then the first Next waits). Zero uses [Server.SetLatency]'s.
	Latency time.Duration
	// ChunkDelay delays every streamed chunk after the first; zero uses
	// [Server.SetChunkDelay]'s.
	ChunkDelay time.Duration
}

// A ToolCall is one function call the model makes.
type ToolCall struct {
	// ID is the call's id; empty gets "call_<n>", numbered per server.
	ID string
	// Name is the function's name.
	Name string
	// Arguments is the JSON text of the arguments, as the model would
	// write it ("{\"reason\":\"asked\"}").
	Arguments string
}

// Usage is the token accounting of an answer.
type Usage struct {
	PromptTokens     int64 // `prompt_tokens`
	CompletionTokens int64 // `completion_tokens`; total_tokens is the sum
}

// Text returns a Reply that answers s.
func Text(s string) Reply { return Reply{Text: s} }

// Tools returns a Reply that makes the given tool calls.
func Tools(calls ...ToolCall) Reply { return Reply{ToolCalls: calls} }

// Fail returns a Reply that fails with status and OpenAI's error for it
// ([ErrorFor]).
func Fail(status int) Reply {
	e := ErrorFor(status)
	return Reply{Err: &e}
}

// A Model is one model the server knows.
type Model struct {
	// ID is the model id clients send as `model`.
	ID string
	// TextOnly marks a model without vision: a request with an image_url
	// content part is refused with a 400, as OpenAI refuses images for
	// text-only models.
	TextOnly bool
}

// DefaultModel is the model a server knows when [WithModels] is not given.
const DefaultModel = "aitest-model"

// Enqueue appends replies to the shared queue: each request whose
// conversation has no scripted reply left takes the next one. Replies are
// consumed in order, once each.
func (s *Server) Enqueue(replies ...Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queue = append(s.queue, replies...)
}

// Script appends replies to the queue of one conversation. A request
// belongs to conversation id when its `safety_identifier` is id, or, when
// it has none, its `user` (see [Request].Conversation). Its replies are
// consumed in order, once each, before the shared queue ([Server.Enqueue])
// and the default ([Server.SetDefault]).
func (s *Server) Script(conversation string, replies ...Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scripts[conversation] = append(s.scripts[conversation], replies...)
}

// SetDefault sets the function that answers requests no queue answers
// (nil restores the built-in one, which echoes the last user message, or
// "ok" when it has no text). f is called without the server's lock held,
// possibly from several goroutines at once; it must not keep or modify the
// request.
func (s *Server) SetDefault(f func(*Request) Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.defaultFn = f
}

// Pending returns how many scripted replies ([Server.Enqueue],
// [Server.Script]) are still unconsumed.
func (s *Server) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.queue)
	for _, q := range s.scripts {
		n += len(q)
	}
	return n
}

// FailNext makes the next n chat requests (chat completions or Dify
// chat-messages) fail with status and OpenAI's error for it ([ErrorFor];
// 429 carries Retry-After: 1; Dify requests get it in Dify's error shape).
// Faults are answered after the request is authenticated and decoded (so it
// is recorded) and before the model check and any script: a failed request
// consumes no scripted reply. Calls add up.
func (s *Server) FailNext(n, status int) {
	e := ErrorFor(status)
	s.FailNextWith(n, e)
}

// FailNextWith is [Server.FailNext] with a given error.
func (s *Server) FailNextWith(n int, e APIError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults = append(s.faults, e)
	}
}

// SetLatency delays every answer by d, unless its Reply sets Latency (see
// [Reply].Latency: a stream's headers come at once, its first chunk after
// d). The delay uses the time package's timers (the fake
// clock in a testing/synctest bubble) and ends early, failing the request,
// when its context is cancelled or the server closes.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = max(d, 0)
}

// SetChunkDelay delays every streamed chunk after the first by d, unless
// its Reply sets ChunkDelay; like [Server.SetLatency] it runs on the time
// package's clock.
func (s *Server) SetChunkDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.chunkDelay = max(d, 0)
}

// AddModel makes the server know m (replacing a model with the same ID).
func (s *Server) AddModel(m Model) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.models[m.ID] = m
}

// Models returns the models the server knows, sorted by ID.
func (s *Server) Models() []Model {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.SortedFunc(maps.Values(s.models), func(a, b Model) int { return cmp.Compare(a.ID, b.ID) })
}

// Requests returns every chat completion request recorded so far, in
// arrival order. The slice is a copy; its requests must not be modified.
func (s *Server) Requests() []*Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// RequestsFor returns the recorded requests of one conversation (see
// [Server.Script]).
func (s *Server) RequestsFor(conversation string) []*Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*Request
	for _, r := range s.requests {
		if r.Conversation == conversation {
			out = append(out, r)
		}
	}
	return out
}

// nextReply picks the answer for r: a conversation script, the shared
// queue, then the default.
func (s *Server) nextReply(r *Request) Reply {
	s.mu.Lock()
	if q := s.scripts[r.Conversation]; len(q) > 0 {
		rep := q[0]
		if len(q) == 1 {
			delete(s.scripts, r.Conversation)
		} else {
			s.scripts[r.Conversation] = q[1:]
		}
		s.mu.Unlock()
		return rep
	}
	if len(s.queue) > 0 {
		rep := s.queue[0]
		s.queue = s.queue[1:]
		s.mu.Unlock()
		return rep
	}
	f := s.defaultFn
	s.mu.Unlock()
	if f != nil {
		return f(r)
	}
	if t := r.LastUserText(); t != "" {
		return Text(t)
	}
	return Text("ok")
}

func sortedKeys(m map[string]bool) []string { return slices.Sorted(maps.Keys(m)) }
