// Package strictyaml is the YAML reading that rule files and the config file share: one
// document, read without letting a panic of the YAML library escape, and mappings whose
// repeated or non-string keys are caught instead of silently overwriting each other.
package strictyaml

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// SyntaxError is a file that is not YAML, or that holds more than one document.
type SyntaxError struct {
	Line int    // 1-based; 0 when the YAML library did not say
	Msg  string // without the library's "yaml: line N:" prefix
}

// Error returns "line N: msg", or msg when the line is unknown.
func (e *SyntaxError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return e.Msg
}

var yamlLine = regexp.MustCompile(`^line (\d+): `)

// Parse returns the root node of the one YAML document in src (the node inside the
// document node), or nil for a file without a document. A syntax error, a second
// document, or a panic of the YAML library on hostile input is a [*SyntaxError].
func Parse(src []byte) (root *yaml.Node, err error) {
	defer func() {
		if r := recover(); r != nil {
			root, err = nil, &SyntaxError{Msg: fmt.Sprint(r)}
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, syntaxError(err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, &SyntaxError{Line: extra.Line, Msg: "the file holds one YAML document; found another"}
	} else if !errors.Is(err, io.EOF) {
		return nil, syntaxError(err)
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	return doc.Content[0], nil
}

func syntaxError(err error) *SyntaxError {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	e := &SyntaxError{Msg: msg}
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		e.Msg = msg[len(m[0]):]
	}
	return e
}

// Pair is one key and its value in a mapping. Key is a scalar (an alias resolved).
type Pair struct{ Key, Value *yaml.Node }

// Pairs returns the pairs of the mapping n, in order. A key that is not a plain scalar,
// or that repeats an earlier key, is left out and passed to bad, with the line of the
// key's first occurrence (0 for a key that is not a scalar). n must be a mapping node.
func Pairs(n *yaml.Node, bad func(key *yaml.Node, firstLine int)) []Pair {
	out := make([]Pair, 0, len(n.Content)/2)
	seen := make(map[string]int, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		for k != nil && k.Kind == yaml.AliasNode {
			k = k.Alias
		}
		switch {
		case k == nil:
			continue
		case k.Kind != yaml.ScalarNode:
			bad(k, 0)
			continue
		}
		if first, dup := seen[k.Value]; dup {
			bad(k, first)
			continue
		}
		seen[k.Value] = k.Line
		out = append(out, Pair{Key: k, Value: n.Content[i+1]})
	}
	return out
}

// DecodeErrorText shortens an error of yaml's Node.Decode to its messages, without the
// "yaml:" and "line N:" prefixes (the caller names the position).
func DecodeErrorText(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msgs := make([]string, len(te.Errors))
		for i, m := range te.Errors {
			if _, after, ok := strings.Cut(m, ": "); ok && strings.HasPrefix(m, "line ") {
				m = after
			}
			msgs[i] = m
		}
		return strings.Join(msgs, "; ")
	}
	return strings.TrimPrefix(err.Error(), "yaml: ")
}
