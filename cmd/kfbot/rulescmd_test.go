package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRulesCheck(t *testing.T) {
	code, out, errOut := runMain(t, "", nil, "rules", "check", exampleRules)
	assert.Equal(t, 0, code, errOut)
	assert.Equal(t, "../../examples/rules.yaml: 17 rules OK\n", out)

	code, _, errOut = runMain(t, "", nil, "rules", "check", "testdata/broken_rules.yaml", exampleRules)
	assert.Equal(t, 1, code)
	assert.Equal(t, `testdata/broken_rules.yaml:4:41: rule "hours": msg has no field txt
testdata/broken_rules.yaml:7:11: rule "hours": another rule has this name (line 3); names must be unique
testdata/broken_rules.yaml:10:9: rule "hours": unknown action shout (known: reply, welcome, transfer, set, handler, ai, webhook)
testdata/broken_rules.yaml: 3 problems
`, errOut)

	code, _, errOut = runMain(t, "", map[string]string{"KFBOT_RULES": "testdata/none.yaml"}, "rules", "check")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "testdata/none.yaml")
}

func TestRulesTest(t *testing.T) {
	code, out, errOut := runMain(t, "", nil, "rules", "test", exampleRules)
	assert.Equal(t, 0, code, errOut)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	assert.Equal(t, "11 passed, 0 failed", lines[len(lines)-1])
	assert.Len(t, lines, 12)

	code, out, _ = runMain(t, "", nil, "rules", "test", "testdata/failing_tests.yaml")
	assert.Equal(t, 1, code)
	assert.Equal(t, `ok   test "ping gets pong"
FAIL test "a wrong expectation", step 1 (say "ping"): reply[0]: got "pong", want "PONG!"
1 passed, 1 failed
`, out)

	// A file whose rules do not compile fails, with its problems listed.
	broken := filepath.Join(t.TempDir(), "broken.yaml")
	require.NoError(t, os.WriteFile(broken, []byte("version: 1\nrules:\n  - name: a\n    then: [{shout: hi}]\n"+
		"tests:\n  - name: t\n    steps: [{say: hi}]\n"), 0o600))
	code, out, errOut = runMain(t, "", nil, "rules", "test", broken)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "broken.yaml:4:13: rule \"a\": unknown action shout")
	assert.True(t, strings.HasSuffix(out, "0 passed, 1 failed\n"), out)

	// So does a file without tests.
	code, _, errOut = runMain(t, "", nil, "rules", "test", "testdata/broken_rules.yaml")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "missing tests")
}

func TestCommandLine(t *testing.T) {
	tests := []struct {
		args    []string
		code    int
		out     string
		wantErr string
	}{
		{nil, 2, "", "Usage:"},
		{[]string{"serve"}, 2, "", `unknown command "serve"`},
		{[]string{"rnu"}, 2, "", `(did you mean "run"?)`},
		{[]string{"rules"}, 2, "", "kfbot rules check"},
		{[]string{"rules", "lint"}, 2, "", `rules: unknown command "lint"`},
		{[]string{"run", "extra"}, 2, "", `run: unexpected argument "extra"`},
		{[]string{"run", "-concurrency", "x"}, 2, "", `invalid value "x" for flag -concurrency`},
		{[]string{"run", "-h"}, 0, "", "KFBOT_ENCODING_AES_KEY"},
		{[]string{"help"}, 0, "kfbot simulate", ""},
		{[]string{"version"}, 0, "kfbot ", ""},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errOut := runMain(t, "", nil, tt.args...)
			assert.Equal(t, tt.code, code)
			assert.Contains(t, out, tt.out)
			assert.Contains(t, errOut, tt.wantErr)
		})
	}
}

// TestRulesCheckWarnings: warnings are listed on standard error and do not fail the
// check.
func TestRulesCheckWarnings(t *testing.T) {
	code, out, errOut := runMain(t, "", nil, "rules", "check", "testdata/warn_rules.yaml")
	assert.Equal(t, 0, code, errOut)
	assert.Equal(t, "testdata/warn_rules.yaml: 3 rules OK, 2 warnings\n", out)
	assert.Equal(t, `testdata/warn_rules.yaml:6:40: warning: rule "menu": a click without an id: the tap comes back as plain text with an empty msg.menu_id, so no rule can tell it from typed text; give it an id
testdata/warn_rules.yaml:9:5: warning: rule "late": unreachable: rule "fallback" (line 7) comes first and answers every message (no when, no continue: true); move this rule above it, or delete it
`, errOut)
}
