package rules

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/kfbot/kfbot/ai"
)

// Test is a conversation test: steps a customer takes and what the bot must answer.
// Tests come from the `tests` key of a rule file ([Set.Tests]) or of a tests-only file
// ([LoadTests]) and run with rulestest.Run.
type Test struct {
	// Name names the test in reports.
	Name string
	// File and Line locate the test.
	File string
	Line int
	// Now, when not zero, is the rules' `now` during the test (`now:` in the file).
	Now time.Time
	// OpenKFID and ExternalUserID are the KF account and the customer.
	// Defaults: DefaultTestOpenKFID and DefaultTestExternalUserID.
	OpenKFID, ExternalUserID string
	// Steps run in order.
	Steps []Step
	// Model is what the model answers the test's ai actions, call by call, in order
	// (`model:` in the file: say, call with args, or fail); past its end the model echoes
	// the question.
	Model []ai.Step
}

// Defaults of a test's account and customer.
const (
	DefaultTestOpenKFID       = "wkRulesTest"
	DefaultTestExternalUserID = "wmRulesTestCustomer"
)

// StepKind is what the customer does in a step.
type StepKind string

// Step kinds.
const (
	StepEnter StepKind = "enter" // opens the chat: an enter_session event
	StepSay   StepKind = "say"   // sends a text
	StepClick StepKind = "click" // taps a menu item: a text with its menu_id
	StepImage StepKind = "image" // sends an image
	StepVoice StepKind = "voice" // sends a voice message
	StepFile  StepKind = "file"  // sends a file
	// StepLocation sends a location (Arg is its name).
	StepLocation StepKind = "location"
	// StepPickUp: the servicer Arg takes the conversation from the waiting pool in the
	// WeCom client (a session_status_change event with change_type 1).
	StepPickUp StepKind = "servicer_pick_up"
	// StepEnd: the servicer ends the conversation (change_type 3).
	StepEnd StepKind = "servicer_end"
	// StepAddContact: a member (Member, default DefaultTestMember) adds the test's
	// customer as an external contact through a 「联系我」 code whose state is Arg: an
	// add_external_contact callback with a welcome code, for the callback rules. Its
	// expect's welcome lists what send_welcome_msg sent: the text, then one "[msgtype]"
	// per attachment.
	StepAddContact StepKind = "add_contact"
)

// DefaultTestMember is the member of an add_contact step that names none.
const DefaultTestMember = "rules-test-member"

// Step is one customer action and, optionally, the bot's expected answer.
type Step struct {
	Kind StepKind
	// Arg is the text (say), the menu item id (click), the scene (enter), the media id
	// (image, voice, file), the place's name (location) or the servicer's userid
	// (servicer_pick_up).
	Arg string
	// Address, Latitude and Longitude describe a location step's place.
	Address             string
	Latitude, Longitude float64
	// SceneParam is the scene_param of an enter step.
	SceneParam string
	// Member is the member (userid) of an add_contact step.
	Member string
	// Now, when not zero, sets the rules' `now` from this step on.
	Now time.Time
	// Expect is what must happen; nil checks nothing.
	Expect *Expect
	// Line locates the step in its file.
	Line int
}

// String describes the step, e.g. `click hours`.
func (st Step) String() string {
	switch st.Kind {
	case StepSay:
		return fmt.Sprintf("say %q", st.Arg)
	case StepEnter:
		if st.Arg == "" {
			return "enter"
		}
		return "enter " + st.Arg
	}
	if st.Arg == "" {
		return string(st.Kind)
	}
	return string(st.Kind) + " " + st.Arg
}

// Expect is what a step must produce. Everything is checked: a welcome, reply or
// transfer that happens without being listed fails the step.
type Expect struct {
	// Welcome lists the messages sent with the event's code (send_msg_on_event).
	Welcome []string
	// Reply lists the messages sent with send_msg, in order.
	Reply []string
	// Transfer is the hand-over the step must cause; nil means none.
	Transfer *Transfer
	// Vars are session variables that must have these values after the step
	// (compared as JSON); other variables are not checked.
	Vars map[string]any
}

// Transfer is a hand-over of the conversation.
type Transfer struct {
	Kind TransferKind
	// ServicerUserID is the servicer, for TransferServicer.
	ServicerUserID string
}

func (t *Transfer) String() string {
	if t == nil {
		return "none"
	}
	if t.Kind == TransferServicer {
		return "servicer " + t.ServicerUserID
	}
	return string(t.Kind)
}

// Suite is a tests file read by [LoadTests].
type Suite struct {
	// File is the tests file.
	File string
	// RulesFile is the rule file the tests run against: the file named by `rules_file`
	// (relative to File's directory), or File itself when it holds rules.
	RulesFile string
	// Tests are the file's tests.
	Tests []Test
}

// LoadTests reads the conversation tests of path: a rule file with a `tests` key, or a
// tests-only file:
//
//	version: 1
//	rules_file: rules.yaml
//	tests: [...]
//
// A tests-only file needs version: 1, rules_file (relative to the tests file's
// directory) and tests, and no rules. Only the tests are checked here; load the rules
// with [LoadFile] (Suite.RulesFile), with the [WithHandler] options its rules need.
func LoadTests(path string) (*Suite, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("rules: load tests %s: %w", path, err)
	}
	o := newOptions(nil)
	l := newLoader(src, path, &o)
	doc := l.document()
	if doc == nil {
		return nil, l.err()
	}
	suite := &Suite{File: path}
	switch {
	case doc.rulesFile != nil && doc.rules != nil:
		l.errAt(doc.rulesFile, ErrInvalid, "a file has rules or names a rules_file, not both")
	case doc.rulesFile != nil:
		if p, ok := l.nonEmpty(doc.rulesFile, "rules_file"); ok {
			if !filepath.IsAbs(p) {
				p = filepath.Join(filepath.Dir(path), p)
			}
			suite.RulesFile = p
		}
	case doc.rules != nil:
		suite.RulesFile = path
	default:
		l.errAt(doc.root, ErrInvalid, "missing rules_file: a tests file names the rule file it tests")
	}
	if doc.tests == nil {
		l.errAt(doc.root, ErrInvalid, "missing tests")
	}
	suite.Tests = l.tests(doc.tests)
	if err := l.err(); err != nil {
		return nil, err
	}
	return suite, nil
}

// ---- parsing ----

var (
	testKeys   = []string{"name", "now", "open_kfid", "user", "model", "steps"}
	stepKinds  = []string{"enter", "say", "click", "image", "voice", "file", "location", "servicer_pick_up", "servicer_end", "add_contact"}
	stepKeys   = append(slices.Clip(stepKinds), "now", "expect")
	expectKeys = []string{"welcome", "reply", "transfer", "none", "vars"}
)

// tests reads the `tests` list.
func (l *loader) tests(n *yaml.Node) []Test {
	if n == nil {
		return nil
	}
	var out []Test
	seen := map[string]int{}
	for i, it := range l.seq(n, "tests") {
		l.rule = ""
		f := l.fields(it, "a test", testKeys...)
		it = l.deref(it)
		if it == nil || it.Kind != yaml.MappingNode {
			continue
		}
		t := Test{File: l.file, Line: it.Line, Name: fmt.Sprintf("#%d", i+1)}
		if p, ok := f["name"]; ok {
			if name, ok := l.nonEmpty(p.v, "name"); ok {
				t.Name = name
				if first, dup := seen[name]; dup {
					l.errAt(l.deref(p.v), ErrInvalid, "another test has this name (line %d)", first)
				}
				seen[name] = it.Line
			}
		} else {
			l.errAt(it, ErrInvalid, "a test needs a name")
		}
		if p, ok := f["now"]; ok {
			t.Now = l.time(p.v)
		}
		if p, ok := f["open_kfid"]; ok {
			t.OpenKFID, _ = l.nonEmpty(p.v, "open_kfid")
		}
		if p, ok := f["user"]; ok {
			t.ExternalUserID, _ = l.nonEmpty(p.v, "user")
		}
		if p, ok := f["model"]; ok {
			t.Model = l.modelSteps(p.v)
		}
		p, ok := f["steps"]
		if !ok {
			l.errAt(it, ErrInvalid, "test %q needs steps", t.Name)
			continue
		}
		for _, sn := range l.seq(p.v, "steps") {
			if st, ok := l.step(sn); ok {
				t.Steps = append(t.Steps, st)
			}
		}
		out = append(out, t)
	}
	return out
}

// time reads a test time: RFC 3339, or "2006-01-02 15:04[:05]" in the file's time zone.
func (l *loader) time(n *yaml.Node) time.Time {
	n = l.deref(n)
	if n != nil && n.Kind == yaml.ScalarNode && n.Tag == "!!timestamp" {
		var t time.Time
		if err := n.Decode(&t); err == nil {
			if !strings.ContainsAny(n.Value[min(len(n.Value), 10):], "Zz+-") {
				// no zone written: the file's zone
				t = time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), l.loc)
			}
			return t
		}
	}
	s, ok := l.str(n, "now")
	if !ok {
		return time.Time{}
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t
	}
	for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02T15:04:05", "2006-01-02T15:04"} {
		if t, err := time.ParseInLocation(layout, s, l.loc); err == nil {
			return t
		}
	}
	l.errAt(n, ErrInvalid, "now: %q is not a time like 2026-11-23T10:00:00+08:00", s)
	return time.Time{}
}

func (l *loader) step(n *yaml.Node) (Step, bool) {
	f := l.fields(n, "a step", stepKeys...)
	n = l.deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return Step{}, false
	}
	st := Step{Line: n.Line}
	var kinds []pair
	for _, k := range stepKinds {
		if p, ok := f[k]; ok {
			kinds = append(kinds, p)
		}
	}
	if len(kinds) != 1 {
		l.errAt(n, ErrInvalid, "a step has exactly one of %s", strings.Join(stepKinds, ", "))
		return st, false
	}
	p := kinds[0]
	st.Kind = StepKind(p.key)
	ok := true
	v := l.deref(p.v)
	if v == nil {
		return st, false
	}
	switch st.Kind {
	case StepEnter:
		switch {
		case isNull(v):
		case v.Kind == yaml.ScalarNode:
			st.Arg = v.Value
		default:
			ef := l.fields(v, "enter", "scene", "scene_param")
			if q, has := ef["scene"]; has {
				st.Arg, ok = l.str(q.v, "enter.scene")
			}
			if q, has := ef["scene_param"]; has {
				var good bool
				st.SceneParam, good = l.str(q.v, "enter.scene_param")
				ok = ok && good
			}
		}
	case StepSay, StepClick:
		st.Arg, ok = l.nonEmpty(v, string(st.Kind))
	case StepImage, StepVoice, StepFile:
		if !isNull(v) {
			st.Arg, ok = l.str(v, string(st.Kind))
		}
	case StepPickUp:
		st.Arg, ok = l.nonEmpty(v, "servicer_pick_up")
	case StepAddContact:
		switch {
		case isNull(v):
		case v.Kind == yaml.ScalarNode:
			st.Arg = v.Value
		default:
			af := l.fields(v, "add_contact", "state", "member")
			if q, has := af["state"]; has {
				st.Arg, ok = l.str(q.v, "add_contact.state")
			}
			if q, has := af["member"]; has {
				var good bool
				st.Member, good = l.nonEmpty(q.v, "add_contact.member")
				ok = ok && good
			}
		}
	case StepEnd:
		if !isNull(v) && !l.bool(v, "servicer_end") {
			l.errAt(v, ErrInvalid, "servicer_end takes true (or nothing)")
			ok = false
		}
	case StepLocation:
		switch {
		case isNull(v):
		case v.Kind == yaml.ScalarNode:
			st.Arg = v.Value
		default:
			lf := l.fields(v, "location", "name", "address", "latitude", "longitude")
			for key, dst := range map[string]*string{"name": &st.Arg, "address": &st.Address} {
				if q, has := lf[key]; has {
					var good bool
					*dst, good = l.str(q.v, "location."+key)
					ok = ok && good
				}
			}
			for key, dst := range map[string]*float64{"latitude": &st.Latitude, "longitude": &st.Longitude} {
				if q, has := lf[key]; has {
					var good bool
					*dst, good = l.float(q.v, "location."+key)
					ok = ok && good
				}
			}
		}
	}
	if q, has := f["now"]; has {
		st.Now = l.time(q.v)
	}
	if q, has := f["expect"]; has {
		e, good := l.expect(q.v)
		st.Expect = e
		ok = ok && good
	}
	return st, ok
}

func (l *loader) expect(n *yaml.Node) (*Expect, bool) {
	e := &Expect{}
	f := l.fields(n, "expect", expectKeys...)
	if n := l.deref(n); n == nil || n.Kind != yaml.MappingNode {
		return e, false
	}
	ok := true
	if p, has := f["none"]; has {
		_, hasVars := f["vars"]
		if l.bool(p.v, "none") && len(f) > 1 && !(len(f) == 2 && hasVars) {
			l.errAt(p.k, ErrInvalid, "none: true means no welcome, reply or transfer; drop those keys (vars may stay)")
			ok = false
		}
	}
	if p, has := f["welcome"]; has {
		e.Welcome, ok = l.strList(p.v, "welcome")
	}
	if p, has := f["reply"]; has {
		var good bool
		e.Reply, good = l.strList(p.v, "reply")
		ok = ok && good
	}
	if p, has := f["transfer"]; has {
		if a, _ := l.transfer(p.v).(*transferAction); a != nil {
			e.Transfer = &Transfer{Kind: a.kind}
			if a.kind == TransferServicer {
				s, isConst := a.servicer.constant()
				if !isConst {
					l.errAt(l.deref(p.v), ErrInvalid, "expect.transfer.servicer must be a plain userid")
					ok = false
				}
				e.Transfer.ServicerUserID = s
			}
		} else {
			ok = false
		}
	}
	if p, has := f["vars"]; has {
		e.Vars = map[string]any{}
		for _, q := range l.rawPairs(p.v, "vars") {
			var v any
			if err := l.deref(q.v).Decode(&v); err != nil { // yaml bounds alias expansion itself
				l.errAt(q.v, ErrInvalid, "vars.%s: %v", q.key, err)
				ok = false
				continue
			}
			e.Vars[q.key] = v
		}
	}
	return e, ok
}

// strList reads a string or a list of strings.
func (l *loader) strList(n *yaml.Node, what string) ([]string, bool) {
	n = l.deref(n)
	if n == nil {
		return nil, false
	}
	if n.Kind == yaml.ScalarNode && !isNull(n) {
		return []string{n.Value}, true
	}
	var out []string
	ok := true
	for _, it := range l.seq(n, what) {
		s, good := l.str(it, what)
		ok = ok && good
		out = append(out, s)
	}
	return out, ok
}

// modelSteps reads a test's `model` list: what the model answers, call by call.
//
//	model:
//	  - say: "Your order ships tomorrow."
//	  - call: transfer_to_human
//	    args: {reason: refund}
//	  - fail: "the model is down"
func (l *loader) modelSteps(n *yaml.Node) []ai.Step {
	var out []ai.Step
	for _, it := range l.seq(n, "model") {
		f := l.fields(it, "a model step", "say", "call", "args", "fail")
		switch {
		case f["say"].v != nil:
			if s, ok := l.str(f["say"].v, "say"); ok {
				out = append(out, ai.Say(s))
			}
		case f["call"].v != nil:
			name, ok := l.nonEmpty(f["call"].v, "call")
			if !ok {
				continue
			}
			args := "{}"
			if a := f["args"].v; a != nil {
				var v any
				if err := l.deref(a).Decode(&v); err != nil {
					l.errAt(l.deref(a), ErrInvalid, "args: %v", err)
					continue
				}
				b, err := json.Marshal(v)
				if err != nil {
					l.errAt(l.deref(a), ErrInvalid, "args: %v", err)
					continue
				}
				args = string(b)
			}
			out = append(out, ai.Call(name, args))
		case f["fail"].v != nil:
			msg, _ := l.str(f["fail"].v, "fail")
			out = append(out, ai.Step{Err: errors.New(msg)})
		default:
			l.errAt(l.deref(it), ErrInvalid, "a model step has one of say, call (with args) or fail")
		}
	}
	return out
}
