package bot

import (
	"regexp"
	"strings"

	"github.com/kfbot/kfbot/kf/syncmsg"
)

// Matcher decides whether a handler takes a message. Matchers must be fast, free of side
// effects and safe for concurrent use.
type Matcher func(c *Context) bool

// Any matches every message.
func Any() Matcher { return func(*Context) bool { return true } }

// MsgType matches messages of any of the given msgtypes.
func MsgType(types ...syncmsg.MsgType) Matcher {
	return func(c *Context) bool {
		t := c.head.MsgType
		for _, x := range types {
			if t == x {
				return true
			}
		}
		return false
	}
}

// Event matches events of any of the given event types.
func Event(types ...syncmsg.EventType) Matcher {
	return func(c *Context) bool {
		t := c.head.EventType
		if t == "" {
			return false
		}
		for _, x := range types {
			if t == x {
				return true
			}
		}
		return false
	}
}

// Text matches text messages whose content equals s exactly.
func Text(s string) Matcher {
	return func(c *Context) bool {
		t, ok := c.msg.(*syncmsg.Text)
		return ok && t.Content == s
	}
}

// TextPrefix matches text messages whose content starts with prefix.
func TextPrefix(prefix string) Matcher {
	return func(c *Context) bool {
		t, ok := c.msg.(*syncmsg.Text)
		return ok && strings.HasPrefix(t.Content, prefix)
	}
}

// TextContains matches text messages whose content contains s.
func TextContains(s string) Matcher {
	return func(c *Context) bool {
		t, ok := c.msg.(*syncmsg.Text)
		return ok && strings.Contains(t.Content, s)
	}
}

// TextRegexp matches text messages whose content matches the regular expression expr.
// It panics if expr does not compile: matchers are built at setup time.
func TextRegexp(expr string) Matcher {
	re := regexp.MustCompile(expr)
	return func(c *Context) bool {
		t, ok := c.msg.(*syncmsg.Text)
		return ok && re.MatchString(t.Content)
	}
}

// MenuID matches the text a customer sends by tapping a menu item whose click id is one of
// ids.
func MenuID(ids ...string) Matcher {
	return func(c *Context) bool {
		t, ok := c.msg.(*syncmsg.Text)
		if !ok || t.MenuID == "" {
			return false
		}
		for _, id := range ids {
			if t.MenuID == id {
				return true
			}
		}
		return false
	}
}

// FromKF matches messages of any of the given KF accounts (open_kfid).
func FromKF(openKFIDs ...string) Matcher {
	return func(c *Context) bool {
		for _, id := range openKFIDs {
			if c.head.OpenKFID == id {
				return true
			}
		}
		return false
	}
}

// Origin matches messages of the given origin: [syncmsg.OriginCustomer],
// [syncmsg.OriginSystem] (events) or [syncmsg.OriginServicer].
func Origin(o syncmsg.Origin) Matcher {
	return func(c *Context) bool { return c.head.Origin == o }
}

// Scene matches enter_session events whose scene is one of scenes (the value set when the
// contact link was created).
func Scene(scenes ...string) Matcher {
	return func(c *Context) bool {
		e, ok := c.msg.(*syncmsg.EnterSession)
		if !ok {
			return false
		}
		for _, s := range scenes {
			if e.Scene == s {
				return true
			}
		}
		return false
	}
}

// And matches when every matcher matches (and when there are none).
func And(ms ...Matcher) Matcher {
	mustMatchers("And", ms)
	return func(c *Context) bool {
		for _, m := range ms {
			if !m(c) {
				return false
			}
		}
		return true
	}
}

// Or matches when any matcher matches.
func Or(ms ...Matcher) Matcher {
	mustMatchers("Or", ms)
	return func(c *Context) bool {
		for _, m := range ms {
			if m(c) {
				return true
			}
		}
		return false
	}
}

// Not matches when m does not.
func Not(m Matcher) Matcher {
	mustMatchers("Not", []Matcher{m})
	return func(c *Context) bool { return !m(c) }
}

func mustMatchers(op string, ms []Matcher) {
	for _, m := range ms {
		if m == nil {
			panic("bot: " + op + ": nil matcher")
		}
	}
}
