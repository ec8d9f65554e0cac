package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// direct is the ceiling: the least a bot must do against the fake — kf/sync_msg from a
// cursor and one kf/send_msg per customer text — with no callbacks, store, rules,
// ordering or retries. One puller per account feeds senders goroutines.
//
// With no senders it is the baseline instead: what a plain bot written with a popular Go
// SDK does — one pull loop per account that sends each reply itself, one at a time,
// before it pulls the next page.
type direct struct {
	base  string
	hc    *http.Client
	token string
	pokes map[string]chan struct{}
	work  chan directJob
	errs  atomic.Int64

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

type directJob struct{ openKFID, user, msgID string }

func startDirect(ctx context.Context, f *fake, accounts []string, senders int) (*direct, error) {
	d := &direct{
		base:  f.url + "/cgi-bin/",
		hc:    &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}},
		pokes: make(map[string]chan struct{}, len(accounts)),
	}
	if senders > 0 {
		d.work = make(chan directJob, 4096)
	}
	var tok struct {
		ErrCode     int    `json:"errcode"`
		AccessToken string `json:"access_token"`
	}
	q := url.Values{"corpid": {f.srv.CorpID()}, "corpsecret": {f.srv.Secret()}}
	if err := d.call(ctx, http.MethodGet, "gettoken?"+q.Encode(), nil, &tok); err != nil || tok.ErrCode != 0 {
		return nil, fmt.Errorf("ceiling: gettoken: errcode %d: %v", tok.ErrCode, err)
	}
	d.token = url.QueryEscape(tok.AccessToken)
	ctx, d.cancel = context.WithCancel(context.WithoutCancel(ctx))
	for _, a := range accounts {
		ch := make(chan struct{}, 1)
		d.pokes[a] = ch
		d.wg.Go(func() { d.pull(ctx, a, ch) })
	}
	for range senders {
		d.wg.Go(func() { d.send(ctx) })
	}
	return d, nil
}

func (d *direct) call(ctx context.Context, method, path string, body []byte, out any) error {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, d.base+path, r)
	if err != nil {
		return err
	}
	resp, err := d.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}

type directSyncRequest struct {
	OpenKFID string `json:"open_kfid"`
	Cursor   string `json:"cursor,omitempty"`
	Limit    int    `json:"limit"`
}

type directSyncResponse struct {
	ErrCode    int    `json:"errcode"`
	NextCursor string `json:"next_cursor"`
	HasMore    int    `json:"has_more"`
	MsgList    []struct {
		MsgID          string `json:"msgid"`
		ExternalUserID string `json:"external_userid"`
		Origin         int    `json:"origin"`
		MsgType        string `json:"msgtype"`
	} `json:"msg_list"`
}

type directSendRequest struct {
	ToUser   string `json:"touser"`
	OpenKFID string `json:"open_kfid"`
	MsgID    string `json:"msgid"`
	MsgType  string `json:"msgtype"`
	Text     struct {
		Content string `json:"content"`
	} `json:"text"`
}

type directErr struct {
	ErrCode int `json:"errcode"`
}

// pull answers pokes: it pages through sync_msg until has_more is 0.
func (d *direct) pull(ctx context.Context, openKFID string, poke <-chan struct{}) {
	cursor := ""
	for {
		select {
		case <-poke:
		case <-ctx.Done():
			return
		}
		for {
			body, _ := json.Marshal(directSyncRequest{OpenKFID: openKFID, Cursor: cursor, Limit: 1000})
			var page directSyncResponse
			if err := d.call(ctx, http.MethodPost, "kf/sync_msg?access_token="+d.token, body, &page); err != nil || page.ErrCode != 0 {
				if ctx.Err() != nil {
					return
				}
				d.errs.Add(1)
				time.Sleep(10 * time.Millisecond)
				continue
			}
			for _, m := range page.MsgList {
				if m.Origin != 3 || m.MsgType != "text" {
					continue
				}
				j := directJob{openKFID: openKFID, user: m.ExternalUserID, msgID: m.MsgID}
				if d.work == nil { // the baseline
					d.sendOne(ctx, j)
					continue
				}
				select {
				case d.work <- j:
				case <-ctx.Done():
					return
				}
			}
			cursor = page.NextCursor
			if page.HasMore == 0 {
				break
			}
		}
	}
}

// send answers each text with "re:<msgid>".
func (d *direct) send(ctx context.Context) {
	for {
		var j directJob
		select {
		case j = <-d.work:
		case <-ctx.Done():
			return
		}
		d.sendOne(ctx, j)
	}
}

// sendOne answers one text with "re:<msgid>".
func (d *direct) sendOne(ctx context.Context, j directJob) {
	req := directSendRequest{ToUser: j.user, OpenKFID: j.openKFID, MsgID: "re_" + j.msgID, MsgType: "text"}
	req.Text.Content = replyPrefix + j.msgID
	body, _ := json.Marshal(req)
	var res directErr
	if err := d.call(ctx, http.MethodPost, "kf/send_msg?access_token="+d.token, body, &res); err != nil || res.ErrCode != 0 {
		if ctx.Err() == nil {
			d.errs.Add(1)
		}
	}
}

func (d *direct) poker() poker {
	return func(_ context.Context, openKFID string) error {
		select {
		case d.pokes[openKFID] <- struct{}{}:
		default: // a pass is already due
		}
		return nil
	}
}

func (d *direct) stats(context.Context) procStats { return selfStats() }

func (d *direct) close() error {
	d.cancel()
	d.wg.Wait()
	if n := d.errs.Load(); n > 0 {
		return fmt.Errorf("ceiling: %d failed calls", n)
	}
	return nil
}
