package ai

import (
	"context"
	"sync"
	"time"
	"unicode/utf8"
)

// Scripted is a [Backend] that answers from a script, without a network: for tests,
// conversation tests of rule files and `kfbot simulate` without a model. Each call takes
// the next [Step]; when none is left it answers with the default (an echo of the
// question, unless [Scripted.SetDefault] says otherwise). Streamed answers arrive in
// pieces of about 16 bytes. It is safe for concurrent use.
type Scripted struct {
	mu       sync.Mutex
	steps    []Step
	def      func(*Request) Step
	requests []*Request
}

// Step is one scripted model call.
type Step struct {
	// Response is the answer (its Text is streamed when asked to stream).
	Response Response
	// Err, when not nil, is returned instead.
	Err error
	// Delay is how long the model takes before answering (the context may end it).
	Delay time.Duration
}

// Say is a step answering text.
func Say(text string) Step { return Step{Response: Response{Text: text, FinishReason: "stop"}} }

// Call is a step calling one tool with JSON arguments.
func Call(name, args string) Step {
	return Step{Response: Response{FinishReason: "tool_calls", ToolCalls: []ToolCall{{ID: "call_" + name, Name: name, Arguments: args}}}}
}

// NewScripted returns a backend that takes steps in order.
func NewScripted(steps ...Step) *Scripted { return &Scripted{steps: steps} }

// Add appends steps to the script.
func (s *Scripted) Add(steps ...Step) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.steps = append(s.steps, steps...)
}

// SetDefault sets the answer when the script is used up.
func (s *Scripted) SetDefault(f func(*Request) Step) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.def = f
}

// Requests returns the requests received, oldest first.
func (s *Scripted) Requests() []*Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Request(nil), s.requests...)
}

// Complete implements [Backend].
func (s *Scripted) Complete(ctx context.Context, req *Request, onText func(string)) (*Response, error) {
	s.mu.Lock()
	cp := *req
	cp.Messages = append([]Message(nil), req.Messages...)
	s.requests = append(s.requests, &cp)
	var st Step
	switch {
	case len(s.steps) > 0:
		st, s.steps = s.steps[0], s.steps[1:]
	case s.def != nil:
		st = s.def(req)
	default:
		st = Say(echo(req))
	}
	s.mu.Unlock()
	if st.Delay > 0 {
		t := time.NewTimer(st.Delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		}
	}
	if st.Err != nil {
		return nil, st.Err
	}
	resp := st.Response
	if resp.Model == "" {
		resp.Model = req.Model
	}
	if resp.Usage == (Usage{}) {
		resp.Usage = Usage{InputTokens: len(req.Messages), OutputTokens: len(resp.Text)/4 + 1}
	}
	if onText != nil {
		for t := resp.Text; t != ""; {
			n := min(16, len(t))
			for n < len(t) && !utf8.RuneStart(t[n]) {
				n++
			}
			onText(t[:n])
			t = t[n:]
		}
	}
	return &resp, nil
}

// echo is the default answer: the last user message's text.
func echo(req *Request) string {
	for i := len(req.Messages) - 1; i >= 0; i-- {
		if m := req.Messages[i]; m.Role == RoleUser {
			return m.Text
		}
	}
	return ""
}
