package kf

// CorpID returns the corp id the client was created with.
func (cl *Client) CorpID() string { return cl.corpID }
