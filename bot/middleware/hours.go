package middleware

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/kfbot/kfbot/bot"
	"github.com/kfbot/kfbot/kf/syncmsg"
)

// BusinessHoursConfig configures [BusinessHours].
type BusinessHoursConfig struct {
	// Location is the time zone of the hours. Default: Asia/Shanghai (UTC+8 if the zone
	// database is missing).
	Location *time.Location
	// Days are the open weekdays. Default: Monday to Friday.
	Days []time.Weekday
	// Open and Close are the opening hours as wall-clock times of day in Location (e.g.
	// 9*time.Hour for 9:00), Open inclusive, Close exclusive; Close may be 24h. Default
	// (both zero): 9:00 to 18:00.
	Open, Close time.Duration
	// Reply is sent to a customer who writes outside the hours. Default: none.
	Reply string
	// HandOff, when true, transfers the customer to the waiting pool outside the hours
	// (after Reply), so a human picks the conversation up when the shift starts.
	HandOff bool
	// Now is the clock. Default: time.Now.
	Now func() time.Time
}

// DefaultBusinessHoursConfig returns the defaults of [BusinessHoursConfig].
func DefaultBusinessHoursConfig() BusinessHoursConfig {
	return BusinessHoursConfig{
		Location: shanghai(),
		Days:     weekdays(),
		Open:     9 * time.Hour,
		Close:    18 * time.Hour,
		Now:      time.Now,
	}
}

// shanghai is Asia/Shanghai, or UTC+8 if the zone database is missing.
var shanghai = sync.OnceValue(func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return time.FixedZone("UTC+8", 8*3600)
	}
	return loc
})

// weekdays returns Monday to Friday, the default open days.
func weekdays() []time.Weekday {
	return []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}
}

// withDefaults fills the unset fields from [DefaultBusinessHoursConfig].
func (cfg BusinessHoursConfig) withDefaults() BusinessHoursConfig {
	if cfg.Location == nil {
		cfg.Location = shanghai()
	}
	if len(cfg.Days) == 0 {
		cfg.Days = weekdays()
	}
	if cfg.Open == 0 && cfg.Close == 0 {
		cfg.Open, cfg.Close = 9*time.Hour, 18*time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return cfg
}

// Validate reports every problem with cfg at once, after filling unset fields with their
// defaults as [BusinessHours] does.
func (cfg BusinessHoursConfig) Validate() error {
	cfg = cfg.withDefaults()
	var errs []error
	if cfg.Open < 0 || cfg.Open >= 24*time.Hour || cfg.Close <= 0 || cfg.Close > 24*time.Hour {
		errs = append(errs, fmt.Errorf("middleware: business hours %v–%v: both must be within a day", cfg.Open, cfg.Close))
	}
	if cfg.Close <= cfg.Open {
		errs = append(errs, fmt.Errorf("middleware: business hours close (%v) must be after open (%v)", cfg.Close, cfg.Open))
	}
	for _, d := range cfg.Days {
		if d < time.Sunday || d > time.Saturday {
			errs = append(errs, fmt.Errorf("middleware: business hours day %d: not a weekday (0 Sunday … 6 Saturday)", int(d)))
		}
	}
	if !cfg.HandOff && cfg.Reply == "" {
		errs = append(errs, errors.New("middleware: business hours need a Reply, HandOff, or both"))
	}
	return errors.Join(errs...)
}

// IsOpen reports whether t is inside the business hours. Open and Close are wall-clock
// times in Location, so on a daylight-saving day 9:00 is still 9:00. Unset fields take
// their defaults.
func (cfg BusinessHoursConfig) IsOpen(t time.Time) bool {
	cfg = cfg.withDefaults()
	t = t.In(cfg.Location)
	if !slices.Contains(cfg.Days, t.Weekday()) {
		return false
	}
	h, m, s := t.Clock()
	since := time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(s)*time.Second +
		time.Duration(t.Nanosecond())
	return since >= cfg.Open && since < cfg.Close
}

// BusinessHours lets customer messages through during the business hours; outside them
// it answers with Reply and/or hands the customer to the waiting pool, and the rest of the
// chain does not run. Events and servicer messages always pass. It returns an error if cfg
// is invalid.
func BusinessHours(cfg BusinessHoursConfig) (bot.Middleware, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.Days = slices.Clone(cfg.Days) // the caller may reuse its slice
	return func(next bot.HandlerFunc) bot.HandlerFunc {
		return func(c *bot.Context) error {
			if c.Header().Origin != syncmsg.OriginCustomer || cfg.IsOpen(cfg.Now()) {
				return next(c)
			}
			if cfg.Reply != "" {
				if err := c.ReplyText(cfg.Reply); err != nil {
					return err
				}
			}
			if cfg.HandOff {
				if _, err := c.TransferToPool(); err != nil {
					return err
				}
			}
			return nil
		}
	}, nil
}
