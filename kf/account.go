package kf

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
)

// MaxAccountListLimit is the largest (and default) page size of [Client.AccountList].
const MaxAccountListLimit = 100

// AccountListRequest is the body of `kf/account/list`
// (https://developer.work.weixin.qq.com/document/path/94661).
type AccountListRequest struct {
	// Offset is the page start (`offset`); 0 (the default) is omitted.
	Offset int `json:"offset,omitempty"`
	// Limit is the page size (`limit`), 1..100; 0 means WeCom's default (100).
	// Page until fewer than Limit accounts come back.
	Limit int `json:"limit,omitempty"`
}

// AccountListResponse is the answer of `kf/account/list`.
type AccountListResponse struct {
	// AccountList is the page of KF accounts (`account_list`).
	AccountList []Account `json:"account_list"`
}

// Account is a KF account.
type Account struct {
	// OpenKFID is the account id (`open_kfid`).
	OpenKFID string `json:"open_kfid"`
	// Name is the account name (`name`).
	Name string `json:"name"`
	// Avatar is the avatar URL (`avatar`).
	Avatar string `json:"avatar"`
	// ManagePrivilege reports whether this app may manage and send for the
	// account (`manage_privilege`).
	ManagePrivilege bool `json:"manage_privilege"`
}

// AccountList lists the corp's KF accounts with `kf/account/list`.
func (cl *Client) AccountList(ctx context.Context, req AccountListRequest) (*AccountListResponse, error) {
	const op = "account_list"
	switch {
	case req.Offset < 0:
		return nil, invalid(op, fmt.Sprintf("Offset %d is negative", req.Offset))
	case req.Limit < 0 || req.Limit > MaxAccountListLimit:
		return nil, invalid(op, fmt.Sprintf("Limit %d is out of range; use 1..%d, or 0 for the default", req.Limit, MaxAccountListLimit))
	}
	var out struct {
		apiStatus
		AccountListResponse
	}
	if err := cl.doJSON(ctx, op, "kf/account/list", &req, true, &out); err != nil {
		return nil, err
	}
	return &out.AccountListResponse, nil
}

// MaxBatchGetCustomer is the largest number of ids per [Client.BatchGetCustomer] call.
const MaxBatchGetCustomer = 100

// BatchGetCustomerRequest is the body of `kf/customer/batchget`
// (https://developer.work.weixin.qq.com/document/path/95159).
type BatchGetCustomerRequest struct {
	// ExternalUserIDs are the customers to look up (`external_userid_list`), 1..100.
	ExternalUserIDs []string
	// NeedEnterSessionContext asks for each customer's last enter_session
	// context within 48 h (`need_enter_session_context` 1); omitted when false.
	NeedEnterSessionContext bool
}

type batchGetCustomerWire struct {
	ExternalUserIDList      []string `json:"external_userid_list"`
	NeedEnterSessionContext int      `json:"need_enter_session_context,omitempty"`
}

// BatchGetCustomerResponse is the answer of `kf/customer/batchget`.
type BatchGetCustomerResponse struct {
	// CustomerList holds the customers found (`customer_list`).
	CustomerList []Customer `json:"customer_list"`
	// InvalidExternalUserIDs are the requested ids that are not valid (`invalid_external_userid`).
	InvalidExternalUserIDs []string `json:"invalid_external_userid"`
}

// Customer is a WeChat customer's profile.
type Customer struct {
	// ExternalUserID is the customer id (`external_userid`).
	ExternalUserID string `json:"external_userid"`
	// Nickname is the WeChat nickname (`nickname`).
	Nickname string `json:"nickname"`
	// Avatar is the avatar URL (`avatar`).
	Avatar string `json:"avatar"`
	// Gender is `gender`: 0 unknown, 1 male, 2 female.
	Gender int `json:"gender"`
	// UnionID is the WeChat unionid (`unionid`), set only when the corp has
	// a bound WeChat Open Platform account.
	UnionID string `json:"unionid"`
	// EnterSessionContext (`enter_session_context`) is set when requested and
	// the customer entered a session within 48 h.
	EnterSessionContext *EnterSessionContext `json:"enter_session_context,omitempty"`
}

// EnterSessionContext describes how a customer last entered a session.
type EnterSessionContext struct {
	// Scene is the `scene` of the contact link.
	Scene string `json:"scene"`
	// SceneParam is the `scene_param` appended to the contact link.
	SceneParam string `json:"scene_param"`
	// WechatChannels is set when the customer came from WeChat Channels (`wechat_channels`).
	WechatChannels *WechatChannels `json:"wechat_channels,omitempty"`
}

// WechatChannels describes a WeChat Channels (视频号) entry.
type WechatChannels struct {
	// Nickname is the Channels account nickname (`nickname`).
	Nickname string `json:"nickname"`
	// ShopNickname is the Channels shop nickname (`shop_nickname`).
	ShopNickname string `json:"shop_nickname"`
	// Scene is the entry scene (`scene`); WeCom documents a number, some
	// sources send a string, both are accepted.
	Scene int `json:"scene"`
}

// UnmarshalJSON accepts `scene` as a number or a numeric string.
func (w *WechatChannels) UnmarshalJSON(data []byte) error {
	type plain WechatChannels
	var aux struct {
		*plain
		Scene json.RawMessage `json:"scene"`
	}
	aux.plain = (*plain)(w)
	if err := json.Unmarshal(data, &aux); err != nil {
		return err
	}
	w.Scene = 0
	if s := string(aux.Scene); s != "" && s != "null" {
		if uq, err := strconv.Unquote(s); err == nil {
			s = uq
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			return fmt.Errorf("kf: wechat_channels.scene %s is not a number", aux.Scene)
		}
		w.Scene = n
	}
	return nil
}

// BatchGetCustomer reads customer profiles with `kf/customer/batchget`.
func (cl *Client) BatchGetCustomer(ctx context.Context, req BatchGetCustomerRequest) (*BatchGetCustomerResponse, error) {
	const op = "customer_batchget"
	if n := len(req.ExternalUserIDs); n == 0 || n > MaxBatchGetCustomer {
		return nil, invalid(op, fmt.Sprintf("%d ExternalUserIDs given; give 1..%d per call", n, MaxBatchGetCustomer))
	}
	for i, id := range req.ExternalUserIDs {
		if id == "" {
			return nil, invalid(op, fmt.Sprintf("ExternalUserIDs[%d] is empty", i))
		}
	}
	w := batchGetCustomerWire{ExternalUserIDList: req.ExternalUserIDs}
	if req.NeedEnterSessionContext {
		w.NeedEnterSessionContext = 1
	}
	var out struct {
		apiStatus
		BatchGetCustomerResponse
	}
	if err := cl.doJSON(ctx, op, "kf/customer/batchget", &w, true, &out); err != nil {
		return nil, err
	}
	return &out.BatchGetCustomerResponse, nil
}
