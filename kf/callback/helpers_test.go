package callback

import "encoding/xml"

func unmarshalXML(b []byte, v any) error { return xml.Unmarshal(b, v) }

// parseEventSlow is ParseEvent through encoding/xml only (the fallback path).
func parseEventSlow(plain []byte) (*Event, error) { return parseEventXML(plain) }
