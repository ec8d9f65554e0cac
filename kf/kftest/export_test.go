package kftest

// LiveMarks returns how many cursor positions the account keeps live.
func (s *Server) LiveMarks(openKFID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.accounts[openKFID]; ok {
		return len(a.live)
	}
	return 0
}
