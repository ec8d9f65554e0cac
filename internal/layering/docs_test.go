package layering

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// privateDocs matches the names of design notes that are not in the
// repository. Code and docs cite what a reader can open instead: the official
// WeCom page, a dependency's own docs, or the fact itself.
var privateDocs = regexp.MustCompile(`\b(kf-api|deps|design|style|wecom-provider|ai-backends)\.md\b`)

// TestNoCitationsOfDocsOutsideTheRepository fails when a Go, Markdown or YAML
// file of the module cites one of those notes.
func TestNoCitationsOfDocsOutsideTheRepository(t *testing.T) {
	root := filepath.Join("..", "..")
	_, err := os.Stat(filepath.Join(root, "go.mod"))
	require.NoError(t, err, "the module root is two levels up")
	self, err := filepath.Abs("docs_test.go")
	require.NoError(t, err)
	checked := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		switch filepath.Ext(path) {
		case ".go", ".md", ".yaml", ".yml":
		default:
			return nil
		}
		if abs, _ := filepath.Abs(path); abs == self {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		checked++
		for i, line := range strings.Split(string(data), "\n") {
			if m := privateDocs.FindString(line); m != "" {
				t.Errorf("%s:%d cites %s, which is not in the repository: cite the official page (e.g. https://developer.work.weixin.qq.com/document/path/90313) or state the fact", path, i+1, m)
			}
		}
		return nil
	})
	require.NoError(t, err)
	require.Greater(t, checked, 100, "the walk found the module's files")
}

// The module is not published, so `go install …@latest` cannot fetch it: the
// READMEs install the binary from a clone.
func TestREADMEsInstallFromAClone(t *testing.T) {
	for _, readme := range []string{"README.md", "README.zh-CN.md"} {
		t.Run(readme, func(t *testing.T) {
			doc, err := os.ReadFile(filepath.Join("..", "..", readme))
			require.NoError(t, err)
			if m := regexp.MustCompile(`go install [A-Za-z0-9./_-]+@latest`).FindString(string(doc)); m != "" {
				t.Errorf("%s shows %q, which cannot fetch an unpublished module", readme, m)
			}
			const clone = "git clone https://github.com/kfbot/kfbot.git && cd kfbot && go install ./cmd/kfbot"
			require.True(t, strings.Contains(string(doc), clone), "%s shows the install from a clone: %s", readme, clone)
		})
	}
}

// The repository carries its licence, and the READMEs link it.
func TestLicenseIsMIT(t *testing.T) {
	lic, err := os.ReadFile(filepath.Join("..", "..", "LICENSE"))
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(lic), "MIT License\n\nCopyright (c) 2026 The kfbot authors\n"))
	require.Contains(t, string(lic), `THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND`)
	for _, readme := range []string{"README.md", "README.zh-CN.md"} {
		doc, err := os.ReadFile(filepath.Join("..", "..", readme))
		require.NoError(t, err)
		require.True(t, strings.Contains(string(doc), "[LICENSE](LICENSE)"), "%s links the LICENSE", readme)
	}
}
