package rules

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/kf"
)

type nopUploader struct{}

func (nopUploader) UploadMedia(context.Context, kf.UploadMediaRequest) (*kf.UploadMediaResponse, error) {
	return nil, errors.New("not used")
}

// Without WithUploader a set uploads through the bot's media cache (opts.media is nil);
// with it, through a cache of its own that the reloads of a Live share.
func TestMediaCacheOfASet(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rules.yaml")
	require.NoError(t, os.WriteFile(path, []byte("version: 1\nrules: [{name: a, then: []}]\n"), 0o600))
	quiet := WithLogger(slog.New(slog.DiscardHandler))

	plain, err := LoadFile(path, quiet)
	require.NoError(t, err)
	assert.Nil(t, plain.opts.media, "the bot's cache")

	l, err := Open(path, quiet, WithUploader(nopUploader{}))
	require.NoError(t, err)
	first := l.Set()
	require.NotNil(t, first.opts.media)
	require.NoError(t, os.WriteFile(path, []byte("version: 1\nrules: [{name: a, then: []}, {name: b, then: []}]\n"), 0o600))
	require.NoError(t, l.Reload(t.Context()))
	require.Equal(t, []string{"a", "b"}, l.Set().Rules())
	assert.Same(t, first.opts.media, l.Set().opts.media, "reloads share the set's cache")
}
