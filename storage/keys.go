package storage

import "strconv"

// InboundKey is the [Deduper] id of the inbound message msgID of account a. Like
// [OutboundKey] and [PullLease] it names the corp, since WeCom's ids are unique only per
// corp, and is a kind, then each part but the last prefixed by its decimal length:
// "in/4:ww12/5:wkAbc/msgid". The lengths, not the slashes, keep any ids apart.
func InboundKey(a Account, msgID string) string { return key("in", a.CorpID, a.OpenKFID, msgID) }

// OutboundKey is the [SendLog] msgid of the outbound message outMsgID of account a.
func OutboundKey(a Account, outMsgID string) string {
	return key("out", a.CorpID, a.OpenKFID, outMsgID)
}

// PullLease is the [Leaser] name of the lease a puller of account a holds.
func PullLease(a Account) string { return key("pull", a.CorpID, a.OpenKFID) }

// key joins kind and parts as documented at [InboundKey].
func key(kind string, parts ...string) string {
	n := len(kind)
	for _, p := range parts {
		n += len(p) + 22 // a slash, at most 20 digits and a colon
	}
	b := make([]byte, 0, n)
	b = append(b, kind...)
	last := len(parts) - 1
	for i, p := range parts {
		b = append(b, '/')
		if i < last {
			b = strconv.AppendInt(b, int64(len(p)), 10)
			b = append(b, ':')
		}
		b = append(b, p...)
	}
	return string(b)
}
