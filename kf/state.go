package kf

import (
	"context"
	"fmt"
)

// ServiceState is the state of a customer's session
// (https://developer.work.weixin.qq.com/document/path/94669). It has the
// same values as syncmsg.ServiceState.
type ServiceState int

// Session states (`service_state`).
const (
	// StateUntreated (0, 未处理): new session; reply by API (→ 1), pool it (→ 2) or assign a servicer (→ 3).
	StateUntreated ServiceState = 0
	// StateBot (1, 由智能助手接待): the bot owns it and may reply.
	StateBot ServiceState = 1
	// StatePool (2, 待接入池排队中): queued for a human.
	StatePool ServiceState = 2
	// StateHuman (3, 由人工接待): a servicer owns it; the bot must not reply.
	StateHuman ServiceState = 3
	// StateEnded (4, 已结束/未开始): ended or not started; cannot be changed by API.
	StateEnded ServiceState = 4
)

// String returns the state's name, e.g. "bot", or "ServiceState(7)".
func (s ServiceState) String() string {
	switch s {
	case StateUntreated:
		return "untreated"
	case StateBot:
		return "bot"
	case StatePool:
		return "pool"
	case StateHuman:
		return "human"
	case StateEnded:
		return "ended"
	}
	return fmt.Sprintf("ServiceState(%d)", int(s))
}

// ServiceStateRequest is the body of `kf/service_state/get`.
type ServiceStateRequest struct {
	// OpenKFID is the KF account (`open_kfid`). Required.
	OpenKFID string `json:"open_kfid"`
	// ExternalUserID is the customer (`external_userid`). Required.
	ExternalUserID string `json:"external_userid"`
}

// ServiceStateResponse is the answer of `kf/service_state/get`.
type ServiceStateResponse struct {
	// ServiceState is the current state (`service_state`).
	ServiceState ServiceState `json:"service_state"`
	// ServicerUserID is the servicer's userid (`servicer_userid`; open_userid
	// for third-party apps), meaningful only in [StateHuman].
	ServicerUserID string `json:"servicer_userid"`
}

// ServiceState reads a session's state with `kf/service_state/get`. The bot
// may reply only in [StateUntreated] and [StateBot].
func (cl *Client) ServiceState(ctx context.Context, req ServiceStateRequest) (*ServiceStateResponse, error) {
	const op = "service_state_get"
	if req.OpenKFID == "" || req.ExternalUserID == "" {
		return nil, invalid(op, "OpenKFID and ExternalUserID are required")
	}
	var out struct {
		apiStatus
		ServiceStateResponse
	}
	if err := cl.doJSON(ctx, op, "kf/service_state/get", &req, true, &out); err != nil {
		return nil, err
	}
	return &out.ServiceStateResponse, nil
}

// TransServiceStateRequest is the body of `kf/service_state/trans`.
type TransServiceStateRequest struct {
	// OpenKFID is the KF account (`open_kfid`). Required.
	OpenKFID string `json:"open_kfid"`
	// ExternalUserID is the customer (`external_userid`). Required.
	ExternalUserID string `json:"external_userid"`
	// ServiceState is the target state (`service_state`), usually
	// [StatePool], [StateHuman] or [StateEnded].
	ServiceState ServiceState `json:"service_state"`
	// ServicerUserID is the servicer to assign (`servicer_userid`); required
	// when the target is [StateHuman], omitted when empty. The servicer must
	// be currently receiving (else 95014 or 95019).
	ServicerUserID string `json:"servicer_userid,omitempty"`
}

// TransServiceStateResponse is the answer of `kf/service_state/trans`.
type TransServiceStateResponse struct {
	// MsgCode (`msg_code`) is returned when the session enters state 2 or 3
	// for the first time, or state 4; pass it to [Client.SendMsgOnEvent] for
	// a queue, off-hours or closing message.
	MsgCode string `json:"msg_code"`
}

// TransServiceState changes a session's state with `kf/service_state/trans`,
// e.g. to hand the customer over to a human. Invalid transitions fail with
// [ErrInvalidTransition] (95016), ended sessions with [ErrSessionEnded]
// (95013); neither is retried. A transport failure is not retried either,
// since the change may already have happened.
func (cl *Client) TransServiceState(ctx context.Context, req TransServiceStateRequest) (*TransServiceStateResponse, error) {
	const op = "service_state_trans"
	switch {
	case req.OpenKFID == "" || req.ExternalUserID == "":
		return nil, invalid(op, "OpenKFID and ExternalUserID are required")
	case req.ServiceState < StateUntreated || req.ServiceState > StateEnded:
		return nil, invalid(op, fmt.Sprintf("target state %d does not exist; use StatePool, StateHuman or StateEnded", int(req.ServiceState)))
	case req.ServiceState == StateHuman && req.ServicerUserID == "":
		return nil, invalid(op, "ServicerUserID is required when the target state is StateHuman (3)")
	}
	var out struct {
		apiStatus
		TransServiceStateResponse
	}
	if err := cl.doJSON(ctx, op, "kf/service_state/trans", &req, false, &out); err != nil {
		return nil, err
	}
	return &out.TransServiceStateResponse, nil
}
