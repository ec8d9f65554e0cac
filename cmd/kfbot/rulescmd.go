package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"

	"github.com/kfbot/kfbot/rules"
	"github.com/kfbot/kfbot/rules/rulestest"
)

const rulesUsage = `Usage:
  kfbot rules check [FILE...]   compile rule files; list every problem (file:line:col: rule "x": …)
  kfbot rules test [FILE...]    run the conversation tests of rule files (or tests files)

FILE defaults to $KFBOT_RULES, else ` + DefaultRules + `. Both exit 1 when a file has
problems or a test fails.
`

// rulesCmd is `kfbot rules check|test`.
func (m *Main) rulesCmd(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(m.Stderr, rulesUsage)
		return &silentError{code: exitUsage}
	}
	sub, rest := args[0], args[1:]
	if sub == "-h" || sub == "-help" || sub == "--help" || sub == "help" {
		fmt.Fprint(m.Stdout, rulesUsage)
		return nil
	}
	if sub != "check" && sub != "test" {
		return &usageError{msg: fmt.Sprintf("rules: unknown command %q%s (kfbot rules -h lists the commands)", sub, didYouMean(sub, []string{"check", "test"}))}
	}
	fset := flag.NewFlagSet("kfbot rules "+sub, flag.ContinueOnError)
	fset.SetOutput(m.Stderr)
	fset.Usage = func() { fmt.Fprint(fset.Output(), rulesUsage) }
	if err := parseFlags(fset, "rules "+sub, rest); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	files := fset.Args()
	if len(files) == 0 {
		f, _ := m.LookupEnv("KFBOT_RULES")
		if f == "" {
			f = DefaultRules
		}
		files = []string{f}
	}
	quiet := rules.WithLogger(slog.New(slog.DiscardHandler))
	if sub == "check" {
		return m.rulesCheck(files, quiet)
	}
	return m.rulesTest(ctx, files, quiet)
}

func (m *Main) rulesCheck(files []string, opts ...rules.Option) error {
	bad := false
	for _, f := range files {
		set, err := rules.LoadFile(f, opts...)
		if err != nil {
			bad = true
			errs := rules.Errors(err)
			for _, e := range errs {
				fmt.Fprintln(m.Stderr, e)
			}
			fmt.Fprintf(m.Stderr, "%s: %d %s\n", f, len(errs), plural(len(errs), "problem", "problems"))
			continue
		}
		for _, w := range set.Warnings() {
			fmt.Fprintln(m.Stderr, w)
		}
		warned := ""
		if n := len(set.Warnings()); n > 0 {
			warned = fmt.Sprintf(", %d %s", n, plural(n, "warning", "warnings"))
		}
		fmt.Fprintf(m.Stdout, "%s: %d %s OK%s\n", f, set.Len(), plural(set.Len(), "rule", "rules"), warned)
	}
	if bad {
		return &silentError{code: exitFailed}
	}
	return nil
}

func (m *Main) rulesTest(ctx context.Context, files []string, opts ...rules.Option) error {
	var passed, failed, broken int
	for _, f := range files {
		if len(files) > 1 {
			fmt.Fprintf(m.Stdout, "== %s\n", f)
		}
		p, fl, err := rulestest.RunFile(ctx, f, m.Stdout, opts...)
		passed += p
		failed += fl
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			broken++
			for _, e := range rules.Errors(err) {
				fmt.Fprintln(m.Stderr, e)
			}
		}
	}
	if len(files) > 1 || broken > 0 {
		fmt.Fprintf(m.Stdout, "%d passed, %d failed\n", passed, failed+broken)
	}
	if failed > 0 || broken > 0 {
		return &silentError{code: exitFailed}
	}
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
