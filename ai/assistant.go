package ai

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"text/template"
	"time"

	"github.com/kfbot/kfbot/bot"
	"github.com/kfbot/kfbot/kf"
	"github.com/kfbot/kfbot/kf/syncmsg"
	"github.com/kfbot/kfbot/storage"
)

// Assistant answers customers with a model: exactly once, inside WeCom's limits, handing
// off when it should. Its [Assistant.Handle] is a bot.HandlerFunc; rules reach it through
// their ai action. It defers each message to its conversation's lane (bot's
// Context.Defer), so a slow model never holds other conversations.
//
// Exactly once: the answer is stored in the message's memo (bot's Context.Remember)
// before each part of it is sent — part by part when streamed — and a replay after a
// crash or a failure sends what was stored instead of asking the model again; an answer
// cut off by a crash is not continued by another one.
type Assistant struct {
	backend  Backend
	base     Settings
	accounts map[string]Settings
	forced   *Settings // WithOverrides
	funcs    []Function
	sem      chan struct{}
	obs      Observer
	tr       Transcriber
	now      func() time.Time

	mu      sync.Mutex
	prompts map[string]*template.Template
}

// Function is a tool the model may call, written in Go. Run's result (often JSON) is
// what the model reads; an error is shown to it as the tool's failure. A replay after
// a crash may call it again: make it idempotent.
type Function struct {
	Name, Description string
	// Parameters is the JSON schema of the arguments (an object).
	Parameters map[string]any
	Run        func(c *bot.Context, args json.RawMessage) (string, error)
}

// Transcriber turns a customer's voice message into text.
type Transcriber interface {
	// Transcribe returns the text of audio, in format "amr" (WeCom's default
	// voice_format; syncmsg does not decode the field yet).
	Transcribe(ctx context.Context, audio []byte, format string) (string, error)
}

// Observer is told about answers, tool calls and hand-offs (the binary turns them into
// Prometheus metrics). Its methods must be safe for concurrent use and not block.
type Observer interface {
	// Answered reports an answer: its model, tokens, time (the model's, tool calls
	// included) and outcome: "ok", "timeout", "error", "replayed" or "refused".
	Answered(model string, usage Usage, d time.Duration, outcome string)
	// ToolCalled reports a tool call and its outcome: "ok" or "error".
	ToolCalled(name, outcome string)
	// HandedOff reports a hand-off to a person and why: "tool" or "failure".
	HandedOff(reason string)
}

// NopObserver observes nothing.
type NopObserver struct{}

// Answered implements [Observer].
func (NopObserver) Answered(string, Usage, time.Duration, string) {}

// ToolCalled implements [Observer].
func (NopObserver) ToolCalled(string, string) {}

// HandedOff implements [Observer].
func (NopObserver) HandedOff(string) {}

// Option configures [New].
type Option func(*Assistant) error

// WithAccount overrides settings for one KF account (open_kfid): a different model,
// prompt, … ([Settings.Merge]).
func WithAccount(openKFID string, s Settings) Option {
	return func(a *Assistant) error {
		if openKFID == "" {
			return errors.New("ai: WithAccount: empty open_kfid")
		}
		a.accounts[openKFID] = s
		return nil
	}
}

// WithOverrides sets settings that win over the others (the defaults, the accounts', a
// rule's): how the binary's KFBOT_AI_* environment overrides the rule file.
func WithOverrides(s Settings) Option {
	return func(a *Assistant) error { a.forced = &s; return nil }
}

// WithFunction offers the model a Go tool.
func WithFunction(f Function) Option {
	return func(a *Assistant) error {
		switch {
		case !validVar(f.Name):
			return fmt.Errorf("ai: WithFunction: name %q: want letters, digits and _", f.Name)
		case f.Run == nil:
			return fmt.Errorf("ai: WithFunction %s: nil Run", f.Name)
		case builtinTool(f.Name):
			return fmt.Errorf("ai: WithFunction %s: the name of a built-in tool", f.Name)
		}
		for _, g := range a.funcs {
			if g.Name == f.Name {
				return fmt.Errorf("ai: WithFunction %s: offered twice", f.Name)
			}
		}
		a.funcs = append(a.funcs, f)
		return nil
	}
}

// WithConcurrency bounds the model calls in flight at once (default 16), apart from the
// bot's handler concurrency: answers beyond it wait, inside their timeout.
func WithConcurrency(n int) Option {
	return func(a *Assistant) error {
		if n < 1 {
			return fmt.Errorf("ai: WithConcurrency(%d): want at least 1", n)
		}
		a.sem = make(chan struct{}, n)
		return nil
	}
}

// WithObserver sets the observer of answers (default [NopObserver]).
func WithObserver(o Observer) Option {
	return func(a *Assistant) error {
		if o == nil {
			o = NopObserver{}
		}
		a.obs = o
		return nil
	}
}

// WithTranscriber lets the assistant answer voice messages.
func WithTranscriber(t Transcriber) Option {
	return func(a *Assistant) error { a.tr = t; return nil }
}

// New returns an assistant answering with backend and settings s. It checks s and every
// account's settings, reporting all problems at once.
func New(backend Backend, s Settings, opts ...Option) (*Assistant, error) {
	if backend == nil {
		return nil, errors.New("ai: New: nil backend")
	}
	a := &Assistant{backend: backend, base: s, accounts: make(map[string]Settings), sem: make(chan struct{}, 16),
		obs: NopObserver{}, now: time.Now, prompts: make(map[string]*template.Template)}
	var errs []error
	for _, o := range opts {
		if err := o(a); err != nil {
			errs = append(errs, err)
		}
	}
	if err := s.Validate(); err != nil {
		errs = append(errs, err)
	}
	for id, o := range a.accounts {
		if err := s.Merge(o).Validate(); err != nil {
			errs = append(errs, fmt.Errorf("account %s: %w", id, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return a, nil
}

// Settings returns the settings for KF account openKFID with over (may be nil) applied.
func (a *Assistant) Settings(openKFID string, over *Settings) Settings {
	s := a.base
	if o, ok := a.accounts[openKFID]; ok {
		s = s.Merge(o)
	}
	if over != nil {
		s = s.Merge(*over)
	}
	if a.forced != nil {
		s = s.Merge(*a.forced)
	}
	return s.withDefaults()
}

// Handle answers c's message with the model: a bot.HandlerFunc.
func (a *Assistant) Handle(c *bot.Context) error { return a.Answer(c, nil) }

// Memo and session variable names the assistant uses.
const (
	memoName        = "ai"
	varContextFrom  = "ai_context_from" // Unix seconds: the history starts after it (a clear)
	varConversation = "ai_conversation" // Dify's conversation id
)

// Answer answers c's message (and the customer messages merged with it) with the model,
// with over (may be nil) overriding the settings. Messages that are not a customer's,
// or that a person's conversation gets, are left alone.
func (a *Assistant) Answer(c *bot.Context, over *Settings) error {
	h := c.Header()
	if h.Origin != syncmsg.OriginCustomer || h.MsgType == syncmsg.TypeEvent || c.HumanOwned() || c.Session() == nil {
		return nil
	}
	s := a.Settings(h.OpenKFID, over)
	if c.Defer(max(s.MergeWindow, 0)) {
		return nil
	}
	rec, found, err := loadRecord(c)
	if err != nil {
		return err
	}
	x := &answer{a: a, c: c, s: s, rec: rec}
	if found {
		return x.replay()
	}
	burst := c.Burst()
	if last, ok := burst[len(burst)-1].(*syncmsg.Text); ok && matchesWord(last.Content, s.ClearWords) {
		a.forget(c)
		return x.reply(s.ClearedText)
	}
	user, fixed := a.question(c, s, burst)
	if fixed != "" {
		return x.reply(fixed)
	}
	req, err := a.request(c, s, user)
	if err != nil {
		return err
	}
	return x.ask(req)
}

// forget clears the model's context of c's conversation: the history it is sent starts
// now, and Dify starts a new conversation.
func (a *Assistant) forget(c *bot.Context) {
	s := c.Session()
	if s.Vars == nil {
		s.Vars = make(map[string]any)
	}
	s.Vars[varContextFrom] = a.now().Unix()
	delete(s.Vars, varConversation)
}

func matchesWord(text string, words []string) bool {
	text = strings.TrimSpace(text)
	for _, w := range words {
		if strings.EqualFold(text, w) {
			return true
		}
	}
	return false
}

// question turns the burst into the user turn the model gets. When the model cannot
// take what the customer sent (an image to a text model, a voice message without a
// transcriber), fixed is the text to answer instead.
func (a *Assistant) question(c *bot.Context, s Settings, burst []syncmsg.Message) (user Message, fixed string) {
	user.Role = RoleUser
	var texts []string
	var unreadable string
	for _, m := range burst {
		switch m := m.(type) {
		case *syncmsg.Text:
			texts = append(texts, m.Content)
		case *syncmsg.Image:
			if !s.Images {
				unreadable = s.ImageText
				continue
			}
			img, err := a.download(c, m.MediaID, s.MaxImageBytes)
			if err != nil {
				c.Logger().Warn("ai: the customer's image could not be read; asking without it", slog.Any("error", err))
				unreadable = s.ImageText
				continue
			}
			user.Images = append(user.Images, img)
		case *syncmsg.Voice:
			if a.tr == nil {
				unreadable = s.VoiceText
				continue
			}
			audio, err := a.download(c, m.MediaID, 2<<20)
			var text string
			if err == nil {
				text, err = a.tr.Transcribe(c.Context(), audio.Data, "amr") // WeCom's default voice_format
			}
			if err != nil {
				c.Logger().Warn("ai: the customer's voice message could not be transcribed", slog.Any("error", err))
				unreadable = s.VoiceText
				continue
			}
			texts = append(texts, text)
		case *syncmsg.Location:
			texts = append(texts, strings.TrimSpace(fmt.Sprintf("[location] %s %s", m.Name, m.Address)))
		default:
			texts = append(texts, "["+string(m.Head().MsgType)+"]")
		}
	}
	if len(texts) == 0 && len(user.Images) == 0 {
		return user, unreadable
	}
	user.Text = strings.Join(texts, "\n")
	return user, ""
}

// download reads a customer's medium into memory, at most maxBytes.
func (a *Assistant) download(c *bot.Context, mediaID string, maxBytes int64) (Image, error) {
	m, err := c.Client().GetMedia(c.Context(), kf.GetMediaRequest{MediaID: mediaID, MaxBytes: maxBytes})
	if err != nil {
		return Image{}, err
	}
	defer m.Close()
	data, err := io.ReadAll(m)
	if err != nil {
		return Image{}, err
	}
	return Image{MIME: http.DetectContentType(data), Data: data}, nil
}

// request builds the model request: the system prompt, the history and the question.
func (a *Assistant) request(c *bot.Context, s Settings, user Message) (*Request, error) {
	sess := c.Session()
	system, err := a.prompt(s.System, PromptData{Now: a.now(), OpenKFID: c.OpenKFID(), ExternalUserID: c.ExternalUserID(),
		Customer: sess.Customer, Vars: sess.Vars})
	if err != nil {
		return nil, err
	}
	req := &Request{Model: s.Model, System: system, Temperature: s.Temperature, MaxTokens: s.MaxTokens,
		User: "kf:" + c.OpenKFID() + ":" + c.ExternalUserID(), Tools: a.tools(s)}
	if id, ok := sess.Vars[varConversation].(string); ok {
		req.Conversation = id
	}
	req.Messages = append(a.history(c, s), user)
	return req, nil
}

// prompt renders the system prompt template text.
func (a *Assistant) prompt(text string, data PromptData) (string, error) {
	if text == "" {
		return "", nil
	}
	a.mu.Lock()
	t, ok := a.prompts[text]
	if !ok {
		var err error
		if t, err = parsePrompt(text); err != nil { // checked by New: cannot happen
			a.mu.Unlock()
			return "", err
		}
		a.prompts[text] = t
	}
	a.mu.Unlock()
	var b strings.Builder
	if err := t.Execute(&b, data); err != nil {
		return "", fmt.Errorf("ai: render the system prompt: %w", err)
	}
	return b.String(), nil
}

// history is the conversation's recent turns from the transcript, newest kept within
// the settings' budget, oldest first; it starts after the last clear and the last change
// of hands (a person's conversation is not the model's context).
func (a *Assistant) history(c *bot.Context, s Settings) []Message {
	turns, err := c.Transcript(4 * s.ContextTurns)
	if err != nil {
		if !errors.Is(err, bot.ErrNoTranscripts) {
			c.Logger().Warn("ai: the transcript could not be read; asking without the history", slog.Any("error", err))
		}
		return nil
	}
	from := int64(0)
	if v, ok := c.Session().Vars[varContextFrom].(float64); ok {
		from = int64(v)
	} else if v, ok := c.Session().Vars[varContextFrom].(int64); ok {
		from = v
	}
	burst := make(map[string]bool)
	for _, m := range c.Burst() {
		burst[m.Head().MsgID] = true
	}
	var out []Message
	size := 0
	for i := len(turns) - 1; i >= 0 && len(out) < s.ContextTurns; i-- {
		t := turns[i]
		if t.Kind == storage.TurnOwnership || t.Time.Unix() < from {
			break
		}
		var role Role
		switch {
		case t.Kind == storage.TurnCustomer && !burst[t.MsgID]:
			role = RoleUser
		case t.Kind == storage.TurnBot:
			role = RoleAssistant
		default:
			continue
		}
		if size += len(t.Text); size > s.ContextBytes {
			break
		}
		out = append(out, Message{Role: role, Text: t.Text})
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}
