package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	_ "time/tzdata" // rule files and business hours name zones such as Asia/Shanghai
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // a second signal kills a shutdown that hangs
	}()
	code := (&Main{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, LookupEnv: os.LookupEnv}).Run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

// Exit codes of Main.Run.
const (
	exitOK     = 0 // success
	exitFailed = 1 // a runtime failure, failing rules check or tests
	exitUsage  = 2 // a bad command line or configuration
)

// Main is the kfbot command with its streams and environment injected, so that tests
// can run commands in process. The zero value reads nothing and writes nowhere.
type Main struct {
	// Stdin is read by `kfbot simulate`. Default: empty.
	Stdin io.Reader
	// Stdout receives command output (simulated conversations, test reports, transcript
	// exports, the version).
	Stdout io.Writer
	// Stderr receives logs and errors.
	Stderr io.Writer
	// LookupEnv reads the environment. Default: none is set.
	LookupEnv func(key string) (string, bool)
}

// usageError is a bad command line: it exits 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// silentError has already been reported; it only carries the exit code.
type silentError struct{ code int }

func (e *silentError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

const usage = `kfbot — a WeChat Customer Service (WeCom KF) chatbot

Usage:
  kfbot run [flags]                 serve the bot (kfbot run -h lists the settings)
  kfbot simulate [-rules FILE]      chat with your rules in the terminal, no WeCom needed
  kfbot simulate -script FILE       run a scripted conversation and print the transcript
  kfbot rules check [FILE...]       compile rule files and list every problem
  kfbot rules test [FILE...]        run the conversation tests of rule files
  kfbot transcripts export -since D export stored conversation turns as jsonl or csv
  kfbot version                     print the version
`

// Run runs the command named by args (os.Args[1:]) and returns the exit code: 0 on
// success, 1 on a runtime failure (or failing rules), 2 on a bad command line or
// configuration. Errors are written to m.Stderr. Cancelling ctx stops `kfbot run`
// gracefully (main cancels it on SIGINT and SIGTERM).
func (m *Main) Run(ctx context.Context, args []string) int {
	m.defaults()
	err := m.run(ctx, args)
	var (
		ue *usageError
		ce *ConfigError
		se *silentError
	)
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &se):
		return se.code
	case errors.As(err, &ue):
		fmt.Fprintf(m.Stderr, "kfbot: %s\n", ue.msg)
		return exitUsage
	case errors.As(err, &ce):
		fmt.Fprintf(m.Stderr, "kfbot: %s\n", ce.Error())
		return exitUsage
	default:
		fmt.Fprintf(m.Stderr, "kfbot: %v\n", err)
		return exitFailed
	}
}

func (m *Main) defaults() {
	if m.Stdin == nil {
		m.Stdin = strings.NewReader("")
	}
	if m.Stdout == nil {
		m.Stdout = io.Discard
	}
	if m.Stderr == nil {
		m.Stderr = io.Discard
	}
	if m.LookupEnv == nil {
		m.LookupEnv = func(string) (string, bool) { return "", false }
	}
}

func (m *Main) run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(m.Stderr, usage)
		return &silentError{code: exitUsage}
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "run":
		return m.runCmd(ctx, rest)
	case "simulate":
		return m.simulateCmd(ctx, rest)
	case "rules":
		return m.rulesCmd(ctx, rest)
	case "transcripts":
		return m.transcriptsCmd(ctx, rest)
	case "version", "-version", "--version":
		if len(rest) > 0 {
			return &usageError{msg: fmt.Sprintf("version: unexpected argument %q (version takes no flags or arguments)", rest[0])}
		}
		fmt.Fprintln(m.Stdout, versionLine())
		return nil
	case "help", "-h", "-help", "--help":
		fmt.Fprint(m.Stdout, usage)
		return nil
	default:
		return &usageError{msg: fmt.Sprintf("unknown command %q%s (kfbot -h lists the commands)", cmd,
			didYouMean(cmd, []string{"run", "simulate", "rules", "transcripts", "version", "help"}))}
	}
}

// newLogger returns a logger writing to w at level in format ("text" or "json").
func newLogger(w io.Writer, level, format string) *slog.Logger {
	opts := &slog.HandlerOptions{Level: logLevels[strings.ToLower(level)]}
	if strings.EqualFold(format, "json") {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
