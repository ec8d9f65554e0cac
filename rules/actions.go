package rules

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/expr-lang/expr/vm"
	"go.yaml.in/yaml/v3"

	"github.com/kfbot/kfbot/bot"
	"github.com/kfbot/kfbot/internal/suggest"
	"github.com/kfbot/kfbot/kf"
)

// action is one compiled item of a rule's `then`.
type action interface {
	name() string
	run(x *run) error
}

// actions reads a rule's `then` list.
func (l *loader) actions(n *yaml.Node) []action {
	var out []action
	for _, it := range l.seq(n, "then") {
		ps := l.rawPairs(it, "an action")
		if ps == nil {
			continue // not a mapping: reported
		}
		if len(ps) == 0 {
			l.errAt(l.deref(it), ErrUnknownAction, "an empty action: want one of %s", strings.Join(actionKeys, ", "))
			continue
		}
		if len(ps) > 1 {
			if known := l.checkKeys(ps, actionKeys, ErrUnknownAction, ""); len(known) < len(ps) {
				continue // the unknown keys are reported as such
			}
			keys := make([]string, len(ps))
			for i, p := range ps {
				keys[i] = p.key
			}
			l.errAt(ps[1].k, ErrInvalid, "an action has exactly one key, this one has %d (%s): start each action with its own -",
				len(ps), strings.Join(keys, ", "))
			continue
		}
		ps = l.checkKeys(ps, actionKeys, ErrUnknownAction, "")
		if len(ps) == 0 {
			continue
		}
		p := ps[0]
		if l.callback {
			if a := l.callbackAction(p); a != nil {
				out = append(out, a)
			}
			continue
		}
		var a action
		switch p.key {
		case "reply":
			if m := l.outMessage(p.v, "reply", false); m != nil {
				a = &replyAction{msg: m}
			}
		case "welcome":
			if l.textOnly {
				l.errAt(p.k, ErrInvalid, "welcome answers an enter_session event (send_msg_on_event needs its welcome_code), but this rule's when only matches text messages; use reply, or match msg.event == \"enter_session\"")
			}
			if m := l.outMessage(p.v, "welcome", true); m != nil {
				a = &welcomeAction{msg: m}
			}
		case "transfer":
			a = l.transfer(p.v)
		case "set":
			a = l.set(p.v)
		case "handler":
			a = l.handler(p.v)
		case "ai":
			a = l.aiAction(p.v)
		case "webhook":
			a = l.webhook(p.v)
		}
		if a != nil {
			out = append(out, a)
		}
	}
	return out
}

// ---- reply and welcome ----

// outMsg builds an outgoing message for one run.
type outMsg interface {
	build(x *run) (kf.OutMessage, error)
}

type replyAction struct{ msg outMsg }

// replier is an outMsg that sends itself as a reply.
type replier interface {
	reply(x *run) error
}

func (a *replyAction) name() string { return "reply" }

func (a *replyAction) run(x *run) error {
	if r, ok := a.msg.(replier); ok {
		return r.reply(x)
	}
	m, err := a.msg.build(x)
	if err != nil {
		return err
	}
	if t, ok := m.(kf.Text); ok {
		return x.c.ReplyText(t.Content) // long texts are split
	}
	return x.c.Reply(m)
}

type welcomeAction struct{ msg outMsg }

func (a *welcomeAction) name() string { return "welcome" }

func (a *welcomeAction) run(x *run) error {
	m, err := a.msg.build(x)
	if err != nil {
		return err
	}
	return x.c.Welcome(m)
}

var (
	replyKinds   = []string{"text", "menu", "image", "voice", "video", "file", "link", "miniprogram", "location"}
	welcomeKinds = []string{"text", "menu"}
)

// outMessage reads the value of `reply` or `welcome`: a string (a text message) or a
// mapping with one message kind.
func (l *loader) outMessage(n *yaml.Node, what string, welcome bool) outMsg {
	n = l.deref(n)
	if n == nil {
		return nil
	}
	if n.Kind == yaml.ScalarNode && !isNull(n) {
		if t := l.textTemplate(n, what); t != nil {
			return &textOut{t: t}
		}
		return nil
	}
	kinds := replyKinds
	if welcome {
		kinds = welcomeKinds
	}
	ps := l.rawPairs(n, what)
	if ps == nil {
		return nil
	}
	if welcome {
		for _, p := range ps {
			if slices.Contains(replyKinds, p.key) && !slices.Contains(welcomeKinds, p.key) {
				l.errAt(p.k, ErrInvalid, "welcome sends text or menu only (send_msg_on_event), not %s", p.key)
				return nil
			}
		}
	}
	// Unknown keys are reported as unknown first; "exactly one" is about known ones.
	known := l.checkKeys(ps, kinds, ErrUnknownKey, what)
	if len(known) < len(ps) {
		return nil
	}
	if len(known) != 1 {
		l.errAt(n, ErrInvalid, "%s needs exactly one of %s", what, strings.Join(kinds, ", "))
		return nil
	}
	ps = known
	p := ps[0]
	var m outMsg
	switch p.key {
	case "text":
		if t := l.textTemplate(p.v, what+".text"); t != nil {
			m = &textOut{t: t}
		}
	case "menu":
		m = l.menu(p.v)
	case "image", "voice", "video", "file":
		m = l.media(p.v, kf.MediaType(p.key))
	case "link":
		m = l.link(p.v)
	case "miniprogram":
		m = l.miniprogram(p.v)
	case "location":
		m = l.location(p.v)
	}
	if m == nil {
		return nil
	}
	return m
}

// textTemplate is a template that must not be empty.
func (l *loader) textTemplate(n *yaml.Node, what string) *template {
	n = l.deref(n)
	s, ok := l.nonEmpty(n, what)
	if !ok {
		return nil
	}
	return l.templateOf(n, s)
}

// optTemplate reads an optional template field.
func (l *loader) optTemplate(f map[string]pair, key, what string) (*template, bool) {
	p, ok := f[key]
	if !ok {
		return nil, true
	}
	t := l.template(p.v, what+"."+key)
	return t, t != nil
}

// reqTemplate reads a required, non-empty template field.
func (l *loader) reqTemplate(n *yaml.Node, f map[string]pair, key, what string) (*template, bool) {
	p, ok := f[key]
	if !ok {
		l.errAt(n, ErrInvalid, "%s needs %s", what, key)
		return nil, false
	}
	t := l.textTemplate(p.v, what+"."+key)
	return t, t != nil
}

type textOut struct{ t *template }

func (o *textOut) build(x *run) (kf.OutMessage, error) {
	s, err := o.t.render(x)
	if err != nil {
		return nil, err
	}
	if s == "" {
		return nil, errors.New("rules: the text is empty after rendering")
	}
	return kf.Text{Content: s}, nil
}

// menu

type menuOut struct {
	head, tail *template
	items      []menuItem
}

type menuItem struct {
	kind      string // click, view, miniprogram, text
	id        string
	text      *template
	url       *template
	appID     string
	pagePath  *template
	noNewline bool
}

func (l *loader) menu(n *yaml.Node) outMsg {
	f := l.fields(n, "menu", "head", "items", "tail")
	if f == nil {
		return nil
	}
	m := &menuOut{}
	ok := true
	var good bool
	if m.head, good = l.optTemplate(f, "head", "menu"); !good {
		ok = false
	}
	if m.tail, good = l.optTemplate(f, "tail", "menu"); !good {
		ok = false
	}
	p, has := f["items"]
	if !has {
		l.errAt(l.deref(n), ErrInvalid, "menu needs items")
		return nil
	}
	items := l.seq(p.v, "menu.items")
	if len(items) == 0 && !isNull(l.deref(p.v)) || len(items) > 10 {
		l.errAt(l.deref(p.v), ErrInvalid, "a menu has 1 to 10 items, this one has %d", len(items))
		ok = false
	}
	ids := map[string]int{}
	for _, it := range items {
		item, good := l.menuItem(it)
		if !good {
			ok = false
			continue
		}
		if item.kind == "click" && item.id != "" {
			if first, dup := ids[item.id]; dup {
				l.errAt(l.deref(it), ErrInvalid, "menu click id %q repeated (first at line %d): the ids of one menu must differ, or a tap cannot be told apart", item.id, first)
				ok = false
			} else {
				ids[item.id] = l.deref(it).Line
			}
		}
		m.items = append(m.items, item)
	}
	if !ok {
		return nil
	}
	return m
}

var menuItemKinds = []string{"click", "view", "miniprogram", "text"}

func (l *loader) menuItem(n *yaml.Node) (menuItem, bool) {
	ps := l.rawPairs(n, "a menu item")
	if len(ps) > 1 {
		if known := l.checkKeys(ps, menuItemKinds, ErrUnknownKey, "a menu item"); len(known) < len(ps) {
			return menuItem{}, false // the unknown keys are reported as such
		}
	}
	if len(ps) != 1 {
		if ps != nil {
			l.errAt(l.deref(n), ErrInvalid, "a menu item has one key: one of %s", strings.Join(menuItemKinds, ", "))
		}
		return menuItem{}, false
	}
	if ps = l.checkKeys(ps, menuItemKinds, ErrUnknownKey, "a menu item"); len(ps) == 0 {
		return menuItem{}, false
	}
	p := ps[0]
	it := menuItem{kind: p.key}
	ok := true
	var good bool
	switch p.key {
	case "click":
		f := l.fields(p.v, "click", "id", "text")
		if f == nil {
			return it, false
		}
		if q, has := f["id"]; has {
			if it.id, good = l.str(q.v, "click.id"); !good {
				ok = false
			}
		}
		if it.id == "" && ok {
			l.warnAt(l.deref(p.v), "a click without an id: the tap comes back as plain text with an empty msg.menu_id, so no rule can tell it from typed text; give it an id")
		}
		if it.text, good = l.reqTemplate(p.v, f, "text", "click"); !good {
			ok = false
		}
		if ok && it.id != "" {
			if s, isConst := it.text.constant(); isConst {
				l.clicks[it.id] = s
			}
		}
	case "view":
		f := l.fields(p.v, "view", "url", "text")
		if f == nil {
			return it, false
		}
		if it.url, good = l.reqTemplate(p.v, f, "url", "view"); !good || !l.checkURL(f["url"].v, it.url, "view.url") {
			ok = false
		}
		if it.text, good = l.reqTemplate(p.v, f, "text", "view"); !good {
			ok = false
		}
	case "miniprogram":
		f := l.fields(p.v, "miniprogram", "appid", "pagepath", "text")
		if f == nil {
			return it, false
		}
		if q, has := f["appid"]; has {
			it.appID, good = l.nonEmpty(q.v, "miniprogram.appid")
			ok = ok && good
		} else {
			l.errAt(l.deref(p.v), ErrInvalid, "miniprogram needs appid")
			ok = false
		}
		if it.pagePath, good = l.reqTemplate(p.v, f, "pagepath", "miniprogram"); !good {
			ok = false
		}
		if it.text, good = l.reqTemplate(p.v, f, "text", "miniprogram"); !good {
			ok = false
		}
	case "text":
		v := l.deref(p.v)
		if v != nil && v.Kind == yaml.ScalarNode {
			it.text = l.textTemplate(v, "text")
			ok = it.text != nil
			break
		}
		f := l.fields(p.v, "text", "text", "no_newline")
		if f == nil {
			return it, false
		}
		if it.text, good = l.reqTemplate(p.v, f, "text", "text"); !good {
			ok = false
		}
		if q, has := f["no_newline"]; has {
			it.noNewline = l.bool(q.v, "text.no_newline")
		}
	}
	return it, ok
}

func (o *menuOut) build(x *run) (kf.OutMessage, error) {
	var m kf.Menu
	var err error
	if o.head != nil {
		if m.Head, err = o.head.render(x); err != nil {
			return nil, err
		}
	}
	if o.tail != nil {
		if m.Tail, err = o.tail.render(x); err != nil {
			return nil, err
		}
	}
	m.Items = make([]kf.MenuItem, 0, len(o.items))
	for _, it := range o.items {
		text, err := it.text.render(x)
		if err != nil {
			return nil, err
		}
		switch it.kind {
		case "click":
			m.Items = append(m.Items, kf.MenuClick{ID: it.id, Content: text})
		case "view":
			u, err := it.url.render(x)
			if err != nil {
				return nil, err
			}
			m.Items = append(m.Items, kf.MenuView{URL: u, Content: text})
		case "miniprogram":
			pp, err := it.pagePath.render(x)
			if err != nil {
				return nil, err
			}
			m.Items = append(m.Items, kf.MenuMiniprogram{AppID: it.appID, PagePath: pp, Content: text})
		case "text":
			m.Items = append(m.Items, kf.MenuText{Content: text, NoNewline: it.noNewline})
		}
	}
	return m, nil
}

// media: image, voice, video, file, link, miniprogram, location

// mediaField reads exactly one of idKey (a media_id) and fileKey (a local file, checked
// as WeCom would check an upload of type typ, or an https URL, see [bot.CheckMediaURL]).
func (l *loader) mediaField(n *yaml.Node, f map[string]pair, idKey, fileKey, what string, typ kf.MediaType) (mediaRef, bool) {
	idP, hasID := f[idKey]
	fileP, hasFile := f[fileKey]
	switch {
	case hasID && hasFile:
		l.errAt(fileP.k, ErrInvalid, "%s takes %s or %s, not both", what, idKey, fileKey)
		return mediaRef{}, false
	case hasID:
		id, ok := l.nonEmpty(idP.v, what+"."+idKey)
		return mediaRef{id: id}, ok
	case hasFile:
		p, ok := l.nonEmpty(fileP.v, what+"."+fileKey)
		if !ok {
			return mediaRef{}, false
		}
		if bot.IsMediaURL(p) {
			// Fetched when first used; its size and format are checked then.
			if err := bot.CheckMediaURL(p); err != nil {
				l.errAt(l.deref(fileP.v), ErrInvalid, "%s: %v", fileKey, err)
				return mediaRef{}, false
			}
			return mediaRef{src: p, typ: typ}, true
		}
		if !filepath.IsAbs(p) {
			p = filepath.Join(l.opts.baseDir, p)
		}
		fi, err := os.Stat(p)
		switch {
		case err != nil:
			v := l.deref(fileP.v)
			l.add(v.Line, v.Column, ErrFile, err, fmt.Sprintf("%s: %v", fileKey, err))
			return mediaRef{}, false
		case fi.IsDir():
			l.errAt(l.deref(fileP.v), ErrFile, "%s: %s is a directory", fileKey, p)
			return mediaRef{}, false
		}
		if err := typ.Check(p, fi.Size()); err != nil {
			l.errAt(l.deref(fileP.v), ErrFile, "%s: %v", fileKey, err)
			return mediaRef{}, false
		}
		return mediaRef{src: p, typ: typ}, true
	}
	l.errAt(l.deref(n), ErrInvalid, "%s needs %s or %s", what, idKey, fileKey)
	return mediaRef{}, false
}

// mediaOut is an image, voice, video or file reply.
type mediaOut struct {
	typ   kf.MediaType
	media mediaRef
}

func (l *loader) media(n *yaml.Node, typ kf.MediaType) outMsg {
	what := string(typ)
	f := l.fields(n, what, "media_id", "file")
	if f == nil {
		return nil
	}
	ref, ok := l.mediaField(n, f, "media_id", "file", what, typ)
	if !ok {
		return nil
	}
	return &mediaOut{typ: typ, media: ref}
}

// reply sends the medium through the media cache, which refuses a reply the
// conversation does not allow before uploading anything.
func (o *mediaOut) reply(x *run) error {
	if o.media.src == "" {
		m, err := o.build(x)
		if err != nil {
			return err
		}
		return x.c.Reply(m)
	}
	return x.mediaCache().Reply(x.c, o.typ, o.media.src)
}

func (o *mediaOut) build(x *run) (kf.OutMessage, error) {
	id, err := o.media.resolve(x)
	if err != nil {
		return nil, err
	}
	switch o.typ {
	case kf.MediaVoice:
		return kf.Voice{MediaID: id}, nil
	case kf.MediaVideo:
		return kf.Video{MediaID: id}, nil
	case kf.MediaFile:
		return kf.File{MediaID: id}, nil
	}
	return kf.Image{MediaID: id}, nil
}

type linkOut struct {
	title, desc, url *template
	thumb            mediaRef
}

func (l *loader) link(n *yaml.Node) outMsg {
	f := l.fields(n, "link", "title", "desc", "url", "thumb_media_id", "thumb_file")
	if f == nil {
		return nil
	}
	o := &linkOut{}
	var ok1, ok2, ok3, ok4 bool
	o.title, ok1 = l.reqTemplate(n, f, "title", "link")
	o.desc, ok2 = l.optTemplate(f, "desc", "link")
	o.url, ok3 = l.reqTemplate(n, f, "url", "link")
	ok3 = ok3 && l.checkURL(f["url"].v, o.url, "link.url")
	o.thumb, ok4 = l.mediaField(n, f, "thumb_media_id", "thumb_file", "link", kf.MediaImage)
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return nil
	}
	return o
}

func (o *linkOut) build(x *run) (kf.OutMessage, error) {
	var m kf.Link
	var err error
	if m.Title, err = o.title.render(x); err != nil {
		return nil, err
	}
	if o.desc != nil {
		if m.Desc, err = o.desc.render(x); err != nil {
			return nil, err
		}
	}
	if m.URL, err = o.url.render(x); err != nil {
		return nil, err
	}
	if m.ThumbMediaID, err = o.thumb.resolve(x); err != nil {
		return nil, err
	}
	return m, nil
}

type miniprogramOut struct {
	appID           string
	title, pagePath *template
	thumb           mediaRef
}

func (l *loader) miniprogram(n *yaml.Node) outMsg {
	f := l.fields(n, "miniprogram", "appid", "title", "pagepath", "thumb_media_id", "thumb_file")
	if f == nil {
		return nil
	}
	o := &miniprogramOut{}
	ok := true
	if p, has := f["appid"]; has {
		var good bool
		o.appID, good = l.nonEmpty(p.v, "miniprogram.appid")
		ok = ok && good
	} else {
		l.errAt(l.deref(n), ErrInvalid, "miniprogram needs appid")
		ok = false
	}
	var ok2, ok3, ok4 bool
	o.title, ok2 = l.optTemplate(f, "title", "miniprogram")
	o.pagePath, ok3 = l.reqTemplate(n, f, "pagepath", "miniprogram")
	o.thumb, ok4 = l.mediaField(n, f, "thumb_media_id", "thumb_file", "miniprogram", kf.MediaImage)
	if !ok || !ok2 || !ok3 || !ok4 {
		return nil
	}
	return o
}

func (o *miniprogramOut) build(x *run) (kf.OutMessage, error) {
	m := kf.Miniprogram{AppID: o.appID}
	var err error
	if o.title != nil {
		if m.Title, err = o.title.render(x); err != nil {
			return nil, err
		}
	}
	if m.PagePath, err = o.pagePath.render(x); err != nil {
		return nil, err
	}
	if m.ThumbMediaID, err = o.thumb.resolve(x); err != nil {
		return nil, err
	}
	return m, nil
}

type locationOut struct {
	name, address *template
	lat, lon      float64
}

func (l *loader) location(n *yaml.Node) outMsg {
	f := l.fields(n, "location", "name", "address", "latitude", "longitude")
	if f == nil {
		return nil
	}
	o := &locationOut{}
	ok := true
	var good bool
	if o.name, good = l.optTemplate(f, "name", "location"); !good {
		ok = false
	}
	if o.address, good = l.optTemplate(f, "address", "location"); !good {
		ok = false
	}
	for _, c := range []struct {
		key   string
		dst   *float64
		limit float64
	}{{"latitude", &o.lat, 90}, {"longitude", &o.lon, 180}} {
		p, has := f[c.key]
		if !has {
			l.errAt(l.deref(n), ErrInvalid, "location needs %s", c.key)
			ok = false
			continue
		}
		v, good := l.float(p.v, "location."+c.key)
		if good && (v < -c.limit || v > c.limit) {
			l.errAt(l.deref(p.v), ErrInvalid, "location.%s must be within ±%g", c.key, c.limit)
			good = false
		}
		*c.dst = v
		ok = ok && good
	}
	if !ok {
		return nil
	}
	return o
}

func (o *locationOut) build(x *run) (kf.OutMessage, error) {
	m := kf.Location{Latitude: o.lat, Longitude: o.lon}
	var err error
	if o.name != nil {
		if m.Name, err = o.name.render(x); err != nil {
			return nil, err
		}
	}
	if o.address != nil {
		if m.Address, err = o.address.render(x); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// ---- transfer ----

// TransferKind says where a conversation is handed over to.
type TransferKind string

// Transfer targets of the `transfer` action and of the `transfer` expectation.
const (
	TransferPool     TransferKind = "pool"     // the waiting pool of human servicers (state 2)
	TransferServicer TransferKind = "servicer" // one servicer (state 3)
	TransferEnd      TransferKind = "end"      // end the conversation (state 4)
)

type transferAction struct {
	kind     TransferKind
	servicer *template
}

func (a *transferAction) name() string { return "transfer" }

func (l *loader) transfer(n *yaml.Node) action {
	n = l.deref(n)
	if n == nil {
		return nil
	}
	if n.Kind == yaml.ScalarNode && !isNull(n) {
		switch n.Value {
		case string(TransferPool):
			return &transferAction{kind: TransferPool}
		case string(TransferEnd):
			return &transferAction{kind: TransferEnd}
		}
		l.errAt(n, ErrInvalid, "transfer: want pool, end or {servicer: userid}, got %q", n.Value)
		return nil
	}
	f := l.fields(n, "transfer", "servicer")
	if f == nil {
		return nil
	}
	t, ok := l.reqTemplate(n, f, "servicer", "transfer")
	if !ok {
		return nil
	}
	if id, isConst := t.constant(); isConst {
		l.servicers = append(l.servicers, id) // conversation tests register them
	}
	return &transferAction{kind: TransferServicer, servicer: t}
}

func (a *transferAction) run(x *run) error {
	var err error
	switch a.kind {
	case TransferPool:
		_, err = x.c.TransferToPool()
	case TransferEnd:
		_, err = x.c.EndSession()
	case TransferServicer:
		var id string
		if id, err = a.servicer.render(x); err == nil {
			_, err = x.c.TransferTo(id)
		}
	}
	return err
}

// ---- set ----

var varName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

type setAction struct {
	vars []setVar
}

type setVar struct {
	name string
	prog *vm.Program // nil: delete the variable
}

func (a *setAction) name() string { return "set" }

func (l *loader) set(n *yaml.Node) action {
	ps := l.rawPairs(n, "set")
	if ps == nil {
		return nil
	}
	a := &setAction{}
	ok := true
	for _, p := range ps {
		if !varName.MatchString(p.key) {
			l.errAt(p.k, ErrInvalid, "set: variable name %q must be a letter or _ followed by letters, digits or _", p.key)
			ok = false
			continue
		}
		v := l.deref(p.v)
		if v == nil {
			return nil
		}
		if isNull(v) {
			a.vars = append(a.vars, setVar{name: p.key})
			continue
		}
		src, good := l.str(v, "set."+p.key)
		if !good {
			ok = false
			continue
		}
		prog, _ := l.compile(v, src, 0, false)
		if prog == nil {
			ok = false
			continue
		}
		a.vars = append(a.vars, setVar{name: p.key, prog: prog})
	}
	if !ok {
		return nil
	}
	return a
}

func (a *setAction) run(x *run) error {
	s := x.c.Session()
	if s == nil && x.c.Notification() == nil {
		return bot.ErrNoConversation
	}
	vars := x.env.Session.Vars // a callback rule's: kept for the notification's later rules
	if s != nil {
		vars = s.Vars
	}
	for _, v := range a.vars {
		if v.prog == nil {
			delete(vars, v.name)
			continue
		}
		val, err := x.eval(v.prog)
		if err != nil {
			return fmt.Errorf("set %s: %w", v.name, err)
		}
		if vars == nil {
			vars = map[string]any{}
			s.Vars = vars // s != nil: a callback rule's map is never nil
			x.env.Session.Vars = vars
			x.boxed = x.env // the environment must see the new map
		}
		if val == nil {
			delete(vars, v.name)
		} else {
			vars[v.name] = val
		}
	}
	return nil
}

// ---- handler ----

type handlerAction struct {
	handler string
	h       bot.HandlerFunc
}

func (a *handlerAction) name() string { return "handler " + a.handler }

func (l *loader) handler(n *yaml.Node) action {
	n = l.deref(n)
	name, ok := l.nonEmpty(n, "handler")
	if !ok {
		return nil
	}
	h := l.opts.handlers[name]
	if h == nil {
		known := make([]string, 0, len(l.opts.handlers))
		for k := range l.opts.handlers {
			known = append(known, k)
		}
		slices.Sort(known)
		msg := fmt.Sprintf("no Go handler named %q is registered (rules.WithHandler)", name)
		if s := suggest.Closest(name, known); s != "" {
			msg += fmt.Sprintf("; did you mean %s?", s)
		}
		l.errAt(n, ErrUnknownHandler, "%s", msg)
		return nil
	}
	return &handlerAction{handler: name, h: h}
}

func (a *handlerAction) run(x *run) error { return a.h(x.c) }

// checkURL reports a constant URL that WeCom would refuse: not absolute http(s) with a
// host. A URL built by a template is checked when it is sent.
func (l *loader) checkURL(n *yaml.Node, t *template, what string) bool {
	u, isConst := t.constant()
	if !isConst {
		return true
	}
	p, err := url.Parse(strings.TrimSpace(u))
	switch {
	case err != nil:
		l.errAt(l.deref(n), ErrInvalid, "%s %q is not a valid URL: %v", what, u, errors.Unwrap(err))
	case p.Scheme != "http" && p.Scheme != "https" || p.Host == "":
		l.errAt(l.deref(n), ErrInvalid, "%s %q is not an absolute http or https URL (like https://example.com/page)", what, u)
	default:
		return true
	}
	return false
}
