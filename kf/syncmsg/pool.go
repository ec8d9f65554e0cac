package syncmsg

import (
	"encoding/json"
	"sync"
)

// itemWires recycles fast-path structs, and with them the buffers of their
// raw payloads.
var itemWires = sync.Pool{New: func() any { return new(itemWire) }}

func getItemWire() *itemWire { return itemWires.Get().(*itemWire) }

// putItemWire clears w, keeping its small raw buffers, and recycles it.
func putItemWire(w *itemWire) {
	*w = itemWire{Meeting: keep(w.Meeting), Schedule: keep(w.Schedule), Note: keep(w.Note)}
	itemWires.Put(w)
}

// keep returns b emptied for reuse, or nil when b is too large to keep alive.
func keep(b json.RawMessage) json.RawMessage {
	if cap(b) > 4<<10 {
		return nil
	}
	return b[:0]
}
