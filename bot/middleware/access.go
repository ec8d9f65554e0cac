package middleware

import "github.com/kfbot/kfbot/bot"

// AccessConfig lists KF accounts and customers for [Allow] and [Block].
type AccessConfig struct {
	// OpenKFIDs are KF accounts (open_kfid).
	OpenKFIDs []string
	// ExternalUserIDs are customers (external_userid).
	ExternalUserIDs []string
}

// Allow lets through only messages whose KF account is in OpenKFIDs and whose customer is
// in ExternalUserIDs; an empty list does not restrict its kind, so with only customers
// listed any KF account passes. Other messages, including events that name no customer
// when customers are listed, stop here, still marked processed. Typical use: a staging bot
// that answers only the team's test accounts.
func Allow(cfg AccessConfig) bot.Middleware {
	kfs, users := set(cfg.OpenKFIDs), set(cfg.ExternalUserIDs)
	return func(next bot.HandlerFunc) bot.HandlerFunc {
		return func(c *bot.Context) error {
			if len(kfs) > 0 && !kfs[c.OpenKFID()] {
				return nil
			}
			if len(users) > 0 && !users[c.ExternalUserID()] {
				return nil
			}
			return next(c)
		}
	}
}

// Block stops messages whose KF account or customer is listed (either suffices); they are
// still marked processed.
func Block(cfg AccessConfig) bot.Middleware {
	kfs, users := set(cfg.OpenKFIDs), set(cfg.ExternalUserIDs)
	return func(next bot.HandlerFunc) bot.HandlerFunc {
		return func(c *bot.Context) error {
			if kfs[c.OpenKFID()] || users[c.ExternalUserID()] {
				c.Logger().Debug("block list: message dropped")
				return nil
			}
			return next(c)
		}
	}
}

func set(xs []string) map[string]bool {
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		if x != "" {
			m[x] = true
		}
	}
	return m
}
