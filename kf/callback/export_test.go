package callback

// DecodeNotificationSlow decodes through encoding/xml alone.
func DecodeNotificationSlow(plain []byte) (Notification, error) {
	return decodeNotification(plain, false)
}
