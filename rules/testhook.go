package rules

import (
	"time"

	"github.com/kfbot/kfbot/ai"
	"github.com/kfbot/kfbot/bot"
	"github.com/kfbot/kfbot/rules/internal/testhook"
)

func init() { testhook.Prepare = prepareTest }

// prepareTest implements testhook.Prepare.
func prepareTest(set any, now func() time.Time, whenErr func(rule string, err error), model ai.Backend) testhook.Prepared {
	s := set.(*Set)
	clock := s.opts.now
	ts := s.withClock(func() time.Time {
		if t := now(); !t.IsZero() {
			return t
		}
		return clock()
	})
	// Media ids belong to the test's fake WeCom: the bot's media cache is new for each
	// test, and a set with its own uploader gets a new cache of its own.
	ts.opts.media = nil
	if ts.opts.uploader != nil {
		ts.opts.media = bot.NewMediaCache(ts.opts.uploader, nil)
	}
	ts.opts.onWhenError = whenErr
	if s.asst != nil && model != nil {
		opts := append([]ai.Option(nil), s.opts.aiOpts...)
		for _, f := range s.aiSec.tools {
			opts = append(opts, ai.WithFunction(f))
		}
		for id, o := range s.aiSec.accounts {
			opts = append(opts, ai.WithAccount(id, o))
		}
		if asst, err := ai.New(model, s.aiSec.settings, opts...); err == nil { // checked at load
			ts.asst = asst
		}
		ts.noMerge = true
	}
	return testhook.Prepared{Matcher: ts.Matcher(), Handler: ts.Handler(), Install: ts.install, Clicks: s.clicks, Servicers: s.servicers}
}
