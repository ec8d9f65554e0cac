package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"time"

	"github.com/kfbot/kfbot/storage"
	"github.com/kfbot/kfbot/storage/badgerstore"
)

const transcriptsUsage = `Usage:
  kfbot transcripts export -since DURATION|TIME [flags]

Export writes the stored conversation turns (customer messages, bot replies, servicer
messages, ownership changes) from the Badger data directory, one conversation after
another, oldest first within one. The output holds customers' messages: keep it as
private as the data directory. Stop kfbot run first (Badger allows one process per
directory), or export from a restored backup.

Flags:
  -data DIR          Badger data directory (default $KFBOT_DATA_DIR, else ` + DefaultDataDir + `)
  -since D|TIME      turns since this long ago (e.g. 24h, 90m) or since an RFC 3339 time
                     (e.g. 2026-11-23T00:00:00+08:00); required
  -open-kfid ID      only this KF account's turns
  -corp ID           only this corp's turns
  -format F          jsonl (one JSON object per turn, the default) or csv (a header row
                     first); the columns: corp_id, open_kfid, external_userid, time,
                     msgid, seq, kind, msgtype, text
  -o FILE            write to FILE (created with mode 0600, replaced) instead of
                     standard output
`

// transcriptsCmd is `kfbot transcripts export`.
func (m *Main) transcriptsCmd(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(m.Stderr, transcriptsUsage)
		return &silentError{code: exitUsage}
	}
	sub, rest := args[0], args[1:]
	if sub == "-h" || sub == "-help" || sub == "--help" || sub == "help" {
		fmt.Fprint(m.Stdout, transcriptsUsage)
		return nil
	}
	if sub != "export" {
		return &usageError{msg: fmt.Sprintf("transcripts: unknown command %q%s (kfbot transcripts -h lists the commands)", sub, didYouMean(sub, []string{"export"}))}
	}
	const cmd = "transcripts export"
	fset := flag.NewFlagSet("kfbot "+cmd, flag.ContinueOnError)
	fset.SetOutput(m.Stderr)
	fset.Usage = func() { fmt.Fprint(fset.Output(), transcriptsUsage) }
	dataDefault, _ := m.LookupEnv("KFBOT_DATA_DIR")
	if dataDefault == "" {
		dataDefault = DefaultDataDir
	}
	dir := fset.String("data", dataDefault, "Badger data `directory`")
	since := fset.String("since", "", "export turns since this `duration` ago or RFC 3339 time")
	kfid := fset.String("open-kfid", "", "only this KF account's turns")
	corp := fset.String("corp", "", "only this corp's turns")
	format := fset.String("format", "jsonl", "output `format`: jsonl or csv")
	out := fset.String("o", "", "output `file` (default standard output)")
	if err := parseFlags(fset, cmd, rest); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	bad := func(format string, a ...any) error {
		return &usageError{msg: fmt.Sprintf(cmd+": "+format+" (kfbot "+cmd+" -h lists the flags)", a...)}
	}
	if fset.NArg() > 0 {
		return bad("unexpected argument %q", fset.Arg(0))
	}
	if *since == "" {
		return bad("-since is required: a duration such as 24h, or an RFC 3339 time")
	}
	from, err := parseSince(*since, time.Now())
	if err != nil {
		return bad("-since: %v", err)
	}
	if *format != "jsonl" && *format != "csv" {
		return bad("-format %q: want jsonl or csv%s", *format, didYouMean(*format, []string{"jsonl", "csv"}))
	}
	if *dir == "" {
		return bad("-data: empty directory")
	}
	q := storage.TurnQuery{Since: from, CorpID: *corp, OpenKFID: *kfid}
	return m.exportTranscripts(ctx, *dir, q, *format, *out)
}

// parseSince reads -since: a positive duration before now, or an RFC 3339 time.
func parseSince(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		if d <= 0 {
			return time.Time{}, fmt.Errorf("duration %s: want a positive one, such as 24h", s)
		}
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither a duration (24h, 90m) nor an RFC 3339 time (2026-11-23T00:00:00+08:00)", s)
	}
	return t, nil
}

// exportTranscripts writes the turns q selects from the store in dir to out (standard
// output when empty) in format, and a one-line summary to standard error.
func (m *Main) exportTranscripts(ctx context.Context, dir string, q storage.TurnQuery, format, out string) (err error) {
	// badgerstore.Open creates a missing directory; an export must not.
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("data directory %s does not exist; pass the kfbot run data directory with -data (or KFBOT_DATA_DIR)", dir)
	} else if err != nil {
		return fmt.Errorf("data directory %s: %w", dir, err)
	}
	logger := newLogger(m.Stderr, "warn", "text")
	store, err := badgerstore.Open(dir, badgerstore.WithLogger(logger), badgerstore.WithGCInterval(0))
	if errors.Is(err, badgerstore.ErrLocked) {
		return fmt.Errorf("the data directory %s is in use by another kfbot process; stop it or export from a backup: %w", dir, err)
	}
	if err != nil {
		return fmt.Errorf("open data directory %s: %w", dir, err)
	}
	defer func() {
		if cerr := store.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close data directory %s: %w", dir, cerr)
		}
	}()

	w, name := m.Stdout, "standard output"
	if out != "" {
		f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return fmt.Errorf("create export file: %w", err)
		}
		defer func() {
			if cerr := f.Close(); cerr != nil && err == nil {
				err = fmt.Errorf("write %s: %w", out, cerr)
			}
			if err != nil {
				_ = os.Remove(out) // no partial export left behind
			}
		}()
		w, name = f, out
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := newTurnEncoder(bw, format)
	turns, convs := 0, 0
	var last storage.Conversation
	err = store.ScanTurns(ctx, q, func(t storage.Turn) error {
		if turns == 0 || t.Conversation != last {
			convs++
			last = t.Conversation
		}
		turns++
		return enc.encode(&t)
	})
	if err == nil {
		err = enc.flush()
	}
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		return fmt.Errorf("export transcripts to %s: %w", name, err)
	}
	fmt.Fprintf(m.Stderr, "kfbot: exported %d %s of %d %s to %s\n", turns, plural(turns, "turn", "turns"),
		convs, plural(convs, "conversation", "conversations"), name)
	return nil
}

// exportedTurn is one turn of a jsonl export, and the column names of a csv one.
type exportedTurn struct {
	CorpID         string `json:"corp_id"`
	OpenKFID       string `json:"open_kfid"`
	ExternalUserID string `json:"external_userid"`
	Time           string `json:"time"`
	MsgID          string `json:"msgid"`
	Seq            int    `json:"seq"`
	Kind           string `json:"kind"`
	MsgType        string `json:"msgtype"`
	Text           string `json:"text"`
}

var exportColumns = []string{"corp_id", "open_kfid", "external_userid", "time", "msgid", "seq", "kind", "msgtype", "text"}

func exported(t *storage.Turn) exportedTurn {
	return exportedTurn{
		CorpID: t.CorpID, OpenKFID: t.OpenKFID, ExternalUserID: t.ExternalUserID,
		Time: t.Time.Format(time.RFC3339Nano), MsgID: t.MsgID, Seq: t.Seq, Kind: t.Kind.String(),
		MsgType: t.MsgType, Text: t.Text,
	}
}

// turnEncoder writes turns as jsonl or csv.
type turnEncoder struct {
	json   *json.Encoder
	csv    *csv.Writer
	header bool
}

func newTurnEncoder(w io.Writer, format string) *turnEncoder {
	if format == "csv" {
		return &turnEncoder{csv: csv.NewWriter(w)}
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return &turnEncoder{json: enc}
}

func (e *turnEncoder) encode(t *storage.Turn) error {
	x := exported(t)
	if e.json != nil {
		return e.json.Encode(x)
	}
	if !e.header {
		e.header = true
		if err := e.csv.Write(exportColumns); err != nil {
			return err
		}
	}
	return e.csv.Write([]string{x.CorpID, x.OpenKFID, x.ExternalUserID, x.Time, x.MsgID, strconv.Itoa(x.Seq), x.Kind, x.MsgType, x.Text})
}

// flush writes what the encoder holds back: a csv export's buffer, and its header when
// no turn came.
func (e *turnEncoder) flush() error {
	if e.csv == nil {
		return nil
	}
	if !e.header {
		e.header = true
		if err := e.csv.Write(exportColumns); err != nil {
			return err
		}
	}
	e.csv.Flush()
	return e.csv.Error()
}
