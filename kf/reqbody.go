package kf

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
)

// reqBody is a pooled JSON request body with the call that sends it.
//
// net/http may read a request body after Client.Do returns (the transport
// can still be writing it when the answer arrives early) and may ask for a
// copy with Request.GetBody during Do (redirects, retries on a dead
// connection). So the buffer is shared by counted references: the call
// holds one until do returns, and every reader handed to net/http holds one
// until it is closed. A closed reader never touches the buffer again, and
// the buffer goes back to the pool only when the count drops to zero, so
// nothing still in use can see it overwritten. A GetBody of an ended call
// gets an error instead of a reader. A reader net/http never closes only
// keeps its buffer out of the pool.
type reqBody struct {
	buf bytes.Buffer
	enc *json.Encoder // writes to buf, without HTML escaping
	c   call          // the call of the current use

	mu    sync.Mutex
	gen   uint64 // counts the uses, so an ended call's GetBody is told apart
	ended bool   // the call has dropped its reference
	refs  int    // the call's own reference plus one per open reader
}

// maxPooledBody is the largest buffer kept for reuse.
const maxPooledBody = 64 << 10

var reqBodyPool = sync.Pool{New: func() any {
	b := new(reqBody)
	b.enc = json.NewEncoder(&b.buf)
	b.enc.SetEscapeHTML(false)
	return b
}}

// errBodyReleased is what GetBody returns once the call that owned the body has ended.
var errBodyReleased = errors.New("kf: request body asked for after its call ended")

// newReqBody returns an empty body from the pool, holding the call's reference.
func newReqBody() *reqBody {
	b := reqBodyPool.Get().(*reqBody)
	b.mu.Lock()
	b.gen++
	b.ended = false
	b.refs = 1
	b.mu.Unlock()
	return b
}

// encode writes v as the JSON body of op, as json.Marshal would but without
// HTML escaping.
func (b *reqBody) encode(op string, v any) error {
	b.buf.Reset()
	if err := b.enc.Encode(v); err != nil {
		return fmt.Errorf("kf: %s: encode request: %w", op, err)
	}
	b.buf.Truncate(b.buf.Len() - 1) // Encode's newline
	return nil
}

// getBody returns the Request.GetBody of the current use: a fresh reader,
// or errBodyReleased once this use has ended.
func (b *reqBody) getBody() func() (io.ReadCloser, error) {
	b.mu.Lock()
	gen := b.gen
	b.mu.Unlock()
	return func() (io.ReadCloser, error) { return b.reader(gen) }
}

// reader returns a reader of the body of use gen, holding a reference.
func (b *reqBody) reader(gen uint64) (io.ReadCloser, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.gen != gen || b.ended {
		return nil, errBodyReleased
	}
	b.refs++
	return &bodyReader{b: b, data: b.buf.Bytes()}, nil
}

// end drops the call's reference: its GetBody is refused from now on, and
// the body goes back to the pool once its open readers are closed.
func (b *reqBody) end() {
	b.mu.Lock()
	b.ended = true
	b.mu.Unlock()
	b.release()
}

// release drops one reference; the last one returns b to the pool.
func (b *reqBody) release() {
	b.mu.Lock()
	b.refs--
	last := b.refs == 0
	b.mu.Unlock()
	if !last {
		return
	}
	b.c = call{}
	if b.buf.Cap() <= maxPooledBody {
		b.buf.Reset()
		reqBodyPool.Put(b)
	}
}

// bodyReader reads a reqBody. Read and Close may be called from different
// goroutines (net/http closes a body it is still writing when it gives up).
type bodyReader struct {
	mu   sync.Mutex
	b    *reqBody // nil once closed
	data []byte   // the rest to read
}

// errBodyClosed is what a closed bodyReader's Read returns.
var errBodyClosed = errors.New("kf: read of a closed request body")

func (r *bodyReader) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.b == nil {
		return 0, errBodyClosed
	}
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

// Close drops the reader's reference; it never fails and may be repeated.
func (r *bodyReader) Close() error {
	r.mu.Lock()
	b := r.b
	r.b, r.data = nil, nil
	r.mu.Unlock()
	if b != nil {
		b.release()
	}
	return nil
}
