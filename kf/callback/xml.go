package callback

import (
	"bytes"
	"encoding/xml"
	"fmt"
)

// The callback XML documents are flat: a root element whose children hold text or one CDATA
// section. scanFlat parses exactly that common shape quickly and without allocating. Anything
// else (non-ASCII bytes, comments, processing instructions, attributes, entities, "]]>" in
// text, nested elements, mixed text and CDATA, self-closing tags, carriage returns) is left to
// encoding/xml, so both paths give the same result wherever scanFlat succeeds; FuzzParseEvent
// checks this. On the vector C callback the fast path is about 10x faster than encoding/xml.

var (
	cdataOpen  = []byte("<![CDATA[")
	cdataClose = []byte("]]>")
)

// scanFlat calls visit for each child of the root element of doc with the child's name and the
// bounds doc[start:end] of its text. It reports false, possibly after some visits, if doc is
// not in the simple subset described above; the caller then discards what it collected and
// uses encoding/xml.
func scanFlat(doc []byte, visit func(name []byte, start, end int)) bool {
	for _, b := range doc {
		if b > '~' || (b < ' ' && b != '\t' && b != '\n') {
			return false
		}
	}
	root, i, ok := scanStartTag(doc, skipSpace(doc, 0))
	if !ok {
		return false
	}
	for {
		i = skipSpace(doc, i)
		if i+1 >= len(doc) || doc[i] != '<' {
			return false
		}
		if doc[i+1] == '/' {
			if i, ok = scanEndTag(doc, i, root); !ok {
				return false
			}
			return skipSpace(doc, i) == len(doc)
		}
		var name []byte
		if name, i, ok = scanStartTag(doc, i); !ok {
			return false
		}
		var start, end int
		if bytes.HasPrefix(doc[i:], cdataOpen) {
			start = i + len(cdataOpen)
			k := bytes.Index(doc[start:], cdataClose)
			if k < 0 {
				return false
			}
			end = start + k
			i = end + len(cdataClose)
		} else {
			k := bytes.IndexByte(doc[i:], '<')
			if k < 0 {
				return false
			}
			start, end = i, i+k
			// Entities need decoding, and encoding/xml rejects "]]>" outside CDATA.
			if bytes.IndexByte(doc[start:end], '&') >= 0 || bytes.Contains(doc[start:end], cdataClose) {
				return false
			}
			i = end
		}
		if i, ok = scanEndTag(doc, i, name); !ok {
			return false
		}
		visit(name, start, end)
	}
}

func skipSpace(doc []byte, i int) int {
	for i < len(doc) && (doc[i] == ' ' || doc[i] == '\t' || doc[i] == '\n') {
		i++
	}
	return i
}

// scanStartTag parses "<Name>" at doc[i:], with Name in [A-Za-z_][A-Za-z0-9_.-]*.
func scanStartTag(doc []byte, i int) (name []byte, next int, ok bool) {
	if i >= len(doc) || doc[i] != '<' {
		return nil, i, false
	}
	j := i + 1
	for j < len(doc) && isNameByte(doc[j], j == i+1) {
		j++
	}
	if j == i+1 || j >= len(doc) || doc[j] != '>' {
		return nil, i, false
	}
	return doc[i+1 : j], j + 1, true
}

// scanEndTag parses "</name>" at doc[i:].
func scanEndTag(doc []byte, i int, name []byte) (next int, ok bool) {
	rest := doc[i:]
	if len(rest) < len(name)+3 || rest[0] != '<' || rest[1] != '/' ||
		!bytes.Equal(rest[2:2+len(name)], name) || rest[2+len(name)] != '>' {
		return i, false
	}
	return i + len(name) + 3, true
}

func isNameByte(b byte, first bool) bool {
	switch {
	case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', b == '_':
		return true
	case '0' <= b && b <= '9', b == '.', b == '-':
		return !first
	}
	return false
}

// encryptElement returns the text of the Encrypt child of the outer POST XML (the last one if
// repeated), exactly as received.
func encryptElement(body []byte) ([]byte, error) {
	var enc []byte
	found := false
	ok := scanFlat(body, func(name []byte, start, end int) {
		if string(name) == "Encrypt" {
			enc, found = body[start:end:end], true
		}
	})
	if !ok {
		var env struct {
			Encrypt []string `xml:"Encrypt"`
		}
		if err := xml.Unmarshal(body, &env); err != nil {
			return nil, fmt.Errorf("%w: POST body is not XML (%v); check that the raw request body is passed", ErrBadXML, err)
		}
		found = len(env.Encrypt) > 0
		if found {
			enc = []byte(env.Encrypt[len(env.Encrypt)-1])
		}
	}
	if !found {
		return nil, fmt.Errorf("%w: POST body has no Encrypt element; check that the callback is configured in safe (encrypted) mode", ErrBadXML)
	}
	return enc, nil
}
