package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/kfbot/kfbot/bot"
	"github.com/kfbot/kfbot/kf"
)

// credCheck is the start-up credentials check of `kfbot run`: it fetches an access token
// once, and when that fails it logs what to do (once, at Error) and keeps the reason for
// /readyz until a pull succeeds. kfbot keeps serving meanwhile: callbacks still get 200,
// and WeCom (or the operator, in the admin console) may fix the cause.
type credCheck struct {
	failure atomic.Pointer[error]
}

// errCheckingCredentials answers /readyz until the start-up check has an answer.
var errCheckingCredentials = errors.New("checking the credentials (fetching an access token)")

func newCredCheck() *credCheck {
	c := &credCheck{}
	c.failure.Store(&errCheckingCredentials)
	return c
}

// Err returns the reason the check failed, or nil once it passed or a pull succeeded.
func (c *credCheck) Err() error {
	if p := c.failure.Load(); p != nil {
		return *p
	}
	return nil
}

// run fetches a token with client and records the outcome. apiBase names the origin in
// the hint for network errors.
func (c *credCheck) run(ctx context.Context, client *kf.Client, apiBase string, logger *slog.Logger) {
	start := time.Now()
	err := client.Ping(ctx)
	if err == nil {
		c.failure.Store(nil)
		logger.Info("kfbot: credentials checked: WeCom issued an access token", "duration", time.Since(start).Round(time.Millisecond))
		return
	}
	if ctx.Err() != nil {
		return // shutting down
	}
	hint := credentialHint(err, apiBase)
	reason := fmt.Errorf("credentials check failed: %w; %s", err, hint)
	c.failure.Store(&reason)
	attrs := []any{"err", err, "hint", hint, "api_base", apiBase}
	if ae, ok := errors.AsType[*kf.APIError](err); ok {
		attrs = append(attrs, "errcode", ae.Code)
	}
	logger.Error("kfbot: credentials check failed; kfbot keeps running and /readyz answers 503 until a pull succeeds", attrs...)
}

// pulled clears the failure after a successful pull: the credentials work now.
func (c *credCheck) pulled(logger *slog.Logger) {
	if c.failure.Swap(nil) != nil {
		logger.Info("kfbot: a pull succeeded; the credentials work now")
	}
}

// credentialHint says what to do about a failed token fetch: which setting, which page
// of the WeCom admin console. Error codes: https://developer.work.weixin.qq.com/document/path/90313
func credentialHint(err error, apiBase string) string {
	if ae, ok := errors.AsType[*kf.APIError](err); ok {
		switch ae.Code {
		case 40001, 40091:
			return "KFBOT_SECRET is not the Secret of the app that calls the 微信客服 API (or it was reset): copy it from the WeCom admin console, 应用管理 → that app → Secret (the app listed under 微信客服 → API → 可调用接口的应用)"
		case 40013:
			return "KFBOT_CORP_ID (-corp-id) is not your CorpID: copy it from the WeCom admin console, 我的企业 → 企业信息 → 企业ID (ww…)"
		case 60020:
			return "this server's public IP is not trusted by the app: add it in the WeCom admin console, 应用管理 → the app → 企业可信IP"
		case 45009:
			return "WeCom rate-limits token requests from this IP (repeated wrong secrets can ban it for an hour): fix KFBOT_SECRET, then wait before restarting"
		case 48002, 95011, 95012, 95017, 95023, 301002:
			return "the app may not be authorised for 微信客服: in the WeCom admin console, 微信客服 → API → 可调用接口的应用, choose this app and assign the KF accounts to it; KFBOT_SECRET must be that app's Secret"
		}
		return fmt.Sprintf("WeCom refused the token request (errcode %d: %s); check KFBOT_CORP_ID and KFBOT_SECRET against the WeCom admin console", ae.Code, kf.CodeText(ae.Code))
	}
	if he, ok := errors.AsType[*kf.HTTPError](err); ok {
		return fmt.Sprintf("%s answered HTTP %d instead of the WeCom API: check KFBOT_API_BASE (-api-base; default %s) and any proxy in between", apiBase, he.StatusCode, DefaultAPIBase)
	}
	return fmt.Sprintf("cannot reach the WeCom API at %s: check KFBOT_API_BASE (-api-base; default %s), DNS, the proxy settings (HTTPS_PROXY) and the firewall (outbound HTTPS)", apiBase, DefaultAPIBase)
}

// checkedObserver passes every event to the metrics and clears the start-up failure on
// the first successful pull.
type checkedObserver struct {
	*metrics
	check  *credCheck
	logger *slog.Logger
}

// Pull implements [bot.Observer].
func (o checkedObserver) Pull(openKFID string, items int, lag time.Duration, err error) {
	o.metrics.Pull(openKFID, items, lag, err)
	if err == nil {
		o.check.pulled(o.logger)
	}
}

var _ bot.Observer = checkedObserver{}
