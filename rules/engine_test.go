package rules_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/bot"
	"github.com/kfbot/kfbot/kf"
	"github.com/kfbot/kfbot/kf/kftest"
	"github.com/kfbot/kfbot/kf/syncmsg"
	"github.com/kfbot/kfbot/rules"
	"github.com/kfbot/kfbot/storage"
)

var quietLog = slog.New(slog.DiscardHandler)

const (
	kfid = "wkTest"
	user = "wmTest"
)

// corpClient gives *kf.Client the CorpID method bot.Client needs (a no-op once kf has
// it).
type corpClient struct {
	*kf.Client
	corp string
}

func (c corpClient) CorpID() string { return c.corp }

// harness is a bot talking to a fake WeCom server.
type harness struct {
	srv  *kftest.Server
	b    *bot.Bot
	mu   sync.Mutex
	errs []error
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{srv: kftest.NewUnstartedServer()}
	t.Cleanup(h.srv.Close)
	client := kf.NewClient(h.srv.CorpID(), h.srv.Secret(), kf.WithBaseURL("http://kftest.invalid"),
		kf.WithHTTPClient(&http.Client{Transport: h.srv.Transport()}))
	b, err := bot.New(corpClient{client, h.srv.CorpID()}, storage.NewMemory(),
		bot.WithColdStartAge(0), bot.WithLogger(quietLog),
		bot.WithErrorHandler(func(_ *bot.Context, err error) {
			h.mu.Lock()
			h.errs = append(h.errs, err)
			h.mu.Unlock()
		}))
	require.NoError(t, err)
	h.b = b
	return h
}

// say sends text as the customer and returns the texts the bot sent back.
func (h *harness) say(t *testing.T, text string) []string {
	t.Helper()
	before := len(h.srv.SentTo(kfid, user))
	h.srv.AddText(kfid, user, text)
	require.NoError(t, h.b.Pull(t.Context(), kfid))
	var out []string
	for _, s := range h.srv.SentTo(kfid, user)[before:] {
		out = append(out, s.Text)
	}
	return out
}

func (h *harness) takeErrors() []error {
	h.mu.Lock()
	defer h.mu.Unlock()
	errs := h.errs
	h.errs = nil
	return errs
}

// TestInstallLeavesUnmatchedMessagesToOtherHandlers: Go handlers registered before the
// set see messages first; messages no rule matches reach later handlers and the default.
func TestInstallLeavesUnmatchedMessagesToOtherHandlers(t *testing.T) {
	set := mustLoad(t, `version: 1
rules:
  - name: hello
    when: msg.text contains "hello"
    then: [{reply: "hello from rules"}]
`)
	h := newHarness(t)
	h.b.Handle(bot.Text("ping"), func(c *bot.Context) error { return c.ReplyText("pong") })
	require.NoError(t, h.b.Install(set))
	h.b.Handle(bot.TextContains("order"), func(c *bot.Context) error { return c.ReplyText("order handler") })
	h.b.HandleDefault(func(c *bot.Context) error { return c.ReplyText("default") })

	assert.Equal(t, []string{"pong"}, h.say(t, "ping"))
	assert.Equal(t, []string{"hello from rules"}, h.say(t, "hello there"))
	assert.Equal(t, []string{"order handler"}, h.say(t, "my order"))
	assert.Equal(t, []string{"default"}, h.say(t, "something else"))
	assert.Empty(t, h.takeErrors())
	assert.Equal(t, "rules", set.Name())
}

func TestHandlerAction(t *testing.T) {
	var calls []string
	ticket := func(c *bot.Context) error {
		calls = append(calls, c.Text())
		c.Session().Vars["ticket"] = "T-1"
		return c.ReplyText("ticket created")
	}
	failing := func(*bot.Context) error { return errors.New("crm down") }
	set := mustLoad(t, `version: 1
rules:
  - name: ticket
    when: msg.text startsWith "ticket"
    then:
      - set: {asked: "true"}
      - handler: create_ticket
      - reply: "your ticket is {{ session.vars.ticket }}"
  - name: crm
    when: msg.text == "crm"
    then:
      - handler: crm
      - reply: "never sent"
`, rules.WithHandler("create_ticket", ticket), rules.WithHandler("crm", failing))
	h := newHarness(t)
	require.NoError(t, h.b.Install(set))

	assert.Equal(t, []string{"ticket created", "your ticket is T-1"}, h.say(t, "ticket please"))
	assert.Equal(t, []string{"ticket please"}, calls)

	assert.Empty(t, h.say(t, "crm"), "a failing action stops the rule")
	errs := h.takeErrors()
	require.Len(t, errs, 1)
	assert.EqualError(t, errs[0], `rules: rule "crm": handler crm: crm down`)
}

// TestRefusedReplyDoesNotStopTheRule: the engine refuses a sixth reply to one customer
// message; the refusal is logged, the actions after it still run.
func TestRefusedReplyDoesNotStopTheRule(t *testing.T) {
	set := mustLoad(t, `version: 1
rules:
  - name: chatty
    when: msg.type == "text"
    then:
      - reply: "1"
      - reply: "2"
      - reply: "3"
      - reply: "4"
      - reply: "5"
      - reply: "6"
      - set: {after: "'yes'"}
      - reply: "{{ session.vars.after }}"
`)
	h := newHarness(t)
	require.NoError(t, h.b.Install(set))
	assert.Equal(t, []string{"1", "2", "3", "4", "5"}, h.say(t, "hi"))
	assert.Empty(t, h.takeErrors(), "refusals are not failures")
}

// TestServicerMessagesNeverReachRules: a text a servicer typed in WeCom (origin 5)
// matches no rule, even one without a condition.
func TestServicerMessagesNeverReachRules(t *testing.T) {
	set := mustLoad(t, "version: 1\nrules:\n  - name: all\n    then: [{set: {seen: \"true\"}}]\n")
	h := newHarness(t)
	require.NoError(t, h.b.Install(set))
	var fellThrough []syncmsg.Origin
	h.b.HandleDefault(func(c *bot.Context) error {
		fellThrough = append(fellThrough, c.Header().Origin)
		return nil
	})
	msg := &syncmsg.Text{Header: syncmsg.Header{MsgID: "m1", OpenKFID: kfid, ExternalUserID: user,
		Origin: syncmsg.OriginServicer, MsgType: syncmsg.TypeText, ServicerUserID: "zhangsan"}, Content: "hi"}
	require.NoError(t, h.b.Dispatch(t.Context(), msg))
	assert.Equal(t, []syncmsg.Origin{syncmsg.OriginServicer}, fellThrough)
}

func mustLoad(t *testing.T, src string, opts ...rules.Option) *rules.Set {
	t.Helper()
	s, err := rules.Load(strings.NewReader(src), "rules.yaml", append([]rules.Option{quiet}, opts...)...)
	require.NoError(t, err)
	return s
}

func TestWhenRuntimeErrorCountsAsFalse(t *testing.T) {
	set := mustLoad(t, `version: 1
rules:
  - name: explodes
    when: int(msg.text) > 1
    then: [{reply: "number"}]
  - name: fallback
    when: msg.type == "text"
    then: [{reply: "fallback"}]
`)
	h := newHarness(t)
	require.NoError(t, h.b.Install(set))
	assert.Equal(t, []string{"number"}, h.say(t, "5"))
	assert.Equal(t, []string{"fallback"}, h.say(t, "five"))
	assert.Empty(t, h.takeErrors())
}

func TestMemoryBudgetStopsRunawayExpressions(t *testing.T) {
	set := mustLoad(t, `version: 1
rules:
  - name: runaway
    when: 'len(map(1..1000000, # * 2)) > 0'   # quoted: in YAML, ' #' starts a comment
    then: [{reply: "runaway"}]
  - name: fallback
    then: [{reply: "fallback"}]
`)
	h := newHarness(t)
	require.NoError(t, h.b.Install(set))
	assert.Equal(t, []string{"fallback"}, h.say(t, "hi"), "the budget aborts the expression; it counts as false")
}

// countingHandler counts the records whose message is msg.
type countingHandler struct {
	slog.Handler
	msg string
	n   *atomic.Int32
}

func (countingHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h countingHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Message == h.msg {
		h.n.Add(1)
	}
	return nil
}

// TestEachWhenRunsOncePerMessage: the matcher hands the rule it found to the handler, so
// a condition that fails is logged once and the clock is read once per message.
func TestEachWhenRunsOncePerMessage(t *testing.T) {
	h := newHarness(t)
	var failed, clock atomic.Int32
	log := slog.New(countingHandler{slog.DiscardHandler, "rules: when failed; counting it as false", &failed})
	set, err := rules.Load(strings.NewReader(`version: 1
rules:
  - name: number
    when: int(msg.text) > 5
    then: [{reply: "big"}]
  - name: hello
    when: msg.text == "hello"
    then: [{reply: "hi"}]
`), "once.yaml", rules.WithLogger(log), rules.WithClock(func() time.Time { clock.Add(1); return time.Now() }))
	require.NoError(t, err)
	require.NoError(t, h.b.Install(set))
	assert.Equal(t, []string{"hi"}, h.say(t, "hello"))
	assert.Equal(t, int32(1), failed.Load(), "the failing when ran once")
	assert.Equal(t, int32(1), clock.Load(), "one environment per message")
	assert.Empty(t, h.takeErrors())
}

// TestMediaRepliesFromFilesUploadOnce: voice, video and file replies from local files are
// uploaded once (as their type) and their media_id reused across 100 replies; a media_id
// given in the file is sent as it is.
func TestMediaRepliesFromFilesUploadOnce(t *testing.T) {
	dir := t.TempDir()
	for name, head := range map[string]string{"hello.amr": "#!AMR\n", "clip.mp4": "\x00\x00\x00\x18ftypmp42", "menu.pdf": "%PDF-1.7"} {
		data := append([]byte(head), bytes.Repeat([]byte{'x'}, 1000)...)
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), data, 0o600))
	}
	h := newHarness(t)
	img := h.srv.PutMedia("image", "given.png", []byte("\x89PNG given"))
	set := mustLoad(t, `version: 1
rules:
  - name: media
    when: msg.text == "media"
    then:
      - reply: {voice: {file: hello.amr}}
      - reply: {video: {file: clip.mp4}}
      - reply: {file: {file: menu.pdf}}
      - reply: {image: {media_id: `+img+`}}
`, rules.WithBaseDir(dir))
	require.NoError(t, h.b.Install(set))
	for range 25 {
		h.say(t, "media")
	}
	require.Empty(t, h.takeErrors())
	sent := h.srv.SentTo(kfid, user)
	require.Len(t, sent, 100)
	ids := map[string]map[string]bool{}
	for _, s := range sent {
		var body map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(s.Body, &body))
		var m struct {
			MediaID string `json:"media_id"`
		}
		require.NoError(t, json.Unmarshal(body[s.MsgType], &m), s.MsgType)
		if ids[s.MsgType] == nil {
			ids[s.MsgType] = map[string]bool{}
		}
		ids[s.MsgType][m.MediaID] = true
	}
	for _, typ := range []string{"voice", "video", "file", "image"} {
		assert.Len(t, ids[typ], 1, "%s: one media_id for 25 replies", typ)
	}
	assert.True(t, ids["image"][img])
	for typ, set := range ids {
		for id := range set {
			assert.NotEmpty(t, h.srv.Media(id), "%s: %s was uploaded", typ, id)
		}
	}
}

// TestMediaFilesWeComWouldRefuseAreLoadErrors: the size and format limits of uploads are
// checked when the rules load.
func TestMediaFilesWeComWouldRefuseAreLoadErrors(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "big.amr"), make([]byte, 2<<20+1), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "song.mp3"), make([]byte, 100), 0o600))
	for file, want := range map[string]string{
		"{voice: {file: big.amr}}":  "WeCom takes voice media of at most 2 MB",
		"{voice: {file: song.mp3}}": "WeCom takes voice media as AMR files",
	} {
		_, err := rules.Load(strings.NewReader(`version: 1
rules:
  - name: r
    then: [{reply: `+file+`}]
`), "rules.yaml", quiet, rules.WithBaseDir(dir))
		require.Error(t, err, file)
		assert.ErrorContains(t, err, want)
		assert.ErrorIs(t, err, rules.ErrFile)
	}
}
