package rules

import (
	"context"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/kfbot/kfbot/ai"
	"github.com/kfbot/kfbot/bot"
)

// WithModel sets the model that the `ai` action asks (package ai/openaichat, ai/dify, or
// ai.Scripted), with options for the assistant (ai.WithFunction, ai.WithObserver, …).
// The file's `ai` section gives its settings. Without WithModel a rule file with ai
// actions still loads (for `kfbot rules check`), but every answer fails, so the
// customer gets the fallback: the binary refuses to start that way.
func WithModel(b ai.Backend, opts ...ai.Option) Option {
	return func(o *options) { o.model, o.aiOpts = b, opts }
}

// errNoModel is what an ai action answers without a model.
var errNoModel = &ai.Error{Backend: "none", Kind: ai.KindClient,
	Message: "no model is configured: set KFBOT_AI_BASE_URL and KFBOT_AI_MODEL (or rules.WithModel)"}

// noModel is the backend of a set loaded without WithModel.
type noModel struct{}

func (noModel) Complete(context.Context, *ai.Request, func(string)) (*ai.Response, error) {
	return nil, errNoModel
}

// UsesAI reports whether some rule answers with the model (an `ai` action).
func (s *Set) UsesAI() bool { return s.asst != nil }

// Assistant returns the set's assistant, or nil when no rule uses an ai action.
func (s *Set) Assistant() *ai.Assistant { return s.asst }

// aiSection is the file's `ai` section.
type aiSection struct {
	settings ai.Settings
	accounts map[string]ai.Settings
	tools    []ai.Function // HTTP tools declared in the file
}

// aiKeys are the keys of the `ai` section and of an `ai` action (accounts: only the
// section).
var aiKeys = []string{"model", "prompt", "temperature", "max_tokens", "max_parts", "merge_window", "timeout",
	"fallback", "handoff_on_failure", "handoff", "handoff_servicer", "handoff_notice", "notice", "notice_after",
	"stream", "images", "image_text", "voice_text", "context_turns", "context_bytes", "clear_words", "cleared_text",
	"vars", "max_tool_calls"}

// aiSettings reads settings from a mapping (the section, an account, an action).
func (l *loader) aiSettings(n *yaml.Node, what string, extra ...string) (ai.Settings, map[string]pair) {
	var s ai.Settings
	fs := l.fields(n, what, append(append([]string(nil), aiKeys...), extra...)...)
	str := func(key string, dst *string) {
		if p, ok := fs[key]; ok {
			if v, ok := l.str(p.v, key); ok {
				*dst = v
			}
		}
	}
	integer := func(key string, dst *int) {
		if p, ok := fs[key]; ok {
			if v, ok := l.float(p.v, key); ok {
				*dst = int(v)
			}
		}
	}
	dur := func(key string, dst *time.Duration) {
		if p, ok := fs[key]; ok {
			if v, ok := l.str(p.v, key); ok {
				d, err := time.ParseDuration(v)
				if err != nil {
					l.errAt(l.deref(p.v), ErrInvalid, "%s: %s %q: want a duration such as 2s or 30s", what, key, v)
					return
				}
				*dst = d
			}
		}
	}
	boolean := func(key string) (bool, bool) {
		p, ok := fs[key]
		if !ok {
			return false, false
		}
		return l.bool(p.v, key), true
	}
	list := func(key string, dst *[]string) {
		if p, ok := fs[key]; ok {
			out := []string{}
			for _, it := range l.seq(p.v, key) {
				if v, ok := l.str(it, key); ok {
					out = append(out, v)
				}
			}
			*dst = out
		}
	}
	str("model", &s.Model)
	str("prompt", &s.System)
	if p, ok := fs["temperature"]; ok {
		if v, ok := l.float(p.v, "temperature"); ok {
			s.Temperature = &v
		}
	}
	integer("max_tokens", &s.MaxTokens)
	integer("max_parts", &s.MaxParts)
	dur("merge_window", &s.MergeWindow)
	if p, ok := fs["merge_window"]; ok && s.MergeWindow == 0 && p.v != nil {
		s.MergeWindow = -1 // "merge_window: 0s" turns merging off, not the default
	}
	dur("timeout", &s.Timeout)
	str("fallback", &s.Fallback)
	s.HandoffOnFailure, _ = boolean("handoff_on_failure")
	if v, ok := boolean("handoff"); ok {
		s.NoHandoff = !v
	}
	str("handoff_servicer", &s.HandoffServicer)
	str("handoff_notice", &s.HandoffNotice)
	str("notice", &s.Notice)
	dur("notice_after", &s.NoticeAfter)
	if v, ok := boolean("stream"); ok {
		s.NoStream = !v
	}
	s.Images, _ = boolean("images")
	str("image_text", &s.ImageText)
	str("voice_text", &s.VoiceText)
	integer("context_turns", &s.ContextTurns)
	integer("context_bytes", &s.ContextBytes)
	list("clear_words", &s.ClearWords)
	str("cleared_text", &s.ClearedText)
	list("vars", &s.Vars)
	integer("max_tool_calls", &s.MaxToolCalls)
	if err := s.Validate(); err != nil {
		l.errAt(l.deref(n), ErrInvalid, "%s: %v", what, err)
	}
	return s, fs
}

// aiSection reads the file's `ai` section: the model's settings and, under accounts,
// per-KF-account overrides.
func (l *loader) aiSection(n *yaml.Node) *aiSection {
	if n == nil {
		return nil
	}
	v := l.deref(n)
	if v == nil || isNull(v) {
		return &aiSection{}
	}
	s, fs := l.aiSettings(v, "ai", "accounts", "tools")
	sec := &aiSection{settings: s, accounts: map[string]ai.Settings{}}
	if p, ok := fs["tools"]; ok {
		for _, tn := range l.seq(p.v, "ai: tools") {
			if f, ok := l.httpTool(tn); ok {
				sec.tools = append(sec.tools, f)
			}
		}
	}
	if p, ok := fs["accounts"]; ok {
		for _, ap := range l.rawPairs(p.v, "ai: accounts") {
			o, _ := l.aiSettings(ap.v, "ai: accounts: "+ap.key)
			if err := sec.settings.Merge(o).Validate(); err != nil {
				l.errAt(l.deref(ap.v), ErrInvalid, "ai: accounts: %s: %v", ap.key, err)
			}
			sec.accounts[ap.key] = o
		}
	}
	return sec
}

// aiAction answers with the model, with the action's settings over the section's.
type aiAction struct{ over ai.Settings }

func (a *aiAction) name() string { return "ai" }

func (l *loader) aiAction(n *yaml.Node) action {
	v := l.deref(n)
	if v == nil || isNull(v) {
		return &aiAction{}
	}
	s, _ := l.aiSettings(v, "ai")
	return &aiAction{over: s}
}

func (a *aiAction) run(x *run) error {
	over := a.over
	if x.set.noMerge {
		over.MergeWindow = -1
	}
	return x.set.asst.Answer(x.c, &over)
}

// deferral is the merge window of a rule that answers with the model or a webhook: the
// rule's actions run on the conversation's lane (bot's Context.Defer), all of them once.
// ok is false for rules without an ai or webhook action.
func (s *Set) deferral(c *bot.Context, r *rule) (time.Duration, bool) {
	for _, a := range r.actions {
		if _, isHook := a.(*webhookAction); isHook {
			return 0, true
		}
		if ai, isAI := a.(*aiAction); isAI && s.asst != nil {
			if s.noMerge {
				return 0, true
			}
			return max(s.asst.Settings(c.OpenKFID(), &ai.over).MergeWindow, 0), true
		}
	}
	return 0, false
}

// buildAssistant makes the set's assistant when a rule uses an ai action.
func (l *loader) buildAssistant(rs []*rule, sec *aiSection) *ai.Assistant {
	uses := false
	for _, r := range rs {
		for _, a := range r.actions {
			if _, ok := a.(*aiAction); ok {
				uses = true
			}
		}
	}
	if !uses {
		return nil
	}
	backend := l.opts.model
	if backend == nil {
		backend = noModel{}
	}
	opts := append([]ai.Option(nil), l.opts.aiOpts...)
	for _, f := range sec.tools {
		opts = append(opts, ai.WithFunction(f))
	}
	for id, o := range sec.accounts {
		opts = append(opts, ai.WithAccount(id, o))
	}
	asst, err := ai.New(backend, sec.settings, opts...)
	if err != nil {
		l.add(1, 1, ErrInvalid, err, "ai: "+err.Error())
		return nil
	}
	return asst
}

// contextWithTimeout bounds one call made for c's message.
func contextWithTimeout(c *bot.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(c.Context(), d)
}
