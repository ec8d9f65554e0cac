// Package testhook gives rules/rulestest what a conversation test needs of a rule set
// beyond the rules package's public API. Package rules sets [Prepare] when it is
// initialised; only rules/rulestest calls it.
package testhook

import (
	"time"

	"github.com/kfbot/kfbot/ai"
	"github.com/kfbot/kfbot/bot"
)

// Prepared is a rule set made ready for one conversation test.
type Prepared struct {
	// Matcher and Handler are the prepared set's (what Set.Install registers).
	Matcher bot.Matcher
	Handler bot.HandlerFunc
	// Install registers the prepared set on a bot as Set.Install does, without its log
	// line: the hand-back policy, the routes for bot-owned and for person-owned
	// conversations.
	Install func(b *bot.Bot) error
	// Clicks maps a menu click id to its item's text, which WeCom sends when the item is
	// tapped.
	Clicks map[string]string
	// Servicers are the servicers the set's rules transfer to by a constant userid; the
	// fake WeCom must know them.
	Servicers []string
}

// Prepare returns set (a *rules.Set) prepared for one test: its `now` comes from now
// unless now returns the zero time (then from the set's own clock), uploaded media ids
// are cached for this test alone, whenErr hears of every `when` that fails at run time,
// and its ai actions ask model (with no merge window, so each step is answered at once).
var Prepare func(set any, now func() time.Time, whenErr func(rule string, err error), model ai.Backend) Prepared
