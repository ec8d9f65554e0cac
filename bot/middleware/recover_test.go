package middleware_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/bot"
	"github.com/kfbot/kfbot/bot/middleware"
)

var errBoom = errors.New("boom")

// panicky is a named handler, so its frame can be found in the recovered stack.
func panicky(*bot.Context) error { panic("kaboom") }

func TestRecover(t *testing.T) {
	errHandled := errors.New("handled a panic")
	type panicCall struct {
		msgID string
		value any
		stack string
	}
	tests := []struct {
		name      string
		handler   bot.HandlerFunc
		onPanic   func(calls *[]panicCall) func(*bot.Context, any, []byte) error
		check     func(t *testing.T, err error)
		wantCalls int // onPanic calls
	}{
		{
			name: "nil onPanic: a *bot.PanicError with value and stack", handler: panicky,
			check: func(t *testing.T, err error) {
				var pe *bot.PanicError
				require.ErrorAs(t, err, &pe)
				assert.Equal(t, "kaboom", pe.Value)
				assert.Contains(t, string(pe.Stack), "middleware_test.panicky", "the stack shows where it panicked")
				assert.Contains(t, err.Error(), "kaboom")
			},
		},
		{
			name: "nil onPanic: an error value stays matchable",
			handler: func(*bot.Context) error {
				panic(fmt.Errorf("wrapped: %w", errBoom))
			},
			check: func(t *testing.T, err error) {
				require.ErrorIs(t, err, errBoom)
				var pe *bot.PanicError
				require.ErrorAs(t, err, &pe)
			},
		},
		{
			name: "onPanic's error is returned", handler: panicky,
			onPanic: func(calls *[]panicCall) func(*bot.Context, any, []byte) error {
				return func(c *bot.Context, v any, stack []byte) error {
					*calls = append(*calls, panicCall{c.MsgID(), v, string(stack)})
					return fmt.Errorf("recovered %v: %w", v, errHandled)
				}
			},
			check: func(t *testing.T, err error) {
				require.ErrorIs(t, err, errHandled)
				assert.EqualError(t, err, "recovered kaboom: handled a panic")
				var pe *bot.PanicError
				assert.False(t, errors.As(err, &pe), "not the engine's PanicError")
			},
			wantCalls: 1,
		},
		{
			name: "onPanic returning nil swallows the panic", handler: panicky,
			onPanic: func(calls *[]panicCall) func(*bot.Context, any, []byte) error {
				return func(c *bot.Context, v any, stack []byte) error {
					*calls = append(*calls, panicCall{c.MsgID(), v, string(stack)})
					return nil
				}
			},
			check:     func(t *testing.T, err error) { require.NoError(t, err) },
			wantCalls: 1,
		},
		{
			name:    "no panic: the handler's error passes through",
			handler: func(*bot.Context) error { return errBoom },
			onPanic: func(calls *[]panicCall) func(*bot.Context, any, []byte) error {
				return func(c *bot.Context, v any, stack []byte) error {
					*calls = append(*calls, panicCall{c.MsgID(), v, string(stack)})
					return nil
				}
			},
			check: func(t *testing.T, err error) { require.ErrorIs(t, err, errBoom) },
		},
		{
			name: "no panic, no error", handler: func(*bot.Context) error { return nil },
			check: func(t *testing.T, err error) { require.NoError(t, err) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls []panicCall
			var onPanic func(*bot.Context, any, []byte) error
			if tt.onPanic != nil {
				onPanic = tt.onPanic(&calls)
			}
			var errs errorLog
			b := newBot(t, offlineClient(), &errs)
			b.Use(middleware.Recover(onPanic))
			b.HandleDefault(tt.handler)

			err := dispatch(t, b, text(testKF, customer, "m-recover", "hi"))
			tt.check(t, err)
			require.Len(t, calls, tt.wantCalls)
			for _, c := range calls {
				assert.Equal(t, "m-recover", c.msgID, "onPanic gets the message's context")
				assert.Equal(t, "kaboom", c.value)
				assert.Contains(t, c.stack, "middleware_test.panicky")
			}
			if err != nil {
				assert.Equal(t, []error{err}, errs.all(), "the error handler got the same error once")
			} else {
				assert.Empty(t, errs.all())
			}
		})
	}
}

func TestRecoverCanAnswerTheCustomer(t *testing.T) {
	srv := newFake(t)
	msgID := srv.AddText(testKF, customer, "what's my balance?")
	b := newBot(t, fakeClient(srv), nil)
	b.Use(middleware.Recover(func(c *bot.Context, v any, _ []byte) error {
		if err := c.ReplyText("Sorry, something went wrong. A colleague will get back to you."); err != nil {
			return err
		}
		return fmt.Errorf("handler panicked: %v", v)
	}))
	b.HandleDefault(panicky)

	err := dispatch(t, b, text(testKF, customer, msgID, "what's my balance?"))
	require.EqualError(t, err, "handler panicked: kaboom")
	sent := srv.SentTo(testKF, customer)
	require.Len(t, sent, 1)
	assert.Equal(t, "Sorry, something went wrong. A colleague will get back to you.", sent[0].Text)
}

func TestRecoverInsideAGroupKeepsOtherRoutesWorking(t *testing.T) {
	var ok counter
	b := newBot(t, offlineClient(), nil)
	g := b.Group(bot.TextPrefix("/admin"))
	g.Use(middleware.Recover(func(*bot.Context, any, []byte) error { return errBoom }))
	g.Handle(bot.Any(), panicky)
	b.HandleDefault(ok.handler)

	require.ErrorIs(t, dispatch(t, b, text(testKF, customer, "", "/admin reboot")), errBoom)
	require.NoError(t, dispatch(t, b, text(testKF, customer, "m-after", "hello")))
	assert.Equal(t, []string{"m-after"}, ok.seen())
}
