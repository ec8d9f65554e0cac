package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/bot"
	"github.com/kfbot/kfbot/kf/kftest"
)

// validEnv is an environment with every required setting and a rule file.
func validEnv(t *testing.T) map[string]string {
	t.Helper()
	rulesPath := filepath.Join(t.TempDir(), "rules.yaml")
	require.NoError(t, os.WriteFile(rulesPath, []byte(testRules("x")), 0o600))
	return map[string]string{
		"KFBOT_CORP_ID":          kftest.DefaultCorpID,
		"KFBOT_SECRET":           kftest.DefaultSecret,
		"KFBOT_CALLBACK_TOKEN":   kftest.DefaultCallbackToken,
		"KFBOT_ENCODING_AES_KEY": kftest.DefaultEncodingAESKey,
		"KFBOT_RULES":            rulesPath,
	}
}

func lookupIn(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

// loadConfig parses args as `kfbot run` flags and loads the configuration.
func loadConfig(t *testing.T, env map[string]string, args ...string) (Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	given, configPath := runFlags(fs)
	require.NoError(t, fs.Parse(args))
	return LoadConfig(*configPath, *given, lookupIn(env))
}

func problems(err error) []string {
	var ce *ConfigError
	if errors.As(err, &ce) {
		return ce.Problems
	}
	return nil
}

func TestReadConfigFileExample(t *testing.T) {
	env := map[string]string{
		"KFBOT_TEST_SECRET":      "s3cret",
		"KFBOT_TEST_TOKEN":       "tok123",
		"KFBOT_TEST_AES_KEY":     kftest.DefaultEncodingAESKey,
		"KFBOT_TEST_CONCURRENCY": "8",
	}
	cfg, err := loadConfig(t, env, "-config", "testdata/kfbot.yaml")
	require.NoError(t, err)
	assert.Equal(t, "ww0123456789abcdef", cfg.CorpID)
	assert.Equal(t, "s3cret", cfg.Secret)
	assert.Equal(t, "tok123", cfg.CallbackToken)
	assert.Equal(t, kftest.DefaultEncodingAESKey, cfg.EncodingAESKey)
	assert.Equal(t, "127.0.0.1:9090", cfg.Listen)
	assert.Equal(t, filepath.Join("testdata", "data"), cfg.DataDir)
	assert.Equal(t, filepath.Join("testdata", "rules.yaml"), cfg.Rules)
	assert.Equal(t, "json", cfg.LogFormat)
	assert.Equal(t, 8, cfg.Concurrency)
	assert.Equal(t, Duration(0), cfg.ColdStartAge)
	assert.Equal(t, Duration(20*time.Second), cfg.ShutdownTimeout)
	assert.Equal(t, Duration(10*time.Minute), cfg.PollInterval)
	assert.Equal(t, []string{"wkAAA", "wkBBB"}, cfg.Accounts)
	var names []string
	for _, p := range cfg.Plugins {
		names = append(names, p.Name)
	}
	assert.Equal(t, []string{"recover", "logger", "ratelimit", "block", "business_hours"}, names)
	mws, errs := buildPlugins(cfg.Plugins)
	assert.Empty(t, errs)
	assert.Len(t, mws, 5)

	for _, kv := range cfg.Redacted() {
		assert.NotEqual(t, "s3cret", kv)
		assert.NotEqual(t, "tok123", kv)
	}
}

func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "kfbot.yaml")
	require.NoError(t, os.WriteFile(file, []byte(`
listen: ":1001"
concurrency: 2
rules: /abs/file.yaml
log_level: debug
plugins:
  - name: ratelimit
    burst: 9
  - logger
`), 0o600))

	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		listen  string
		conc    int
		level   string
		plugins string
	}{
		{"defaults", nil, nil, ":8080", 16, "info", ""},
		{"file", map[string]string{"KFBOT_CONFIG": file}, nil, ":1001", 2, "debug", "ratelimit,logger"},
		{"-config beats KFBOT_CONFIG", map[string]string{"KFBOT_CONFIG": "/nonexistent"}, []string{"-config", file},
			":1001", 2, "debug", "ratelimit,logger"},
		{"env beats file", map[string]string{"KFBOT_LISTEN": ":1002", "KFBOT_CONCURRENCY": "3"}, []string{"-config", file},
			":1002", 3, "debug", "ratelimit,logger"},
		{"flags beat env", map[string]string{"KFBOT_LISTEN": ":1002", "KFBOT_LOG_LEVEL": "warn"},
			[]string{"-config", file, "-addr", ":1003", "-log-level", "error"}, ":1003", 2, "error", "ratelimit,logger"},
		{"the last of -listen and -addr wins", nil, []string{"-listen", ":1", "-addr", ":2", "-listen", ":3"}, ":3", 16, "info", ""},
		{"KFBOT_PLUGINS picks and orders; file settings kept", map[string]string{"KFBOT_PLUGINS": "logger, recover,ratelimit"},
			[]string{"-config", file}, ":1001", 2, "debug", "logger,recover,ratelimit"},
		{"-plugins beats KFBOT_PLUGINS", map[string]string{"KFBOT_PLUGINS": "logger"}, []string{"-plugins", "recover"},
			":8080", 16, "info", "recover"},
		{"empty KFBOT_PLUGINS clears the file's", map[string]string{"KFBOT_PLUGINS": ""}, []string{"-config", file},
			":1001", 2, "debug", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := validEnv(t)
			for k, v := range tt.env {
				env[k] = v
			}
			cfg, err := loadConfig(t, env, tt.args...)
			// The file's rules path does not exist, but LoadConfig does not read it.
			require.NoError(t, err)
			assert.Equal(t, tt.listen, cfg.Listen)
			assert.Equal(t, tt.conc, cfg.Concurrency)
			assert.Equal(t, tt.level, cfg.LogLevel)
			var names []string
			for _, p := range cfg.Plugins {
				names = append(names, p.Name)
			}
			assert.Equal(t, tt.plugins, strings.Join(names, ","))
			if strings.Contains(tt.plugins, "ratelimit") && tt.name != "defaults" {
				for _, p := range cfg.Plugins {
					if p.Name == "ratelimit" {
						assert.NotNil(t, p.Settings, "the file's ratelimit settings are kept")
					}
				}
			}
		})
	}
}

func TestConfigProblems(t *testing.T) {
	tests := []struct {
		name  string
		file  string // written to kfbot.yaml and passed with -config when not ""
		env   map[string]string
		args  []string
		wants []string // each must appear in one problem, and there are exactly as many problems
	}{
		{
			name: "every required setting missing",
			env:  map[string]string{"KFBOT_CORP_ID": "", "KFBOT_SECRET": "", "KFBOT_CALLBACK_TOKEN": "", "KFBOT_ENCODING_AES_KEY": ""},
			wants: []string{"corp_id: missing; set KFBOT_CORP_ID", "secret: missing; set KFBOT_SECRET",
				"callback_token: missing; set KFBOT_CALLBACK_TOKEN", "encoding_aes_key: missing; set KFBOT_ENCODING_AES_KEY"},
		},
		{
			name: "bad values from the environment",
			env: map[string]string{"KFBOT_CONCURRENCY": "0", "KFBOT_COLD_START_AGE": "soon", "KFBOT_RULES_WATCH": "maybe",
				"KFBOT_API_BASE": "qyapi.weixin.qq.com", "KFBOT_LISTEN": "8080", "KFBOT_LOG_LEVEL": "verbose",
				"KFBOT_POLL_INTERVAL": "-1m", "KFBOT_ENCODING_AES_KEY": strings.Repeat("-", 43), "KFBOT_PAGES_IN_FLIGHT": "65"},
			wants: []string{"pages_in_flight: 65; want 1 to 64", `KFBOT_COLD_START_AGE: "soon" is not a duration`, `KFBOT_RULES_WATCH: "maybe" is not true or false`,
				"concurrency: 0; want 1 or more", `api_base: "qyapi.weixin.qq.com" is not an http(s) URL`,
				`listen: "8080" is not a host:port address`, `log_level: "verbose" is not one of`,
				"poll_interval: -1m0s is negative", "encoding_aes_key: must be letters and digits only"},
		},
		{
			name: "file problems with positions",
			file: "secert: x\nconcurrency: many\ncold_start_age: 5\nlisten: ${KFBOT_UNSET_VAR}\nlisten: :1\nplugins: recover\n",
			wants: []string{`kfbot.yaml:1:1: unknown key "secert" (did you mean "secret"?)`,
				"kfbot.yaml:2:14: concurrency: cannot unmarshal !!str `many` into int",
				`kfbot.yaml:3:17: cold_start_age: "5" is not a duration`,
				"kfbot.yaml:4:9: ${KFBOT_UNSET_VAR} is not set in the environment",
				"kfbot.yaml:5:1: listen is set twice",
				"kfbot.yaml:6:10: plugins: want a list"},
		},
		{
			name:  "admin listener problems",
			env:   map[string]string{"KFBOT_PPROF": "true", "KFBOT_METRICS_TOKEN": "t"},
			wants: []string{"pprof: needs admin_listen (KFBOT_ADMIN_LISTEN, -admin-listen)"},
		},
		{
			name:  "admin listener on the main address",
			args:  []string{"-listen", "127.0.0.1:8080", "-admin-listen", "127.0.0.1:8080", "-pprof"},
			wants: []string{`admin_listen: "127.0.0.1:8080" is also the listen address`},
		},
		{
			name:  "admin listener not an address",
			file:  "admin_listen: metrics\npprof: true\n",
			wants: []string{`admin_listen: "metrics" is not a host:port address`},
		},
		{
			name: "plugin names",
			file: "plugins:\n  - recover\n  - ratelimt\n  - {burst: 3}\n  - [x]\n",
			args: []string{},
			wants: []string{`kfbot.yaml:3:5: plugins[1]: unknown plugin "ratelimt" (did you mean "ratelimit"?)`,
				"kfbot.yaml:4:5: plugins: an entry has no name", "kfbot.yaml:5:5: plugins: want a name or a mapping"},
		},
		{
			name:  "yaml syntax",
			file:  "listen: [\n",
			wants: []string{"kfbot.yaml: "},
		},
		{
			name:  "a second document",
			file:  "listen: :1\n---\nlisten: :2\n",
			wants: []string{"kfbot.yaml: line 2: the file holds one YAML document; found another"},
		},
		{
			name:  "not a mapping",
			file:  "- a\n- b\n",
			wants: []string{"kfbot.yaml:1:1: want a mapping of settings"},
		},
		{
			name:  "missing config file",
			args:  []string{"-config", "/nonexistent/kfbot.yaml"},
			wants: []string{"config file /nonexistent/kfbot.yaml does not exist"},
		},
		{
			name:  "bad accounts",
			env:   map[string]string{"KFBOT_ACCOUNTS": "wkA"},
			file:  "accounts: [wkB, 'wk C']\n",
			wants: nil, // the environment replaces the file's list
		},
		{
			name:  "bad accounts in the file",
			file:  "accounts: [wkB, 'wk C']\n",
			wants: []string{`accounts[1]: "wk C" is not an open_kfid`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := validEnv(t)
			for k, v := range tt.env {
				env[k] = v
			}
			args := tt.args
			if tt.file != "" {
				path := filepath.Join(t.TempDir(), "kfbot.yaml")
				require.NoError(t, os.WriteFile(path, []byte(tt.file), 0o600))
				args = append([]string{"-config", path}, args...)
			}
			_, err := loadConfig(t, env, args...)
			got := problems(err)
			if len(tt.wants) == 0 {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Len(t, got, len(tt.wants), "problems: %q", got)
			for _, w := range tt.wants {
				found := false
				for _, p := range got {
					found = found || strings.Contains(p, w)
				}
				assert.True(t, found, "no problem contains %q in %q", w, got)
			}
			assert.NotContains(t, err.Error(), kftest.DefaultSecret)
			assert.NotContains(t, err.Error(), kftest.DefaultEncodingAESKey)
		})
	}
}

func TestPluginSettingsProblems(t *testing.T) {
	file := `plugins:
  - name: ratelimit
    evry: 2s
  - name: business_hours
    days: [mon-fry]
    open: "25:00"
    close: "9"
    timezone: Mars/Olympus
  - name: allow
  - name: logger
    level: loud
  - name: recover
    reply: 3
  - name: block
    open_kfids: wkA
`
	path := filepath.Join(t.TempDir(), "kfbot.yaml")
	require.NoError(t, os.WriteFile(path, []byte(file), 0o600))
	cfg := DefaultConfig()
	require.NoError(t, ReadConfigFile(path, &cfg, lookupIn(nil)))
	_, got := buildPlugins(cfg.Plugins)
	wants := []string{
		`plugins[0] (ratelimit): ` + path + `:3:5: unknown key "evry" (did you mean "every"?)`,
		`plugins[1] (business_hours): timezone: "Mars/Olympus" is not an IANA time zone such as Asia/Shanghai`,
		`plugins[1] (business_hours): days: "mon-fry" is not a weekday (mon, tue, … sun) or a range like mon-fri`,
		`plugins[1] (business_hours): open: "25:00" is not a time of day such as 09:00 or 18:30`,
		`plugins[1] (business_hours): close: "9" is not a time of day such as 09:00 or 18:30`,
		`plugins[2] (allow): allow lists nothing; give open_kfids and/or external_userids`,
		`plugins[3] (logger): level: "loud" is not one of debug, info, warn, error`,
		"plugins[5] (block): " + path + ":15:17: open_kfids: cannot unmarshal !!str `wkA` into []string",
	}
	assert.ElementsMatch(t, wants, got)
}

// TestPluginSettingRepeated: a setting given twice is a problem, not the last one winning.
func TestPluginSettingRepeated(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kfbot.yaml")
	require.NoError(t, os.WriteFile(path, []byte("plugins:\n  - name: ratelimit\n    every: 1s\n    every: 2s\n"), 0o600))
	cfg := DefaultConfig()
	require.NoError(t, ReadConfigFile(path, &cfg, lookupIn(nil)))
	_, got := buildPlugins(cfg.Plugins)
	assert.Equal(t, []string{`plugins[0] (ratelimit): ` + path + `:4:5: every is set twice`}, got)
}

func TestParseDaysAndClock(t *testing.T) {
	days, err := parseDays("fri-mon")
	require.NoError(t, err)
	assert.Equal(t, []time.Weekday{time.Friday, time.Saturday, time.Sunday, time.Monday}, days)
	days, err = parseDays(" Sunday ")
	require.NoError(t, err)
	assert.Equal(t, []time.Weekday{time.Sunday}, days)
	for s, want := range map[string]time.Duration{"09:00": 9 * time.Hour, "18:30": 18*time.Hour + 30*time.Minute, "24:00": 24 * time.Hour} {
		got, err := parseClock(s)
		require.NoError(t, err, s)
		assert.Equal(t, want, got, s)
	}
	for _, s := range []string{"24:01", "9", "-1:00", "12:60", "ab:cd"} {
		_, err := parseClock(s)
		assert.Error(t, err, s)
	}
}

// TestRunConfigurationProblems runs `kfbot run` in process: the rule file's errors,
// plugin problems and settings are reported together, exit 2, before any store opens.
func TestRunConfigurationProblems(t *testing.T) {
	dir := t.TempDir()
	env := validEnv(t)
	env["KFBOT_RULES"] = "testdata/broken_rules.yaml"
	env["KFBOT_DATA_DIR"] = filepath.Join(dir, "data")
	env["KFBOT_CALLBACK_TOKEN"] = "has space"
	cfgFile := filepath.Join(dir, "kfbot.yaml")
	require.NoError(t, os.WriteFile(cfgFile, []byte("plugins:\n  - name: ratelimit\n    burst: -1\n"), 0o600))

	code, _, errOut := runMain(t, "", env, "run", "-config", cfgFile)
	assert.Equal(t, 2, code)
	for _, want := range []string{
		"invalid configuration (5 problems)",
		"callback_token: is set but is not 1-32 letters and digits",
		`rules: testdata/broken_rules.yaml:4:41: rule "hours": msg has no field txt`,
		`rules: testdata/broken_rules.yaml:10:9: rule "hours": unknown action shout`,
		"plugins[0] (ratelimit): every, burst and idle_ttl must not be negative",
	} {
		assert.Contains(t, errOut, want)
	}
	assert.NotContains(t, errOut, "has space")
	assert.NotContains(t, errOut, kftest.DefaultSecret)
	_, err := os.Stat(filepath.Join(dir, "data"))
	assert.ErrorIs(t, err, os.ErrNotExist, "no store is opened for a bad configuration")
}

func TestDurationYAML(t *testing.T) {
	for in, want := range map[string]Duration{"0": 0, "90s": Duration(90 * time.Second), "1h30m": Duration(90 * time.Minute)} {
		cfg := DefaultConfig()
		require.NoError(t, parseConfig("f", []byte("cold_start_age: "+in), &cfg, lookupIn(nil)), in)
		assert.Equal(t, want, cfg.ColdStartAge, in)
	}
	cfg := DefaultConfig()
	assert.Error(t, parseConfig("f", []byte("cold_start_age: [1]"), &cfg, lookupIn(nil)))
}

func TestEnvExpansion(t *testing.T) {
	env := map[string]string{"A": "x: y # not a comment", "N": "7", "EMPTY": ""}
	cfg := DefaultConfig()
	require.NoError(t, parseConfig("f", []byte("corp_id: ${A}\nconcurrency: ${N}\nsecret: \"${EMPTY}\"\nlisten: \"$HOME:${N}\"\n"), &cfg, lookupIn(env)))
	assert.Equal(t, "x: y # not a comment", cfg.CorpID, "expanded values are not parsed as YAML")
	assert.Equal(t, 7, cfg.Concurrency, "a plain scalar is re-typed after expansion")
	assert.Equal(t, "", cfg.Secret)
	assert.Equal(t, "$HOME:7", cfg.Listen, "only ${NAME} is expanded")
}

// FuzzParseConfig: no input panics the config reader, and a problem-free parse leaves a
// Config that Validate can judge.
func FuzzParseConfig(f *testing.F) {
	seed, err := os.ReadFile("testdata/kfbot.yaml")
	require.NoError(f, err)
	f.Add(seed)
	f.Add([]byte("listen: ${X}\nplugins:\n  - name: ratelimit\n    every: ${Y}\n"))
	f.Add([]byte("plugins: [recover, {name: allow, open_kfids: [a]}]\n"))
	f.Add([]byte("cold_start_age: 0\nconcurrency: -1\n"))
	f.Add([]byte("&a [*a]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg := DefaultConfig()
		lookup := func(k string) (string, bool) { return "v" + k, len(k)%2 == 0 }
		if err := parseConfig("fuzz.yaml", data, &cfg, lookup); err != nil {
			var ce *ConfigError
			require.ErrorAs(t, err, &ce)
			require.NotEmpty(t, ce.Problems)
			return
		}
		_ = cfg.Validate()
		_, _ = buildPlugins(cfg.Plugins)
	})
}

// The example configuration in examples/ loads with the secrets in the environment.
func TestExampleConfigLoads(t *testing.T) {
	env := map[string]string{
		"KFBOT_SECRET":           "s",
		"KFBOT_CALLBACK_TOKEN":   "t",
		"KFBOT_ENCODING_AES_KEY": "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
	}
	cfg, err := loadConfig(t, env, "-config", "../../examples/kfbot.yaml")
	require.NoError(t, err)
	assert.Equal(t, "s", string(cfg.Secret))
	assert.Len(t, cfg.Plugins, 5)
}

func TestConfigHandback(t *testing.T) {
	base := map[string]string{"KFBOT_CORP_ID": "ww1", "KFBOT_SECRET": "s", "KFBOT_CALLBACK_TOKEN": "t",
		"KFBOT_ENCODING_AES_KEY": kftest.DefaultEncodingAESKey}
	env := func(kv ...string) map[string]string {
		m := maps.Clone(base)
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	cfg, err := loadConfig(t, env("KFBOT_HANDBACK_POOL_TIMEOUT", "10m", "KFBOT_HANDBACK_CLOSING_TEXT", "bye"),
		"-handback-idle-timeout", "30m")
	require.NoError(t, err)
	fromRules := bot.Handback{CheckInterval: time.Minute, PoolTimeout: time.Hour, ClosingText: "from rules"}
	assert.Equal(t, bot.Handback{CheckInterval: time.Minute, PoolTimeout: 10 * time.Minute, IdleTimeout: 30 * time.Minute, ClosingText: "bye"},
		cfg.handback(fromRules), "settings replace the rule file's fields they set, and only those")

	_, err = loadConfig(t, env("KFBOT_HANDBACK_CHECK_INTERVAL", "-1s", "KFBOT_HANDBACK_CLOSING_TEXT", strings.Repeat("x", bot.MaxTextBytes+1)))
	got := problems(err)
	require.Len(t, got, 2, "%v", got)
	assert.Contains(t, got[0], "handback_check_interval")
	assert.Contains(t, got[1], "handback_closing_text: 2049 bytes")
}

func TestConfigTranscripts(t *testing.T) {
	env := map[string]string{"KFBOT_CORP_ID": "ww1", "KFBOT_SECRET": "s", "KFBOT_CALLBACK_TOKEN": "t",
		"KFBOT_ENCODING_AES_KEY": kftest.DefaultEncodingAESKey}
	cfg, err := loadConfig(t, env)
	require.NoError(t, err)
	assert.Equal(t, "off", cfg.Transcripts, "off by default")

	cfg, err = loadConfig(t, env, "-transcripts", "bot_turns", "-transcript-ttl", "24h", "-transcript-max-turns", "50")
	require.NoError(t, err)
	assert.Equal(t, "bot_turns", cfg.Transcripts)
	assert.Equal(t, Duration(24*time.Hour), cfg.TranscriptTTL)
	assert.Equal(t, 50, cfg.TranscriptMaxTurns)

	_, err = loadConfig(t, env, "-transcripts", "all")
	got := problems(err)
	require.Len(t, got, 1)
	assert.Contains(t, got[0], `transcripts: "all" is not off, on or bot_turns`)
}

func TestAISettings(t *testing.T) {
	env := validEnv(t)
	env["KFBOT_AI_BACKEND"] = "gpt"
	env["KFBOT_AI_EXTRA_BODY"] = "[1]"
	env["KFBOT_AI_CONCURRENCY"] = "-1"
	_, err := loadConfig(t, env)
	ps := strings.Join(problems(err), "\n")
	assert.Contains(t, ps, `ai_backend: "gpt" is not openai or dify`)
	assert.Contains(t, ps, "ai_extra_body: not a JSON object")
	assert.Contains(t, ps, "ai_concurrency: -1 is negative")

	env = validEnv(t)
	env["KFBOT_AI_BASE_URL"] = "http://127.0.0.1:11434/v1"
	_, err = loadConfig(t, env)
	assert.Contains(t, strings.Join(problems(err), "\n"), "no model (KFBOT_AI_MODEL)")

	env["KFBOT_AI_MODEL"] = "qwen3:8b"
	env["KFBOT_AI_API_KEY"] = "sk-secret-value"
	cfg, err := loadConfig(t, env)
	require.NoError(t, err)
	b, err := cfg.aiBackend()
	require.NoError(t, err)
	assert.NotNil(t, b)
	assert.NotContains(t, fmt.Sprint(cfg.Redacted()...), "sk-secret-value")

	// The key is not a config file setting.
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "kfbot.yaml"), []byte("ai_api_key: sk-x\n"), 0o600))
	_, err = loadConfig(t, validEnv(t), "-config", filepath.Join(dir, "kfbot.yaml"))
	assert.Contains(t, strings.Join(problems(err), "\n"), `unknown key "ai_api_key"`)
}
