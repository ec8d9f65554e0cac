package strictyaml

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name, src string
		kind      yaml.Kind // of the root; 0: nil root
		line      int       // of the *SyntaxError; -1: no error
		msg       string
	}{
		{name: "mapping", src: "a: 1\n", kind: yaml.MappingNode, line: -1},
		{name: "empty", src: "", line: -1},
		{name: "only a comment", src: "# nothing\n", line: -1},
		{name: "a second document", src: "a: 1\n---\nb: 2\n", line: 2, msg: "the file holds one YAML document; found another"},
		{name: "bad syntax", src: "a: 1\n b: 2\n", line: 2, msg: "mapping values are not allowed in this context"},
		{name: "bad syntax in the second document", src: "a: 1\n---\n: : :\n\t", line: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, err := Parse([]byte(tt.src))
			if tt.line < 0 {
				require.NoError(t, err)
				if tt.kind == 0 {
					assert.Nil(t, root)
				} else {
					require.NotNil(t, root)
					assert.Equal(t, tt.kind, root.Kind)
				}
				return
			}
			var se *SyntaxError
			require.ErrorAs(t, err, &se)
			assert.Nil(t, root)
			assert.Equal(t, tt.line, se.Line, se.Error())
			if tt.msg != "" {
				assert.Equal(t, tt.msg, se.Msg)
			}
		})
	}
}

func TestPairs(t *testing.T) {
	root, err := Parse([]byte("a: 1\nb: &x 2\na: 3\n[l]: 4\n? {m: 1}\n: 5\nc: *x\n"))
	require.NoError(t, err)
	type bad struct {
		line, first int
	}
	var bads []bad
	ps := Pairs(root, func(k *yaml.Node, first int) { bads = append(bads, bad{k.Line, first}) })
	var keys []string
	for _, p := range ps {
		keys = append(keys, p.Key.Value)
	}
	assert.Equal(t, []string{"a", "b", "c"}, keys)
	assert.Equal(t, []bad{{3, 1}, {4, 0}, {5, 0}}, bads, "the repeated a (first at line 1), then the two keys that are not scalars")
	assert.Equal(t, "1", ps[0].Value.Value, "the first a is kept")
}

func TestDecodeErrorText(t *testing.T) {
	root, err := Parse([]byte("n: [1]\n"))
	require.NoError(t, err)
	var v struct{ N int }
	err = root.Decode(&v)
	require.Error(t, err)
	assert.Equal(t, "cannot unmarshal !!seq into int", DecodeErrorText(err))
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"a: 1\n", "a: &x [1, *x]\n", "---\n---\n", "a: 1\na: 2\n", "? [a]\n: 1\n", "\t", "*x\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		root, err := Parse(src)
		if err != nil {
			var se *SyntaxError
			require.ErrorAs(t, err, &se)
			require.Nil(t, root)
			return
		}
		if root != nil && root.Kind == yaml.MappingNode {
			seen := map[string]bool{}
			for _, p := range Pairs(root, func(*yaml.Node, int) {}) {
				require.Equal(t, yaml.ScalarNode, p.Key.Kind)
				require.False(t, seen[p.Key.Value], "a repeated key is left out")
				seen[p.Key.Value] = true
			}
		}
	})
}
