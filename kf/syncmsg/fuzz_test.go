package syncmsg_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/kf/syncmsg"
)

// addGoldenSeeds adds every golden file to f's seed corpus (testdata/fuzz
// holds more).
func addGoldenSeeds(f *testing.F, add func(b []byte)) {
	files, err := filepath.Glob(filepath.Join("testdata", "syncmsg", "*.json"))
	require.NoError(f, err)
	require.NotEmpty(f, files)
	for _, p := range files {
		b, err := os.ReadFile(p)
		require.NoError(f, err)
		add(b)
	}
}

// FuzzDecode: Decode never panics and never returns a nil Message; an error
// always comes with an *Unknown; a known type survives Encode → Decode
// unchanged (Raw aside), and so does an Unknown item.
func FuzzDecode(f *testing.F) {
	addGoldenSeeds(f, func(b []byte) { f.Add(b) })
	f.Fuzz(func(t *testing.T, item []byte) {
		m, err := syncmsg.Decode(item)
		require.NotNil(t, m)
		if err != nil {
			require.ErrorIs(t, err, syncmsg.ErrMalformed)
			u, ok := m.(*syncmsg.Unknown)
			require.Truef(t, ok, "error with %T", m)
			require.Equal(t, err, u.Err)
			return
		}
		enc, err := syncmsg.Encode(m)
		require.NoError(t, err)
		again, err := syncmsg.Decode(enc)
		require.NoError(t, err, "re-decoding %s", enc)
		require.Equal(t, withoutRaw(t, m), withoutRaw(t, again), "re-decoding %s", enc)

		if mm, ok := m.(*syncmsg.MergedMsg); ok {
			for _, it := range mm.Items {
				inner, _ := it.Message()
				require.NotNil(t, inner)
			}
		}
	})
}

// FuzzDecodeList: DecodeList agrees with Decode item by item and reports
// exactly the malformed items.
func FuzzDecodeList(f *testing.F) {
	var seeds [][]byte
	addGoldenSeeds(f, func(b []byte) { seeds = append(seeds, b) })
	for i := range seeds {
		f.Add(seeds[i], seeds[(i+1)%len(seeds)])
	}
	f.Add([]byte(`{"msgtype":"text","text":42}`), []byte(`{"msgtype":"x"}`))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		msgs, err := syncmsg.DecodeList([]json.RawMessage{a, b})
		require.Len(t, msgs, 2)
		bad := 0
		for i, item := range [][]byte{a, b} {
			want, wantErr := syncmsg.Decode(item)
			require.Equal(t, want, msgs[i])
			if wantErr != nil {
				bad++
				var ie *syncmsg.ItemError
				require.ErrorAs(t, err, &ie)
			}
		}
		if bad == 0 {
			require.NoError(t, err)
		} else {
			require.Len(t, err.(interface{ Unwrap() []error }).Unwrap(), bad)
		}
	})
}
