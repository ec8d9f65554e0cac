package callback

import (
	"encoding/xml"
	"testing"
)

// BenchmarkCallback measures what a router does per KF callback: verify the signature,
// decrypt, parse the event (vector C).
func BenchmarkCallback(b *testing.B) {
	c := newA(b)
	body := []byte(cBody)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		plain, err := c.DecryptMessage(cSignature, cTimestamp, cNonce, body)
		if err != nil {
			b.Fatal(err)
		}
		ev, err := ParseEvent(plain)
		if err != nil || ev.Token != cToken {
			b.Fatal(ev, err)
		}
	}
}

// BenchmarkStages breaks the callback down; the encodingxml sub-benchmarks show what the same
// parsing costs through encoding/xml alone (the fallback path).
func BenchmarkStages(b *testing.B) {
	c := newA(b)
	body := []byte(cBody)
	plain := []byte(cPlain)
	enc := []byte(cEncrypt)
	b.Run("signature", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !c.verify(cSignature, cTimestamp, cNonce, enc) {
				b.Fatal("bad signature")
			}
		}
	})
	b.Run("decrypt", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.decrypt("Encrypt", enc); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("envelope", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := encryptElement(body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("envelope/encodingxml", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var env struct {
				Encrypt []string `xml:"Encrypt"`
			}
			if err := xml.Unmarshal(body, &env); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("event", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ParseEvent(plain); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("event/encodingxml", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := parseEventSlow(plain); err != nil {
				b.Fatal(err)
			}
		}
	})
}
