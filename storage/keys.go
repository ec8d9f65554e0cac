package storage

import (
	"strconv"
	"strings"
)

// InboundKey is the [Deduper] id of inbound message msgID of account a. Like the other
// keys it names the corp (ids are unique per corp) and prefixes each part but the last by
// its length, which keeps any ids apart: "in/4:ww12/5:wkAbc/msgid".
func InboundKey(a Account, msgID string) string { return key("in", a.CorpID, a.OpenKFID, msgID) }

// OutboundKey is the [SendLog] msgid of the outbound message outMsgID of account a.
func OutboundKey(a Account, outMsgID string) string {
	return key("out", a.CorpID, a.OpenKFID, outMsgID)
}

// AttemptKey is the [SendLog] id the engine records as [SendPending] when it starts
// handling inbound message msgID of account a: after a crash it tells the replay that the
// message's replies may have gone out.
func AttemptKey(a Account, msgID string) string { return key("try", a.CorpID, a.OpenKFID, msgID) }

// PullLease is the [Leaser] name of the lease a puller of account a holds.
func PullLease(a Account) string { return key("pull", a.CorpID, a.OpenKFID) }

// key joins kind and parts as documented at [InboundKey], in one allocation.
func key(kind string, parts ...string) string {
	n := len(kind)
	for _, p := range parts {
		n += len(p) + 22 // a slash, at most 20 digits and a colon
	}
	var k strings.Builder
	k.Grow(n)
	k.WriteString(kind)
	var digits [20]byte
	for i, p := range parts {
		k.WriteByte('/')
		if i < len(parts)-1 {
			k.Write(strconv.AppendInt(digits[:0], int64(len(p)), 10))
			k.WriteByte(':')
		}
		k.WriteString(p)
	}
	return k.String()
}
