package kf

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/kfbot/kfbot/kf/syncmsg"
)

// MaxSyncLimit is the largest (and default) page size of [Client.SyncMsg].
const MaxSyncLimit = 1000

// VoiceFormat selects the encoding of voice media in pulled messages.
type VoiceFormat uint32

// Voice formats of [SyncMsgRequest.VoiceFormat].
const (
	VoiceAMR  VoiceFormat = 0 // AMR, the default
	VoiceSILK VoiceFormat = 1 // SILK
)

// SyncMsgRequest is the body of `kf/sync_msg`
// (https://developer.work.weixin.qq.com/document/path/94670). Empty optional
// fields are omitted from the JSON (WeCom rejects empty strings).
type SyncMsgRequest struct {
	// Cursor is the NextCursor of the previous call (`cursor`, ≤ 64 bytes).
	// Empty starts at the earliest message of the last 3 days. Persist it
	// after every page.
	Cursor string `json:"cursor,omitempty"`
	// Token is the `Token` of the kf_msg_or_event callback (`token`, ≤ 128
	// bytes, valid 10 minutes). Optional, but without it the endpoint is
	// strictly rate-limited. An expired token fails with [ErrInvalidMsgToken]
	// (95007): retry once without it.
	Token string `json:"token,omitempty"`
	// Limit is the page size (`limit`), 1..1000; 0 means WeCom's default
	// (1000). Fewer may be returned even when more exist: rely on HasMore.
	Limit int `json:"limit,omitempty"`
	// VoiceFormat is the voice media encoding (`voice_format`); default AMR.
	VoiceFormat VoiceFormat `json:"voice_format,omitempty"`
	// OpenKFID is the KF account to pull (`open_kfid`). Required.
	OpenKFID string `json:"open_kfid"`
}

func (r *SyncMsgRequest) validate() error {
	const op = "sync_msg"
	switch {
	case r.OpenKFID == "":
		return invalid(op, "OpenKFID is required (the KF account to pull, from the callback's OpenKfId)")
	case r.Limit < 0 || r.Limit > MaxSyncLimit:
		return invalid(op, fmt.Sprintf("Limit %d is out of range; use 1..%d, or 0 for the default", r.Limit, MaxSyncLimit))
	}
	return nil
}

// SyncMsgResponse is one page of `kf/sync_msg`.
type SyncMsgResponse struct {
	// NextCursor is the cursor for the next call (`next_cursor`). Persist it
	// once the page is processed. It may be empty on an empty page; keep the
	// old cursor then.
	NextCursor string
	// HasMore reports whether more messages are waiting (`has_more` 1).
	// HasMore may be true while MsgList is empty: keep pulling.
	HasMore bool
	// MsgList holds the raw items (`msg_list`), in order. Decode them with
	// [SyncMsgResponse.Messages] or [syncmsg.Decode]. The items of one page
	// may share one backing array (each capped at its own end, so appending
	// to one never changes another); keeping one item keeps the page's
	// items in memory.
	MsgList []json.RawMessage
}

// Messages decodes MsgList with [syncmsg.DecodeList]: one message per item,
// in order. A malformed item becomes a *syncmsg.Unknown and contributes a
// *syncmsg.ItemError to the returned (joined) error; the other items are
// always returned.
func (r *SyncMsgResponse) Messages() ([]syncmsg.Message, error) {
	msgs, err := syncmsg.DecodeList(r.MsgList)
	if err != nil {
		return msgs, fmt.Errorf("kf: sync_msg: decode msg_list: %w", err)
	}
	return msgs, nil
}

// SyncMsg pulls one page of messages and events of a KF account with
// `kf/sync_msg`. Loop while HasMore, passing NextCursor, and serialise the
// pulls of one account. The request is retried (it only reads).
func (cl *Client) SyncMsg(ctx context.Context, req SyncMsgRequest) (*SyncMsgResponse, error) {
	const op = "sync_msg"
	if err := req.validate(); err != nil {
		return nil, err
	}
	var out syncMsgAnswer
	if err := cl.doJSON(ctx, op, "kf/sync_msg", &req, true, &out); err != nil {
		return nil, err
	}
	return &SyncMsgResponse{NextCursor: out.NextCursor, HasMore: bool(out.HasMore), MsgList: out.MsgList}, nil
}

// flexBool decodes a WeCom flag sent as a number (0/1), a JSON bool, or a
// quoted number; anything non-zero is true.
type flexBool bool

func (b *flexBool) UnmarshalJSON(data []byte) error {
	data = bytes.Trim(data, `"`)
	switch string(data) {
	case "", "0", "false", "null":
		*b = false
	case "1", "true":
		*b = true
	default:
		var f float64
		if err := json.Unmarshal(data, &f); err != nil {
			return fmt.Errorf("kf: flag %q is not a number or bool", data)
		}
		*b = f != 0
	}
	return nil
}
