package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/kfbot/kfbot/ai"
	"github.com/kfbot/kfbot/ai/dify"
	"github.com/kfbot/kfbot/ai/openaichat"
	"github.com/kfbot/kfbot/bot"
	"github.com/kfbot/kfbot/internal/strictyaml"
	"github.com/kfbot/kfbot/internal/suggest"
)

// Config is the configuration of `kfbot run`. It is filled, in this order of
// precedence (later wins), from DefaultConfig, an optional YAML file (ReadConfigFile),
// the KFBOT_* environment variables and the command-line flags; see the settings table
// for the names of each. Keys of the YAML file mirror the environment names in
// snake_case (KFBOT_CORP_ID ↔ corp_id).
type Config struct {
	// CorpID is the corp's CorpID (ww…). Required.
	CorpID string `yaml:"corp_id"`
	// Secret is the Secret of the WeChat Customer Service app. Required; never printed.
	Secret string `yaml:"secret"`
	// ContactSecret is the Secret used for the external-contact calls (客户联系: the new
	// customer's welcome) when the KF app's own Secret lacks that permission: the
	// 客户联系 secret, or another self-built app's. Default: Secret. Never printed.
	ContactSecret string `yaml:"contact_secret"`
	// CallbackToken is the callback Token set in WeCom's callback settings. Required;
	// never printed.
	CallbackToken string `yaml:"callback_token"`
	// EncodingAESKey is the 43-character EncodingAESKey of the callback settings.
	// Required; never printed.
	EncodingAESKey string `yaml:"encoding_aes_key"`
	// APIBase is the WeCom API origin. Default: https://qyapi.weixin.qq.com.
	APIBase string `yaml:"api_base"`
	// Listen is the HTTP listen address. Default: ":8080". Port 0 picks a free port
	// (the bound address is logged).
	Listen string `yaml:"listen"`
	// AdminListen, when set, is a second listen address (e.g. 127.0.0.1:9090) that serves
	// /metrics, /healthz and /readyz (and /debug/pprof/ with Pprof); /metrics then leaves
	// the main listener. Default: "", metrics on the main listener.
	AdminListen string `yaml:"admin_listen"`
	// Pprof serves Go's net/http/pprof at /debug/pprof/ on AdminListen. Default: false.
	Pprof bool `yaml:"pprof"`
	// MetricsToken, when set, is required as "Authorization: Bearer <token>" by /metrics,
	// wherever it is served. Default: none. Never printed.
	MetricsToken string `yaml:"metrics_token"`
	// DataDir is the Badger data directory. Default: "./data".
	DataDir string `yaml:"data_dir"`
	// Rules is the rule file. Default: "rules.yaml".
	Rules string `yaml:"rules"`
	// RulesWatch reloads the rule file when it changes. Default: true. SIGHUP reloads it
	// either way.
	RulesWatch bool `yaml:"rules_watch"`
	// LogLevel is debug, info, warn or error. Default: info.
	LogLevel string `yaml:"log_level"`
	// LogFormat is text or json. Default: text. Logs go to standard error.
	LogFormat string `yaml:"log_format"`
	// Concurrency bounds how many conversations are handled at once. Default: 16.
	Concurrency int `yaml:"concurrency"`
	// PagesInFlight is how many sync_msg pages of one account are handled at once (the
	// next is pulled while earlier ones are handled). Default: 4.
	PagesInFlight int `yaml:"pages_in_flight"`
	// ColdStartAge: with no cursor yet, messages older than this are skipped. 0 answers
	// everything WeCom still holds. Default: 5m.
	ColdStartAge Duration `yaml:"cold_start_age"`
	// ShutdownTimeout is how long in-flight handlers may run after SIGTERM. Default: 10s.
	ShutdownTimeout Duration `yaml:"shutdown_timeout"`
	// PollInterval, when not 0, also pulls every known account this often (a safety net
	// for lost callbacks; keep it at minutes). Default: 0, off.
	PollInterval Duration `yaml:"poll_interval"`
	// HandbackCheckInterval, when not 0, is the least time between two service_state/get
	// calls that confirm a person still owns a conversation the customer writes into
	// (bot.Handback.CheckInterval). 0: the rule file's handback section, else 30s.
	HandbackCheckInterval Duration `yaml:"handback_check_interval"`
	// HandbackPoolTimeout, when not 0, ends sessions waiting in the pool longer than this
	// and gives them back to the bot. 0: the rule file's handback section, else off.
	HandbackPoolTimeout Duration `yaml:"handback_pool_timeout"`
	// HandbackIdleTimeout, when not 0, ends sessions in which no servicer wrote for this
	// long and gives them back to the bot. 0: the rule file's, else off.
	HandbackIdleTimeout Duration `yaml:"handback_idle_timeout"`
	// HandbackClosingText, when not empty, is sent when the bot ends a session by one of
	// the timeouts. Empty: the rule file's, else none.
	HandbackClosingText string `yaml:"handback_closing_text"`
	// Transcripts is off, on or bot_turns: whether the data directory keeps a bounded
	// transcript of each conversation (bot.WithTranscripts). Default: off.
	Transcripts string `yaml:"transcripts"`
	// TranscriptTTL is how long a turn is kept. Default: 48h.
	TranscriptTTL Duration `yaml:"transcript_ttl"`
	// TranscriptMaxTurns is how many turns a conversation keeps. Default: 200.
	TranscriptMaxTurns int `yaml:"transcript_max_turns"`
	// Accounts are KF accounts (open_kfid) pulled at start, besides those callbacks name.
	Accounts []string `yaml:"accounts"`
	// AIBackend is the model API of the rule file's ai actions: openai (any
	// OpenAI-compatible chat completions API, the default) or dify.
	AIBackend string `yaml:"ai_backend"`
	// AIBaseURL is the model API's base URL, e.g. https://api.deepseek.com/v1 or
	// http://127.0.0.1:11434/v1. Required when the rules use ai actions.
	AIBaseURL string `yaml:"ai_base_url"`
	// AIAPIKey is the model API's key; only from the environment. Never printed.
	AIAPIKey string `yaml:"-"`
	// AIModel is the default model id (the rule file's ai.model overrides it). Required
	// for the openai backend.
	AIModel string `yaml:"ai_model"`
	// AITimeout, when not 0, bounds every answer instead of the rule file's ai.timeout.
	AITimeout Duration `yaml:"ai_timeout"`
	// AIConcurrency bounds the model calls in flight at once. Default: 16.
	AIConcurrency int `yaml:"ai_concurrency"`
	// AIExtraBody is a JSON object added to every chat completions request, e.g.
	// {"enable_thinking": false} for Qwen3 on DashScope.
	AIExtraBody string `yaml:"ai_extra_body"`
	// Plugins are built-in middlewares, by name with their settings, in order.
	Plugins []PluginConfig `yaml:"plugins"`
}

// Defaults of Config.
const (
	DefaultAPIBase         = "https://qyapi.weixin.qq.com"
	DefaultListen          = ":8080"
	DefaultDataDir         = "./data"
	DefaultRules           = "rules.yaml"
	DefaultLogLevel        = "info"
	DefaultLogFormat       = "text"
	DefaultConcurrency     = 16
	DefaultPagesInFlight   = 4
	DefaultColdStartAge    = 5 * time.Minute
	DefaultShutdownTimeout = 10 * time.Second
)

// DefaultConfig returns the configuration used where nothing else is set.
func DefaultConfig() Config {
	return Config{
		APIBase:         DefaultAPIBase,
		Listen:          DefaultListen,
		DataDir:         DefaultDataDir,
		Rules:           DefaultRules,
		RulesWatch:      true,
		Transcripts:     "off",
		LogLevel:        DefaultLogLevel,
		LogFormat:       DefaultLogFormat,
		Concurrency:     DefaultConcurrency,
		PagesInFlight:   DefaultPagesInFlight,
		ColdStartAge:    Duration(DefaultColdStartAge),
		ShutdownTimeout: Duration(DefaultShutdownTimeout),
	}
}

// Duration is a time.Duration read from YAML, the environment or a flag as "90s", "5m",
// "1h30m" or a bare 0.
type Duration time.Duration

// String formats d as time.Duration does.
func (d Duration) String() string { return time.Duration(d).String() }

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return errors.New("want a duration such as 30s, 5m or 1h")
	}
	v, err := parseDuration(n.Value)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "0" {
		return 0, nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration such as 30s, 5m or 1h", s)
	}
	return v, nil
}

// PluginConfig selects one built-in middleware by name. In YAML it is either the bare
// name or a mapping with `name` and the plugin's settings:
//
//	plugins:
//	  - recover
//	  - name: ratelimit
//	    every: 2s
//	    burst: 3
type PluginConfig struct {
	// Name is the plugin's name, a key of the plugins table (see plugins.go).
	Name string
	// Settings is the mapping of the plugin's settings without `name`; nil for none.
	Settings *yaml.Node
	// File and Pos locate the entry ("kfbot.yaml" and "kfbot.yaml:12:5"); both are ""
	// when it came from the environment or a flag.
	File, Pos string
}

// setting describes one configuration value: its YAML key, environment variable and
// flags, and how to set it from a string. The table drives env and flag overlays, the
// usage text and the reference in doc.go.
type setting struct {
	key    string   // YAML key
	env    string   // environment variable
	flags  []string // flag names, first is canonical; none for secrets
	secret bool     // never printed
	isBool bool     // a boolean flag
	usage  string
	set    func(c *Config, v string) error
}

func str(f func(c *Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error { *f(c) = strings.TrimSpace(v); return nil }
}

func dur(f func(c *Config) *Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := parseDuration(v)
		if err != nil {
			return err
		}
		*f(c) = Duration(d)
		return nil
	}
}

// settings lists every setting of `kfbot run`, in the order of the reference.
var settings = []setting{
	{key: "corp_id", env: "KFBOT_CORP_ID", flags: []string{"corp-id"},
		usage: "the corp's `CorpID` (ww…)", set: str(func(c *Config) *string { return &c.CorpID })},
	{key: "secret", env: "KFBOT_SECRET", secret: true,
		usage: "the Secret of the WeChat Customer Service app", set: str(func(c *Config) *string { return &c.Secret })},
	{key: "contact_secret", env: "KFBOT_CONTACT_SECRET", secret: true,
		usage: "the Secret for the external-contact calls (客户联系 welcomes) when the app's own lacks that permission (default: secret)",
		set:   str(func(c *Config) *string { return &c.ContactSecret })},
	{key: "callback_token", env: "KFBOT_CALLBACK_TOKEN", secret: true,
		usage: "the callback Token of the WeCom callback settings", set: str(func(c *Config) *string { return &c.CallbackToken })},
	{key: "encoding_aes_key", env: "KFBOT_ENCODING_AES_KEY", secret: true,
		usage: "the 43-character EncodingAESKey of the WeCom callback settings", set: str(func(c *Config) *string { return &c.EncodingAESKey })},
	{key: "api_base", env: "KFBOT_API_BASE", flags: []string{"api-base"},
		usage: "WeCom API origin `URL` (default " + DefaultAPIBase + ")", set: str(func(c *Config) *string { return &c.APIBase })},
	{key: "listen", env: "KFBOT_LISTEN", flags: []string{"listen", "addr"},
		usage: "HTTP listen `address` (default " + DefaultListen + "; port 0 picks a free one)", set: str(func(c *Config) *string { return &c.Listen })},
	{key: "admin_listen", env: "KFBOT_ADMIN_LISTEN", flags: []string{"admin-listen"},
		usage: "serve /metrics (and -pprof) on this separate `address` instead, e.g. 127.0.0.1:9090 (default: none, metrics on -listen)",
		set:   str(func(c *Config) *string { return &c.AdminListen })},
	{key: "pprof", env: "KFBOT_PPROF", flags: []string{"pprof"}, isBool: true,
		usage: "serve Go's pprof at /debug/pprof/ on -admin-listen (default false)",
		set: func(c *Config, v string) error {
			b, err := strconv.ParseBool(strings.TrimSpace(v))
			if err != nil {
				return fmt.Errorf("%q is not true or false", v)
			}
			c.Pprof = b
			return nil
		}},
	{key: "metrics_token", env: "KFBOT_METRICS_TOKEN", secret: true,
		usage: "bearer token /metrics requires (Authorization: Bearer TOKEN); default none", set: str(func(c *Config) *string { return &c.MetricsToken })},
	{key: "data_dir", env: "KFBOT_DATA_DIR", flags: []string{"data", "data-dir"},
		usage: "Badger data `directory` (default " + DefaultDataDir + ")", set: str(func(c *Config) *string { return &c.DataDir })},
	{key: "rules", env: "KFBOT_RULES", flags: []string{"rules"},
		usage: "rule `file` (default " + DefaultRules + ")", set: str(func(c *Config) *string { return &c.Rules })},
	{key: "rules_watch", env: "KFBOT_RULES_WATCH", flags: []string{"rules-watch"}, isBool: true,
		usage: "reload the rule file when it changes (default true; SIGHUP always reloads)",
		set: func(c *Config, v string) error {
			b, err := strconv.ParseBool(strings.TrimSpace(v))
			if err != nil {
				return fmt.Errorf("%q is not true or false", v)
			}
			c.RulesWatch = b
			return nil
		}},
	{key: "log_level", env: "KFBOT_LOG_LEVEL", flags: []string{"log-level"},
		usage: "log `level`: debug, info, warn or error (default " + DefaultLogLevel + ")", set: str(func(c *Config) *string { return &c.LogLevel })},
	{key: "log_format", env: "KFBOT_LOG_FORMAT", flags: []string{"log-format"},
		usage: "log `format`: text or json (default " + DefaultLogFormat + ")", set: str(func(c *Config) *string { return &c.LogFormat })},
	{key: "concurrency", env: "KFBOT_CONCURRENCY", flags: []string{"concurrency"},
		usage: "`n` conversations handled at once (default 16)",
		set: func(c *Config, v string) error {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				return fmt.Errorf("%q is not a whole number", v)
			}
			c.Concurrency = n
			return nil
		}},
	{key: "pages_in_flight", env: "KFBOT_PAGES_IN_FLIGHT", flags: []string{"pages-in-flight"},
		usage: "`n` sync_msg pages of one account handled at once, 1–64 (default 4; 1: each page before the next is pulled)",
		set: func(c *Config, v string) error {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				return fmt.Errorf("%q is not a whole number", v)
			}
			c.PagesInFlight = n
			return nil
		}},
	{key: "cold_start_age", env: "KFBOT_COLD_START_AGE", flags: []string{"cold-start-age"},
		usage: "with no cursor yet, skip messages older than this `duration` (default 5m; 0 answers all)",
		set:   dur(func(c *Config) *Duration { return &c.ColdStartAge })},
	{key: "shutdown_timeout", env: "KFBOT_SHUTDOWN_TIMEOUT", flags: []string{"shutdown-timeout"},
		usage: "how long (a `duration`) in-flight handlers may run after SIGTERM (default 10s)",
		set:   dur(func(c *Config) *Duration { return &c.ShutdownTimeout })},
	{key: "poll_interval", env: "KFBOT_POLL_INTERVAL", flags: []string{"poll-interval"},
		usage: "also pull every known account this often (a `duration`) (default 0, off; keep it ≥ 1m)",
		set:   dur(func(c *Config) *Duration { return &c.PollInterval })},
	{key: "handback_check_interval", env: "KFBOT_HANDBACK_CHECK_INTERVAL", flags: []string{"handback-check-interval"},
		usage: "ask WeCom at most this often (a `duration`) whether a person still owns a conversation (default: the rule file's handback, else 30s)",
		set:   dur(func(c *Config) *Duration { return &c.HandbackCheckInterval })},
	{key: "handback_pool_timeout", env: "KFBOT_HANDBACK_POOL_TIMEOUT", flags: []string{"handback-pool-timeout"},
		usage: "give a conversation waiting in the pool longer than this `duration` back to the bot (default: the rule file's handback, else off)",
		set:   dur(func(c *Config) *Duration { return &c.HandbackPoolTimeout })},
	{key: "handback_idle_timeout", env: "KFBOT_HANDBACK_IDLE_TIMEOUT", flags: []string{"handback-idle-timeout"},
		usage: "give a conversation no servicer wrote in for this `duration` back to the bot (default: the rule file's handback, else off)",
		set:   dur(func(c *Config) *Duration { return &c.HandbackIdleTimeout })},
	{key: "handback_closing_text", env: "KFBOT_HANDBACK_CLOSING_TEXT", flags: []string{"handback-closing-text"},
		usage: "`text` sent when the bot ends a session by a handback timeout (default: the rule file's, else none)",
		set:   str(func(c *Config) *string { return &c.HandbackClosingText })},
	{key: "transcripts", env: "KFBOT_TRANSCRIPTS", flags: []string{"transcripts"},
		usage: "keep conversation transcripts: `mode` off, on or bot_turns (default off)", set: str(func(c *Config) *string { return &c.Transcripts })},
	{key: "transcript_ttl", env: "KFBOT_TRANSCRIPT_TTL", flags: []string{"transcript-ttl"},
		usage: "how long (a `duration`) a transcript turn is kept (default 48h)", set: dur(func(c *Config) *Duration { return &c.TranscriptTTL })},
	{key: "transcript_max_turns", env: "KFBOT_TRANSCRIPT_MAX_TURNS", flags: []string{"transcript-max-turns"},
		usage: "`n` turns kept per conversation (default 200)",
		set: func(c *Config, v string) error {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				return fmt.Errorf("%q is not a whole number", v)
			}
			c.TranscriptMaxTurns = n
			return nil
		}},
	{key: "ai_backend", env: "KFBOT_AI_BACKEND", flags: []string{"ai-backend"},
		usage: "model `API` of the rules' ai actions: openai (any OpenAI-compatible API, default) or dify", set: str(func(c *Config) *string { return &c.AIBackend })},
	{key: "ai_base_url", env: "KFBOT_AI_BASE_URL", flags: []string{"ai-base-url"},
		usage: "model API base `URL`, e.g. https://api.deepseek.com/v1 or http://127.0.0.1:11434/v1", set: str(func(c *Config) *string { return &c.AIBaseURL })},
	{key: "ai_api_key", env: "KFBOT_AI_API_KEY", secret: true,
		usage: "model API key", set: str(func(c *Config) *string { return &c.AIAPIKey })},
	{key: "ai_model", env: "KFBOT_AI_MODEL", flags: []string{"ai-model"},
		usage: "default model `id` (the rule file's ai.model overrides it)", set: str(func(c *Config) *string { return &c.AIModel })},
	{key: "ai_timeout", env: "KFBOT_AI_TIMEOUT", flags: []string{"ai-timeout"},
		usage: "bound every model answer by this `duration` (default: the rule file's ai.timeout, else 30s)", set: dur(func(c *Config) *Duration { return &c.AITimeout })},
	{key: "ai_concurrency", env: "KFBOT_AI_CONCURRENCY", flags: []string{"ai-concurrency"},
		usage: "`n` model calls in flight at once (default 16)",
		set: func(c *Config, v string) error {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				return fmt.Errorf("%q is not a whole number", v)
			}
			c.AIConcurrency = n
			return nil
		}},
	{key: "ai_extra_body", env: "KFBOT_AI_EXTRA_BODY", flags: []string{"ai-extra-body"},
		usage: "a JSON `object` added to every chat completions request, e.g. {\"enable_thinking\":false}", set: str(func(c *Config) *string { return &c.AIExtraBody })},
	{key: "accounts", env: "KFBOT_ACCOUNTS", flags: []string{"accounts"},
		usage: "comma-separated `open_kfids` to pull at start",
		set:   func(c *Config, v string) error { c.Accounts = splitList(v); return nil }},
	{key: "plugins", env: "KFBOT_PLUGINS", flags: []string{"plugins"},
		usage: "comma-separated plugin `names`, in order (settings of a name come from the config file)",
		set: func(c *Config, v string) error {
			file := make(map[string]PluginConfig, len(c.Plugins))
			for _, p := range c.Plugins {
				if _, ok := file[p.Name]; !ok {
					file[p.Name] = p
				}
			}
			var ps []PluginConfig
			for _, name := range splitList(v) {
				p, ok := file[name]
				if !ok {
					p = PluginConfig{Name: name}
				}
				ps = append(ps, p)
			}
			c.Plugins = ps
			return nil
		}},
}

// configEnv is the environment variable naming the config file when -config is not
// given.
const configEnv = "KFBOT_CONFIG"

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// ConfigError is the list of every problem found in a configuration. Its message names
// each setting and how to fix it, and never contains a secret value.
type ConfigError struct {
	Problems []string
}

// Error implements error.
func (e *ConfigError) Error() string {
	var b strings.Builder
	n := len(e.Problems)
	if n == 1 {
		b.WriteString("invalid configuration (1 problem):")
	} else {
		fmt.Fprintf(&b, "invalid configuration (%d problems):", n)
	}
	for _, p := range e.Problems {
		b.WriteString("\n  - ")
		b.WriteString(p)
	}
	return b.String()
}

// ReadConfigFile reads the YAML file at path into cfg: only the keys present change cfg.
// `${NAME}` inside a value is replaced by the environment variable NAME (looked up with
// lookup; an unset variable is a problem, an empty one is fine). Unknown keys are
// problems. Relative `rules` and `data_dir` paths are resolved against the file's
// directory. Every problem is returned, as a *ConfigError.
func ReadConfigFile(path string, cfg *Config, lookup func(string) (string, bool)) error {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return &ConfigError{Problems: []string{fmt.Sprintf("config file %s does not exist; fix -config or %s", path, configEnv)}}
		}
		return &ConfigError{Problems: []string{fmt.Sprintf("config file: %v", err)}}
	}
	return parseConfig(path, data, cfg, lookup)
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

func parseConfig(path string, data []byte, cfg *Config, lookup func(string) (string, bool)) error {
	var problems []string
	root, err := strictyaml.Parse(data)
	if err != nil {
		return &ConfigError{Problems: []string{fmt.Sprintf("%s: %v", path, err)}}
	}
	if root == nil {
		return nil // an empty file sets nothing
	}
	if root.Kind != yaml.MappingNode {
		return &ConfigError{Problems: []string{fmt.Sprintf("%s: want a mapping of settings (corp_id: …, listen: …)", yamlPos(path, root))}}
	}
	expandEnv(root, lookup, func(n *yaml.Node, name string) {
		problems = append(problems, fmt.Sprintf("%s: ${%s} is not set in the environment", yamlPos(path, n), name))
	})
	var rulesSet, dataSet bool
	problems = append(problems, decodeMapping(path, root, cfg, map[string]func(*yaml.Node) []string{
		"plugins": func(v *yaml.Node) []string {
			ps, errs := decodePlugins(path, v)
			cfg.Plugins = ps
			return errs
		},
	}, func(key string) {
		rulesSet = rulesSet || key == "rules"
		dataSet = dataSet || key == "data_dir"
	})...)
	dir := filepath.Dir(path)
	if rulesSet && cfg.Rules != "" && !filepath.IsAbs(cfg.Rules) {
		cfg.Rules = filepath.Join(dir, cfg.Rules)
	}
	if dataSet && cfg.DataDir != "" && !filepath.IsAbs(cfg.DataDir) {
		cfg.DataDir = filepath.Join(dir, cfg.DataDir)
	}
	if len(problems) > 0 {
		return &ConfigError{Problems: problems}
	}
	return nil
}

// expandEnv replaces ${NAME} in every scalar value (not in keys) below n. A plain scalar
// whose text changed is re-typed by its new text, so `concurrency: ${N}` reads a number.
func expandEnv(n *yaml.Node, lookup func(string) (string, bool), unset func(*yaml.Node, string)) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 1; i < len(n.Content); i += 2 {
			expandEnv(n.Content[i], lookup, unset)
		}
	case yaml.SequenceNode, yaml.DocumentNode:
		for _, c := range n.Content {
			expandEnv(c, lookup, unset)
		}
	case yaml.ScalarNode:
		if !strings.Contains(n.Value, "${") {
			return
		}
		n.Value = envRef.ReplaceAllStringFunc(n.Value, func(m string) string {
			name := m[2 : len(m)-1]
			v, ok := lookup(name)
			if !ok {
				unset(n, name)
			}
			return v
		})
		if n.Style == 0 {
			n.Tag = "" // resolve again from the expanded text
		}
	}
}

// yamlFields maps the yaml tags of a struct's fields to the fields.
func yamlFields(v reflect.Value) map[string]reflect.Value {
	out := map[string]reflect.Value{}
	t := v.Type()
	for i := range t.NumField() {
		tag, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if tag != "" && tag != "-" {
			out[tag] = v.Field(i)
		}
	}
	return out
}

// decodeStrict decodes the mapping n into the struct pointed to by dst, refusing keys
// that dst has no yaml tag for. Each problem is prefixed with its position.
func decodeStrict(path string, n *yaml.Node, dst any) []string {
	if n == nil {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return []string{fmt.Sprintf("%s: want a mapping of settings", yamlPos(path, n))}
	}
	return decodeMapping(path, n, dst, nil, nil)
}

// decodeMapping decodes the mapping n into the struct pointed to by dst by yaml tag: a
// key dst has no tag for, or that repeats, is a problem; keys in special are decoded by
// their function instead; decoded is told of every key decoded without a problem (nil:
// not told). Each problem is prefixed with its position.
func decodeMapping(path string, n *yaml.Node, dst any, special map[string]func(*yaml.Node) []string, decoded func(key string)) []string {
	fields := yamlFields(reflect.ValueOf(dst).Elem())
	known := make([]string, 0, len(fields)+len(special))
	for k := range fields {
		known = append(known, k)
	}
	for k := range special {
		known = append(known, k)
	}
	slices.Sort(known) // a deterministic suggestion among equally close keys
	var problems []string
	for _, p := range strictyaml.Pairs(n, func(k *yaml.Node, first int) {
		if first == 0 {
			problems = append(problems, fmt.Sprintf("%s: a key must be a plain string", yamlPos(path, k)))
		} else {
			problems = append(problems, fmt.Sprintf("%s: %s is set twice", yamlPos(path, k), k.Value))
		}
	}) {
		k, v := p.Key, p.Value
		if fn, ok := special[k.Value]; ok {
			problems = append(problems, fn(v)...)
			continue
		}
		f, ok := fields[k.Value]
		if !ok {
			problems = append(problems, fmt.Sprintf("%s: unknown key %q%s", yamlPos(path, k), k.Value, didYouMean(k.Value, known)))
			continue
		}
		if err := v.Decode(f.Addr().Interface()); err != nil {
			problems = append(problems, fmt.Sprintf("%s: %s: %s", yamlPos(path, v), k.Value, strictyaml.DecodeErrorText(err)))
			continue
		}
		if decoded != nil {
			decoded(k.Value)
		}
	}
	return problems
}

// yamlPos is the position of n in the file path: path:line:column.
func yamlPos(path string, n *yaml.Node) string {
	return fmt.Sprintf("%s:%d:%d", path, n.Line, n.Column)
}

func decodePlugins(path string, n *yaml.Node) ([]PluginConfig, []string) {
	pos := func(n *yaml.Node) string { return yamlPos(path, n) }
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil, nil
	}
	if n.Kind != yaml.SequenceNode {
		return nil, []string{fmt.Sprintf("%s: plugins: want a list, e.g. [recover, logger]", pos(n))}
	}
	var (
		ps       []PluginConfig
		problems []string
	)
	for _, e := range n.Content {
		switch e.Kind {
		case yaml.ScalarNode:
			ps = append(ps, PluginConfig{Name: e.Value, File: path, Pos: pos(e)})
		case yaml.MappingNode:
			p := PluginConfig{File: path, Pos: pos(e)}
			rest := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: e.Line, Column: e.Column}
			for i := 0; i+1 < len(e.Content); i += 2 {
				if e.Content[i].Value == "name" {
					p.Name = e.Content[i+1].Value
					continue
				}
				rest.Content = append(rest.Content, e.Content[i], e.Content[i+1])
			}
			if p.Name == "" {
				problems = append(problems, fmt.Sprintf("%s: plugins: an entry has no name", pos(e)))
				continue
			}
			if len(rest.Content) > 0 {
				p.Settings = rest
			}
			ps = append(ps, p)
		default:
			problems = append(problems, fmt.Sprintf("%s: plugins: want a name or a mapping with name and settings", pos(e)))
		}
	}
	return ps, problems
}

// didYouMean returns ` (did you mean "x"?)` for a close known name, else "".
func didYouMean(got string, known []string) string {
	if best := suggest.Closest(got, known); best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return ""
}

// ApplyEnv overlays the KFBOT_* variables that are set (even to "") onto cfg and
// returns a problem for each value that does not parse.
func ApplyEnv(cfg *Config, lookup func(string) (string, bool)) []string {
	var problems []string
	for _, s := range settings {
		v, ok := lookup(s.env)
		if !ok {
			continue
		}
		if err := s.set(cfg, v); err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", s.env, err))
		}
	}
	return problems
}

// flagValue records one flag given on the command line, applied after the file and the
// environment.
type flagValue struct {
	s     *setting
	name  string
	value string
}

// runFlags registers the flags of `kfbot run` on fs. The returned slice, filled as fs
// parses, holds the flags in the order given; -config is returned separately.
func runFlags(fs *flag.FlagSet) (given *[]flagValue, configPath *string) {
	given = new([]flagValue)
	configPath = fs.String("config", "", "YAML config `file` (or "+configEnv+"); environment and flags override it")
	for i := range settings {
		s := &settings[i]
		for _, name := range s.flags {
			rec := func(v string) error {
				// Check now so that a bad flag value is reported like any flag error.
				probe := DefaultConfig()
				if err := s.set(&probe, v); err != nil {
					return err
				}
				*given = append(*given, flagValue{s: s, name: name, value: v})
				return nil
			}
			usage := s.usage + " [" + s.env + "]"
			if s.isBool {
				fs.BoolFunc(name, usage, rec)
			} else {
				fs.Func(name, usage, rec)
			}
		}
	}
	return given, configPath
}

// LoadConfig builds the configuration of `kfbot run` from the defaults, the config file
// (-config, else $KFBOT_CONFIG, else none), the environment and the given flags, and
// validates it. Problems are returned together as a *ConfigError.
func LoadConfig(configPath string, given []flagValue, lookup func(string) (string, bool)) (Config, error) {
	cfg := DefaultConfig()
	var problems []string
	if configPath == "" {
		configPath, _ = lookup(configEnv)
	}
	if configPath != "" {
		if err := ReadConfigFile(configPath, &cfg, lookup); err != nil {
			var ce *ConfigError
			if !errors.As(err, &ce) {
				return cfg, err
			}
			problems = append(problems, ce.Problems...)
		}
	}
	problems = append(problems, ApplyEnv(&cfg, lookup)...)
	for _, f := range given {
		if err := f.s.set(&cfg, f.value); err != nil {
			problems = append(problems, fmt.Sprintf("-%s: %v", f.name, err))
		}
	}
	if err := cfg.Validate(); err != nil {
		var ce *ConfigError
		errors.As(err, &ce)
		problems = append(problems, ce.Problems...)
	}
	if len(problems) > 0 {
		return cfg, &ConfigError{Problems: problems}
	}
	return cfg, nil
}

var tokenRE = regexp.MustCompile(`^[A-Za-z0-9]{1,32}$`)
var aesKeyRE = regexp.MustCompile(`^[A-Za-z0-9]{43}$`)

// Validate reports every problem with c, as a *ConfigError, without touching files:
// the rule file and plugin settings are checked when `kfbot run` builds them. Secret
// values never appear in the messages.
func (c *Config) Validate() error {
	var p []string
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	where := func(key, env string) string {
		return fmt.Sprintf("set %s (or %s: in the config file)", env, key)
	}
	if c.CorpID == "" {
		add("corp_id: missing; %s to your CorpID (ww…, in the WeCom admin console under My Company)", where("corp_id", "KFBOT_CORP_ID"))
	} else if strings.ContainsAny(c.CorpID, " \t\r\n") {
		add("corp_id: contains white space; copy the CorpID again (KFBOT_CORP_ID)")
	}
	if c.Secret == "" {
		add("secret: missing; %s to the Secret of the WeChat Customer Service app", where("secret", "KFBOT_SECRET"))
	}
	switch {
	case c.CallbackToken == "":
		add("callback_token: missing; %s to the Token of the WeCom callback settings", where("callback_token", "KFBOT_CALLBACK_TOKEN"))
	case !tokenRE.MatchString(c.CallbackToken):
		add("callback_token: is set but is not 1-32 letters and digits; copy the Token of the WeCom callback settings again (KFBOT_CALLBACK_TOKEN)")
	}
	switch n := len([]rune(c.EncodingAESKey)); {
	case n == 0:
		add("encoding_aes_key: missing; %s to the 43-character EncodingAESKey of the WeCom callback settings", where("encoding_aes_key", "KFBOT_ENCODING_AES_KEY"))
	case n != 43:
		add("encoding_aes_key: must be 43 characters, it has %d; copy the EncodingAESKey of the WeCom callback settings again (KFBOT_ENCODING_AES_KEY)", n)
	case !aesKeyRE.MatchString(c.EncodingAESKey):
		add("encoding_aes_key: must be letters and digits only; copy the EncodingAESKey of the WeCom callback settings again (KFBOT_ENCODING_AES_KEY)")
	}
	if u, err := url.Parse(c.APIBase); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		add("api_base: %q is not an http(s) URL such as %s (KFBOT_API_BASE)", c.APIBase, DefaultAPIBase)
	}
	if _, port, err := net.SplitHostPort(c.Listen); err != nil || port == "" {
		add("listen: %q is not a host:port address such as :8080 or 127.0.0.1:8080 (KFBOT_LISTEN, -listen)", c.Listen)
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		if _, err := net.LookupPort("tcp", port); err != nil {
			add("listen: %q has no valid port (KFBOT_LISTEN, -listen)", c.Listen)
		}
	}
	if c.AdminListen != "" {
		if _, port, err := net.SplitHostPort(c.AdminListen); err != nil || port == "" {
			add("admin_listen: %q is not a host:port address such as 127.0.0.1:9090 (KFBOT_ADMIN_LISTEN, -admin-listen)", c.AdminListen)
		} else if c.AdminListen == c.Listen && port != "0" {
			add("admin_listen: %q is also the listen address; choose another port, or unset KFBOT_ADMIN_LISTEN to serve metrics on the main listener", c.AdminListen)
		}
	}
	if c.Pprof && c.AdminListen == "" {
		add("pprof: needs admin_listen (KFBOT_ADMIN_LISTEN, -admin-listen), so that profiles are never served on the public listener")
	}
	if c.DataDir == "" {
		add("data_dir: empty; set KFBOT_DATA_DIR or -data to the Badger data directory (default %s)", DefaultDataDir)
	}
	if c.Rules == "" {
		add("rules: empty; set KFBOT_RULES or -rules to your rule file (default %s)", DefaultRules)
	}
	if _, ok := logLevels[strings.ToLower(c.LogLevel)]; !ok {
		add("log_level: %q is not one of debug, info, warn, error (KFBOT_LOG_LEVEL, -log-level)", c.LogLevel)
	}
	if f := strings.ToLower(c.LogFormat); f != "text" && f != "json" {
		add("log_format: %q is not text or json (KFBOT_LOG_FORMAT, -log-format)", c.LogFormat)
	}
	if c.Concurrency < 1 {
		add("concurrency: %d; want 1 or more (KFBOT_CONCURRENCY, -concurrency)", c.Concurrency)
	}
	if c.PagesInFlight < 1 || c.PagesInFlight > 64 {
		add("pages_in_flight: %d; want 1 to 64 (KFBOT_PAGES_IN_FLIGHT, -pages-in-flight)", c.PagesInFlight)
	}
	if c.ColdStartAge < 0 {
		add("cold_start_age: %s is negative; use 0 to answer every message WeCom still holds (KFBOT_COLD_START_AGE)", c.ColdStartAge)
	}
	if c.ShutdownTimeout < 0 {
		add("shutdown_timeout: %s is negative (KFBOT_SHUTDOWN_TIMEOUT)", c.ShutdownTimeout)
	}
	if c.PollInterval < 0 {
		add("poll_interval: %s is negative; use 0 to turn polling off (KFBOT_POLL_INTERVAL)", c.PollInterval)
	}
	for _, d := range []struct {
		key, env string
		v        Duration
	}{
		{"handback_check_interval", "KFBOT_HANDBACK_CHECK_INTERVAL", c.HandbackCheckInterval},
		{"handback_pool_timeout", "KFBOT_HANDBACK_POOL_TIMEOUT", c.HandbackPoolTimeout},
		{"handback_idle_timeout", "KFBOT_HANDBACK_IDLE_TIMEOUT", c.HandbackIdleTimeout},
	} {
		if d.v < 0 {
			add("%s: %s is negative; use 0 to keep the rule file's setting (%s)", d.key, d.v, d.env)
		}
	}
	if _, err := bot.ParseTranscriptMode(c.Transcripts); err != nil {
		add("transcripts: %q is not off, on or bot_turns (KFBOT_TRANSCRIPTS, -transcripts)", c.Transcripts)
	}
	if c.TranscriptTTL < 0 || c.TranscriptMaxTurns < 0 {
		add("transcript_ttl %s / transcript_max_turns %d: must not be negative (0: the default)", c.TranscriptTTL, c.TranscriptMaxTurns)
	}
	if n := len(c.HandbackClosingText); n > bot.MaxTextBytes {
		add("handback_closing_text: %d bytes; WeCom takes at most %d (KFBOT_HANDBACK_CLOSING_TEXT)", n, bot.MaxTextBytes)
	}
	for i, a := range c.Accounts {
		if a == "" || strings.ContainsAny(a, " \t,") {
			add("accounts[%d]: %q is not an open_kfid (KFBOT_ACCOUNTS is a comma-separated list)", i, a)
		}
	}
	p = append(p, c.checkAI()...)
	p = append(p, checkPluginNames(c.Plugins)...)
	if len(p) > 0 {
		return &ConfigError{Problems: p}
	}
	return nil
}

// Redacted returns the settings of c for a log line: secrets as "set" or "missing".
func (c *Config) Redacted() []any {
	state := func(s string) string {
		if s == "" {
			return "missing"
		}
		return "set"
	}
	optState := func(s string) string {
		if s == "" {
			return "none"
		}
		return "set"
	}
	names := make([]string, len(c.Plugins))
	for i, p := range c.Plugins {
		names[i] = p.Name
	}
	return []any{
		"corp_id", c.CorpID, "secret", state(c.Secret), "callback_token", state(c.CallbackToken),
		"encoding_aes_key", state(c.EncodingAESKey), "api_base", c.APIBase, "listen", c.Listen,
		"admin_listen", c.AdminListen, "pprof", c.Pprof, "metrics_token", optState(c.MetricsToken),
		"data_dir", c.DataDir, "rules", c.Rules, "rules_watch", c.RulesWatch,
		"concurrency", c.Concurrency, "pages_in_flight", c.PagesInFlight, "cold_start_age", c.ColdStartAge.String(),
		"shutdown_timeout", c.ShutdownTimeout.String(), "poll_interval", c.PollInterval.String(),
		"handback_check_interval", c.HandbackCheckInterval.String(), "handback_pool_timeout", c.HandbackPoolTimeout.String(),
		"handback_idle_timeout", c.HandbackIdleTimeout.String(), "handback_closing_text", optState(c.HandbackClosingText),
		"transcripts", c.Transcripts, "ai_backend", c.AIBackend, "ai_base_url", c.AIBaseURL, "ai_api_key", optState(c.AIAPIKey), "contact_secret", optState(c.ContactSecret),
		"ai_model", c.AIModel, "accounts", strings.Join(c.Accounts, ","), "plugins", strings.Join(names, ","),
	}
}

// handback returns the hand-back policy: rule's (the rule file's section, or the
// default) with the fields c sets replacing its own.
func (c *Config) handback(rules bot.Handback) bot.Handback {
	h := rules
	if c.HandbackCheckInterval != 0 {
		h.CheckInterval = time.Duration(c.HandbackCheckInterval)
	}
	if c.HandbackPoolTimeout != 0 {
		h.PoolTimeout = time.Duration(c.HandbackPoolTimeout)
	}
	if c.HandbackIdleTimeout != 0 {
		h.IdleTimeout = time.Duration(c.HandbackIdleTimeout)
	}
	if c.HandbackClosingText != "" {
		h.ClosingText = c.HandbackClosingText
	}
	return h
}

// checkAI checks the model settings.
func (c *Config) checkAI() []string {
	var p []string
	switch c.AIBackend {
	case "", "openai", "dify":
	default:
		p = append(p, fmt.Sprintf("ai_backend: %q is not openai or dify (KFBOT_AI_BACKEND)", c.AIBackend))
	}
	if c.AIConcurrency < 0 {
		p = append(p, fmt.Sprintf("ai_concurrency: %d is negative (KFBOT_AI_CONCURRENCY)", c.AIConcurrency))
	}
	if c.AITimeout < 0 {
		p = append(p, fmt.Sprintf("ai_timeout: %s is negative (KFBOT_AI_TIMEOUT)", c.AITimeout))
	}
	if c.AIExtraBody != "" {
		var m map[string]any
		if err := json.Unmarshal([]byte(c.AIExtraBody), &m); err != nil {
			p = append(p, fmt.Sprintf("ai_extra_body: not a JSON object (KFBOT_AI_EXTRA_BODY): %v", err))
		}
	}
	if c.AIBaseURL != "" {
		if _, err := c.aiBackend(); err != nil {
			p = append(p, fmt.Sprintf("%v", err))
		}
	}
	return p
}

// aiBackend returns the model the settings describe, nil when KFBOT_AI_BASE_URL is not
// set.
func (c *Config) aiBackend() (ai.Backend, error) {
	if c.AIBaseURL == "" {
		return nil, nil
	}
	if c.AIBackend == "dify" {
		return dify.New(dify.Config{BaseURL: c.AIBaseURL, APIKey: c.AIAPIKey})
	}
	var extra map[string]any
	if c.AIExtraBody != "" {
		_ = json.Unmarshal([]byte(c.AIExtraBody), &extra) // checked by checkAI
	}
	return openaichat.New(openaichat.Config{BaseURL: c.AIBaseURL, APIKey: c.AIAPIKey, Model: c.AIModel, ExtraBody: extra})
}

// aiOptions are the assistant's options from the settings.
func (c *Config) aiOptions(o ai.Observer) []ai.Option {
	opts := []ai.Option{ai.WithObserver(o)}
	if c.AIConcurrency > 0 {
		opts = append(opts, ai.WithConcurrency(c.AIConcurrency))
	}
	if c.AITimeout > 0 {
		opts = append(opts, ai.WithOverrides(ai.Settings{Timeout: time.Duration(c.AITimeout)}))
	}
	return opts
}
