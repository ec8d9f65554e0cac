package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// version is set at build time:
//
//	go build -ldflags "-X main.version=v0.1.0" ./cmd/kfbot
//
// Without it, Version falls back to the module version recorded in the binary (set by
// `go install github.com/kfbot/kfbot/cmd/kfbot@v0.1.0`) and the VCS revision.
var version string

// Version returns the version of this kfbot binary: the -ldflags value, else the build
// info's module version (plus the VCS revision when known), else "(devel)".
func Version() string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "(devel)"
	}
	v := info.Main.Version
	if v == "" {
		v = "(devel)"
	}
	var rev, dirty string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "-dirty"
			}
		}
	}
	if rev != "" && (v == "(devel)" || v == "") {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		v += " " + rev + dirty
	}
	return v
}

// versionLine is what `kfbot version` prints.
func versionLine() string {
	return fmt.Sprintf("kfbot %s %s %s/%s", Version(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
