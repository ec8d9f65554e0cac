package bot

// HandlerFunc handles one message. A returned error goes to the bot's error handler
// ([WithErrorHandler]); it never stops the bot.
type HandlerFunc func(c *Context) error

// Middleware wraps a handler. It calls next to continue the chain, or returns without
// calling it to stop there.
type Middleware func(next HandlerFunc) HandlerFunc

// Plugin is a named set of handlers and middleware, installed with [Bot.Install]. Plugins
// are plain Go values compiled into the program; the rules engine is one.
type Plugin interface {
	// Name identifies the plugin in logs and errors.
	Name() string
	// Install registers the plugin's handlers, middleware and hooks on b.
	Install(b *Bot) error
}

// route is one registered handler with the matchers of every enclosing group; the groups'
// middleware is resolved when the bot freezes, so Group.Use works in any order.
type route struct {
	match   Matcher
	handler HandlerFunc
	group   *Group       // nil for routes registered on the bot
	mws     []Middleware // the route's own middleware
	chain   HandlerFunc  // group middleware (outermost first), then mws, then handler
	kind    routeKind
}

// routeKind says what a route is offered: KF messages, customer messages while a person
// owns the conversation (HandleHuman), or callback notifications (HandleCallback).
type routeKind uint8

const (
	routeMessage routeKind = iota
	routeHuman
	routeCallback
)

// Group is a set of routes that share a matcher and middleware. A group's middleware runs
// only for messages its matcher accepted. Groups nest. Create one with [Bot.Group].
type Group struct {
	bot    *Bot
	parent *Group
	match  Matcher
	mws    []Middleware
}

// Use adds middleware that runs, in order, for every route of g registered at any time
// before the bot starts.
func (g *Group) Use(mw ...Middleware) {
	g.bot.mustNotRun("Group.Use")
	for _, m := range mw {
		if m == nil {
			panic("bot: Group.Use: nil middleware")
		}
	}
	g.mws = append(g.mws, mw...)
}

// Handle registers h for messages that match both g's matchers and m. Matching is first
// match in registration order across the whole bot.
func (g *Group) Handle(m Matcher, h HandlerFunc, mw ...Middleware) {
	g.bot.addRoute(g, m, h, mw, routeMessage)
}

// HandleHuman is [Bot.HandleHuman] for routes of g.
func (g *Group) HandleHuman(m Matcher, h HandlerFunc, mw ...Middleware) {
	g.bot.addRoute(g, m, h, mw, routeHuman)
}

// Group returns a nested group whose matcher is g's matchers and m.
func (g *Group) Group(m Matcher) *Group {
	if m == nil {
		panic("bot: Group.Group: nil matcher")
	}
	g.bot.mustNotRun("Group.Group")
	return &Group{bot: g.bot, parent: g, match: m}
}

// collect returns g's matchers from the outermost group in, and its middleware the same
// way (as registered so far).
func (g *Group) collect() (ms []Matcher, mws []Middleware) {
	var chain []*Group
	for x := g; x != nil; x = x.parent {
		chain = append(chain, x)
	}
	for i := len(chain) - 1; i >= 0; i-- {
		ms = append(ms, chain[i].match) // never nil: Group and Group.Group refuse nil
		mws = append(mws, chain[i].mws...)
	}
	return ms, mws
}

// compose wraps h in mws so that mws[0] runs first.
func compose(h HandlerFunc, mws []Middleware) HandlerFunc {
	for i := len(mws) - 1; i >= 0; i-- {
		h = mws[i](h)
	}
	return h
}
