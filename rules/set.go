package rules

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/expr-lang/expr/vm"
	"go.yaml.in/yaml/v3"

	"github.com/kfbot/kfbot/ai"
	"github.com/kfbot/kfbot/bot"
	"github.com/kfbot/kfbot/internal/suggest"
	"github.com/kfbot/kfbot/kf/syncmsg"
)

// Set is a compiled rule file. It is a [bot.Plugin]: b.Install(set) registers one
// handler that runs the rules (see [Set.Install]). A Set is immutable and safe for
// concurrent use; to change rules, load a new Set (or let a [Live] do it).
type Set struct {
	file    string
	rules   []*rule // the KF rules, in file order
	cbRules []*rule // the callback rules, in file order
	tests   []Test
	loc     *time.Location
	clicks  map[string]string
	// servicers named by constant transfers; conversation tests add them to the fake
	servicers []string
	opts      options
	warnings  []*Error
	handback  *bot.Handback // the file's handback section; nil: none
	asst      *ai.Assistant // answers the ai actions; nil: no rule has one
	aiSec     *aiSection    // the file's ai section (never nil when asst is not)
	noMerge   bool          // conversation tests: answer each step at once
	// usesCustomer: some expression reads customer.*, so the profile is fetched for it
	usesCustomer bool
	// usesContact: some expression reads contact.*, so callback rules fetch it
	// (externalcontact/get)
	usesContact bool
	hasHuman    bool // some rule has while_human: true
	ix          *index
	pool        *sync.Pool // of *scratch
}

// rule is one compiled rule.
type rule struct {
	name    string
	line    int
	when    *vm.Program // nil: always true
	cont    bool
	human   bool     // while_human: also runs while a person owns the conversation
	kinds   []string // a callback rule: the notification kinds it handles
	actions []action
	alts    []alt // the index's necessary condition of when
}

// scratch is the per-goroutine state of an evaluation: a VM (not safe for concurrent
// use) and the candidate bitset.
type scratch struct {
	vm   vm.VM
	bits []uint64
	word int
	ids  []int32
}

func newSet(file string, all []*rule, tests []Test, loc *time.Location, clicks map[string]string, o options) *Set {
	var rules, cbRules []*rule
	for _, r := range all {
		if r.kinds != nil {
			cbRules = append(cbRules, r)
		} else {
			rules = append(rules, r)
		}
	}
	s := &Set{file: file, rules: rules, cbRules: cbRules, tests: tests, loc: loc, clicks: clicks, opts: o, ix: newIndex(rules)}
	for _, r := range rules {
		s.hasHuman = s.hasHuman || r.human
	}
	words, budget := s.ix.words, o.memoryBudget
	s.pool = &sync.Pool{New: func() any {
		return &scratch{vm: vm.VM{MemoryBudget: budget}, bits: make([]uint64, words)}
	}}
	return s
}

// withClock returns a copy of s whose `now` comes from now.
func (s *Set) withClock(now func() time.Time) *Set {
	c := *s
	c.opts.now = now
	return &c
}

// Name implements [bot.Plugin]: "rules".
func (s *Set) Name() string { return "rules" }

// Install implements [bot.Plugin]. It registers one route, b.Handle(s.Matcher(),
// s.Handler()): the rules take a message only when one of them matches, so Go handlers
// registered before the set see messages first, and messages no rule matches fall
// through to handlers registered after it and to the default handler.
//
// Rules with `while_human: true` also run for customer messages while a person owns the
// conversation (bot.Bot.HandleHuman); the others do not. A file's handback section
// becomes the bot's hand-back policy (bot.Bot.SetHandback).
func (s *Set) Install(b *bot.Bot) error {
	if err := s.install(b); err != nil {
		return err
	}
	s.opts.log.Info("rules: installed", slog.String(LogKeyFile, s.file), slog.Int(LogKeyCount, len(s.rules)))
	return nil
}

// install is Install without its log line.
func (s *Set) install(b *bot.Bot) error {
	var cb bot.HandlerFunc
	if len(s.cbRules) > 0 {
		cb = s.handleCallback
	}
	return install(b, s, s.Matcher(), s.Handler(), cb)
}

// install registers m and h for bot-owned and person-owned conversations and makes s's
// handback section the bot's policy.
//
// cb, when not nil, handles the callback notifications (bot.Bot.HandleCallback).
func install(b *bot.Bot, s *Set, m bot.Matcher, h bot.HandlerFunc, cb bot.HandlerFunc) error {
	if s.handback != nil {
		if err := b.SetHandback(*s.handback); err != nil {
			return fmt.Errorf("rules: %s: handback: %w", s.file, err)
		}
	}
	if s.usesCustomer {
		b.PrefetchProfiles()
	}
	b.Handle(m, h)
	b.HandleHuman(m, h)
	if cb != nil {
		b.HandleCallback(bot.Any(), cb)
	}
	return nil
}

// Matcher returns a matcher that is true when some rule's `when` holds for the message.
// Messages typed by servicers (origin 5) never match. Use it with [Set.Handler] to place
// the rules elsewhere than [Set.Install] does, e.g. in a group. The matcher stops at the
// first rule that holds and hands it to the handler ([bot.Context.Set]), which runs it
// and evaluates only the rules after it: each `when` runs at most once per message.
func (s *Set) Matcher() bot.Matcher {
	return func(c *bot.Context) bool { return s.matches(c) }
}

// Handler returns the handler that runs the rules for a message: it evaluates them in
// file order (through the index) and runs the actions of the first whose `when` holds,
// and of later ones while matching rules have `continue: true`. An action that fails
// stops the rule; its error, naming the rule, is returned to the bot's error handler.
// A reply the engine refuses (quota, window, human-owned, a missing or expired welcome
// code) is logged and the next action runs.
func (s *Set) Handler() bot.HandlerFunc { return s.handle }

// Len returns the number of rules, callback rules included.
func (s *Set) Len() int { return len(s.rules) + len(s.cbRules) }

// Rules returns the names of the rules in file order, those of the callback rules last.
func (s *Set) Rules() []string {
	out := make([]string, 0, s.Len())
	for _, r := range append(slices.Clip(s.rules), s.cbRules...) {
		out = append(out, r.name)
	}
	return out
}

// Tests returns the conversation tests written in the file (its `tests` key), for
// rulestest.Run.
func (s *Set) Tests() []Test { return s.tests }

// File returns the name the set was loaded from.
func (s *Set) File() string { return s.file }

// Location returns the time zone of `now` in expressions.
func (s *Set) Location() *time.Location { return s.loc }

// run is the state of the actions of one message.
type run struct {
	c     *bot.Context
	set   *Set
	vm    *vm.VM
	env   Env
	boxed any // env boxed once; expr reads fields from it without copying
	rule  *rule
}

func (x *run) eval(p *vm.Program) (any, error) { return x.vm.Run(p, x.boxed) }

func (s *Set) getScratch() *scratch { return s.pool.Get().(*scratch) }

func (s *Set) putScratch(sc *scratch) { s.pool.Put(sc) }

// start prepares sc for a message: its candidates (or every rule when linear).
func (s *Set) start(sc *scratch, m *Msg, linear bool) {
	sc.word = 0
	if linear {
		for i := range sc.bits {
			sc.bits[i] = ^uint64(0)
		}
		if r := len(s.rules) & 63; r != 0 {
			sc.bits[len(sc.bits)-1] = 1<<r - 1
		}
		return
	}
	s.ix.candidates(m, sc)
}

// when evaluates r's condition; an evaluation error counts as false and is logged.
func (s *Set) when(r *rule, sc *scratch, env any) bool {
	if r.when == nil {
		return true
	}
	out, err := sc.vm.Run(r.when, env)
	if err != nil {
		s.opts.log.Warn("rules: when failed; counting it as false",
			slog.String(LogKeyFile, s.file), slog.String(LogKeyRule, r.name), slog.Any(LogKeyError, err))
		if s.opts.onWhenError != nil {
			s.opts.onWhenError(r.name, err)
		}
		return false
	}
	b, _ := out.(bool)
	return b
}

func (s *Set) env(c *bot.Context) Env {
	env := newEnv(c.Message(), c.Session(), s.opts.now(), s.loc)
	if s.usesCustomer {
		p := c.Customer()
		env.Customer = Customer{Nickname: p.Nickname, Avatar: p.Avatar, Gender: p.Gender, UnionID: p.UnionID}
	}
	return env
}

// matchKey is the [bot.Context.Set] key under which the matcher of s hands the handler
// what it found, so the handler does not evaluate those conditions again.
type matchKey struct{ s *Set }

// matched is what the matcher found: the first rule whose `when` held, and the
// environment it held in.
type matched struct {
	rule int
	env  Env
}

func (s *Set) matches(c *bot.Context) bool {
	if c.Header().Origin == syncmsg.OriginServicer || c.HumanOwned() && !s.hasHuman {
		return false
	}
	env := s.env(c)
	var boxed any = env
	sc := s.getScratch()
	defer s.putScratch(sc)
	s.start(sc, &env.Msg, false)
	human := c.HumanOwned()
	for i := sc.next(); i >= 0; i = sc.next() {
		if human && !s.rules[i].human {
			continue
		}
		if s.when(s.rules[i], sc, boxed) {
			c.Set(matchKey{s}, &matched{rule: i, env: env})
			return true
		}
	}
	return false
}

func (s *Set) handle(c *bot.Context) error {
	if c.Header().Origin == syncmsg.OriginServicer {
		return nil
	}
	sc := s.getScratch()
	defer s.putScratch(sc)
	x := &run{c: c, set: s, vm: &sc.vm}
	first := -1 // the rule the matcher found true; the ones before it were false
	if m, ok := c.Get(matchKey{s}).(*matched); ok {
		first, x.env = m.rule, m.env
	} else {
		x.env = s.env(c)
	}
	x.boxed = x.env
	s.start(sc, &x.env.Msg, false)
	human := c.HumanOwned()
	for i := sc.next(); i >= 0; i = sc.next() {
		r := s.rules[i]
		if i < first || human && !r.human || i != first && !s.when(r, sc, x.boxed) {
			continue
		}
		if w, ok := s.deferral(c, r); ok && c.Defer(w) {
			return nil // the rule's actions run, once, on the conversation's lane
		}
		if done, err := s.fire(x, r); done {
			return err
		}
	}
	return nil
}

// fire runs r's actions and reports whether the search for rules ends there: after an
// error, or a rule without continue: true.
func (s *Set) fire(x *run, r *rule) (done bool, err error) {
	x.rule = r
	if s.opts.onRule != nil {
		s.opts.onRule(x.c, r.name)
	}
	if err := s.runActions(x); err != nil {
		return true, err
	}
	return !r.cont, nil
}

// refusal reports an error that means "the engine declined this send", not a failure.
func refusal(err error) bool {
	_, ok := errors.AsType[*bot.RefusalError](err)
	return ok
}

func (s *Set) runActions(x *run) error {
	for _, a := range x.rule.actions {
		err := a.run(x)
		if err == nil {
			continue
		}
		if refusal(err) {
			x.c.Logger().Info("rules: action refused", slog.String(LogKeyRule, x.rule.name),
				slog.String(LogKeyAction, a.name()), slog.Any(LogKeyError, err))
			continue
		}
		return fmt.Errorf("rules: rule %q: %s: %w", x.rule.name, a.name(), err)
	}
	return nil
}

// rules reads the `rules` list.
func (l *loader) rules(n *yaml.Node) []*rule {
	var out []*rule
	seen := map[string]int{}
	var catchAll *rule // the first rule that answers every message and stops
	for i, it := range l.seq(n, "rules") {
		l.rule = fmt.Sprintf("#%d", i+1)
		ps := l.rawPairs(it, "a rule")
		it = l.deref(it)
		if ps == nil {
			continue
		}
		// The name first, so that every other problem of the rule carries it.
		r := &rule{line: it.Line, alts: alwaysAlts}
		var nameP *pair
		for i, p := range ps {
			if p.key == "name" {
				nameP = &ps[i]
			}
		}
		if nameP == nil {
			for i, p := range ps {
				if !slices.Contains(ruleKeys, p.key) && suggest.Closest(p.key, ruleKeys) == "name" {
					nameP = &ps[i]
				}
			}
		}
		if nameP != nil {
			if name, ok := l.nonEmpty(nameP.v, "name"); ok {
				r.name = name
				l.rule = name
				if first, dup := seen[name]; dup {
					l.errAt(l.deref(nameP.v), ErrDuplicateRule, "another rule has this name (line %d); names must be unique", first)
				} else {
					seen[name] = it.Line
				}
			}
		} else {
			l.errAt(it, ErrInvalid, "a rule needs a name")
		}
		if r.name == "" {
			r.name = l.rule
		}
		byKey := map[string]pair{}
		for _, p := range l.checkKeys(ps, ruleKeys, ErrUnknownKey, "a rule") {
			byKey[p.key] = p
		}
		ok := true
		if p, has := byKey["description"]; has {
			if _, good := l.str(p.v, "description"); !good {
				ok = false
			}
		}
		if p, has := byKey["when"]; has {
			v := l.deref(p.v)
			src, good := l.str(v, "when")
			if good {
				prog, alts := l.compile(v, src, 0, true)
				if prog == nil {
					ok = false
				} else {
					r.when, r.alts = prog, alts
				}
			} else {
				ok = false
			}
		}
		if p, has := byKey["continue"]; has {
			r.cont = l.bool(p.v, "continue")
		}
		if p, has := byKey["callback"]; has {
			r.kinds = l.callbackKinds(p.v)
			ok = ok && r.kinds != nil
			if q, human := byKey["while_human"]; human {
				l.errAt(q.k, ErrInvalid, "while_human is for KF conversations; a callback rule has none")
				ok = false
			}
		}
		l.callback = r.kinds != nil
		if p, has := byKey["while_human"]; has {
			r.human = l.bool(p.v, "while_human")
		}
		always := true
		if p, has := byKey["when"]; has {
			v := l.deref(p.v)
			always = v != nil && strings.TrimSpace(v.Value) == "true"
		}
		switch {
		case l.callback:
			// Callback rules see notifications only: they neither shadow KF rules nor are
			// shadowed by them.
		case catchAll != nil:
			l.warnAt(it, "unreachable: rule %q (line %d) comes first and answers every message (no when, no continue: true); move this rule above it, or delete it",
				catchAll.name, catchAll.line)
		case always && !r.cont && ok:
			catchAll = r
		}
		l.textOnly = textOnly(r.alts)
		if p, has := byKey["then"]; has {
			before := len(l.errs)
			r.actions = l.actions(p.v)
			ok = ok && len(l.errs) == before
		} else {
			l.errAt(it, ErrInvalid, "a rule needs then: the list of its actions")
			ok = false
		}
		if ok {
			out = append(out, r)
		}
	}
	l.rule = ""
	l.textOnly, l.callback = false, false
	return out
}

// textOnly reports whether a condition's alternatives all need a text message (a text
// msg.type or a menu click).
func textOnly(as []alt) bool {
	if len(as) == 0 {
		return false
	}
	for _, a := range as {
		if !(a.hasType && a.typ == "text" || a.hasMenu) {
			return false
		}
	}
	return true
}

// Warnings returns what a load found suspicious but valid, in file order: a rule no
// message can reach, a menu click without an id, …. Each is an [*Error] with Warning
// set; `kfbot rules check` prints them without failing.
func (s *Set) Warnings() []*Error { return s.warnings }
