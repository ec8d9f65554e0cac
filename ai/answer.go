package ai

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/kfbot/kfbot/bot"
	"github.com/kfbot/kfbot/kf"
)

// record is what the memo keeps of an answer, written before each of its messages is
// sent: the messages are, in order, the notice (when sent), the parts, and the fallback
// (when the model failed before any part).
type record struct {
	Notice       bool           `json:"notice,omitempty"`
	Parts        []string       `json:"parts,omitempty"`
	Done         bool           `json:"done,omitempty"`   // Parts are the whole answer
	Failed       bool           `json:"failed,omitempty"` // the model failed: the fallback, maybe a hand-off
	Handoff      string         `json:"handoff,omitempty"`
	End          bool           `json:"end,omitempty"`
	Vars         map[string]any `json:"vars,omitempty"`
	Conversation string         `json:"conversation,omitempty"` // Dify's, for the session
}

// Hand-off targets in a record other than a servicer's userid.
const handoffPool = "\x00pool"

func loadRecord(c *bot.Context) (*record, bool, error) {
	data, ok, err := c.Memo(memoName)
	if err != nil && !errors.Is(err, bot.ErrNoMemo) {
		return nil, false, err
	}
	rec := &record{}
	if !ok {
		return rec, false, nil
	}
	if err := json.Unmarshal(data, rec); err != nil {
		// Not ours to repair: answer from scratch rather than fail forever.
		c.Logger().Warn("ai: the stored answer does not decode; asking the model again", slog.Any("error", err))
		return &record{}, false, nil
	}
	return rec, true, nil
}

// answer is one answer being given.
type answer struct {
	a     *Assistant
	c     *bot.Context
	s     Settings
	rec   *record
	sent  int // messages of rec sent (or found sent) in this attempt
	start time.Time
	usage Usage
	model string
	calls int // tool calls
}

// save writes the record to the memo before a message of it is sent.
func (x *answer) save() error {
	data, err := json.Marshal(x.rec)
	if err != nil {
		return fmt.Errorf("ai: encode the answer: %w", err)
	}
	if err := x.c.Remember(memoName, data); err != nil && !errors.Is(err, bot.ErrNoMemo) {
		return err
	}
	return nil
}

// messages are the record's messages in the order they go out.
func (x *answer) messages() []string {
	var out []string
	if x.rec.Notice {
		out = append(out, x.s.Notice)
	}
	out = append(out, x.rec.Parts...)
	if x.rec.Failed && len(x.rec.Parts) == 0 && x.s.Fallback != "-" {
		out = append(out, x.s.Fallback)
	}
	return out
}

// flush sends the record's messages not sent yet. A refusal (the allowance is used up,
// a person took the conversation) stops it quietly: reported is true then.
func (x *answer) flush() (refused bool, err error) {
	msgs := x.messages()
	for ; x.sent < len(msgs); x.sent++ {
		if err := x.c.ReplyText(msgs[x.sent]); err != nil {
			var r *bot.RefusalError
			if errors.As(err, &r) {
				x.c.Logger().Info("ai: the rest of the answer was not sent", slog.String("reason", string(r.Reason)))
				x.sent = len(msgs)
				return true, nil
			}
			return false, err
		}
	}
	return false, nil
}

// reply sends a fixed text (no model, nothing to remember: it is the same on a replay).
func (x *answer) reply(text string) error {
	err := x.c.ReplyText(text)
	var r *bot.RefusalError
	if errors.As(err, &r) {
		return nil
	}
	return err
}

// replay finishes an answer a crash or failure cut off, from the record: what was sent
// before is not sent twice (the engine knows its msgids), and an answer the crash cut
// mid-stream is not continued by another one.
func (x *answer) replay() error {
	if !x.rec.Done {
		if len(x.rec.Parts) == 0 {
			x.rec.Failed = true // only the notice went out: the fallback follows
		}
		x.rec.Done = true
		if err := x.save(); err != nil {
			return err
		}
	}
	x.a.obs.Answered(x.s.Model, Usage{}, 0, "replayed")
	return x.finish()
}

// finish sends what remains of a done record and carries out its decisions.
func (x *answer) finish() error {
	if _, err := x.flush(); err != nil {
		return err
	}
	sess := x.c.Session()
	if len(x.rec.Vars) > 0 || x.rec.Conversation != "" {
		if sess.Vars == nil {
			sess.Vars = make(map[string]any)
		}
		for k, v := range x.rec.Vars {
			sess.Vars[k] = v
		}
		if x.rec.Conversation != "" {
			sess.Vars[varConversation] = x.rec.Conversation
		}
	}
	switch {
	case x.rec.Handoff != "":
		return x.handoff()
	case x.rec.End:
		x.a.forget(x.c)
		_, err := x.c.EndSession()
		return ignoreRefusal(err)
	}
	return nil
}

// handoff gives the conversation to a person, with the notice when one is set.
func (x *answer) handoff() error {
	var code string
	var err error
	if x.rec.Handoff == handoffPool {
		code, err = x.c.TransferToPool()
	} else {
		code, err = x.c.TransferTo(x.rec.Handoff)
	}
	if err != nil {
		var api *kf.APIError
		if errors.As(err, &api) && !api.Retryable() {
			// Already with a person (a replay), or refused: nothing to do again.
			x.c.Logger().Warn("ai: hand-off refused", slog.Any("error", err))
			return nil
		}
		return ignoreRefusal(err)
	}
	if x.s.HandoffNotice != "" && code != "" {
		return ignoreRefusal(x.c.SendOnEvent(code, "ho", kf.Text{Content: x.s.HandoffNotice}))
	}
	return nil
}

func ignoreRefusal(err error) error {
	var r *bot.RefusalError
	if errors.As(err, &r) {
		return nil
	}
	return err
}

// budget is how many parts the answer may have: the settings' bound, within what the
// conversation's allowance leaves.
func (x *answer) budget() int {
	left := x.c.Session().RepliesLeft
	return max(min(x.s.MaxParts, left), 0)
}

// ask asks the model (tool rounds included) and sends its answer as it comes.
func (x *answer) ask(req *Request) error {
	x.start = x.a.now()
	ctx, cancel := context.WithTimeout(x.c.Context(), x.s.Timeout)
	defer cancel()
	budget := x.budget()
	if budget == 0 {
		x.c.Logger().Info("ai: no message left in the allowance; not asking the model")
		x.a.obs.Answered(x.s.Model, Usage{}, 0, "refused")
		return nil
	}
	seg := NewSegmenter(bot.MaxTextBytes, budget, minPartBytes)
	var notice <-chan time.Time
	if x.s.NoticeAfter > 0 && x.s.Notice != "" && budget > 1 {
		t := time.NewTimer(x.s.NoticeAfter)
		defer t.Stop()
		notice = t.C
	}
	for {
		resp, err := x.complete(ctx, req, seg, &notice)
		if err != nil {
			return x.failed(ctx, err)
		}
		if len(resp.ToolCalls) == 0 {
			break
		}
		req.Messages = append(req.Messages, Message{Role: RoleAssistant, Text: resp.Text, ToolCalls: resp.ToolCalls, Reasoning: resp.Reasoning})
		for _, tc := range resp.ToolCalls {
			req.Messages = append(req.Messages, Message{Role: RoleTool, ToolCallID: tc.ID, Text: x.tool(tc)})
		}
		if x.calls >= x.s.MaxToolCalls {
			req.Tools = nil // answer now
		}
	}
	rest, truncated := seg.Close()
	if truncated {
		x.c.Logger().Info("ai: the answer was cut to fit WeCom's limits", slog.Int("parts", budget))
	}
	x.rec.Parts = append(x.rec.Parts, rest...)
	x.rec.Done = true
	if err := x.save(); err != nil {
		return err
	}
	x.report("ok")
	return x.finish()
}

// minPartBytes is the least a streamed part holds before a paragraph ends it.
const minPartBytes = 300

// complete runs one model call, feeding the streamed text to seg and sending the parts
// it completes (and the notice, when it is due) while the model goes on.
func (x *answer) complete(ctx context.Context, req *Request, seg *Segmenter, notice *<-chan time.Time) (*Response, error) {
	select {
	case x.a.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	type result struct {
		resp *Response
		err  error
	}
	deltas := make(chan string, 64)
	done := make(chan result, 1)
	var onText func(string)
	if !x.s.NoStream {
		onText = func(s string) {
			select {
			case deltas <- s:
			case <-ctx.Done():
			}
		}
	}
	go func() {
		defer func() { <-x.a.sem }()
		resp, err := x.a.backend.Complete(ctx, req, onText)
		done <- result{resp, err}
	}()
	var sendErr error
	write := func(delta string) {
		if parts := seg.Write(delta); len(parts) > 0 && sendErr == nil {
			x.rec.Parts = append(x.rec.Parts, parts...)
			if sendErr = x.save(); sendErr == nil {
				_, sendErr = x.flush()
			}
		}
	}
	for {
		select {
		case d := <-deltas:
			write(d)
		case <-*notice:
			*notice = nil
			if x.sent == 0 && len(x.rec.Parts) == 0 && sendErr == nil {
				x.rec.Notice = true
				if sendErr = x.save(); sendErr == nil {
					_, sendErr = x.flush()
				}
			}
		case r := <-done:
			for len(deltas) > 0 {
				write(<-deltas)
			}
			if r.err == nil && r.resp == nil {
				r.err = errors.New("ai: the backend returned no answer")
			}
			if r.err == nil {
				x.usage.InputTokens += r.resp.Usage.InputTokens
				x.usage.OutputTokens += r.resp.Usage.OutputTokens
				x.model = r.resp.Model
				if r.resp.Conversation != "" {
					x.rec.Conversation = r.resp.Conversation
				}
				if onText == nil {
					write(r.resp.Text)
				}
			}
			if sendErr != nil {
				return nil, sendErr
			}
			return r.resp, r.err
		}
	}
}

// failed handles a model that failed or timed out: what was sent stays; if nothing
// was, the fallback goes out (and a hand-off, when the settings say so).
func (x *answer) failed(ctx context.Context, err error) error {
	outcome := "error"
	if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil && x.c.Context().Err() == nil {
		outcome = "timeout"
	}
	if x.c.Context().Err() != nil {
		return err // shutdown: the lane hands it over to the next run
	}
	x.c.Logger().Warn("ai: the model failed", slog.String("outcome", outcome), slog.Any("error", err))
	x.rec.Done = true
	if len(x.rec.Parts) == 0 {
		x.rec.Failed = true
		if x.s.HandoffOnFailure && !x.s.NoHandoff {
			x.rec.Handoff = x.handoffTarget()
			x.a.obs.HandedOff("failure")
		}
	}
	if serr := x.save(); serr != nil {
		return serr
	}
	x.report(outcome)
	return x.finish()
}

// report logs the answer and tells the observer.
func (x *answer) report(outcome string) {
	model := x.model
	if model == "" {
		model = x.s.Model
	}
	d := x.a.now().Sub(x.start)
	x.a.obs.Answered(model, x.usage, d, outcome)
	x.c.Logger().Info("ai: answered", slog.String("model", model), slog.String("outcome", outcome),
		slog.Int("tokens_in", x.usage.InputTokens), slog.Int("tokens_out", x.usage.OutputTokens),
		slog.Int64("ms", d.Milliseconds()), slog.Int("parts", len(x.rec.Parts)), slog.Int("tool_calls", x.calls))
}

func (x *answer) handoffTarget() string {
	if x.s.HandoffServicer != "" {
		return x.s.HandoffServicer
	}
	return handoffPool
}
