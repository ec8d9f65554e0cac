package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/kfbot/kfbot/kf"
	"github.com/kfbot/kfbot/kf/callback"
)

// ContactClient is the external-contact (客户联系) API: the new customer's welcome and
// the customer's details. *kf.Client satisfies it: the bot's own client when its app has
// the 客户联系 permission, or one made with the 客户联系 secret ([WithContactClient]).
type ContactClient interface {
	SendWelcomeMsg(ctx context.Context, req kf.SendWelcomeMsgRequest) error
	GetExternalContactAll(ctx context.Context, externalUserID string) (*kf.ExternalContact, error)
}

// WithContactClient sets the client of the external-contact calls
// ([Context.WelcomeContact], [Context.ExternalContact]). Default: the bot's client, when
// it is a ContactClient (a *kf.Client is).
func WithContactClient(cc ContactClient) Option { return func(o *options) { o.contact = cc } }

// ErrNoContactClient is returned by the external-contact calls of a bot without a
// [ContactClient].
var ErrNoContactClient = errors.New("bot: no external-contact client: the bot's client does not make these calls; set one with bot.WithContactClient")

// contactClient returns the bot's ContactClient, or nil.
func (b *Bot) contactClient() ContactClient {
	if b.opts.contact != nil {
		return b.opts.contact
	}
	cc, _ := b.client.(ContactClient)
	return cc
}

// WelcomeContact sends the welcome of a new external contact (add_external_contact or
// add_half_external_contact, with a welcome code) through
// externalcontact/send_welcome_msg: text (≤ 4000 bytes) and up to 9 attachments, which
// arrive as several messages. The code lives 20 seconds and is used once: a code older
// than the welcome age ([WithWelcomeMaxAge], counted from [Context.Received]) is
// skipped with [ErrCodeExpired] without a call, and a notification without one gets
// [ErrNoEventCode]. The answers after which a welcome can never be sent — 41050 (code
// expired), 41051 (the customer and member already chatted, or another app used the
// code), 41096 (already being sent), 84061 (no relationship) — are logged at Info and
// return nil: WeCom's retry of a welcome that went out ends here.
func (c *Context) WelcomeContact(text string, attachments ...kf.WelcomeAttachment) error {
	e, ok := c.note.(*callback.ExternalContactChange)
	if !ok || e.WelcomeCode == "" {
		return c.refuse(ErrNoEventCode)
	}
	if c.bot.opts.now().Sub(c.received) > c.bot.opts.welcomeMaxAge {
		return c.refuse(ErrCodeExpired)
	}
	cc := c.bot.contactClient()
	if cc == nil {
		return ErrNoContactClient
	}
	err := cc.SendWelcomeMsg(c.ctx, kf.SendWelcomeMsgRequest{WelcomeCode: e.WelcomeCode, Text: text, Attachments: attachments})
	switch {
	case err == nil:
		c.bot.opts.observer.Reply(ReplyOK, 0)
		return nil
	case kf.WelcomeSkippable(err):
		c.bot.opts.observer.Reply(ReplyFailed, errCode(err))
		c.Logger().Info("bot: the welcome cannot be sent; skipping it", slog.Int(LogKeyErrCode, errCode(err)), slog.Any(LogKeyError, err))
		return nil
	}
	c.bot.opts.observer.Reply(ReplyFailed, errCode(err))
	return fmt.Errorf("bot: send_welcome_msg for %s: %w", e.ExternalUserID, err)
}

// CanWelcomeContact reports, without I/O, whether [Context.WelcomeContact] would call
// WeCom now: nil, or the refusal it would return. Use it before uploading attachments.
func (c *Context) CanWelcomeContact() error {
	e, ok := c.note.(*callback.ExternalContactChange)
	switch {
	case !ok || e.WelcomeCode == "":
		return ErrNoEventCode
	case c.bot.opts.now().Sub(c.received) > c.bot.opts.welcomeMaxAge:
		return ErrCodeExpired
	}
	return nil
}

// ExternalContact returns the external contact a notification is about (or the one
// named, when externalUserID is not ""), with every follow user the app may see
// (externalcontact/get).
func (c *Context) ExternalContact(externalUserID string) (*kf.ExternalContact, error) {
	if externalUserID == "" {
		externalUserID = externalUserOf(c.note)
	}
	if externalUserID == "" {
		return nil, errors.New("bot: ExternalContact: no external_userid: the notification names no customer")
	}
	cc := c.bot.contactClient()
	if cc == nil {
		return nil, ErrNoContactClient
	}
	ec, err := cc.GetExternalContactAll(c.ctx, externalUserID)
	if err != nil {
		return nil, fmt.Errorf("bot: externalcontact/get %s: %w", externalUserID, err)
	}
	return ec, nil
}
