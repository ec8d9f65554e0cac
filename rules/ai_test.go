package rules_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/ai"
	"github.com/kfbot/kfbot/rules"
	"github.com/kfbot/kfbot/rules/rulestest"
)

func TestAISettingsErrors(t *testing.T) {
	tests := []struct{ name, file, err string }{
		{"unknown key", "ai:\n  modle: x\nrules:\n  - name: m\n    then: [{ai: {}}]\n", "modle"},
		{"temperature out of range", "ai:\n  temperature: 3\nrules:\n  - name: m\n    then: [{ai: {}}]\n", "temperature 3 is outside 0–2"},
		{"bad duration", "rules:\n  - name: m\n    then: [{ai: {timeout: soon}}]\n", `timeout "soon"`},
		{"bad prompt template", "ai:\n  prompt: \"{{.Nope\"\nrules:\n  - name: m\n    then: [{ai: {}}]\n", "system prompt"},
		{"bad account", "ai:\n  accounts:\n    wkA: {max_parts: 9}\nrules:\n  - name: m\n    then: [{ai: {}}]\n", "accounts: wkA"},
		{"bad variable", "ai:\n  vars: [\"order id\"]\nrules:\n  - name: m\n    then: [{ai: {}}]\n", `variable name "order id"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := rules.Load(strings.NewReader("version: 1\n"+tt.file), "rules.yaml", quiet)
			require.Error(t, err)
			assert.ErrorContains(t, err, tt.err)
		})
	}
}

func TestAIAction(t *testing.T) {
	const file = `version: 1
rules:
  - name: model
    when: msg.type == "text"
    then:
      - ai: {fallback: "Sorry!"}
tests:
  - name: answered
    model: [{say: "Hello there."}]
    steps:
      - say: hi
        expect: {reply: "Hello there."}
`
	set, err := rules.Load(strings.NewReader(file), "rules.yaml", quiet)
	require.NoError(t, err)
	assert.True(t, set.UsesAI())
	var out bytes.Buffer
	passed, failed, err := rulestest.Run(t.Context(), set, set.Tests(), &out)
	require.NoError(t, err)
	assert.Equal(t, 1, passed, out.String())
	assert.Zero(t, failed)

	// The model given with WithModel answers outside tests.
	model := ai.NewScripted(ai.Say("From the model."))
	set, err = rules.Load(strings.NewReader(file), "rules.yaml", quiet, rules.WithModel(model))
	require.NoError(t, err)
	require.NotNil(t, set.Assistant())

	plain, err := rules.Load(strings.NewReader("version: 1\nrules:\n  - name: r\n    then: [{reply: hi}]\n"), "rules.yaml", quiet)
	require.NoError(t, err)
	assert.False(t, plain.UsesAI())
}
