package middleware

import (
	"runtime/debug"

	"github.com/kfbot/kfbot/bot"
)

// Recover turns a panic in the rest of the chain into the error onPanic returns. A nil
// onPanic returns a *bot.PanicError carrying the value and stack, which is what the engine
// itself does; pass a function to answer the customer or alert instead.
func Recover(onPanic func(c *bot.Context, value any, stack []byte) error) bot.Middleware {
	return func(next bot.HandlerFunc) bot.HandlerFunc {
		return func(c *bot.Context) (err error) {
			defer func() {
				if r := recover(); r != nil {
					stack := debug.Stack()
					if onPanic != nil {
						err = onPanic(c, r, stack)
						return
					}
					err = &bot.PanicError{Value: r, Stack: stack}
				}
			}()
			return next(c)
		}
	}
}
