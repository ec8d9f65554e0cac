package rules

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/kfbot/kfbot/bot"
	"github.com/kfbot/kfbot/internal/suggest"
	"github.com/kfbot/kfbot/kf"
	"github.com/kfbot/kfbot/kf/callback"
)

// callbackKinds reads a rule's `callback`: a notification kind or a list of them.
func (l *loader) callbackKinds(n *yaml.Node) []string {
	n = l.deref(n)
	if n == nil {
		return nil
	}
	var items []*yaml.Node
	if n.Kind == yaml.SequenceNode {
		items = l.seq(n, "callback")
		if len(items) == 0 {
			l.errAt(n, ErrInvalid, "callback needs at least one kind, such as change_external_contact")
			return nil
		}
	} else {
		items = []*yaml.Node{n}
	}
	known := callback.Kinds()
	var out []string
	for _, it := range items {
		k, ok := l.nonEmpty(it, "callback")
		if !ok {
			return nil
		}
		if !slices.Contains(known, k) {
			msg := fmt.Sprintf("callback: unknown kind %q", k)
			if s := suggest.Closest(k, known); s != "" {
				msg += fmt.Sprintf("; did you mean %s?", s)
			}
			l.errAt(l.deref(it), ErrInvalid, "%s (kinds: %s)", msg, strings.Join(known, ", "))
			return nil
		}
		out = append(out, k)
	}
	return out
}

// callbackActions are the actions a callback rule may have.
var callbackActions = []string{"welcome", "set", "handler", "webhook"}

// callbackAction reads one action of a callback rule.
func (l *loader) callbackAction(p pair) action {
	switch p.key {
	case "welcome":
		return l.contactWelcome(p.v)
	case "set":
		return l.set(p.v)
	case "handler":
		return l.handler(p.v)
	case "webhook":
		return l.webhook(p.v)
	case "reply", "transfer", "ai":
		l.errAt(p.k, ErrInvalid, "%s needs a KF conversation, and a callback rule has none; a callback rule may %s", p.key, strings.Join(callbackActions, ", "))
	}
	return nil
}

// contactWelcomeAction sends a new external contact's welcome (send_welcome_msg).
type contactWelcomeAction struct {
	text        *template // nil: attachments only
	attachments []welcomeAttachment
}

// welcomeAttachment is one attachment of a contact welcome.
type welcomeAttachment struct {
	kind       string // image, link, miniprogram, video, file
	media      mediaRef
	picURL     string
	title, url *template
	desc       *template
	picURLLink string
	appID      string
	page       *template
}

func (a *contactWelcomeAction) name() string { return "welcome" }

// contactWelcome reads a callback rule's `welcome`: a text, or {text, attachments}.
func (l *loader) contactWelcome(n *yaml.Node) action {
	v := l.deref(n)
	if v == nil {
		return nil
	}
	if v.Kind == yaml.ScalarNode {
		t := l.textTemplate(v, "welcome")
		if t == nil {
			return nil
		}
		return &contactWelcomeAction{text: t}
	}
	f := l.fields(v, "welcome", "text", "attachments")
	if f == nil {
		return nil
	}
	a := &contactWelcomeAction{}
	ok := true
	if p, has := f["text"]; has {
		if a.text = l.textTemplate(p.v, "welcome.text"); a.text == nil {
			ok = false
		}
	}
	if p, has := f["attachments"]; has {
		items := l.seq(p.v, "welcome.attachments")
		if len(items) > kf.MaxWelcomeAttachments {
			l.errAt(l.deref(p.v), ErrInvalid, "welcome: %d attachments, WeCom takes at most %d", len(items), kf.MaxWelcomeAttachments)
			ok = false
		}
		for _, it := range items {
			att, good := l.welcomeAttachment(it)
			ok = ok && good
			a.attachments = append(a.attachments, att)
		}
	}
	if a.text == nil && len(a.attachments) == 0 && ok {
		l.errAt(v, ErrInvalid, "welcome needs text or attachments")
		return nil
	}
	if !ok {
		return nil
	}
	return a
}

var welcomeAttachmentKinds = []string{"image", "link", "miniprogram", "video", "file"}

// welcomeAttachment reads one attachment: {image: …}, {link: …}, {miniprogram: …},
// {video: …} or {file: …}.
func (l *loader) welcomeAttachment(n *yaml.Node) (welcomeAttachment, bool) {
	ps := l.checkKeys(l.rawPairs(n, "an attachment"), welcomeAttachmentKinds, ErrInvalid, "an attachment")
	if len(ps) != 1 {
		if len(ps) > 1 {
			l.errAt(ps[1].k, ErrInvalid, "an attachment has exactly one of %s", strings.Join(welcomeAttachmentKinds, ", "))
		}
		return welcomeAttachment{}, false
	}
	p := ps[0]
	what := "welcome " + p.key
	att := welcomeAttachment{kind: p.key}
	switch p.key {
	case "image":
		f := l.fields(p.v, what, "media_id", "file", "pic_url")
		if f == nil {
			return att, false
		}
		if q, has := f["pic_url"]; has {
			u, ok := l.nonEmpty(q.v, what+".pic_url")
			att.picURL = u
			return att, ok
		}
		ref, ok := l.mediaField(p.v, f, "media_id", "file", what, kf.MediaImage)
		att.media = ref
		return att, ok
	case "video", "file":
		typ := kf.MediaVideo
		if p.key == "file" {
			typ = kf.MediaFile
		}
		f := l.fields(p.v, what, "media_id", "file")
		if f == nil {
			return att, false
		}
		ref, ok := l.mediaField(p.v, f, "media_id", "file", what, typ)
		att.media = ref
		return att, ok
	case "link":
		f := l.fields(p.v, what, "title", "url", "desc", "picurl")
		if f == nil {
			return att, false
		}
		var ok1, ok2 bool
		att.title, ok1 = l.reqTemplate(p.v, f, "title", what)
		att.url, ok2 = l.reqTemplate(p.v, f, "url", what)
		d, ok3 := l.optTemplate(f, "desc", what)
		att.desc = d
		ok4 := true
		if q, has := f["picurl"]; has {
			att.picURLLink, ok4 = l.nonEmpty(q.v, what+".picurl")
		}
		return att, ok1 && ok2 && ok3 && ok4
	case "miniprogram":
		f := l.fields(p.v, what, "title", "appid", "page", "pic_media_id", "pic_file")
		if f == nil {
			return att, false
		}
		var ok1, ok2, ok3 bool
		att.title, ok1 = l.reqTemplate(p.v, f, "title", what)
		att.page, ok2 = l.reqTemplate(p.v, f, "page", what)
		if q, has := f["appid"]; has {
			att.appID, ok3 = l.nonEmpty(q.v, what+".appid")
		} else {
			l.errAt(l.deref(p.v), ErrInvalid, "%s needs appid", what)
		}
		ref, ok4 := l.mediaField(p.v, f, "pic_media_id", "pic_file", what, kf.MediaImage)
		att.media = ref
		return att, ok1 && ok2 && ok3 && ok4
	}
	return att, false
}

func (a *contactWelcomeAction) run(x *run) error {
	if err := x.c.CanWelcomeContact(); err != nil {
		return err // refused before anything is rendered or uploaded
	}
	text := ""
	if a.text != nil {
		t, err := a.text.render(x)
		if err != nil {
			return err
		}
		text = t
	}
	var atts []kf.WelcomeAttachment
	for i := range a.attachments {
		att, err := a.attachments[i].build(x)
		if err != nil {
			return fmt.Errorf("attachment %d (%s): %w", i+1, a.attachments[i].kind, err)
		}
		atts = append(atts, att)
	}
	return x.c.WelcomeContact(text, atts...)
}

// build renders the attachment and uploads its medium (once: the media cache keeps it).
func (w *welcomeAttachment) build(x *run) (kf.WelcomeAttachment, error) {
	id := func() (string, error) {
		if w.media.src == "" {
			return w.media.id, nil
		}
		return x.mediaCache().MediaID(x.c.Context(), w.media.typ, w.media.src)
	}
	render := func(t *template) (string, error) {
		if t == nil {
			return "", nil
		}
		return t.render(x)
	}
	switch w.kind {
	case "image":
		if w.picURL != "" {
			return kf.WelcomeAttachment{Image: &kf.WelcomeImage{PicURL: w.picURL}}, nil
		}
		m, err := id()
		return kf.WelcomeAttachment{Image: &kf.WelcomeImage{MediaID: m}}, err
	case "video":
		m, err := id()
		return kf.WelcomeAttachment{Video: &kf.WelcomeMedia{MediaID: m}}, err
	case "file":
		m, err := id()
		return kf.WelcomeAttachment{File: &kf.WelcomeMedia{MediaID: m}}, err
	case "link":
		title, err := render(w.title)
		if err != nil {
			return kf.WelcomeAttachment{}, err
		}
		u, err := render(w.url)
		if err != nil {
			return kf.WelcomeAttachment{}, err
		}
		d, err := render(w.desc)
		return kf.WelcomeAttachment{Link: &kf.WelcomeLink{Title: title, URL: u, Desc: d, PicURL: w.picURLLink}}, err
	case "miniprogram":
		title, err := render(w.title)
		if err != nil {
			return kf.WelcomeAttachment{}, err
		}
		page, err := render(w.page)
		if err != nil {
			return kf.WelcomeAttachment{}, err
		}
		m, err := id()
		return kf.WelcomeAttachment{MiniProgram: &kf.WelcomeMiniProgram{Title: title, AppID: w.appID, Page: page, PicMediaID: m}}, err
	}
	return kf.WelcomeAttachment{}, fmt.Errorf("unknown attachment %q", w.kind)
}

// handleCallback runs the callback rules for a notification: in file order, those whose
// kinds include its kind and whose `when` holds, stopping after the first without
// `continue: true`.
func (s *Set) handleCallback(c *bot.Context) error {
	n := c.Notification()
	if n == nil || len(s.cbRules) == 0 {
		return nil
	}
	kind := bot.NotificationKind(n)
	sc := s.getScratch()
	defer s.putScratch(sc)
	x := &run{c: c, set: s, vm: &sc.vm, env: newEventEnv(n, s.opts.now(), s.loc)}
	if s.usesContact && x.env.Event.ExternalUserID != "" {
		x.env.Contact = s.contact(c, x.env.Event.UserID)
	}
	vars := map[string]any{} // what set writes, for the later rules and templates
	x.env.Session.Vars = vars
	x.boxed = x.env
	for _, r := range s.cbRules {
		if !slices.Contains(r.kinds, kind) {
			continue
		}
		if r.when != nil {
			ok, err := x.eval(r.when)
			if err != nil {
				c.Logger().Warn("rules: a callback rule's when failed; skipping the rule", slog.String(LogKeyRule, r.name), slog.Any(LogKeyError, err))
				continue
			}
			if b, _ := ok.(bool); !b {
				continue
			}
		}
		if done, err := s.fire(x, r); done {
			return err
		}
	}
	return nil
}

// contactTimeout bounds the externalcontact/get of a callback rule: a slow WeCom leaves
// contact.* empty rather than holding the welcome past its code's 20 seconds.
const contactTimeout = 3 * time.Second

// contact fetches the notification's external contact for contact.*; a failure is
// logged and leaves it empty.
func (s *Set) contact(c *bot.Context, userID string) Contact {
	ctx, cancel := context.WithTimeout(c.Context(), contactTimeout)
	defer cancel()
	ec, err := c.WithContext(ctx).ExternalContact("")
	if err != nil {
		c.Logger().Warn("rules: could not read the external contact; contact.* is empty", slog.Any(LogKeyError, err))
		return Contact{}
	}
	return newContact(ec, userID)
}
