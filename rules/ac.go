package rules

import "slices"

// acMatcher finds which of a fixed set of keywords occur in a text, in one pass over the
// text's bytes (Aho–Corasick). Built once per rule set; read-only afterwards and safe
// for concurrent use.
type acMatcher struct {
	root  [256]int32 // transitions of the root (state 0); 0 means "stay at the root"
	start []int32    // edges of state s are edges[start[s]:start[s+1]], sorted by byte
	edges []acEdge
	fail  []int32 // the longest proper suffix of a state that is also a state
	out   []int32 // the keyword that ends at a state, or -1
	dict  []int32 // the nearest state on the fail chain with out >= 0, or -1
}

type acEdge struct {
	b  byte
	to int32
}

// newACMatcher builds a matcher for keywords; keyword i is reported as i. Keywords must
// be distinct and non-empty.
func newACMatcher(keywords []string) *acMatcher {
	// Build the trie with maps, then flatten it.
	type node struct {
		next map[byte]int32
		out  int32
	}
	nodes := []node{{next: map[byte]int32{}, out: -1}}
	for id, kw := range keywords {
		s := int32(0)
		for i := 0; i < len(kw); i++ {
			t, ok := nodes[s].next[kw[i]]
			if !ok {
				t = int32(len(nodes))
				nodes = append(nodes, node{next: map[byte]int32{}, out: -1})
				nodes[s].next[kw[i]] = t
			}
			s = t
		}
		nodes[s].out = int32(id)
	}
	n := len(nodes)
	m := &acMatcher{
		start: make([]int32, n+1),
		fail:  make([]int32, n),
		out:   make([]int32, n),
		dict:  make([]int32, n),
	}
	for s := range nodes {
		m.start[s] = int32(len(m.edges))
		keys := make([]byte, 0, len(nodes[s].next))
		for b := range nodes[s].next {
			keys = append(keys, b)
		}
		slices.Sort(keys)
		for _, b := range keys {
			m.edges = append(m.edges, acEdge{b: b, to: nodes[s].next[b]})
		}
		m.out[s] = nodes[s].out
		m.dict[s] = -1
	}
	m.start[n] = int32(len(m.edges))
	for _, e := range m.edges[m.start[0]:m.start[1]] {
		m.root[e.b] = e.to
	}
	// Breadth-first: fail links of depth-1 states are the root.
	queue := make([]int32, 0, n)
	for _, e := range m.edges[m.start[0]:m.start[1]] {
		queue = append(queue, e.to)
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		for _, e := range m.edges[m.start[s]:m.start[s+1]] {
			t := e.to
			f := m.fail[s]
			for {
				if nxt := m.step(f, e.b); nxt >= 0 {
					if nxt != t {
						m.fail[t] = nxt
					}
					break
				}
				f = m.fail[f]
			}
			if fo := m.fail[t]; m.out[fo] >= 0 {
				m.dict[t] = fo
			} else {
				m.dict[t] = m.dict[fo]
			}
			queue = append(queue, t)
		}
	}
	return m
}

// step returns the state after reading b in state s, or -1 if s has no such edge. The
// root always has a transition (to itself when nothing else).
func (m *acMatcher) step(s int32, b byte) int32 {
	if s == 0 {
		return m.root[b]
	}
	es := m.edges[m.start[s]:m.start[s+1]]
	if len(es) <= 8 {
		for _, e := range es {
			if e.b == b {
				return e.to
			}
		}
		return -1
	}
	lo, hi := 0, len(es)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if es[mid].b < b {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo < len(es) && es[lo].b == b {
		return es[lo].to
	}
	return -1
}

// search appends to ids the keyword of every occurrence in text (a keyword that occurs
// twice is appended twice) and returns the slice.
func (m *acMatcher) search(text string, ids []int32) []int32 {
	s := int32(0)
	for i := 0; i < len(text); i++ {
		b := text[i]
		for {
			if t := m.step(s, b); t >= 0 {
				s = t
				break
			}
			s = m.fail[s]
		}
		if m.out[s] >= 0 {
			ids = append(ids, m.out[s])
		}
		for d := m.dict[s]; d >= 0; d = m.dict[d] {
			ids = append(ids, m.out[d])
		}
	}
	return ids
}
