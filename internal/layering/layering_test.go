package layering

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const mod = "github.com/kfbot/kfbot/"

// forbidden lists, per package, import paths (prefixes) that must not appear among its
// dependencies, direct or indirect. The model SDK (github.com/openai) belongs to package
// ai/openaichat alone, so that package ai (which rules uses) links no SDK.
var forbidden = map[string][]string{
	"kf/syncmsg":          {mod, "github.com/"},
	"storage":             {mod, "github.com/"},
	"kf/callback":         {mod, "github.com/"},
	"kf":                  {mod + "bot", mod + "router", mod + "rules", mod + "storage", "github.com/"},
	"kf/kftest":           {mod + "kf", mod + "bot", mod + "router", mod + "rules", mod + "storage", "github.com/"},
	"storage/badgerstore": {mod + "bot", mod + "kf", mod + "router", mod + "rules", "github.com/openai"},
	"bot":                 {mod + "kf/kftest", mod + "router", mod + "rules", mod + "storage/badgerstore", "github.com/gorilla", "github.com/expr-lang", "go.yaml.in", "github.com/dgraph-io", "github.com/openai"},
	"bot/middleware":      {mod + "kf/kftest", mod + "router", mod + "rules", mod + "storage/badgerstore", "github.com/gorilla", "github.com/expr-lang", "go.yaml.in", "github.com/dgraph-io", "github.com/openai"},
	"router":              {mod + "kf/kftest", mod + "bot", mod + "rules", mod + "storage", "github.com/expr-lang", "go.yaml.in", "github.com/dgraph-io", "github.com/openai"},
	"rules":               {mod + "kf/kftest", mod + "router", mod + "storage/badgerstore", "github.com/gorilla", "github.com/dgraph-io", "github.com/openai"},
	"ai/aitest":           {mod, "github.com/"},
	"ai":                  {mod + "kf/kftest", mod + "router", mod + "rules", mod + "storage/badgerstore", "github.com/"},
	"ai/dify":             {mod + "kf/kftest", mod + "router", mod + "rules", mod + "storage/badgerstore", "github.com/"},
	"ai/openaichat":       {mod + "kf/kftest", mod + "router", mod + "rules", mod + "storage/badgerstore", "github.com/gorilla", "github.com/expr-lang", "go.yaml.in", "github.com/dgraph-io"},
}

func TestImportDirection(t *testing.T) {
	for pkg, bad := range forbidden {
		out, err := exec.Command("go", "list", "-deps", mod+pkg).CombinedOutput()
		require.NoError(t, err, "go list %s: %s", pkg, out)
		for _, dep := range strings.Fields(string(out)) {
			if dep == mod+pkg || strings.HasPrefix(dep, mod+"internal/") {
				continue
			}
			for _, b := range bad {
				if strings.HasPrefix(dep, b) && !allowed(pkg, dep) {
					t.Errorf("%s imports %s, which the forbidden table forbids", pkg, dep)
				}
			}
		}
	}
}

// allowed lists the project packages a package may import although a broader prefix
// forbids them.
func allowed(pkg, dep string) bool {
	ok := map[string][]string{
		"kf":             {mod + "kf/syncmsg"},
		"kf/kftest":      {mod + "kf/callback"},
		"bot":            {mod + "kf", mod + "storage"},
		"bot/middleware": {mod + "kf", mod + "storage", mod + "bot"},
		"router":         {mod + "kf/callback"},
		"ai":             {mod + "bot", mod + "kf", mod + "storage"},
		"ai/dify":        {mod + "ai", mod + "bot", mod + "kf", mod + "storage"},
	}
	for _, a := range ok[pkg] {
		if dep == a || strings.HasPrefix(dep, a+"/") {
			return true
		}
	}
	return false
}
