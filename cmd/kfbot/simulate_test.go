package main

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/ai/aitest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const exampleRules = "../../examples/rules.yaml"

// runMain runs a kfbot command in process with stdin and the environment env.
func runMain(t *testing.T, stdin string, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut strings.Builder
	m := &Main{
		Stdin:  strings.NewReader(stdin),
		Stdout: &out,
		Stderr: &errOut,
		LookupEnv: func(k string) (string, bool) {
			v, ok := env[k]
			return v, ok
		},
	}
	code = m.Run(t.Context(), args)
	return code, out.String(), errOut.String()
}

// TestSimulateScript: a scripted conversation through examples/rules.yaml gives the
// golden transcript. Run with -update to rewrite testdata/simulate.golden.
func TestSimulateScript(t *testing.T) {
	code, out, errOut := runMain(t, "", nil, "simulate", "-rules", exampleRules,
		"-script", filepath.Join("testdata", "simulate.script"), "-now", "2026-11-23T10:00:00+08:00")
	require.Equal(t, 0, code, errOut)
	golden := filepath.Join("testdata", "simulate.golden")
	if *update {
		require.NoError(t, os.WriteFile(golden, []byte(out), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	assert.Equal(t, string(want), out)
}

func TestSimulateInteractive(t *testing.T) {
	// Saturday: the human menu item answers with the opening hours instead of a hand-off.
	code, out, errOut := runMain(t, "4\nhello\n9\n/help\n/quit\nnever read\n", nil,
		"simulate", "-rules", exampleRules, "-now", "2026-11-28T11:00:00+08:00")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, errOut, "kfbot simulate: ../../examples/rules.yaml (17 rules)")
	for _, want := range []string{
		"bot> 您好，欢迎光临小店！Hi, welcome to our shop!\n     [1] 营业时间 Opening hours\n",
		"you>      (tapped 人工客服 Talk to a person)\nbot> 人工客服的服务时间为周一至周五",
		"you> bot> 您好！请问有什么可以帮您？Hello! How can I help you?\n",
		"you> bot> 抱歉，我没有理解您的问题。", // 9 is not a menu item: it is text
		"/image, /voice, /file [MEDIA_ID] send media",
	} {
		assert.Contains(t, out, want)
	}
	assert.True(t, strings.HasSuffix(out, "you> "), "the simulation stops at /quit: %q", out[max(0, len(out)-40):])
}

func TestSimulateErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		code    int
		wantErr string
	}{
		{"default rule file missing", nil, []string{"-script", "-"}, 2,
			"simulate: rule file rules.yaml not found; pass -rules FILE"},
		{"KFBOT_RULES names the file", map[string]string{"KFBOT_RULES": filepath.Join(dir, "nope.yaml")},
			[]string{"-script", "-"}, 2, "nope.yaml not found"},
		{"broken rules are listed", nil, []string{"-rules", "testdata/broken_rules.yaml"}, 1,
			`testdata/broken_rules.yaml:4:41: rule "hours": msg has no field txt`},
		{"bad -now", nil, []string{"-rules", exampleRules, "-now", "tomorrow"}, 2, `-now "tomorrow" is not an RFC 3339 time`},
		{"missing script", nil, []string{"-rules", exampleRules, "-script", filepath.Join(dir, "none.txt")}, 2, "simulate: script:"},
		{"stray argument", nil, []string{"rules.yaml"}, 2, `unexpected argument "rules.yaml"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errOut := runMain(t, "", tt.env, append([]string{"simulate"}, tt.args...)...)
			assert.Equal(t, tt.code, code)
			assert.Contains(t, errOut, tt.wantErr)
		})
	}
}

// TestSimulateHelps: unknown commands print the help, /voice, /file and /location send
// those messages, /enter says why no welcome came, -config runs the config's plugins
// and -v names the rule that answered.
func TestSimulateHelps(t *testing.T) {
	dir := t.TempDir()
	rulesFile := filepath.Join(dir, "rules.yaml")
	require.NoError(t, os.WriteFile(rulesFile, []byte(`version: 1
rules:
  - name: welcome
    when: msg.event == "enter_session"
    then: [{welcome: "Welcome!"}]
  - name: media
    when: msg.type in ["voice", "file", "location"]
    then: [{reply: "got a {{ msg.type }}"}]
  - name: echo
    when: msg.type == "text"
    then: [{reply: "echo {{ msg.text }}"}]
`), 0o600))
	config := filepath.Join(dir, "kfbot.yaml")
	require.NoError(t, os.WriteFile(config, []byte(`plugins:
  - name: ratelimit
    every: 1h
    burst: 4
    reply: "Slow down."
`), 0o600))
	code, out, errOut := runMain(t, "/voce\n/voice\n/file f1\n/location Office\n/enter\n//slash\nhi\n", nil,
		"simulate", "-rules", rulesFile, "-config", config, "-v", "-script", "-", "-now", "2026-11-23T10:00:00+08:00")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, `— you open the chat —
bot> Welcome!
     (rule "welcome")
you> /voce
unknown command /voce (to send it as text, type //voce)
`+simHelp+`you> /voice
bot> got a voice
     (rule "media")
you> /file f1
bot> got a file
     (rule "media")
you> /location Office
bot> got a location
     (rule "media")
you> /enter
— you open the chat —
     (rule "welcome")
     (no reply)
     (no welcome: WeCom gives a welcome_code only when the customer has not written and got no welcome in the last 48 hours)
you> //slash
bot> echo /slash
     (rule "echo")
you> hi
bot> Slow down.
     (no rule matched: a plugin or Go handler answered)
`, out)
}

// TestSimulateWithAModel: with KFBOT_AI_* set, simulate's ai actions ask that endpoint
// (here the fake model server); without them, a scripted model, and it says which.
func TestSimulateWithAModel(t *testing.T) {
	srv := aitest.NewServer()
	defer srv.Close()
	srv.SetDefault(func(*aitest.Request) aitest.Reply { return aitest.Text("City bikes ship in **2 days**.") })
	env := map[string]string{"KFBOT_AI_BASE_URL": srv.BaseURL(), "KFBOT_AI_MODEL": aitest.DefaultModel, "KFBOT_AI_API_KEY": srv.APIKey()}
	code, out, errOut := runMain(t, "How fast do you ship?\n", env, "simulate", "-rules", "../../examples/ai.yaml", "-script", "-")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, errOut, "ai actions ask the model "+aitest.DefaultModel+" at "+srv.BaseURL())
	assert.Contains(t, out, "bot> City bikes ship in 2 days.")
	assert.Len(t, srv.Requests(), 1)

	code, out, errOut = runMain(t, "How fast do you ship?\n", nil, "simulate", "-rules", "../../examples/ai.yaml", "-script", "-")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, errOut, "ai actions ask a scripted model")
	assert.Contains(t, out, "bot> [scripted model] you said: How fast do you ship?")
}

// TestSimulateAddContact: /add plays a new external contact; each state gets its rule's
// welcome, and a state no rule welcomes says so.
func TestSimulateAddContact(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rules.yaml")
	require.NoError(t, os.WriteFile(path, []byte(`version: 1
rules:
  - name: hello
    when: msg.text == "hi"
    then: [{reply: "hello"}]
  - name: welcome-a
    callback: change_external_contact
    when: event.change_type == "add_external_contact" && event.state == "qr-a"
    then:
      - welcome: {text: "Thanks for scanning A", attachments: [{link: {title: "Shop", url: "https://example.com"}}]}
`), 0o644))
	code, out, errOut := runMain(t, "/add qr-a\n/add qr-b\n/quit\n", nil, "simulate", "-rules", path)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "— simulated-member adds you as an external contact (state \"qr-a\") —\nbot> Thanks for scanning A\nbot> [link]\n")
	assert.Contains(t, out, "(state \"qr-b\") —\n     (no welcome: no callback rule with a welcome action matched")
}
