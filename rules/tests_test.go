package rules_test

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/rules"
)

var quiet = rules.WithLogger(slog.New(slog.DiscardHandler))

func TestLoadTestsOfASeparateFile(t *testing.T) {
	suite, err := rules.LoadTests("testdata/tests_only.yaml")
	require.NoError(t, err)
	assert.Equal(t, filepath.Join("testdata", "issue.yaml"), suite.RulesFile)
	require.Len(t, suite.Tests, 2)
	assert.Equal(t, "the fallback echoes", suite.Tests[0].Name)
	assert.Equal(t, rules.Step{Kind: rules.StepSay, Arg: "anything", Expect: &rules.Expect{Reply: []string{"echo: anything"}}, Line: 7},
		suite.Tests[0].Steps[0])

	// A rule file is its own suite.
	suite, err = rules.LoadTests("testdata/issue.yaml")
	require.NoError(t, err)
	assert.Equal(t, "testdata/issue.yaml", suite.RulesFile)
}

func TestLoadTestsErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(src), 0o600))
		return p
	}
	tests := []struct{ src, msg string }{
		{"version: 1\nrules: []\nrules_file: x.yaml\ntests: []\n", "3:13: a file has rules or names a rules_file, not both"},
		{"version: 1\ntests: []\n", "1:1: missing rules_file"},
		{"version: 1\nrules_file: r.yaml\n", "1:1: missing tests"},
		{"version: 1\nrules_file: r.yaml\ntests:\n  - name: t\n    now: yesterday\n    steps: []\n", `5:10: now: "yesterday" is not a time`},
	}
	for i, tt := range tests {
		_, err := rules.LoadTests(write(fmt.Sprintf("t%d.yaml", i), tt.src))
		assert.ErrorContains(t, err, tt.msg)
	}
	_, err := rules.LoadTests(filepath.Join(dir, "missing.yaml"))
	assert.ErrorIs(t, err, os.ErrNotExist)

	// A rule file may not name a rules_file.
	_, err = rules.Load(strings.NewReader("version: 1\nrules: []\nrules_file: x.yaml\n"), "r.yaml")
	assert.ErrorIs(t, err, rules.ErrUnknownKey)
}
