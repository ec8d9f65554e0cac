package middleware

import (
	"errors"
	"fmt"
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
	// Open and Close are the opening hours as offsets from midnight, Close exclusive.
	// Default: 9:00 to 18:00.
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
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		loc = time.FixedZone("UTC+8", 8*3600)
	}
	return BusinessHoursConfig{
		Location: loc,
		Days:     []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday},
		Open:     9 * time.Hour,
		Close:    18 * time.Hour,
		Now:      time.Now,
	}
}

// Validate reports every problem with cfg at once.
func (cfg BusinessHoursConfig) Validate() error {
	var errs []error
	if cfg.Open < 0 || cfg.Open >= 24*time.Hour || cfg.Close <= 0 || cfg.Close > 24*time.Hour {
		errs = append(errs, fmt.Errorf("middleware: business hours %v–%v: both must be within a day", cfg.Open, cfg.Close))
	}
	if cfg.Close <= cfg.Open {
		errs = append(errs, fmt.Errorf("middleware: business hours close (%v) must be after open (%v)", cfg.Close, cfg.Open))
	}
	if !cfg.HandOff && cfg.Reply == "" {
		errs = append(errs, errors.New("middleware: business hours need a Reply, HandOff, or both"))
	}
	return errors.Join(errs...)
}

// IsOpen reports whether t is inside the business hours.
func (cfg BusinessHoursConfig) IsOpen(t time.Time) bool {
	t = t.In(cfg.Location)
	open := false
	for _, d := range cfg.Days {
		if t.Weekday() == d {
			open = true
			break
		}
	}
	if !open {
		return false
	}
	midnight := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location())
	since := t.Sub(midnight)
	return since >= cfg.Open && since < cfg.Close
}

// BusinessHours lets customer messages through during the business hours; outside them
// it answers with Reply and/or hands the customer to the waiting pool, and the rest of the
// chain does not run. Events and servicer messages always pass. It returns an error if cfg
// is invalid.
func BusinessHours(cfg BusinessHoursConfig) (bot.Middleware, error) {
	d := DefaultBusinessHoursConfig()
	if cfg.Location == nil {
		cfg.Location = d.Location
	}
	if len(cfg.Days) == 0 {
		cfg.Days = d.Days
	}
	if cfg.Open == 0 && cfg.Close == 0 {
		cfg.Open, cfg.Close = d.Open, d.Close
	}
	if cfg.Now == nil {
		cfg.Now = d.Now
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
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
