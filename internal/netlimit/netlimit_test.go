package netlimit

import (
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// chanListener hands out the connections sent on conns.
type chanListener struct {
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func newChanListener() *chanListener {
	return &chanListener{conns: make(chan net.Conn), closed: make(chan struct{})}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error   { l.once.Do(func() { close(l.closed) }); return nil }
func (l *chanListener) Addr() net.Addr { return &net.TCPAddr{} }

func TestListenerHoldsAtMostN(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		inner := newChanListener()
		ln := Listener(inner, 2, 0)
		var accepted atomic.Int32
		conns := make(chan net.Conn, 10)
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					close(conns)
					return
				}
				accepted.Add(1)
				conns <- c
			}
		}()
		for range 3 {
			a, b := net.Pipe()
			t.Cleanup(func() { a.Close(); b.Close() })
			go func() {
				select {
				case inner.conns <- a:
				case <-inner.closed:
				}
			}()
		}
		synctest.Wait()
		require.EqualValues(t, 2, accepted.Load(), "the third connection must wait for a free slot")

		first := <-conns
		require.NoError(t, first.Close())
		require.NoError(t, first.Close(), "a second Close must not free a second slot")
		synctest.Wait()
		assert.EqualValues(t, 3, accepted.Load(), "closing a connection frees its slot")

		require.NoError(t, ln.Close())
		synctest.Wait()
		_, open := <-conns
		for open {
			_, open = <-conns
		}
	})
}

func TestCloseWakesAWaitingAccept(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		inner := newChanListener()
		ln := Listener(inner, 1, 0)
		a, b := net.Pipe()
		defer a.Close()
		defer b.Close()
		go func() { inner.conns <- a }()
		c, err := ln.Accept()
		require.NoError(t, err)
		defer c.Close()

		errc := make(chan error, 1)
		go func() {
			_, err := ln.Accept()
			errc <- err
		}()
		synctest.Wait()
		require.NoError(t, ln.Close())
		assert.True(t, errors.Is(<-errc, net.ErrClosed), "Accept after Close reports net.ErrClosed")
	})
}

func TestListenerNBelowOneIsOne(t *testing.T) {
	l := Listener(newChanListener(), 0, 0).(*limitListener)
	assert.Equal(t, 1, l.max)
}

func TestListenerEvictsTheOldestWhenFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		inner := newChanListener()
		ln := Listener(inner, 2, time.Second)
		defer ln.Close()
		pipes := make([]net.Conn, 3) // the client ends
		for i := range pipes {
			a, b := net.Pipe()
			pipes[i] = b
			t.Cleanup(func() { a.Close(); b.Close() })
			go func() { inner.conns <- a }()
			synctest.Wait() // accept in order: a is the oldest
			if i < 2 {
				_, err := ln.Accept()
				require.NoError(t, err)
				time.Sleep(100 * time.Millisecond)
			}
		}

		third := make(chan net.Conn, 1)
		go func() {
			c, err := ln.Accept()
			if err == nil {
				third <- c
			}
		}()
		synctest.Wait()
		require.Empty(t, third, "both held connections are younger than a second: Accept waits")

		time.Sleep(time.Second) // fake time: the oldest is now old enough to go
		synctest.Wait()
		c := <-third
		defer c.Close()
		_, err := pipes[0].Read(make([]byte, 1))
		assert.Error(t, err, "the oldest connection was closed to make room")
		require.NoError(t, pipes[1].SetReadDeadline(time.Now().Add(time.Millisecond)))
		_, err = pipes[1].Read(make([]byte, 1))
		assert.True(t, errors.Is(err, os.ErrDeadlineExceeded), "the younger one stays open: %v", err)
	})
}
