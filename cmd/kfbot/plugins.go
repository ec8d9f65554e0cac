package main

import (
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kfbot/kfbot/bot"
	"github.com/kfbot/kfbot/bot/middleware"
)

// pluginFactory builds a plugin's middleware from its YAML settings (nil when the entry
// gave none). It returns every problem found, each prefixed with its position.
type pluginFactory func(p PluginConfig) (bot.Middleware, []string)

// plugins are the built-in middlewares `kfbot run` offers by name, filled explicitly
// here (no init-time registry). A program that needs its own plugins builds its own
// main with package bot.
var plugins = map[string]pluginFactory{
	"recover":        recoverPlugin,
	"logger":         loggerPlugin,
	"ratelimit":      rateLimitPlugin,
	"allow":          accessPlugin("allow", middleware.Allow),
	"block":          accessPlugin("block", middleware.Block),
	"business_hours": businessHoursPlugin,
}

func pluginNames() []string {
	names := make([]string, 0, len(plugins))
	for n := range plugins {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// checkPluginNames reports unknown plugin names.
func checkPluginNames(ps []PluginConfig) []string {
	var problems []string
	for i, p := range ps {
		if _, ok := plugins[p.Name]; ok {
			continue
		}
		at := ""
		if p.Pos != "" {
			at = p.Pos + ": "
		}
		problems = append(problems, fmt.Sprintf("%splugins[%d]: unknown plugin %q%s; the plugins are %s",
			at, i, p.Name, didYouMean(p.Name, pluginNames()), strings.Join(pluginNames(), ", ")))
	}
	return problems
}

// buildPlugins builds the middlewares of ps in order. Unknown names are skipped (Validate
// reports them); every settings problem is returned.
func buildPlugins(ps []PluginConfig) ([]bot.Middleware, []string) {
	var (
		mws      []bot.Middleware
		problems []string
	)
	for i, p := range ps {
		f, ok := plugins[p.Name]
		if !ok {
			continue
		}
		mw, errs := f(p)
		for _, e := range errs {
			problems = append(problems, fmt.Sprintf("plugins[%d] (%s): %s", i, p.Name, e))
		}
		if len(errs) == 0 && mw != nil {
			mws = append(mws, mw)
		}
	}
	return mws, problems
}

// settingsPath names the file of a plugin entry for decodeStrict.
func settingsPath(p PluginConfig) string {
	if p.File == "" {
		return "config"
	}
	return p.File
}

// recoverSettings configures the recover plugin.
type recoverSettings struct {
	// Reply is sent to the customer when a handler panics. Default: none.
	Reply string `yaml:"reply"`
}

func recoverPlugin(p PluginConfig) (bot.Middleware, []string) {
	var s recoverSettings
	if errs := decodeStrict(settingsPath(p), p.Settings, &s); len(errs) > 0 {
		return nil, errs
	}
	var onPanic func(c *bot.Context, v any, stack []byte) error
	if s.Reply != "" {
		onPanic = func(c *bot.Context, v any, stack []byte) error {
			perr := &bot.PanicError{Value: v, Stack: stack}
			if err := c.ReplyText(s.Reply); err != nil {
				return fmt.Errorf("%w (and the apology failed: %w)", perr, err)
			}
			return perr
		}
	}
	return middleware.Recover(onPanic), nil
}

// loggerSettings configures the logger plugin.
type loggerSettings struct {
	// Level is the level of the line logged per message. Default: info.
	Level string `yaml:"level"`
	// ErrorLevel is the level when the handler failed. Default: warn.
	ErrorLevel string `yaml:"error_level"`
}

func loggerPlugin(p PluginConfig) (bot.Middleware, []string) {
	var s loggerSettings
	if errs := decodeStrict(settingsPath(p), p.Settings, &s); len(errs) > 0 {
		return nil, errs
	}
	cfg := middleware.DefaultLoggerConfig()
	var problems []string
	if s.Level != "" {
		l, ok := logLevels[strings.ToLower(s.Level)]
		if !ok {
			problems = append(problems, fmt.Sprintf("level: %q is not one of debug, info, warn, error", s.Level))
		}
		cfg.Level = l
	}
	if s.ErrorLevel != "" {
		l, ok := logLevels[strings.ToLower(s.ErrorLevel)]
		if !ok {
			problems = append(problems, fmt.Sprintf("error_level: %q is not one of debug, info, warn, error", s.ErrorLevel))
		}
		cfg.ErrorLevel = l
	}
	if problems != nil {
		return nil, problems
	}
	return middleware.Logger(cfg), nil
}

// rateLimitSettings configures the ratelimit plugin.
type rateLimitSettings struct {
	// Every is the average time per message a customer may send. Default: 1s.
	Every Duration `yaml:"every"`
	// Burst is how many messages may come at once. Default: 5.
	Burst int `yaml:"burst"`
	// IdleTTL is how long an idle customer's limiter is kept. Default: 10m.
	IdleTTL Duration `yaml:"idle_ttl"`
	// Reply is sent to a customer over the limit. Default: none (dropped silently).
	Reply string `yaml:"reply"`
}

func rateLimitPlugin(p PluginConfig) (bot.Middleware, []string) {
	var s rateLimitSettings
	if errs := decodeStrict(settingsPath(p), p.Settings, &s); len(errs) > 0 {
		return nil, errs
	}
	cfg := middleware.DefaultRateLimitConfig()
	var problems []string
	if s.Every < 0 || s.Burst < 0 || s.IdleTTL < 0 {
		problems = append(problems, "every, burst and idle_ttl must not be negative")
	}
	if s.Every > 0 {
		cfg.Every = time.Duration(s.Every)
	}
	if s.Burst > 0 {
		cfg.Burst = s.Burst
	}
	if s.IdleTTL > 0 {
		cfg.IdleTTL = time.Duration(s.IdleTTL)
	}
	if s.Reply != "" {
		reply := s.Reply
		cfg.OnLimited = func(c *bot.Context) error { return c.ReplyText(reply) }
	}
	if problems != nil {
		return nil, problems
	}
	return middleware.RateLimit(cfg), nil
}

// accessSettings configures the allow and block plugins.
type accessSettings struct {
	// OpenKFIDs are KF accounts.
	OpenKFIDs []string `yaml:"open_kfids"`
	// ExternalUserIDs are customers.
	ExternalUserIDs []string `yaml:"external_userids"`
}

func accessPlugin(name string, build func(middleware.AccessConfig) bot.Middleware) pluginFactory {
	return func(p PluginConfig) (bot.Middleware, []string) {
		var s accessSettings
		if errs := decodeStrict(settingsPath(p), p.Settings, &s); len(errs) > 0 {
			return nil, errs
		}
		if len(s.OpenKFIDs) == 0 && len(s.ExternalUserIDs) == 0 {
			return nil, []string{fmt.Sprintf("%s lists nothing; give open_kfids and/or external_userids", name)}
		}
		return build(middleware.AccessConfig{OpenKFIDs: s.OpenKFIDs, ExternalUserIDs: s.ExternalUserIDs}), nil
	}
}

// businessHoursSettings configures the business_hours plugin.
type businessHoursSettings struct {
	// Timezone is an IANA zone name. Default: Asia/Shanghai.
	Timezone string `yaml:"timezone"`
	// Days are the open weekdays: mon … sun (or full names), and ranges like mon-fri.
	// Default: mon-fri.
	Days []string `yaml:"days"`
	// Open and Close are "HH:MM" wall-clock times; Close may be "24:00". Default: 09:00
	// to 18:00.
	Open  string `yaml:"open"`
	Close string `yaml:"close"`
	// Reply is sent to a customer who writes outside the hours. Default: none.
	Reply string `yaml:"reply"`
	// HandOff transfers such a customer to the waiting pool. Default: false.
	HandOff bool `yaml:"hand_off"`
}

var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
	"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday, "wednesday": time.Wednesday,
	"thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday,
}

func businessHoursPlugin(p PluginConfig) (bot.Middleware, []string) {
	var s businessHoursSettings
	if errs := decodeStrict(settingsPath(p), p.Settings, &s); len(errs) > 0 {
		return nil, errs
	}
	cfg := middleware.DefaultBusinessHoursConfig()
	var problems []string
	if s.Timezone != "" {
		loc, err := time.LoadLocation(s.Timezone)
		if err != nil {
			problems = append(problems, fmt.Sprintf("timezone: %q is not an IANA time zone such as Asia/Shanghai", s.Timezone))
		}
		cfg.Location = loc
	}
	if len(s.Days) > 0 {
		cfg.Days = nil
		for _, d := range s.Days {
			days, err := parseDays(d)
			if err != nil {
				problems = append(problems, "days: "+err.Error())
			}
			cfg.Days = append(cfg.Days, days...)
		}
	}
	if s.Open != "" {
		t, err := parseClock(s.Open)
		if err != nil {
			problems = append(problems, "open: "+err.Error())
		}
		cfg.Open = t
	}
	if s.Close != "" {
		t, err := parseClock(s.Close)
		if err != nil {
			problems = append(problems, "close: "+err.Error())
		}
		cfg.Close = t
	}
	cfg.Reply = s.Reply
	cfg.HandOff = s.HandOff
	if problems != nil {
		return nil, problems
	}
	mw, err := middleware.BusinessHours(cfg)
	if err != nil {
		return nil, []string{err.Error()}
	}
	return mw, nil
}

// parseDays reads "mon", "monday" or a range "mon-fri" (which may wrap: "fri-mon").
func parseDays(s string) ([]time.Weekday, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	from, to, isRange := strings.Cut(s, "-")
	a, ok := weekdays[strings.TrimSpace(from)]
	if !ok {
		return nil, fmt.Errorf("%q is not a weekday (mon, tue, … sun) or a range like mon-fri", s)
	}
	if !isRange {
		return []time.Weekday{a}, nil
	}
	b, ok := weekdays[strings.TrimSpace(to)]
	if !ok {
		return nil, fmt.Errorf("%q is not a weekday (mon, tue, … sun) or a range like mon-fri", s)
	}
	var out []time.Weekday
	for d := a; ; d = (d + 1) % 7 {
		out = append(out, d)
		if d == b {
			return out, nil
		}
	}
}

// parseClock reads "HH:MM" (00:00 to 24:00) as a time of day.
func parseClock(s string) (time.Duration, error) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || hh < 0 || mm < 0 || mm > 59 || hh > 24 || (hh == 24 && mm != 0) {
		return 0, fmt.Errorf("%q is not a time of day such as 09:00 or 18:30", s)
	}
	return time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute, nil
}

// logLevels maps the level names of the configuration to slog levels.
var logLevels = map[string]slog.Level{
	"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "warning": slog.LevelWarn,
	"error": slog.LevelError,
}
