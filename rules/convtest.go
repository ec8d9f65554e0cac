package rules

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/kfbot/kfbot/bot"
	"github.com/kfbot/kfbot/kf"
	"github.com/kfbot/kfbot/kf/kftest"
	"github.com/kfbot/kfbot/storage"
)

// Test is a conversation test: steps a customer takes and what the bot must answer.
// Tests come from the `tests` key of a rule file ([Set.Tests]) or of a tests-only file
// ([LoadTests]) and run with [RunTests].
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
)

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

// RunTestFile runs the conversation tests of path (see [LoadTests]) against its rule
// file, loaded with opts, and reports to w as [RunTests] does.
func RunTestFile(ctx context.Context, path string, w io.Writer, opts ...Option) (passed, failed int, err error) {
	suite, err := LoadTests(path)
	if err != nil {
		return 0, 0, err
	}
	s, err := LoadFile(suite.RulesFile, opts...)
	if err != nil {
		return 0, 0, err
	}
	return RunTests(ctx, s, suite.Tests, w)
}

// RunTests runs conversation tests against s, each through a real engine ([bot.New]
// with the set installed and an in-memory store) talking to a fresh fake WeCom server
// (kftest). It writes one line per test to w — `ok   test "name"` or
// `FAIL test "name", step 2 (click hours): reply[0]: got "…", want "…"` — and ends with
// `N passed, M failed`. A test stops at its first failing step. err reports only a
// failure to run (a cancelled ctx, a write error), never a failing test.
//
// In a step, the messages the bot sent are compared by their text: the content of a
// text, the head of a menu, the title of a link or mini program card, the name of a
// location, and "[image]" for an image.
func RunTests(ctx context.Context, s *Set, tests []Test, w io.Writer) (passed, failed int, err error) {
	for _, t := range tests {
		if err := ctx.Err(); err != nil {
			return passed, failed, err
		}
		msg, err := runTest(ctx, s, t)
		if err != nil {
			return passed, failed, fmt.Errorf("rules: test %q: %w", t.Name, err)
		}
		if msg == "" {
			passed++
			_, err = fmt.Fprintf(w, "ok   test %q\n", t.Name)
		} else {
			failed++
			_, err = fmt.Fprintf(w, "FAIL test %q, %s\n", t.Name, msg)
		}
		if err != nil {
			return passed, failed, fmt.Errorf("rules: write test report: %w", err)
		}
	}
	if _, err := fmt.Fprintf(w, "%d passed, %d failed\n", passed, failed); err != nil {
		return passed, failed, fmt.Errorf("rules: write test report: %w", err)
	}
	return passed, failed, nil
}

// testClient adds CorpID to *kf.Client for bot.Client. (A CorpID method of *kf.Client,
// if it has one, is shadowed with the same value.)
type testClient struct {
	*kf.Client
	corpID string
}

func (c testClient) CorpID() string { return c.corpID }

// runTest runs one test and returns "" or the first failure.
func runTest(ctx context.Context, s *Set, t Test) (string, error) {
	srv := kftest.NewUnstartedServer()
	defer srv.Close()
	discard := slog.New(slog.DiscardHandler)
	client := kf.NewClient(srv.CorpID(), srv.Secret(), kf.WithBaseURL("http://kftest.invalid"),
		kf.WithHTTPClient(&http.Client{Transport: srv.Transport()}), kf.WithLogger(discard))
	store := storage.NewMemory()
	defer store.Close()

	var (
		mu    sync.Mutex
		herrs []error
	)
	b, err := bot.New(testClient{Client: client, corpID: srv.CorpID()}, store,
		bot.WithLogger(discard), bot.WithColdStartAge(0),
		bot.WithErrorHandler(func(_ *bot.Context, err error) {
			if refusal(err) {
				return
			}
			mu.Lock()
			herrs = append(herrs, err)
			mu.Unlock()
		}))
	if err != nil {
		return "", err
	}
	var now atomic.Pointer[time.Time]
	if !t.Now.IsZero() {
		now.Store(&t.Now)
	}
	clock := s.opts.now
	ts := s.withClock(func() time.Time {
		if p := now.Load(); p != nil {
			return *p
		}
		return clock()
	})
	ts.opts.media = newMediaCache() // media ids belong to this test's server
	ts.opts.onWhenError = func(rule string, err error) {
		mu.Lock()
		msg, _, _ := strings.Cut(err.Error(), "\n") // expr adds the source and a caret
		herrs = append(herrs, fmt.Errorf("rule %q: when failed: %s", rule, msg))
		mu.Unlock()
	}
	b.Handle(ts.Matcher(), ts.Handler()) // what Install does, without its log line

	kfid, user := t.OpenKFID, t.ExternalUserID
	if kfid == "" {
		kfid = DefaultTestOpenKFID
	}
	if user == "" {
		user = DefaultTestExternalUserID
	}
	for _, id := range s.servicers {
		srv.AddServicer(kfid, id)
	}
	for _, st := range t.Steps {
		if e := st.Expect; e != nil && e.Transfer != nil && e.Transfer.ServicerUserID != "" {
			srv.AddServicer(kfid, e.Transfer.ServicerUserID)
		}
	}
	for i, st := range t.Steps {
		if !st.Now.IsZero() {
			stepNow := st.Now
			now.Store(&stepNow)
		}
		before := len(srv.SentTo(kfid, user))
		switch st.Kind {
		case StepEnter:
			srv.EnterSession(kfid, user, st.Arg, st.SceneParam)
		case StepSay:
			srv.AddText(kfid, user, st.Arg)
		case StepClick:
			text := st.Arg
			if c, ok := s.clicks[st.Arg]; ok {
				text = c
			}
			srv.AddMenuClick(kfid, user, st.Arg, text)
		case StepImage:
			id := st.Arg
			if id == "" {
				id = fmt.Sprintf("rules-test-image-%d", i+1)
			}
			srv.AddImage(kfid, user, id)
		case StepVoice, StepFile:
			id := st.Arg
			if id == "" {
				id = fmt.Sprintf("rules-test-%s-%d", st.Kind, i+1)
			}
			srv.AddCustomerMessage(kfid, user, string(st.Kind), map[string]string{"media_id": id})
		case StepLocation:
			srv.AddCustomerMessage(kfid, user, "location", map[string]any{
				"latitude": st.Latitude, "longitude": st.Longitude, "name": st.Arg, "address": st.Address})
		case StepPickUp:
			srv.ServicerPickUp(kfid, user, st.Arg)
		case StepEnd:
			srv.ServicerEnd(kfid, user)
		default:
			return "", fmt.Errorf("step %d: unknown step kind %q", i+1, st.Kind)
		}
		stateBefore := srv.SessionState(kfid, user)
		mu.Lock()
		herrs = herrs[:0]
		mu.Unlock()
		if err := b.Pull(ctx, kfid); err != nil {
			if ctx.Err() != nil {
				return "", ctx.Err()
			}
			return fmt.Sprintf("step %d (%s): pull failed: %v", i+1, st, err), nil
		}
		mu.Lock()
		errs := slices.Clone(herrs)
		mu.Unlock()
		diffs := checkStep(ctx, srv, store, kfid, user, st, srv.SentTo(kfid, user)[before:], stateBefore, errs)
		if len(diffs) > 0 {
			return fmt.Sprintf("step %d (%s): %s", i+1, st, strings.Join(diffs, "; ")), nil
		}
	}
	return "", nil
}

// checkStep compares what a step produced with its expectation.
func checkStep(ctx context.Context, srv *kftest.Server, store storage.Store, kfid, user string, st Step,
	sent []kftest.Sent, stateBefore int, errs []error) []string {
	var diffs []string
	for _, err := range errs {
		if d := "error: " + err.Error(); !slices.Contains(diffs, d) { // a when may run twice
			diffs = append(diffs, d)
		}
	}
	e := st.Expect
	if e == nil {
		return diffs
	}
	var welcomes, replies []string
	for _, m := range sent {
		if m.Path == "send_msg_on_event" {
			welcomes = append(welcomes, sentText(m))
		} else {
			replies = append(replies, sentText(m))
		}
	}
	diffs = append(diffs, compareList("welcome", welcomes, e.Welcome)...)
	diffs = append(diffs, compareList("reply", replies, e.Reply)...)

	state := srv.SessionState(kfid, user)
	var got *Transfer
	if state != stateBefore {
		switch state {
		case kftest.StatePool:
			got = &Transfer{Kind: TransferPool}
		case kftest.StateHuman:
			got = &Transfer{Kind: TransferServicer, ServicerUserID: srv.SessionServicer(kfid, user)}
		case kftest.StateEnded:
			got = &Transfer{Kind: TransferEnd}
		}
	}
	if got.String() != e.Transfer.String() {
		diffs = append(diffs, fmt.Sprintf("transfer: got %s, want %s", got, e.Transfer))
	}

	if len(e.Vars) > 0 {
		sess, err := store.Session(ctx, storage.Conversation{CorpID: srv.CorpID(), OpenKFID: kfid, ExternalUserID: user})
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return append(diffs, fmt.Sprintf("vars: read session: %v", err))
		}
		names := make([]string, 0, len(e.Vars))
		for k := range e.Vars {
			names = append(names, k)
		}
		slices.Sort(names)
		for _, k := range names {
			var gotV any
			if sess != nil {
				gotV = sess.Vars[k]
			}
			g, _ := json.Marshal(gotV)
			w, _ := json.Marshal(e.Vars[k])
			if string(g) != string(w) {
				diffs = append(diffs, fmt.Sprintf("vars.%s: got %s, want %s", k, g, w))
			}
		}
	}
	return diffs
}

func compareList(what string, got, want []string) []string {
	if len(got) != len(want) {
		return []string{fmt.Sprintf("%s: got %s, want %s", what, quoteList(got), quoteList(want))}
	}
	var diffs []string
	for i := range got {
		if got[i] != want[i] {
			diffs = append(diffs, fmt.Sprintf("%s[%d]: got %q, want %q", what, i, got[i], want[i]))
		}
	}
	return diffs
}

func quoteList(xs []string) string {
	if len(xs) == 0 {
		return "nothing"
	}
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = strconv.Quote(x)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// sentText is the text a send is compared by.
func sentText(m kftest.Sent) string {
	if m.MsgType == "text" {
		return m.Text
	}
	var body struct {
		MsgMenu struct {
			Head string `json:"head_content"`
		} `json:"msgmenu"`
		Link struct {
			Title string `json:"title"`
		} `json:"link"`
		Miniprogram struct {
			Title string `json:"title"`
		} `json:"miniprogram"`
		Location struct {
			Name string `json:"name"`
		} `json:"location"`
	}
	_ = json.Unmarshal(m.Body, &body)
	var s string
	switch m.MsgType {
	case "msgmenu":
		s = body.MsgMenu.Head
	case "link":
		s = body.Link.Title
	case "miniprogram":
		s = body.Miniprogram.Title
	case "location":
		s = body.Location.Name
	}
	if s == "" {
		s = "[" + m.MsgType + "]"
	}
	return s
}

// ---- parsing ----

var (
	testKeys   = []string{"name", "now", "open_kfid", "user", "steps"}
	stepKinds  = []string{"enter", "say", "click", "image", "voice", "file", "location", "servicer_pick_up", "servicer_end"}
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
