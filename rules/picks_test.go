package rules

// picks returns the rules whose actions would run for env, in order, without running
// them: the first whose when holds, and the next ones while the matched rules have
// continue. linear evaluates every rule instead of the index's candidates. For tests
// and benchmarks.
func (s *Set) picks(env Env, linear bool, out []int) []int {
	var boxed any = env
	sc := s.getScratch()
	defer s.putScratch(sc)
	s.start(sc, &env.Msg, linear)
	for i := sc.next(); i >= 0; i = sc.next() {
		r := s.rules[i]
		if !s.when(r, sc, boxed) {
			continue
		}
		out = append(out, i)
		if !r.cont {
			break
		}
	}
	return out
}
