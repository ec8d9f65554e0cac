package storage

import "time"

// table is one kind of expiring entry of a [Memory]: a map, and a list of its keys that a
// sweep walks a few at a time, so that no write holds the store's lock for a time that
// grows with the number of entries. keys[i] is always the key whose entry has slot i, and
// exps[i] its expiry in Unix nanoseconds, so a sweep step reads no map.
type table[K comparable, V any] struct {
	m    map[K]entry[V]
	keys []K
	exps []int64
	next int // the slot the next sweep step looks at
}

type entry[V any] struct {
	v       V
	expires time.Time
	slot    int // index in keys
}

func newTable[K comparable, V any]() table[K, V] {
	return table[K, V]{m: make(map[K]entry[V])}
}

// get returns k's value if it is there and unexpired at now.
func (t *table[K, V]) get(k K, now time.Time) (V, bool) {
	e, ok := t.m[k]
	if !ok || !now.Before(e.expires) {
		var zero V
		return zero, false
	}
	return e.v, true
}

// put sets k to v until expires.
func (t *table[K, V]) put(k K, v V, expires time.Time) {
	e, ok := t.m[k]
	if !ok {
		e.slot = len(t.keys)
		t.keys = append(t.keys, k)
		t.exps = append(t.exps, 0)
	}
	e.v, e.expires = v, expires
	t.exps[e.slot] = expires.UnixNano()
	t.m[k] = e
}

// del removes k, if it is there.
func (t *table[K, V]) del(k K) {
	e, ok := t.m[k]
	if !ok {
		return
	}
	delete(t.m, k)
	last := len(t.keys) - 1
	if e.slot != last { // move the last key into the freed slot
		moved := t.keys[last]
		t.keys[e.slot], t.exps[e.slot] = moved, t.exps[last]
		me := t.m[moved]
		me.slot = e.slot
		t.m[moved] = me
	}
	var zero K
	t.keys[last] = zero
	t.keys, t.exps = t.keys[:last], t.exps[:last]
	if len(t.keys) < cap(t.keys)/4 && cap(t.keys) > 64 { // give memory back after a peak
		t.keys = append(make([]K, 0, 2*len(t.keys)), t.keys...)
		t.exps = append(make([]int64, 0, 2*len(t.exps)), t.exps...)
	}
}

// sweep looks at the next n keys, round robin, and removes those expired at now.
func (t *table[K, V]) sweep(now time.Time, n int) {
	if len(t.keys) == 0 {
		return
	}
	ns := now.UnixNano()
	for ; n > 0 && len(t.keys) > 0; n-- {
		if t.next >= len(t.keys) {
			t.next = 0
		}
		if ns < t.exps[t.next] {
			t.next++
		} else {
			t.del(t.keys[t.next]) // the last key moves into this slot, looked at next
		}
	}
}
