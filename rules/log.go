package rules

// Log attribute keys used by this package, in addition to those of package bot.
const (
	LogKeyRule     = "rule"
	LogKeyFile     = "file"
	LogKeyCount    = "count"
	LogKeyDuration = "duration"
	LogKeyError    = "err"
	LogKeyAction   = "action"
)
