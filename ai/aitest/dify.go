package aitest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// A DifyRequest is one Dify chat-messages request as the server decoded
// it ([Server.DifyRequests]). Requests it could not decode keep only Time,
// Header, Body and Status.
type DifyRequest struct {
	// Time is when the request arrived (time.Now).
	Time time.Time
	// Header holds the request headers.
	Header http.Header
	// Body is the raw request body.
	Body []byte
	// Status is the HTTP status answered (0: cancelled before an answer).
	Status int

	// Query is `query`.
	Query string
	// Inputs is `inputs` as raw JSON.
	Inputs json.RawMessage
	// ResponseMode is `response_mode`: "blocking" (also when absent) or
	// "streaming".
	ResponseMode string
	// User is `user`.
	User string
	// ConversationID is the `conversation_id` sent ("" when absent).
	ConversationID string
	// Files is `files` as raw JSON (nil when absent).
	Files json.RawMessage
	// Conversation is the conversation the answer belongs to: the one sent,
	// or the one the server created.
	Conversation string
}

// WithDifyAgent makes the fake Dify app an Agent app: streamed answers use
// "agent_message" events instead of "message", and blocking requests are
// refused with a 400, as Dify refuses them for Agent apps.
func WithDifyAgent() Option { return func(s *Server) { s.dify.agent = true } }

type difyState struct {
	agent    bool
	convs    map[string]string // conversation id → user that created it
	requests []*DifyRequest
}

func (d *difyState) init() { d.convs = make(map[string]string) }

// DifyRequests returns every Dify chat-messages request recorded so far, in
// arrival order. The slice is a copy; its requests must not be modified.
func (s *Server) DifyRequests() []*DifyRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.dify.requests)
}

// DifyConversations returns the ids of the Dify conversations the server
// knows, sorted.
func (s *Server) DifyConversations() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, 0, len(s.dify.convs))
	for id := range s.dify.convs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// ForgetDifyConversation deletes a Dify conversation, as deleting it in
// Dify (or switching the app) does: a later request naming it gets 404
// "Conversation Not Exists.".
func (s *Server) ForgetDifyConversation(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.dify.convs, id)
}

type difyError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Status  int    `json:"status"`
}

func writeDifyError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, difyError{Code: code, Message: msg, Status: status})
}

func difyFromAPI(e *APIError) (int, string, string) {
	code := e.Code
	if code == "" {
		code = e.Type
	}
	return e.status(), code, e.Message
}

// writeDifyAPIError answers e in Dify's error shape, with e's Retry-After
// headers.
func writeDifyAPIError(w http.ResponseWriter, e *APIError) {
	setRetryAfter(w.Header(), e.RetryAfter)
	st, code, msg := difyFromAPI(e)
	writeDifyError(w, st, code, msg)
}

// serveDify serves POST /v1/chat-messages, Dify's chat API.
func (s *Server) serveDify(w http.ResponseWriter, r *http.Request) {
	dr := &DifyRequest{Time: time.Now(), Header: r.Header.Clone()}
	rec := &statusWriter{ResponseWriter: w, onStatus: func(code int) {
		dr.Status = code
		s.mu.Lock()
		s.dify.requests = append(s.dify.requests, dr)
		s.mu.Unlock()
	}}
	defer rec.finish()
	if s.apiKey != "" {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || got != s.apiKey {
			writeDifyError(rec, http.StatusUnauthorized, "unauthorized", "Access token is invalid")
			return
		}
	}
	body, ok := s.readBody(rec, r)
	if !ok {
		return
	}
	dr.Body = body
	var in struct {
		Query          *string         `json:"query"`
		Inputs         json.RawMessage `json:"inputs"`
		ResponseMode   *string         `json:"response_mode"`
		User           *string         `json:"user"`
		ConversationID *string         `json:"conversation_id"`
		Files          json.RawMessage `json:"files"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		writeDifyError(rec, http.StatusBadRequest, "invalid_param", "The request body is not a valid JSON object: "+err.Error())
		return
	}
	switch {
	case in.Query == nil:
		writeDifyError(rec, http.StatusBadRequest, "invalid_param", "query is required")
		return
	case in.User == nil || *in.User == "":
		writeDifyError(rec, http.StatusBadRequest, "invalid_param", "user is required")
		return
	case in.Inputs == nil || isNull(in.Inputs) || in.Inputs[0] != '{':
		writeDifyError(rec, http.StatusBadRequest, "invalid_param", "inputs is required and must be an object ({} when the app has no variables)")
		return
	}
	dr.Query, dr.Inputs, dr.User, dr.ResponseMode = *in.Query, in.Inputs, *in.User, "blocking"
	if in.Files != nil && !isNull(in.Files) {
		dr.Files = in.Files
	}
	if in.ResponseMode != nil {
		dr.ResponseMode = *in.ResponseMode
	}
	if dr.ResponseMode != "blocking" && dr.ResponseMode != "streaming" {
		writeDifyError(rec, http.StatusBadRequest, "invalid_param", "response_mode must be 'blocking' or 'streaming'")
		return
	}
	s.mu.Lock()
	agent := s.dify.agent
	s.mu.Unlock()
	if agent && dr.ResponseMode == "blocking" {
		writeDifyError(rec, http.StatusBadRequest, "app_unavailable", "Agent Chat App does not support blocking mode")
		return
	}
	if in.ConversationID != nil {
		dr.ConversationID = *in.ConversationID
		if dr.ConversationID == "" {
			writeDifyError(rec, http.StatusBadRequest, "invalid_param", "conversation_id Input should be a valid UUID; omit the field to start a conversation")
			return
		}
	}

	s.mu.Lock()
	var fault *APIError
	if len(s.faults) > 0 {
		f := s.faults[0]
		s.faults = s.faults[1:]
		fault = &f
	}
	latency, chunkDelay := s.latency, s.chunkDelay
	s.mu.Unlock()
	if fault != nil {
		if s.wait(r.Context(), latency) {
			writeDifyAPIError(rec, fault)
		}
		return
	}
	s.mu.Lock()
	if dr.ConversationID != "" {
		if owner, ok := s.dify.convs[dr.ConversationID]; !ok || owner != dr.User {
			s.mu.Unlock()
			writeDifyError(rec, http.StatusNotFound, "not_found", "Conversation Not Exists.")
			return
		}
		dr.Conversation = dr.ConversationID
	}
	s.seq++
	seq := s.seq
	s.mu.Unlock()

	rep := s.nextReply(&Request{Time: dr.Time, Path: r.URL.Path, Header: dr.Header, Body: body, Model: "dify",
		Messages: []Message{{Role: "user", Content: dr.Query}}, Stream: dr.ResponseMode == "streaming",
		User: dr.User, Conversation: dr.User})
	if rep.Latency > 0 {
		latency = rep.Latency
	}
	if rep.ChunkDelay > 0 {
		chunkDelay = rep.ChunkDelay
	}
	streamed := dr.ResponseMode == "streaming" && rep.Err == nil && rep.StreamErr == nil
	if !streamed && !s.wait(r.Context(), latency) {
		return
	}
	if e := rep.Err; e != nil || (rep.StreamErr != nil && dr.ResponseMode == "blocking") {
		if e == nil {
			e = rep.StreamErr
		}
		writeDifyAPIError(rec, e)
		return
	}
	if dr.Conversation == "" {
		dr.Conversation = fmt.Sprintf("00000000-0000-4000-8000-%012d", seq)
		s.mu.Lock()
		s.dify.convs[dr.Conversation] = dr.User
		s.mu.Unlock()
	}
	chunks := rep.Chunks
	if chunks == nil {
		chunks = runes(rep.Text)
	}
	text := strings.Join(chunks, "")
	usage := Usage{PromptTokens: max(int64(len(dr.Query)+3)/4, 1), CompletionTokens: int64(len(text)+3) / 4}
	if rep.Usage != nil {
		usage = *rep.Usage
	}
	ids := difyIDs{TaskID: fmt.Sprintf("task-%d", seq), ID: fmt.Sprintf("msg-%d", seq), ConversationID: dr.Conversation}
	ids.MessageID = ids.ID
	meta := map[string]any{"usage": map[string]any{"prompt_tokens": usage.PromptTokens, "completion_tokens": usage.CompletionTokens,
		"total_tokens": usage.PromptTokens + usage.CompletionTokens, "latency": 0.0}}
	created := dr.Time.Unix()
	if dr.ResponseMode == "blocking" {
		writeJSON(rec, http.StatusOK, struct {
			Event string `json:"event"`
			difyIDs
			Mode      string         `json:"mode"`
			Answer    string         `json:"answer"`
			Metadata  map[string]any `json:"metadata"`
			CreatedAt int64          `json:"created_at"`
		}{"message", ids, "chat", text, meta, created})
		return
	}

	rec.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	rec.WriteHeader(http.StatusOK)
	rec.Flush()
	first := true
	send := func(v any) bool {
		d := chunkDelay
		if first {
			d = latency
		}
		if !s.wait(r.Context(), d) {
			return false
		}
		first = false
		b, _ := json.Marshal(v)
		if _, err := fmt.Fprintf(rec, "data: %s\n\n", b); err != nil {
			return false
		}
		rec.Flush()
		return true
	}
	event := "message"
	if agent {
		event = "agent_message"
	}
	for _, p := range chunks {
		if p == "" {
			continue
		}
		if !send(struct {
			Event string `json:"event"`
			difyIDs
			Answer    string `json:"answer"`
			CreatedAt int64  `json:"created_at"`
		}{event, ids, p, created}) {
			return
		}
	}
	if e := rep.StreamErr; e != nil {
		st, code, msg := difyFromAPI(e)
		send(struct {
			Event string `json:"event"`
			difyIDs
			Status  int    `json:"status"`
			Code    string `json:"code"`
			Message string `json:"message"`
		}{"error", ids, st, code, msg})
		return
	}
	send(struct {
		Event string `json:"event"`
		difyIDs
		Metadata map[string]any `json:"metadata"`
	}{"message_end", ids, meta})
}

type difyIDs struct {
	TaskID         string `json:"task_id"`
	ID             string `json:"id"`
	MessageID      string `json:"message_id"`
	ConversationID string `json:"conversation_id"`
}
