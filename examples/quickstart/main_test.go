package main

import (
	"context"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The README's library quick start is this program's code from func main on,
// so the code readers copy is code that compiles and is tested.
func TestREADMEQuickStartIsThisProgram(t *testing.T) {
	src, err := os.ReadFile("main.go")
	require.NoError(t, err)
	i := strings.Index(string(src), "func main() {")
	require.GreaterOrEqual(t, i, 0)
	want := string(src[i:])
	for _, readme := range []string{"../../README.md", "../../README.zh-CN.md"} {
		t.Run(readme, func(t *testing.T) {
			doc, err := os.ReadFile(readme)
			require.NoError(t, err)
			_, block, ok := strings.Cut(string(doc), "```go\nfunc main() {")
			require.True(t, ok, "the quick start starts with func main")
			block, _, ok = strings.Cut(block, "```\n")
			require.True(t, ok)
			assert.Equal(t, want, "func main() {"+block)
		})
	}
}

// When the callback server cannot listen, the program stops with that error
// instead of running a bot that WeCom can never reach.
func TestRunStopsWhenTheCallbackPortIsTaken(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()
	t.Chdir(t.TempDir()) // ./data
	// The official test vector of https://developer.work.weixin.qq.com/document/path/90968.
	t.Setenv("CORP_ID", "wx5823bf96d3bd56c7")
	t.Setenv("SECRET", "test-secret")
	t.Setenv("TOKEN", "QDG6eK")
	t.Setenv("AES_KEY", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C")

	// The deadline only keeps a regression from hanging the suite; run returns at once.
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	err = run(ctx, taken.Addr().String())
	require.ErrorIs(t, err, syscall.EADDRINUSE)
	assert.ErrorContains(t, err, "callback server")
	assert.NoError(t, ctx.Err(), "run returned because of the listen error, not the deadline")
}
