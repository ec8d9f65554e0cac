package rules_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/bot"
	"github.com/kfbot/kfbot/rules"
)

func ruleFile(names ...string) string {
	src := "version: 1\nrules:\n"
	for _, n := range names {
		src += fmt.Sprintf("  - name: %s\n    when: msg.text == %q\n    then: [{reply: %q}]\n", n, n, n)
	}
	return src
}

// writeAtomically replaces path the way editors and deploy tools do: write a temporary
// file, then rename it over the old one.
func writeAtomically(t *testing.T, path, src string) {
	t.Helper()
	tmp := path + ".tmp"
	require.NoError(t, os.WriteFile(tmp, []byte(src), 0o600))
	require.NoError(t, os.Rename(tmp, path))
}

func TestLiveReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rules.yaml")
	require.NoError(t, os.WriteFile(path, []byte(ruleFile("a")), 0o600))
	var (
		mu      sync.Mutex
		reloads []error
	)
	live, err := rules.Open(path, quiet, rules.WithReloadFunc(func(s *rules.Set, err error) {
		mu.Lock()
		reloads = append(reloads, err)
		mu.Unlock()
	}))
	require.NoError(t, err)
	assert.Equal(t, []string{"a"}, live.Set().Rules())
	assert.Equal(t, "rules", live.Name())

	writeAtomically(t, path, ruleFile("a", "b"))
	require.NoError(t, live.Reload(t.Context()))
	assert.Equal(t, []string{"a", "b"}, live.Set().Rules())

	// A broken file never replaces a working set.
	writeAtomically(t, path, ruleFile("a", "b")+"  - name: c\n    when: msg.txt == 1\n    then: []\n")
	err = live.Reload(t.Context())
	assert.ErrorIs(t, err, rules.ErrExpr)
	assert.ErrorContains(t, err, `rule "c": msg has no field txt`)
	assert.Equal(t, []string{"a", "b"}, live.Set().Rules())

	require.NoError(t, os.Remove(path))
	assert.ErrorIs(t, live.Reload(t.Context()), os.ErrNotExist)
	assert.Equal(t, []string{"a", "b"}, live.Set().Rules())

	// Unchanged content is not compiled again.
	require.NoError(t, os.WriteFile(path, []byte(ruleFile("a", "b")), 0o600))
	require.NoError(t, live.Reload(t.Context()))

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	assert.ErrorIs(t, live.Reload(ctx), context.Canceled)

	mu.Lock()
	defer mu.Unlock()
	require.Len(t, reloads, 3)
	assert.NoError(t, reloads[0])
	assert.ErrorIs(t, reloads[1], rules.ErrExpr)
	assert.ErrorIs(t, reloads[2], os.ErrNotExist)

	_, err = rules.Open(filepath.Join(t.TempDir(), "missing.yaml"))
	assert.ErrorIs(t, err, os.ErrNotExist)
	require.NoError(t, os.WriteFile(path, []byte("version: 1\nrules: [{name: x}]\n"), 0o600))
	_, err = rules.Open(path)
	assert.ErrorIs(t, err, rules.ErrInvalid)
}

// TestLiveWatch uses the real file watcher: replacing the file (write + rename, as
// editors do) reloads it; cancelling the context stops the watch.
func TestLiveWatch(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "rules.yaml")
	require.NoError(t, os.WriteFile(path, []byte(ruleFile("a")), 0o600))
	reloaded := make(chan *rules.Set, 16)
	live, err := rules.Open(path, quiet, rules.WithDebounce(20*time.Millisecond),
		rules.WithReloadFunc(func(s *rules.Set, err error) {
			if err == nil {
				reloaded <- s
			}
		}))
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- live.Watch(ctx) }()

	// The watch starts asynchronously: keep replacing the file until a reload is seen.
	// Another file in the directory changing alone never triggers one.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "other.txt"), []byte("x"), 0o600))
	var got *rules.Set
	for i := 0; got == nil; i++ {
		require.Less(t, i, 200, "no reload after the file changed")
		writeAtomically(t, path, ruleFile("a", "b"))
		select {
		case got = <-reloaded:
		case <-time.After(50 * time.Millisecond):
		}
	}
	assert.Equal(t, []string{"a", "b"}, got.Rules())
	assert.Equal(t, []string{"a", "b"}, live.Set().Rules())

	cancel()
	assert.NoError(t, <-done)

	// A directory that cannot be watched is an error.
	gone, err := rules.Open(path, quiet)
	require.NoError(t, err)
	require.NoError(t, os.RemoveAll(dir))
	assert.Error(t, gone.Watch(t.Context()))
}

// TestLiveAsPlugin: the bot answers with whatever set is current.
func TestLiveAsPlugin(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rules.yaml")
	require.NoError(t, os.WriteFile(path, []byte(ruleFile("hello")), 0o600))
	live, err := rules.Open(path, quiet)
	require.NoError(t, err)
	h := newHarness(t)
	require.NoError(t, h.b.Install(live))
	h.b.HandleDefault(func(c *bot.Context) error { return c.ReplyText("default") })

	assert.Equal(t, []string{"hello"}, h.say(t, "hello"))
	assert.Equal(t, []string{"default"}, h.say(t, "bye"))
	writeAtomically(t, path, ruleFile("hello", "bye"))
	require.NoError(t, live.Reload(t.Context()))
	assert.Equal(t, []string{"bye"}, h.say(t, "bye"))
	assert.Empty(t, h.takeErrors())
}

// TestLiveLogsWarnings: a running bot's log shows what `kfbot rules check` warns about,
// at open and after every reload that changes the set.
func TestLiveLogsWarnings(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rules.yaml")
	src := "version: 1\nrules:\n  - name: all\n    then: [{reply: hi}]\n  - name: late\n    when: msg.text == \"x\"\n    then: [{reply: never}]\n"
	require.NoError(t, os.WriteFile(path, []byte(src), 0o600))
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&syncWriter{w: &buf}, nil))
	live, err := rules.Open(path, rules.WithLogger(logger))
	require.NoError(t, err)
	require.Len(t, live.Set().Warnings(), 1)
	assert.Equal(t, 1, strings.Count(buf.String(), "level=WARN"), buf.String())
	assert.Contains(t, buf.String(), `rule \"late\"`)

	writeAtomically(t, path, src+"  - name: later\n    when: msg.text == \"y\"\n    then: [{reply: never}]\n")
	require.NoError(t, live.Reload(t.Context()))
	assert.Equal(t, 3, strings.Count(buf.String(), "level=WARN"), buf.String())
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
