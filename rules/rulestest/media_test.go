package rulestest_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/rules/rulestest"
)

// TestMediaIDsBelongToOneTest: each conversation test talks to its own fake WeCom, so a
// media reply is uploaded again in every test; a media_id kept from an earlier test
// would be unknown to the next one's server and fail its send.
func TestMediaIDsBelongToOneTest(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "map.png"), []byte("\x89PNG\r\n\x1a\n a map"), 0o600))
	path := filepath.Join(dir, "rules.yaml")
	require.NoError(t, os.WriteFile(path, []byte(`version: 1
rules:
  - name: map
    when: msg.type == "text"
    then: [{reply: {image: {file: map.png}}}]
tests:
  - name: first
    steps: [{say: where, expect: {reply: ["[image]"]}}]
  - name: second
    steps: [{say: where, expect: {reply: ["[image]"]}}]
`), 0o600))
	var out bytes.Buffer
	passed, failed, err := rulestest.RunFile(t.Context(), path, &out, quiet)
	require.NoError(t, err)
	assert.Zero(t, failed, out.String())
	assert.Equal(t, 2, passed, out.String())
}
