package ws

// Admitted is how many upgraded sockets wait for their handler to claim
// their admission (Server.admitted), for tests.
func Admitted(s *Server) int {
	s.addrMu.Lock()
	defer s.addrMu.Unlock()
	return len(s.admitted)
}
