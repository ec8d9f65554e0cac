package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestBadFlagsAreReportedInOneShortMessage: every bad flag of a command is named in one
// line that points to -h; the usage is not printed.
func TestBadFlagsAreReportedInOneShortMessage(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"run", "-nope", "-concurrency", "x", "-also"},
			`kfbot: run: flag provided but not defined: -nope; invalid value "x" for flag -concurrency: ` +
				`"x" is not a whole number; flag provided but not defined: -also (kfbot run -h lists the flags)` + "\n"},
		{[]string{"simulate", "-x", "---", "-y"},
			"kfbot: simulate: flag provided but not defined: -x; bad flag syntax: ---; flag provided but not defined: -y (kfbot simulate -h lists the flags)\n"},
		{[]string{"simulate", "-rules"},
			"kfbot: simulate: flag needs an argument: -rules (kfbot simulate -h lists the flags)\n"},
		{[]string{"rules", "check", "-v", "-w", "x.yaml"},
			"kfbot: rules check: flag provided but not defined: -v; flag provided but not defined: -w (kfbot rules check -h lists the flags)\n"},
		{[]string{"rules", "test", "-q"},
			"kfbot: rules test: flag provided but not defined: -q (kfbot rules test -h lists the flags)\n"},
		{[]string{"rules", "lnt"},
			`kfbot: rules: unknown command "lnt" (kfbot rules -h lists the commands)` + "\n"},
		{[]string{"version", "-json"},
			`kfbot: version: unexpected argument "-json" (version takes no flags or arguments)` + "\n"},
		{[]string{"serve"},
			`kfbot: unknown command "serve" (kfbot -h lists the commands)` + "\n"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errOut := runMain(t, "", nil, tt.args...)
			assert.Equal(t, exitUsage, code)
			assert.Empty(t, out)
			assert.Equal(t, tt.want, errOut)
		})
	}
}
