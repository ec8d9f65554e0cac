package bot

// Log attribute keys used by the engine. Handlers that log through [Context.Logger] get
// msgid, open_kfid and external_userid already attached.
const (
	LogKeyOpenKFID       = "open_kfid"
	LogKeyExternalUserID = "external_userid"
	LogKeyMsgID          = "msgid"
	LogKeyMsgType        = "msgtype"
	LogKeyEventType      = "event_type"
	LogKeyOutMsgID       = "out_msgid"
	LogKeyErrCode        = "errcode"
	LogKeyError          = "err"
	LogKeyCount          = "count"
	LogKeyDuration       = "duration"
	LogKeyPlugin         = "plugin"
)
