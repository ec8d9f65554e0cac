package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// parseFlags parses args with fs and reports every bad flag at once, in one short
// usageError that points to `kfbot CMD -h`, instead of the flag package's first error
// followed by the whole usage. -h prints the usage (fs.Usage) and returns flag.ErrHelp.
// cmd is the command's name after "kfbot", e.g. "run" or "rules check".
func parseFlags(fs *flag.FlagSet, cmd string, args []string) error {
	out, usage := fs.Output(), fs.Usage
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	defer func() { fs.SetOutput(out); fs.Usage = usage }()
	var bad []string
	rest := args
	for {
		err := fs.Parse(rest)
		if err == nil {
			break
		}
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(out)
			usage()
			return flag.ErrHelp
		}
		bad = append(bad, err.Error())
		// The flag package has consumed the bad flag (and its value), except for a bad
		// syntax such as "---x" or "-=x": skip that one here.
		rest = fs.Args()
		if strings.HasPrefix(err.Error(), "bad flag syntax") && len(rest) > 0 {
			rest = rest[1:]
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return &usageError{msg: fmt.Sprintf("%s: %s (kfbot %s -h lists the flags)", cmd, strings.Join(bad, "; "), cmd)}
}
