package isakmp

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

// The seed corpora live in testdata/fuzz/<target>: the vectors of
// vectors_test.go and a selection of the malformed cases.

// FuzzParseMessage checks that ParseMessage never panics, fails only with a
// *ParseError pointing into the input, and that whatever it accepts
// marshals to a message of the same length that parses to the same value.
// Encrypted messages are split and their body parsed as plaintext.
func FuzzParseMessage(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseMessage(data)
		if err != nil {
			checkFuzzError(t, err, len(data))
			if errors.Is(err, ErrEncrypted) {
				h, body, err := SplitMessage(data)
				if err != nil {
					t.Fatalf("SplitMessage after ErrEncrypted: %v", err)
				}
				checkChainRoundTrip(t, h.NextPayload, body, true)
			}
			return
		}
		out, err := m.Marshal()
		if err != nil {
			t.Fatalf("Marshal of parsed message: %v", err)
		}
		if len(out) != len(data) {
			t.Fatalf("Marshal changed length: %d to %d", len(data), len(out))
		}
		m2, err := ParseMessage(out)
		if err != nil {
			t.Fatalf("ParseMessage of marshalled message: %v\n%x", err, out)
		}
		if !reflect.DeepEqual(m, m2) {
			t.Fatalf("round trip changed message:\n%#v\n%#v", m, m2)
		}
		out2, err := m2.Marshal()
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("second Marshal differs: %v", err)
		}
	})
}

// FuzzParsePayloads is FuzzParseMessage for bare payload chains, strict or
// as decrypted plaintext.
func FuzzParsePayloads(f *testing.F) {
	f.Fuzz(func(t *testing.T, first uint8, data []byte, plaintext bool) {
		checkChainRoundTrip(t, PayloadType(first), data, plaintext)
	})
}

func checkChainRoundTrip(t *testing.T, first PayloadType, data []byte, plaintext bool) {
	t.Helper()
	parse, split := ParsePayloads, SplitPayloads
	if plaintext {
		parse, split = ParsePlaintext, SplitPlaintext
	}
	ps, err := parse(first, data)
	if err != nil {
		checkFuzzError(t, err, len(data))
		return
	}
	spans, err := split(first, data)
	if err != nil || len(spans) != len(ps) {
		t.Fatalf("split disagrees with parse: %d spans, %d payloads, %v", len(spans), len(ps), err)
	}
	out, err := MarshalPayloads(ps)
	if err != nil {
		t.Fatalf("MarshalPayloads of parsed payloads: %v", err)
	}
	end := 0
	if len(spans) > 0 {
		end = spans[len(spans)-1].End
	}
	if len(out) != end {
		t.Fatalf("MarshalPayloads changed length: %d to %d", end, len(out))
	}
	ps2, err := ParsePayloads(first, out)
	if err != nil {
		t.Fatalf("ParsePayloads of marshalled chain: %v\n%x", err, out)
	}
	if !reflect.DeepEqual(ps, ps2) {
		t.Fatalf("round trip changed payloads:\n%#v\n%#v", ps, ps2)
	}
}

func checkFuzzError(t *testing.T, err error, n int) {
	t.Helper()
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *ParseError", err, err)
	}
	if pe.Err == nil || pe.Offset < 0 || pe.Offset > n {
		t.Fatalf("bad ParseError %+v for %d bytes", pe, n)
	}
}
