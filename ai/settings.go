package ai

import (
	"errors"
	"fmt"
	"strings"
	"text/template"
	"time"

	"github.com/kfbot/kfbot/storage"
)

// Settings say how a model answers customers. The zero value of a field means its
// default; [Settings.Merge] lets per-account and per-rule overrides replace only the
// fields they set.
type Settings struct {
	// Model is the model id; "" is the backend's default.
	Model string
	// Temperature, when not nil, is sent to the model.
	Temperature *float64
	// MaxTokens bounds the model's output tokens (0: the backend's default).
	MaxTokens int
	// System is the system prompt, a text/template over [PromptData]
	// (e.g. "You serve {{.Customer.Nickname}}. It is {{.Now.Format \"15:04\"}}.").
	System string

	// MaxParts bounds the messages of one answer (default 3, so that a hand-off
	// notice still fits WeCom's 5 messages per customer message); the answer never uses
	// more than the conversation's allowance either.
	MaxParts int
	// MergeWindow: customer messages that follow one another within it get one answer
	// (default 2 s; negative: off).
	MergeWindow time.Duration
	// Timeout bounds an answer, retries and tool calls included (default 30 s).
	Timeout time.Duration
	// Fallback is sent when the model fails or times out before any of its answer was
	// sent (default: a short apology; "-" sends nothing).
	Fallback string
	// HandoffOnFailure hands the conversation to the pool when the model fails, after
	// the fallback.
	HandoffOnFailure bool
	// Notice, sent when NoticeAfter passes with nothing sent yet ("one moment…"). Off by
	// default: it costs one of the 5 messages.
	Notice      string
	NoticeAfter time.Duration
	// NoStream asks the model for its whole answer at once. By default the answer is
	// streamed and its first part sent as soon as it is complete.
	NoStream bool

	// ContextTurns and ContextBytes bound the conversation history sent with each
	// question (defaults 20 turns, 8,000 bytes); it comes from the transcript (bot's
	// WithTranscripts), so without transcripts the model sees only the question.
	ContextTurns int
	ContextBytes int
	// ClearWords are the customer texts that clear the model's context (default
	// "#clear", "清除"); ClearedText answers them (default "OK, let's start over.").
	ClearWords  []string
	ClearedText string

	// Images: the model accepts images (sent as data: URLs up to MaxImageBytes,
	// default 2 MiB). Without it an image is answered with ImageText.
	Images        bool
	MaxImageBytes int64
	ImageText     string
	// VoiceText answers a voice message when no [Transcriber] is set.
	VoiceText string

	// Handoff offers the model a tool to hand the conversation to a person (default
	// on; set NoHandoff to turn it off). HandoffServicer, when set, is the servicer it
	// goes to instead of the pool; HandoffNotice is sent to the customer after the
	// hand-off (with the msg_code WeCom gives, so it does not count against the answer).
	NoHandoff       bool
	HandoffServicer string
	HandoffNotice   string
	// Vars are the session variables the model may set with its set_variable tool
	// (none by default).
	Vars []string
	// MaxToolCalls bounds the tool calls of one answer (default 4); past it the model
	// must answer without tools.
	MaxToolCalls int
}

// Defaults.
const (
	DefaultMergeWindow   = 2 * time.Second
	DefaultTimeout       = 30 * time.Second
	DefaultContextTurns  = 20
	DefaultContextBytes  = 8000
	DefaultMaxImageBytes = 2 << 20
	DefaultMaxToolCalls  = 4
	DefaultFallback      = "Sorry, I cannot answer right now. Please try again in a moment."
	DefaultClearedText   = "OK, let's start over."
	DefaultImageText     = "Sorry, I can only read text. Could you describe it in words?"
	DefaultVoiceText     = "Sorry, I cannot listen to voice messages. Could you type it?"
)

// Merge returns s with every field o sets replacing s's: how per-account and per-rule
// settings override the defaults.
func (s Settings) Merge(o Settings) Settings {
	str := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	str(&s.Model, o.Model)
	if o.Temperature != nil {
		s.Temperature = o.Temperature
	}
	num(&s.MaxTokens, o.MaxTokens)
	str(&s.System, o.System)
	num(&s.MaxParts, o.MaxParts)
	num(&s.MergeWindow, o.MergeWindow)
	num(&s.Timeout, o.Timeout)
	str(&s.Fallback, o.Fallback)
	s.HandoffOnFailure = s.HandoffOnFailure || o.HandoffOnFailure
	str(&s.Notice, o.Notice)
	num(&s.NoticeAfter, o.NoticeAfter)
	s.NoStream = s.NoStream || o.NoStream
	num(&s.ContextTurns, o.ContextTurns)
	num(&s.ContextBytes, o.ContextBytes)
	if o.ClearWords != nil {
		s.ClearWords = o.ClearWords
	}
	str(&s.ClearedText, o.ClearedText)
	s.Images = s.Images || o.Images
	num(&s.MaxImageBytes, o.MaxImageBytes)
	str(&s.ImageText, o.ImageText)
	str(&s.VoiceText, o.VoiceText)
	s.NoHandoff = s.NoHandoff || o.NoHandoff
	str(&s.HandoffServicer, o.HandoffServicer)
	str(&s.HandoffNotice, o.HandoffNotice)
	if o.Vars != nil {
		s.Vars = o.Vars
	}
	num(&s.MaxToolCalls, o.MaxToolCalls)
	return s
}

func num[T int | int64 | time.Duration](dst *T, v T) {
	if v != 0 {
		*dst = v
	}
}

// withDefaults fills the fields left zero.
func (s Settings) withDefaults() Settings {
	def := func(dst *int, v int) {
		if *dst == 0 {
			*dst = v
		}
	}
	def(&s.MaxParts, DefaultMaxParts)
	def(&s.ContextTurns, DefaultContextTurns)
	def(&s.ContextBytes, DefaultContextBytes)
	def(&s.MaxToolCalls, DefaultMaxToolCalls)
	if s.MergeWindow == 0 {
		s.MergeWindow = DefaultMergeWindow
	}
	if s.Timeout == 0 {
		s.Timeout = DefaultTimeout
	}
	if s.MaxImageBytes == 0 {
		s.MaxImageBytes = DefaultMaxImageBytes
	}
	text := func(dst *string, v string) {
		if *dst == "" {
			*dst = v
		}
	}
	text(&s.Fallback, DefaultFallback)
	text(&s.ClearedText, DefaultClearedText)
	text(&s.ImageText, DefaultImageText)
	text(&s.VoiceText, DefaultVoiceText)
	if s.ClearWords == nil {
		s.ClearWords = []string{"#clear", "清除"}
	}
	return s
}

// Validate reports every problem of s at once, each saying what to set.
func (s Settings) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("ai: "+format, args...)) }
	if s.Temperature != nil && (*s.Temperature < 0 || *s.Temperature > 2) {
		bad("temperature %g is outside 0–2", *s.Temperature)
	}
	if s.MaxTokens < 0 {
		bad("max tokens %d is negative", s.MaxTokens)
	}
	if s.MaxParts < 0 || s.MaxParts > 5 {
		bad("max parts %d: want 1–5 (WeCom allows 5 messages per customer message)", s.MaxParts)
	}
	if s.Timeout < 0 || s.Timeout > 10*time.Minute {
		bad("timeout %s: want up to 10m", s.Timeout)
	}
	if s.NoticeAfter < 0 || (s.NoticeAfter > 0 && s.Notice == "") {
		bad("notice_after %s needs a notice text", s.NoticeAfter)
	}
	if s.ContextTurns < 0 || s.ContextBytes < 0 || s.MaxImageBytes < 0 || s.MaxToolCalls < 0 {
		bad("context, image and tool-call limits must not be negative")
	}
	for _, v := range s.Vars {
		if !validVar(v) {
			bad("variable name %q: want letters, digits and _, not starting with a digit", v)
		}
	}
	if _, err := parsePrompt(s.System); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func validVar(v string) bool {
	if v == "" || v[0] >= '0' && v[0] <= '9' {
		return false
	}
	return strings.IndexFunc(v, func(r rune) bool {
		return !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	}) < 0
}

// PromptData is what the system prompt template sees.
type PromptData struct {
	// Now is the time of the question, in the process's local time zone.
	Now time.Time
	// OpenKFID and ExternalUserID name the conversation.
	OpenKFID, ExternalUserID string
	// Customer is the customer's profile, when the bot fetched it (zero otherwise).
	Customer storage.Customer
	// Vars are the session's variables.
	Vars map[string]any
}

// parsePrompt parses a system prompt template; "" is no prompt.
func parsePrompt(text string) (*template.Template, error) {
	t, err := template.New("system").Option("missingkey=zero").Parse(text)
	if err != nil {
		return nil, fmt.Errorf("ai: system prompt: %w", err)
	}
	return t, nil
}
