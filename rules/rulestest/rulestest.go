package rulestest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kfbot/kfbot/ai"
	"github.com/kfbot/kfbot/bot"
	"github.com/kfbot/kfbot/kf"
	"github.com/kfbot/kfbot/kf/callback"
	"github.com/kfbot/kfbot/kf/kftest"
	"github.com/kfbot/kfbot/rules"
	"github.com/kfbot/kfbot/rules/internal/testhook"
	"github.com/kfbot/kfbot/storage"
)

// RunFile runs the conversation tests of path (see [rules.LoadTests]) against its rule
// file, loaded with opts, and reports to w as [Run] does.
func RunFile(ctx context.Context, path string, w io.Writer, opts ...rules.Option) (passed, failed int, err error) {
	suite, err := rules.LoadTests(path)
	if err != nil {
		return 0, 0, err
	}
	s, err := rules.LoadFile(suite.RulesFile, opts...)
	if err != nil {
		return 0, 0, err
	}
	return Run(ctx, s, suite.Tests, w)
}

// Run runs conversation tests against s, each through a real engine ([bot.New]
// with the set installed and an in-memory store) talking to a fresh fake WeCom server
// (kftest). It writes one line per test to w — `ok   test "name"` or
// `FAIL test "name", step 2 (click hours): reply[0]: got "…", want "…"` — and ends with
// `N passed, M failed`. A test stops at its first failing step. err reports only a
// failure to run (a cancelled ctx, a write error), never a failing test.
//
// In a step, the messages the bot sent are compared by their text: the content of a
// text, the head of a menu, the title of a link or mini program card, the name of a
// location, and "[image]" for an image.
func Run(ctx context.Context, s *rules.Set, tests []rules.Test, w io.Writer) (passed, failed int, err error) {
	for _, t := range tests {
		if err := ctx.Err(); err != nil {
			return passed, failed, err
		}
		msg, err := runTest(ctx, s, t)
		if err != nil {
			return passed, failed, fmt.Errorf("rulestest: test %q: %w", t.Name, err)
		}
		if msg == "" {
			passed++
			_, err = fmt.Fprintf(w, "ok   test %q\n", t.Name)
		} else {
			failed++
			_, err = fmt.Fprintf(w, "FAIL test %q, %s\n", t.Name, msg)
		}
		if err != nil {
			return passed, failed, fmt.Errorf("rulestest: write test report: %w", err)
		}
	}
	if _, err := fmt.Fprintf(w, "%d passed, %d failed\n", passed, failed); err != nil {
		return passed, failed, fmt.Errorf("rulestest: write test report: %w", err)
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
func runTest(ctx context.Context, s *rules.Set, t rules.Test) (string, error) {
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
			if _, ok := errors.AsType[*bot.RefusalError](err); ok {
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
	ts := testhook.Prepare(s, func() time.Time {
		if p := now.Load(); p != nil {
			return *p
		}
		return time.Time{}
	}, func(rule string, err error) {
		mu.Lock()
		msg, _, _ := strings.Cut(err.Error(), "\n") // expr adds the source and a caret
		herrs = append(herrs, fmt.Errorf("rule %q: when failed: %s", rule, msg))
		mu.Unlock()
	}, ai.NewScripted(t.Model...))
	if err := ts.Install(b); err != nil {
		return "", err
	}

	kfid, user := t.OpenKFID, t.ExternalUserID
	if kfid == "" {
		kfid = rules.DefaultTestOpenKFID
	}
	if user == "" {
		user = rules.DefaultTestExternalUserID
	}
	for _, id := range ts.Servicers {
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
		case rules.StepEnter:
			srv.EnterSession(kfid, user, st.Arg, st.SceneParam)
		case rules.StepSay:
			srv.AddText(kfid, user, st.Arg)
		case rules.StepClick:
			text := st.Arg
			if c, ok := ts.Clicks[st.Arg]; ok {
				text = c
			}
			srv.AddMenuClick(kfid, user, st.Arg, text)
		case rules.StepImage:
			id := st.Arg
			if id == "" {
				id = fmt.Sprintf("rules-test-image-%d", i+1)
			}
			srv.AddImage(kfid, user, id)
		case rules.StepVoice, rules.StepFile:
			id := st.Arg
			if id == "" {
				id = fmt.Sprintf("rules-test-%s-%d", st.Kind, i+1)
			}
			srv.AddCustomerMessage(kfid, user, string(st.Kind), map[string]string{"media_id": id})
		case rules.StepLocation:
			srv.AddCustomerMessage(kfid, user, "location", map[string]any{
				"latitude": st.Latitude, "longitude": st.Longitude, "name": st.Arg, "address": st.Address})
		case rules.StepPickUp:
			srv.ServicerPickUp(kfid, user, st.Arg)
		case rules.StepEnd:
			srv.ServicerEnd(kfid, user)
		case rules.StepAddContact:
			msg, err := addContact(ctx, srv, b, user, st)
			if err != nil {
				return "", err
			}
			if msg != "" {
				return fmt.Sprintf("step %d (%s): %s", i+1, st, msg), nil
			}
			continue
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

// addContact runs an add_contact step: the callback goes to the bot's callback rules,
// and the welcomes it sent are compared with the step's expect.
func addContact(ctx context.Context, srv *kftest.Server, b *bot.Bot, user string, st rules.Step) (string, error) {
	member := st.Member
	if member == "" {
		member = rules.DefaultTestMember
	}
	before := len(srv.Welcomes())
	ev := srv.AddExternalContact(member, user, st.Arg)
	n, err := callback.DecodeNotification(ev.XML)
	if err != nil {
		return "", fmt.Errorf("rulestest: the fake's add_external_contact does not decode: %w", err)
	}
	var diffs []string
	if err := b.DispatchCallback(ctx, n, time.Now()); err != nil {
		if _, refused := errors.AsType[*bot.RefusalError](err); !refused {
			diffs = append(diffs, "error: "+err.Error())
		}
	}
	if e := st.Expect; e != nil {
		var got []string
		for _, w := range srv.Welcomes()[before:] {
			if w.Text != "" {
				got = append(got, w.Text)
			}
			for _, a := range w.Attachments {
				var t struct {
					MsgType string `json:"msgtype"`
				}
				_ = json.Unmarshal(a, &t)
				got = append(got, "["+t.MsgType+"]")
			}
		}
		diffs = append(diffs, compareList("welcome", got, e.Welcome)...)
		if len(e.Reply) > 0 || e.Transfer != nil || len(e.Vars) > 0 {
			diffs = append(diffs, "an add_contact step can expect only welcome: callback rules neither reply, transfer nor keep session variables")
		}
	}
	return strings.Join(diffs, "; "), nil
}

// checkStep compares what a step produced with its expectation.
func checkStep(ctx context.Context, srv *kftest.Server, store storage.Store, kfid, user string, st rules.Step,
	sent []kftest.Sent, stateBefore int, errs []error) []string {
	var diffs []string
	for _, err := range errs {
		diffs = append(diffs, "error: "+err.Error())
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
	var got *rules.Transfer
	if state != stateBefore {
		switch state {
		case kftest.StatePool:
			got = &rules.Transfer{Kind: rules.TransferPool}
		case kftest.StateHuman:
			got = &rules.Transfer{Kind: rules.TransferServicer, ServicerUserID: srv.SessionServicer(kfid, user)}
		case kftest.StateEnded:
			got = &rules.Transfer{Kind: rules.TransferEnd}
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
