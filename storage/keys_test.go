package storage_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/kfbot/kfbot/storage"
)

// The layout is part of every persistent store's data: changing it loses dedup records,
// send states and sessions across an upgrade.
func TestKeyLayout(t *testing.T) {
	a := storage.Account{CorpID: "ww1234567890abcdef", OpenKFID: "wkAbc"}
	tests := []struct{ got, want string }{
		{storage.InboundKey(a, "msg1"), "in/18:ww1234567890abcdef/5:wkAbc/msg1"},
		{storage.OutboundKey(a, "r_msg1_0"), "out/18:ww1234567890abcdef/5:wkAbc/r_msg1_0"},
		{storage.PullLease(a), "pull/18:ww1234567890abcdef/wkAbc"},
		{storage.InboundKey(storage.Account{}, ""), "in/0:/0:/"},
		{storage.PullLease(storage.Account{}), "pull/0:/"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.got)
	}
}

func TestKeysDoNotCollide(t *testing.T) {
	// Parts that a naive concatenation or separator would confuse.
	accounts := []storage.Account{
		{CorpID: "ww1", OpenKFID: "wk"},
		{CorpID: "ww2", OpenKFID: "wk"},
		{CorpID: "ww1", OpenKFID: "wk/x"},
		{CorpID: "ww1/wk", OpenKFID: "x"},
		{CorpID: "ww1", OpenKFID: "3:wk"},
		{CorpID: "ww1/3:wk", OpenKFID: ""},
		{CorpID: "a:b", OpenKFID: "c"},
		{CorpID: "a", OpenKFID: "b:c"},
		{CorpID: "", OpenKFID: "ww1wk"},
		{CorpID: "ww1wk", OpenKFID: ""},
		{CorpID: "ww1\x00", OpenKFID: "wk"},
	}
	ids := []string{"", "m", "x/m", "1:x/m", "wk"}
	keys := map[string]string{}
	add := func(what, k string) {
		if prev, ok := keys[k]; ok {
			t.Errorf("%s and %s share key %q", prev, what, k)
		}
		keys[k] = what
	}
	for _, a := range accounts {
		add("pull "+a.CorpID+"|"+a.OpenKFID, storage.PullLease(a))
		for _, id := range ids {
			add("in "+a.CorpID+"|"+a.OpenKFID+"|"+id, storage.InboundKey(a, id))
			add("out "+a.CorpID+"|"+a.OpenKFID+"|"+id, storage.OutboundKey(a, id))
		}
	}
	assert.Len(t, keys, len(accounts)*(1+2*len(ids)))
}

func TestKeyAllocatesOnce(t *testing.T) {
	a := storage.Account{CorpID: "ww1234567890abcdef", OpenKFID: "wkAJ2GCAAASSm4_FhToWMFea0xAFfd3Q"}
	assert.Equal(t, 1.0, testing.AllocsPerRun(100, func() { _ = storage.InboundKey(a, "from_msgid_4622416642169452483") }))
}
