package main

import (
	"bufio"
	"cmp"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/storage"
	"github.com/kfbot/kfbot/storage/badgerstore"
)

// exportFixture writes 10,000 turns (50 conversations of 200, in two corps and two KF
// accounts, of every kind, with text that needs quoting) into a new data directory and
// returns it with the turns, oldest first within each conversation.
func exportFixture(t *testing.T) (dir string, turns []storage.Turn, start time.Time) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "data")
	store, err := badgerstore.Open(dir, badgerstore.WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	defer func() { require.NoError(t, store.Close()) }()
	start = time.Now().Add(-time.Hour).Truncate(time.Second).Add(123456789)
	texts := []string{"你好，我的订单呢？", `say "hi", then
a new line`, "=HYPERLINK(\"x\")", "", "[image]", "human"}
	kinds := []storage.TurnKind{storage.TurnCustomer, storage.TurnBot, storage.TurnBot, storage.TurnServicer, storage.TurnOwnership}
	for c := range 50 {
		conv := storage.Conversation{CorpID: fmt.Sprint("ww", c%2), OpenKFID: fmt.Sprint("wk", c%4/2), ExternalUserID: fmt.Sprintf("wm%02d", c)}
		page := make([]storage.Turn, 0, 200)
		for i := range 200 {
			kind := kinds[i%len(kinds)]
			turn := storage.Turn{Conversation: conv, Time: start.Add(time.Duration(i) * time.Second), MsgID: fmt.Sprintf("msg%d-%d", c, i/5),
				Kind: kind, MsgType: "text", Text: texts[(c+i)%len(texts)]}
			switch kind {
			case storage.TurnBot:
				turn.Seq = i%5 - 1
			case storage.TurnServicer:
				turn.MsgID += "s"
			case storage.TurnOwnership:
				turn.MsgID, turn.MsgType, turn.Text = "", "event", "human"
			}
			page = append(page, turn)
		}
		require.NoError(t, store.AppendTurns(t.Context(), page, storage.TranscriptLimits{}))
		for _, turn := range page {
			turn.Time = turn.Time.UTC()
			turns = append(turns, turn)
		}
	}
	return dir, turns, start
}

func parseJSONL(t *testing.T, data string) []storage.Turn {
	t.Helper()
	var turns []storage.Turn
	sc := bufio.NewScanner(strings.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var x exportedTurn
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.DisallowUnknownFields()
		require.NoError(t, dec.Decode(&x), sc.Text())
		turns = append(turns, fromExported(t, x))
	}
	require.NoError(t, sc.Err())
	return turns
}

func parseCSV(t *testing.T, data string) []storage.Turn {
	t.Helper()
	rows, err := csv.NewReader(strings.NewReader(data)).ReadAll()
	require.NoError(t, err)
	require.NotEmpty(t, rows)
	require.Equal(t, []string{"corp_id", "open_kfid", "external_userid", "time", "msgid", "seq", "kind", "msgtype", "text"}, rows[0])
	var turns []storage.Turn
	for _, r := range rows[1:] {
		seq, err := strconv.Atoi(r[5])
		require.NoError(t, err)
		turns = append(turns, fromExported(t, exportedTurn{CorpID: r[0], OpenKFID: r[1], ExternalUserID: r[2], Time: r[3],
			MsgID: r[4], Seq: seq, Kind: r[6], MsgType: r[7], Text: r[8]}))
	}
	return turns
}

func fromExported(t *testing.T, x exportedTurn) storage.Turn {
	t.Helper()
	at, err := time.Parse(time.RFC3339, x.Time)
	require.NoError(t, err)
	kinds := map[string]storage.TurnKind{"customer": storage.TurnCustomer, "bot": storage.TurnBot, "servicer": storage.TurnServicer, "ownership": storage.TurnOwnership}
	kind, ok := kinds[x.Kind]
	require.True(t, ok, "kind %q", x.Kind)
	return storage.Turn{Conversation: storage.Conversation{CorpID: x.CorpID, OpenKFID: x.OpenKFID, ExternalUserID: x.ExternalUserID},
		Time: at, MsgID: x.MsgID, Seq: x.Seq, Kind: kind, MsgType: x.MsgType, Text: x.Text}
}

// byConversation checks that got is grouped by conversation and returns it sorted by
// conversation, keeping the order within each.
func byConversation(t *testing.T, got []storage.Turn) []storage.Turn {
	t.Helper()
	seen := map[storage.Conversation]bool{}
	for i, turn := range got {
		if i == 0 || got[i-1].Conversation != turn.Conversation {
			require.False(t, seen[turn.Conversation], "conversation %+v is split", turn.Conversation)
			seen[turn.Conversation] = true
		}
	}
	sorted := slices.Clone(got)
	slices.SortStableFunc(sorted, func(a, b storage.Turn) int {
		return cmp.Or(cmp.Compare(a.CorpID, b.CorpID), cmp.Compare(a.OpenKFID, b.OpenKFID), cmp.Compare(a.ExternalUserID, b.ExternalUserID))
	})
	return sorted
}

func TestTranscriptsExport(t *testing.T) {
	dir, turns, start := exportFixture(t)
	want := byConversation(t, turns)
	out := t.TempDir()

	for _, format := range []string{"jsonl", "csv"} {
		t.Run(format, func(t *testing.T) {
			file := filepath.Join(out, "export."+format)
			code, stdout, stderr := runMain(t, "", nil, "transcripts", "export", "-data", dir, "-since", "2h", "-format", format, "-o", file)
			require.Equal(t, 0, code, stderr)
			assert.Empty(t, stdout)
			assert.Equal(t, "kfbot: exported 10000 turns of 50 conversations to "+file+"\n", stderr)
			data, err := os.ReadFile(file)
			require.NoError(t, err)
			info, err := os.Stat(file)
			require.NoError(t, err)
			assert.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "the export holds customers' messages")
			parse := parseJSONL
			if format == "csv" {
				parse = parseCSV
			}
			got := parse(t, string(data))
			require.Len(t, got, len(turns))
			assert.Equal(t, want, byConversation(t, got))

			// Standard output gets the same bytes.
			code, stdout, stderr = runMain(t, "", nil, "transcripts", "export", "-data", dir, "-since", "2h", "-format", format)
			require.Equal(t, 0, code, stderr)
			assert.Equal(t, string(data), stdout)
		})
	}

	t.Run("Filters", func(t *testing.T) {
		tests := []struct {
			args []string
			want func(storage.Turn) bool
		}{
			{[]string{"-corp", "ww1"}, func(t storage.Turn) bool { return t.CorpID == "ww1" }},
			{[]string{"-open-kfid", "wk1"}, func(t storage.Turn) bool { return t.OpenKFID == "wk1" }},
			{[]string{"-corp", "ww0", "-open-kfid", "wk1"}, func(t storage.Turn) bool { return t.CorpID == "ww0" && t.OpenKFID == "wk1" }},
			{[]string{"-corp", "nobody"}, func(storage.Turn) bool { return false }},
		}
		for _, tt := range tests {
			t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
				args := append([]string{"transcripts", "export", "-data", dir, "-since", start.Add(150 * time.Second).Format(time.RFC3339Nano)}, tt.args...)
				code, stdout, stderr := runMain(t, "", nil, args...)
				require.Equal(t, 0, code, stderr)
				var wantTurns []storage.Turn
				for _, turn := range want {
					if tt.want(turn) && !turn.Time.Before(start.Add(150*time.Second)) {
						wantTurns = append(wantTurns, turn)
					}
				}
				assert.Equal(t, wantTurns, byConversation(t, parseJSONL(t, stdout)))
			})
		}
	})

	t.Run("EmptyCSV", func(t *testing.T) {
		code, stdout, stderr := runMain(t, "", nil, "transcripts", "export", "-data", dir, "-since", "1m", "-format", "csv")
		require.Equal(t, 0, code, stderr)
		assert.Equal(t, "corp_id,open_kfid,external_userid,time,msgid,seq,kind,msgtype,text\n", stdout, "a header even without turns")
		assert.Contains(t, stderr, "exported 0 turns of 0 conversations")
	})
}

func TestTranscriptsExportInUse(t *testing.T) {
	dir := t.TempDir()
	store, err := badgerstore.Open(dir, badgerstore.WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })
	file := filepath.Join(t.TempDir(), "out.jsonl")
	code, _, stderr := runMain(t, "", nil, "transcripts", "export", "-data", dir, "-since", "1h", "-o", file)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "kfbot: the data directory "+dir+" is in use by another kfbot process; stop it or export from a backup")
	assert.NoFileExists(t, file, "no output is created")

	// Once the holder has gone, the export works.
	require.NoError(t, store.Close())
	code, _, stderr = runMain(t, "", nil, "transcripts", "export", "-data", dir, "-since", "1h", "-o", file)
	assert.Equal(t, 0, code, stderr)
}

func TestTranscriptsCommandLine(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "none")
	tests := []struct {
		args    []string
		env     map[string]string
		code    int
		out     string
		wantErr string
	}{
		{[]string{"transcripts"}, nil, 2, "", "kfbot transcripts export -since"},
		{[]string{"transcripts", "-h"}, nil, 0, "Flags:", ""},
		{[]string{"transcripts", "exprot"}, nil, 2, "", `transcripts: unknown command "exprot" (did you mean "export"?) (kfbot transcripts -h lists the commands)`},
		{[]string{"transcripts", "export", "-h"}, nil, 0, "", "-open-kfid ID"},
		{[]string{"transcripts", "export"}, nil, 2, "", "kfbot: transcripts export: -since is required: a duration such as 24h, or an RFC 3339 time (kfbot transcripts export -h lists the flags)\n"},
		{[]string{"transcripts", "export", "-since", "yesterday"}, nil, 2, "", `-since: "yesterday" is neither a duration`},
		{[]string{"transcripts", "export", "-since", "-1h"}, nil, 2, "", "-since: duration -1h: want a positive one"},
		{[]string{"transcripts", "export", "-since", "1h", "-format", "xml"}, nil, 2, "", `-format "xml": want jsonl or csv`},
		{[]string{"transcripts", "export", "-since", "1h", "-x", "-y"}, nil, 2, "", "kfbot: transcripts export: flag provided but not defined: -x; flag provided but not defined: -y (kfbot transcripts export -h lists the flags)\n"},
		{[]string{"transcripts", "export", "-since", "1h", "extra"}, nil, 2, "", `transcripts export: unexpected argument "extra"`},
		{[]string{"transcripts", "export", "-since", "1h", "-data", missing}, nil, 1, "", "kfbot: data directory " + missing + " does not exist"},
		{[]string{"transcripts", "export", "-since", "1h"}, map[string]string{"KFBOT_DATA_DIR": missing}, 1, "", "data directory " + missing + " does not exist"},
		{[]string{"transcrpts"}, nil, 2, "", `(did you mean "transcripts"?)`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errOut := runMain(t, "", tt.env, tt.args...)
			assert.Equal(t, tt.code, code, errOut)
			assert.Contains(t, out, tt.out)
			assert.Contains(t, errOut, tt.wantErr)
		})
	}
	assert.NoDirExists(t, missing, "an export never creates the data directory")
}
