package rules

import (
	"time"

	"github.com/kfbot/kfbot/rules/internal/testhook"
)

func init() { testhook.Prepare = prepareTest }

// prepareTest implements testhook.Prepare.
func prepareTest(set any, now func() time.Time, whenErr func(rule string, err error)) testhook.Prepared {
	s := set.(*Set)
	clock := s.opts.now
	ts := s.withClock(func() time.Time {
		if t := now(); !t.IsZero() {
			return t
		}
		return clock()
	})
	ts.opts.media = newMediaCache() // media ids belong to the test's fake WeCom
	ts.opts.onWhenError = whenErr
	return testhook.Prepared{Matcher: ts.Matcher(), Handler: ts.Handler(), Install: ts.install, Clicks: s.clicks, Servicers: s.servicers}
}
