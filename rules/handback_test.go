package rules_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/bot"
	"github.com/kfbot/kfbot/kf"
	"github.com/kfbot/kfbot/rules"
	"github.com/kfbot/kfbot/storage"
)

// TestHandbackSection: a rule file's handback section becomes the bot's hand-back policy
// when the set is installed; mistakes in it are load errors with their position.
func TestHandbackSection(t *testing.T) {
	tests := []struct {
		name    string
		section string
		want    bot.Handback
		err     string
	}{
		{name: "every field", section: `
handback:
  check_interval: 1m
  pool_timeout: 10m
  idle_timeout: 2h
  closing_text: "The bot is back."
`, want: bot.Handback{CheckInterval: time.Minute, PoolTimeout: 10 * time.Minute, IdleTimeout: 2 * time.Hour, ClosingText: "The bot is back."}},
		{name: "check_interval 0 never asks", section: "handback: {check_interval: 0s}\n", want: bot.Handback{CheckInterval: -1}},
		{name: "none", section: "", want: bot.Handback{}},
		{name: "bad duration", section: "handback: {pool_timeout: ten minutes}\n",
			err: `rules.yaml:2:26: handback: pool_timeout "ten minutes": want a duration such as 30s, 10m or 2h (0 turns it off)`},
		{name: "negative duration", section: "handback: {idle_timeout: -5m}\n",
			err: `rules.yaml:2:26: handback: idle_timeout "-5m": want a duration such as 30s, 10m or 2h (0 turns it off)`},
		{name: "unknown key", section: "handback: {pool_timout: 5m}\n", err: `pool_timout`},
		{name: "closing text too long", section: "handback: {closing_text: " + strings.Repeat("x", bot.MaxTextBytes+1) + "}\n",
			err: `handback: closing_text is 2049 bytes; WeCom takes at most 2048`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "version: 1\n" + strings.TrimPrefix(tt.section, "\n") + "rules:\n  - name: r\n    then: [{reply: hi}]\n"
			set, err := rules.Load(strings.NewReader(src), "rules.yaml", quiet)
			if tt.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.err)
				return
			}
			require.NoError(t, err)
			client := kf.NewClient("ww1", "secret", kf.WithBaseURL("http://127.0.0.1:1"))
			b, err := bot.New(client, storage.NewMemory())
			require.NoError(t, err)
			require.NoError(t, set.Install(b))
			assert.Equal(t, tt.want, b.Handback())
		})
	}
}
