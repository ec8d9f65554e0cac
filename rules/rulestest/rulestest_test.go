package rulestest_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	_ "time/tzdata" // the example names Asia/Shanghai; do not depend on the host's zoneinfo

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/rules"
	"github.com/kfbot/kfbot/rules/rulestest"
)

var quiet = rules.WithLogger(slog.New(slog.DiscardHandler))

// TestExampleRulesFile is the acceptance test of examples/rules.yaml: it compiles, it is
// the bot the issue describes, and its own conversation tests pass.
func TestExampleRulesFile(t *testing.T) {
	set, err := rules.LoadFile("../../examples/rules.yaml", quiet)
	require.NoError(t, err)
	for _, name := range []string{
		"welcome",                             // the welcome menu
		"hours",                               // business hours (menu click and keywords)
		"shipping", "returns", "order-status", // FAQ keywords in Chinese and English
		"human-in-hours", "human-after-hours", // hand-off on request, aware of business hours
		"hand-off-after-misses", "fallback", // hand-off after repeated misunderstandings
		"remember-name", "greeting", "picture",
	} {
		assert.Contains(t, set.Rules(), name)
	}
	var out bytes.Buffer
	passed, failed, err := rulestest.Run(t.Context(), set, set.Tests(), &out)
	require.NoError(t, err)
	assert.Zero(t, failed, out.String())
	assert.Equal(t, len(set.Tests()), passed)
	assert.GreaterOrEqual(t, passed, 10)
	assert.True(t, strings.HasSuffix(out.String(), fmt.Sprintf("\n%d passed, 0 failed\n", passed)), out.String())
}

// TestIssueExample: the file of the issue, verbatim, loads and passes its tests.
func TestIssueExample(t *testing.T) {
	var out bytes.Buffer
	passed, failed, err := rulestest.RunFile(t.Context(), "../testdata/issue.yaml", &out, quiet)
	require.NoError(t, err)
	assert.Equal(t, 2, passed, out.String())
	assert.Zero(t, failed, out.String())
}

// TestBehaviourFile runs every action through the engine (testdata/behaviour.yaml).
func TestBehaviourFile(t *testing.T) {
	var out bytes.Buffer
	passed, failed, err := rulestest.RunFile(t.Context(), "../testdata/behaviour.yaml", &out, quiet)
	require.NoError(t, err)
	assert.Zero(t, failed, out.String())
	assert.Equal(t, 9, passed, out.String())
}

// TestTestsInASeparateFile runs a tests-only file against the rule file it names.
func TestTestsInASeparateFile(t *testing.T) {
	var out bytes.Buffer
	passed, failed, err := rulestest.RunFile(t.Context(), "../testdata/tests_only.yaml", &out, quiet)
	require.NoError(t, err)
	assert.Equal(t, "ok   test \"the fallback echoes\"\nok   test \"no expectation checks only that nothing failed\"\n2 passed, 0 failed\n", out.String())
	assert.Equal(t, 2, passed)
	assert.Zero(t, failed)
}

// TestRunTestsReportsWhatDiffered: failing expectations are reported with the test, the
// step and what differed; the test stops at its first failing step.
func TestRunTestsReportsWhatDiffered(t *testing.T) {
	src := `version: 1
rules:
  - name: welcome
    when: msg.event == "enter_session"
    then: [{welcome: "Hi!"}]
  - name: hours
    when: msg.menu_id == "hours"
    then: [{reply: "9 to 6"}]
  - name: human
    when: msg.text contains "human"
    then: [{reply: "connecting"}, {transfer: pool}]
  - name: broken
    when: msg.text == "broken"
    then: [{reply: "{{ 1 / 0 > 1 ? '' : '' }}"}]
  - name: echo
    when: msg.type == "text"
    then: [{reply: "echo {{ msg.text }}"}, {set: {n: "1"}}]
tests:
  - name: wrong reply
    steps:
      - enter: ad
        expect: {welcome: "Hi!"}
      - click: hours
        expect: {reply: ["9 to 5"]}
      - say: never reached
        expect: {reply: nothing}
  - name: missing and extra messages
    steps:
      - say: human
        expect: {reply: ["connecting", "please wait"]}
  - name: unexpected transfer and a welcome that never came
    steps:
      - say: human
        expect: {reply: "connecting", welcome: "Hi!"}
  - name: wrong vars
    steps:
      - say: hello
        expect: {reply: "echo hello", vars: {n: 2, m: "x"}}
  - name: a failing action
    steps:
      - say: broken
  - name: passes
    steps:
      - say: hello
        expect: {reply: "echo hello", vars: {n: 1}}
`
	set, err := rules.Load(strings.NewReader(src), "t.yaml", quiet)
	require.NoError(t, err)
	var out bytes.Buffer
	passed, failed, err := rulestest.Run(t.Context(), set, set.Tests(), &out)
	require.NoError(t, err)
	assert.Equal(t, 1, passed)
	assert.Equal(t, 5, failed)
	want := `FAIL test "wrong reply", step 2 (click hours): reply[0]: got "9 to 6", want "9 to 5"
FAIL test "missing and extra messages", step 1 (say "human"): reply: got ["connecting"], want ["connecting", "please wait"]; transfer: got pool, want none
FAIL test "unexpected transfer and a welcome that never came", step 1 (say "human"): welcome: got nothing, want ["Hi!"]; transfer: got pool, want none
FAIL test "wrong vars", step 1 (say "hello"): vars.m: got null, want "x"; vars.n: got 1, want 2
FAIL test "a failing action", step 1 (say "broken"): error: rules: rule "broken": reply: `
	got := out.String()
	require.True(t, strings.HasPrefix(got, want), got)
	assert.True(t, strings.HasSuffix(got, "\nok   test \"passes\"\n1 passed, 5 failed\n"), got)
}

func TestRunTestsStopsWhenCancelled(t *testing.T) {
	set, err := rules.LoadFile("../testdata/issue.yaml", quiet)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	var out bytes.Buffer
	_, _, err = rulestest.Run(ctx, set, set.Tests(), &out)
	assert.ErrorIs(t, err, context.Canceled)
}

// TestConversationTestsScriptRealConversations: voice, file and location steps, a
// servicer picking the conversation up and ending it, and none: true with vars.
func TestConversationTestsScriptRealConversations(t *testing.T) {
	src := `version: 1
rules:
  - name: voice
    when: msg.type == "voice"
    then: [{reply: "voice {{ msg.media_id }}"}]
  - name: file
    when: msg.type == "file"
    then: [{reply: "got your file"}]
  - name: location
    when: msg.type == "location"
    then: [{reply: "thanks for the location"}]
  - name: picked up
    when: msg.event == "session_status_change" && msg.change_type == 1
    then: [{set: {picked: true}}]
  - name: ended
    when: msg.event == "session_status_change" && msg.change_type == 3
    then: [{set: {ended: true}}]
tests:
  - name: media and a servicer
    steps:
      - voice: v1
        expect: {reply: "voice v1"}
      - file:
        expect: {reply: "got your file"}
      - location: {name: Office, address: "1 Road", latitude: 31.2, longitude: 121.4}
        expect: {reply: "thanks for the location"}
      - servicer_pick_up: alice
        expect: {none: true, vars: {picked: true}}
      - servicer_end: true
        expect: {none: true, vars: {ended: true}}
`
	set, err := rules.Load(strings.NewReader(src), "t.yaml", quiet)
	require.NoError(t, err)
	var out bytes.Buffer
	passed, failed, err := rulestest.Run(t.Context(), set, set.Tests(), &out)
	require.NoError(t, err)
	assert.Equal(t, "ok   test \"media and a servicer\"\n1 passed, 0 failed\n", out.String())
	assert.Equal(t, 1, passed)
	assert.Equal(t, 0, failed)
}

// TestConversationTestsReportFailingConditions: a when that fails at run time fails
// the step, naming the rule and the error, instead of passing as the fallback's answer.
func TestConversationTestsReportFailingConditions(t *testing.T) {
	src := `version: 1
rules:
  - name: number
    when: int(msg.text) > 1
    then: [{reply: "number"}]
  - name: fallback
    then: [{reply: "fallback"}]
tests:
  - name: not a number
    steps:
      - say: five
        expect: {reply: fallback}
`
	set, err := rules.Load(strings.NewReader(src), "t.yaml", quiet)
	require.NoError(t, err)
	var out bytes.Buffer
	_, failed, err := rulestest.Run(t.Context(), set, set.Tests(), &out)
	require.NoError(t, err)
	assert.Equal(t, 1, failed)
	assert.Contains(t, out.String(), `FAIL test "not a number", step 1 (say "five"): error: rule "number": when failed: `)
	assert.Contains(t, out.String(), "when failed: invalid operation: int(five) (1:1)\n0 passed, 1 failed\n")
}

// TestConversationTestsSeeTheBotSilentWhileAPersonOwnsIt: between a servicer picking the
// conversation up and ending it, the customer's messages run no rule (no reply, no
// variable) but those with while_human; after the end the bot answers again.
func TestConversationTestsSeeTheBotSilentWhileAPersonOwnsIt(t *testing.T) {
	src := `version: 1
rules:
  - name: noted
    when: msg.text == "note"
    while_human: true
    then: [{set: {noted: true}}]
  - name: count
    when: msg.type == "text"
    then:
      - set: {n: '(session.vars.n ?? 0) + 1'}
      - reply: "bot {{ session.vars.n }}"
tests:
  - name: silent in between
    steps:
      - say: hi
        expect: {reply: "bot 1", vars: {n: 1}}
      - servicer_pick_up: alice
        expect: {none: true}
      - say: hello?
        expect: {none: true, vars: {n: 1}}
      - say: note
        expect: {none: true, vars: {n: 1, noted: true}}
      - servicer_end: true
        expect: {none: true}
      - say: thanks
        expect: {reply: "bot 2", vars: {n: 2}}
`
	set, err := rules.Load(strings.NewReader(src), "t.yaml", quiet)
	require.NoError(t, err)
	var out bytes.Buffer
	passed, failed, err := rulestest.Run(t.Context(), set, set.Tests(), &out)
	require.NoError(t, err)
	assert.Equal(t, "ok   test \"silent in between\"\n1 passed, 0 failed\n", out.String())
	assert.Equal(t, 1, passed)
	assert.Equal(t, 0, failed)
}

// TestExampleAIFile is the acceptance test of examples/ai.yaml: FAQ rules first, the
// model (scripted by each test) for the rest, a hand-off, per-account prompts.
func TestExampleAIFile(t *testing.T) {
	var out bytes.Buffer
	passed, failed, err := rulestest.RunFile(t.Context(), "../../examples/ai.yaml", &out, quiet)
	require.NoError(t, err)
	assert.Zero(t, failed, out.String())
	assert.Equal(t, 5, passed, out.String())
}

// TestConversationTestsScriptNewExternalContacts: add_contact steps reach the callback
// rules, each QR code's state its own welcome; a wrong expectation is reported.
func TestConversationTestsScriptNewExternalContacts(t *testing.T) {
	set, err := rules.Load(strings.NewReader(`version: 1
rules:
  - name: welcome-a
    callback: change_external_contact
    when: event.state == "qr-a"
    then:
      - welcome: {text: "Welcome, A", attachments: [{link: {title: "Shop", url: "https://example.com"}}]}
  - name: welcome-b
    callback: change_external_contact
    when: event.state == "qr-b"
    then: [{welcome: "Welcome, B"}]
tests:
  - name: two codes
    steps:
      - add_contact: qr-a
        expect: {welcome: ["Welcome, A", "[link]"]}
      - add_contact: {state: qr-b, member: lisi}
        expect: {welcome: ["Welcome, B"]}
      - add_contact: qr-c
        expect: {welcome: []}
  - name: wrong
    steps:
      - add_contact: qr-b
        expect: {welcome: ["Welcome, A"]}
`), "contacts.yaml", quiet)
	require.NoError(t, err)
	var out bytes.Buffer
	passed, failed, err := rulestest.Run(t.Context(), set, set.Tests(), &out)
	require.NoError(t, err)
	assert.Equal(t, 1, passed, out.String())
	assert.Equal(t, 1, failed, out.String())
	assert.Contains(t, out.String(), `FAIL test "wrong", step 1 (add_contact qr-b): welcome[0]: got "Welcome, B", want "Welcome, A"`)
}
