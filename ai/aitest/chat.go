package aitest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// serveChat serves POST /v1/chat/completions: authenticate, decode,
// injected faults, model, images, then the scripted reply.
func (s *Server) serveChat(w http.ResponseWriter, r *http.Request) {
	req := &Request{Time: time.Now(), Path: r.URL.Path, Header: r.Header.Clone()}
	rec := &statusWriter{ResponseWriter: w, onStatus: func(code int) { s.record(req, code) }}
	defer rec.finish()
	if !s.authorize(rec, r) {
		return
	}
	body, ok := s.readBody(rec, r)
	if !ok {
		return
	}
	req.Body = body
	if e := decodeRequest(req, body); e != nil {
		writeError(rec, e)
		return
	}

	s.mu.Lock()
	var fault *APIError
	if len(s.faults) > 0 {
		f := s.faults[0]
		s.faults = s.faults[1:]
		fault = &f
	}
	model, known := s.models[req.Model]
	latency, chunkDelay := s.latency, s.chunkDelay
	s.mu.Unlock()
	if fault != nil {
		if s.wait(r.Context(), latency) {
			writeError(rec, fault)
		}
		return
	}
	if !known {
		writeError(rec, &APIError{Status: http.StatusNotFound, Type: "invalid_request_error", Code: "model_not_found",
			Message: fmt.Sprintf("The model `%s` does not exist or you do not have access to it.", req.Model)})
		return
	}
	if model.TextOnly {
		for i, m := range req.Messages {
			for j, p := range m.Parts {
				if p.Type == "image_url" {
					writeError(rec, invalid(fmt.Sprintf("messages[%d].content[%d].type", i, j), "",
						fmt.Sprintf("Invalid content type. image_url is only supported by certain models; `%s` does not support image input.", req.Model)))
					return
				}
			}
		}
	}

	rep := s.nextReply(req)
	if rep.Latency > 0 {
		latency = rep.Latency
	}
	if rep.ChunkDelay > 0 {
		chunkDelay = rep.ChunkDelay
	}
	streamed := req.Stream && rep.Err == nil
	if !streamed && !s.wait(r.Context(), latency) {
		return
	}
	if rep.Err != nil {
		writeError(rec, rep.Err)
		return
	}
	if rep.StreamErr != nil && !req.Stream {
		writeError(rec, rep.StreamErr)
		return
	}
	ans := s.answer(req, rep)
	if streamed {
		s.stream(rec, r, req, rep, ans, latency, chunkDelay)
	} else {
		writeJSON(rec, http.StatusOK, ans.completion())
	}
}

// record keeps req with the status that was answered (0: none, the
// request was cancelled first). It runs before the status is written, so a
// client that has its answer finds the request recorded.
func (s *Server) record(req *Request, status int) {
	req.Status = status
	s.mu.Lock()
	s.requests = append(s.requests, req)
	s.mu.Unlock()
}

// statusWriter calls onStatus once, before the status is written (or, via
// finish, when none was), and passes Flush on.
type statusWriter struct {
	http.ResponseWriter
	onStatus func(int)
	wrote    bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.wrote = true
		w.onStatus(code)
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(p)
}

func (w *statusWriter) finish() {
	if !w.wrote {
		w.wrote = true
		w.onStatus(0)
	}
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// answer is a reply resolved for one request: ids, text, usage.
type answer struct {
	id      string
	created int64
	model   string
	text    string
	chunks  []string
	reason  string
	calls   []ToolCall
	finish  string
	usage   Usage
}

func (s *Server) answer(req *Request, rep Reply) answer {
	s.mu.Lock()
	s.seq++
	a := answer{id: "chatcmpl-aitest-" + strconv.FormatUint(s.seq, 10), created: req.Time.Unix(), model: req.Model,
		text: rep.Text, chunks: rep.Chunks, reason: rep.Reasoning, finish: rep.FinishReason}
	for _, c := range rep.ToolCalls {
		if c.ID == "" {
			s.seq++
			c.ID = "call_" + strconv.FormatUint(s.seq, 10)
		}
		a.calls = append(a.calls, c)
	}
	s.mu.Unlock()
	if a.chunks != nil {
		a.text = strings.Join(a.chunks, "")
	} else {
		a.chunks = runes(a.text)
	}
	if a.finish == "" {
		a.finish = "stop"
		if len(a.calls) > 0 {
			a.finish = "tool_calls"
		}
	}
	if rep.Usage != nil {
		a.usage = *rep.Usage
	} else {
		var in int
		for _, m := range req.Messages {
			in += len(m.Text())
			for _, c := range m.ToolCalls {
				in += len(c.Name) + len(c.Arguments)
			}
		}
		out := len(a.text) + len(a.reason)
		for _, c := range a.calls {
			out += len(c.Name) + len(c.Arguments)
		}
		a.usage = Usage{PromptTokens: max(int64(in+3)/4, 1), CompletionTokens: int64(out+3) / 4}
	}
	return a
}

// runes splits s into one string per rune.
func runes(s string) []string {
	out := make([]string, 0, utf8.RuneCountInString(s))
	for len(s) > 0 {
		_, n := utf8.DecodeRuneInString(s)
		out = append(out, s[:n])
		s = s[n:]
	}
	return out
}

// pieces splits s into pieces of at most n bytes, cut on rune boundaries.
func pieces(s string, n int) []string {
	var out []string
	for len(s) > n {
		cut := n
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		if cut == 0 {
			_, cut = utf8.DecodeRuneInString(s)
		}
		out = append(out, s[:cut])
		s = s[cut:]
	}
	if s != "" {
		out = append(out, s)
	}
	return out
}

type wireUsage struct {
	PromptTokens     int64 `json:"prompt_tokens"`
	CompletionTokens int64 `json:"completion_tokens"`
	TotalTokens      int64 `json:"total_tokens"`
}

func (u Usage) wire() *wireUsage {
	return &wireUsage{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens, TotalTokens: u.PromptTokens + u.CompletionTokens}
}

type wireCompletion struct {
	ID                string       `json:"id"`
	Object            string       `json:"object"`
	Created           int64        `json:"created"`
	Model             string       `json:"model"`
	Choices           []wireChoice `json:"choices"`
	Usage             *wireUsage   `json:"usage,omitempty"`
	SystemFingerprint string       `json:"system_fingerprint"`
}

type wireChoice struct {
	Index        int             `json:"index"`
	Message      *wireOut        `json:"message,omitempty"`
	Delta        *wireOut        `json:"delta,omitempty"`
	Logprobs     json.RawMessage `json:"logprobs"`
	FinishReason *string         `json:"finish_reason"`
}

// wireOut is an answer message or a delta; nil RawMessage fields are
// omitted, "null" ones sent as null.
type wireOut struct {
	Role             string          `json:"role,omitempty"`
	Content          json.RawMessage `json:"content,omitempty"`
	ReasoningContent json.RawMessage `json:"reasoning_content,omitempty"`
	Refusal          json.RawMessage `json:"refusal,omitempty"`
	ToolCalls        []wireToolCall  `json:"tool_calls,omitempty"`
}

var null = json.RawMessage("null")

func jsonString(s string) json.RawMessage {
	b, _ := json.Marshal(s)
	return b
}

func (a answer) completion() wireCompletion {
	msg := &wireOut{Role: "assistant", Content: jsonString(a.text), Refusal: null}
	if a.text == "" && len(a.calls) > 0 {
		msg.Content = null
	}
	if a.reason != "" {
		msg.ReasoningContent = jsonString(a.reason)
	}
	for _, c := range a.calls {
		tc := wireToolCall{ID: c.ID, Type: "function"}
		tc.Function.Name, tc.Function.Arguments = c.Name, c.Arguments
		msg.ToolCalls = append(msg.ToolCalls, tc)
	}
	fin := a.finish
	return wireCompletion{ID: a.id, Object: "chat.completion", Created: a.created, Model: a.model,
		Choices:           []wireChoice{{Message: msg, Logprobs: null, FinishReason: &fin}},
		Usage:             a.usage.wire(),
		SystemFingerprint: "fp_aitest"}
}

func (a answer) chunk(delta *wireOut, finish string) wireCompletion {
	c := wireChoice{Delta: delta, Logprobs: null}
	if finish != "" {
		c.FinishReason = &finish
	}
	return wireCompletion{ID: a.id, Object: "chat.completion.chunk", Created: a.created, Model: a.model,
		Choices: []wireChoice{c}, SystemFingerprint: "fp_aitest"}
}

// stream writes the headers, waits latency, then writes the answer as SSE
// frames, delay apart: a role chunk, reasoning deltas,
// content deltas, tool call deltas, the finish chunk, a usage chunk when
// asked for, then [DONE]; or, with StreamErr, an error frame after the
// content.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, req *Request, rep Reply, a answer, latency, delay time.Duration) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	if flusher != nil {
		flusher.Flush()
	}
	first := true
	send := func(v any) bool {
		d := delay
		if first {
			d = latency
		}
		if !s.wait(r.Context(), d) {
			return false
		}
		first = false
		b, _ := json.Marshal(v)
		if _, err := fmt.Fprintf(w, "data: %s\n\n", b); err != nil {
			return false
		}
		if flusher != nil {
			flusher.Flush()
		}
		return true
	}
	if !send(a.chunk(&wireOut{Role: "assistant", Content: jsonString(""), Refusal: null}, "")) {
		return
	}
	for _, p := range runes(a.reason) {
		if !send(a.chunk(&wireOut{ReasoningContent: jsonString(p), Content: null}, "")) {
			return
		}
	}
	for _, p := range a.chunks {
		if p == "" {
			continue
		}
		if !send(a.chunk(&wireOut{Content: jsonString(p)}, "")) {
			return
		}
	}
	if rep.StreamErr != nil {
		send(wireError{Error: rep.StreamErr.body()})
		return
	}
	for i, c := range a.calls {
		idx := i
		tc := wireToolCall{Index: &idx, ID: c.ID, Type: "function"}
		tc.Function.Name = c.Name
		if !send(a.chunk(&wireOut{ToolCalls: []wireToolCall{tc}}, "")) {
			return
		}
		for _, p := range pieces(c.Arguments, 8) {
			tc := wireToolCall{Index: &idx}
			tc.Function.Arguments = p
			if !send(a.chunk(&wireOut{ToolCalls: []wireToolCall{tc}}, "")) {
				return
			}
		}
	}
	if !send(a.chunk(&wireOut{}, a.finish)) {
		return
	}
	if req.IncludeUsage {
		u := wireCompletion{ID: a.id, Object: "chat.completion.chunk", Created: a.created, Model: a.model,
			Choices: []wireChoice{}, Usage: a.usage.wire(), SystemFingerprint: "fp_aitest"}
		if !send(u) {
			return
		}
	}
	if _, err := fmt.Fprint(w, "data: [DONE]\n\n"); err == nil && flusher != nil {
		flusher.Flush()
	}
}

type wireModel struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

// serveModels serves GET /v1/models.
func (s *Server) serveModels(w http.ResponseWriter, r *http.Request) {
	if !s.authorize(w, r) {
		return
	}
	list := struct {
		Object string      `json:"object"`
		Data   []wireModel `json:"data"`
	}{Object: "list", Data: []wireModel{}}
	for _, m := range s.Models() {
		list.Data = append(list.Data, wireModel{ID: m.ID, Object: "model", Created: 1, OwnedBy: "aitest"})
	}
	writeJSON(w, http.StatusOK, list)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
