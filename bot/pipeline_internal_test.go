package bot

import (
	"fmt"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/kf"
	"github.com/kfbot/kfbot/kf/kftest"
	"github.com/kfbot/kfbot/storage"
)

// TestPipeForgetsCommittedPages: once every page is committed the pipe keeps no
// conversation and no msgid of them, however many passes ran, so a puller that runs for
// hours stays flat in memory and reads sessions from the store again after a pause.
func TestPipeForgetsCommittedPages(t *testing.T) {
	srv := kftest.NewServer()
	defer srv.Close()
	srv.SetMaxPageSize(3)
	b := newTestBot(t, srv)
	b.HandleDefault(func(c *Context) error { return c.ReplyText("ok") })
	p := b.newPipe(t.Context(), t.Context(), "wkPipe")
	for pass := range 5 {
		for c := range 7 {
			srv.AddText("wkPipe", fmt.Sprintf("wm%d", c), fmt.Sprint("pass ", pass))
		}
		require.NoError(t, p.pass())
		require.NoError(t, p.wait())
		p.mu.Lock()
		assert.Empty(t, p.convs, "pass %d: no conversation kept", pass)
		assert.Empty(t, p.inflight, "pass %d: no msgid kept", pass)
		p.mu.Unlock()
	}
	require.NoError(t, p.close())
	b.workers.drain()
	assert.Len(t, srv.Sent(), 35)
}

func newTestBot(t *testing.T, srv *kftest.Server) *Bot {
	t.Helper()
	client := kf.NewClient(srv.CorpID(), srv.Secret(), kf.WithBaseURL(srv.URL), kf.WithHTTPClient(srv.Client()),
		kf.WithLogger(slog.New(slog.DiscardHandler)))
	b, err := New(client, storage.NewMemory(), WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	return b
}
