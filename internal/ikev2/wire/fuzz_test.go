package wire

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// The seed corpora live in testdata/fuzz/<target>: messages of the strongSwan
// capture and their decrypted inner payloads, the vectors of vectors_test.go
// and a few malformed cases. IKEV2_WRITE_SEEDS=1 go test -run
// TestWriteFuzzSeeds writes them again.

// FuzzDecode checks that Decode never panics, fails only with a
// *DecodeError pointing into the input, and that whatever it accepts
// encodes to a message of the same length that decodes to the same value
// and encodes again to the same bytes. SplitProtected must find the SK or
// SKF payload that Decode found.
func FuzzDecode(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Decode(data)
		if err != nil {
			checkFuzzError(t, err, len(data))
			return
		}
		h, err := DecodeHeader(data)
		if err != nil || h != m.Header {
			t.Fatalf("DecodeHeader = %+v, %v; Decode gave %+v", h, err, m.Header)
		}
		out, err := m.Encode()
		if err != nil {
			t.Fatalf("Encode of a decoded message: %v", err)
		}
		if len(out) != len(data) {
			t.Fatalf("Encode changed the length: %d to %d", len(data), len(out))
		}
		m2, err := Decode(out)
		if err != nil {
			t.Fatalf("Decode of an encoded message: %v\n%x", err, out)
		}
		if !reflect.DeepEqual(m, m2) {
			t.Fatalf("round trip changed the message:\n%#v\n%#v", m, m2)
		}
		out2, err := m2.Encode()
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("second Encode differs: %v", err)
		}

		last := PayloadNone
		if len(m.Payloads) > 0 {
			last = m.Payloads[len(m.Payloads)-1].PayloadType()
		}
		p, err := SplitProtected(data, 0, 0)
		switch {
		case last != PayloadSK && last != PayloadSKF:
			if !errors.Is(err, ErrNotEncrypted) {
				t.Fatalf("SplitProtected of a message ending with %v: %v", last, err)
			}
		case err == nil:
			if len(p.Associated)+len(p.Ciphertext) != len(data) || !bytes.Equal(p.Signed, data) {
				t.Fatalf("SplitProtected parts do not add up: %+v", p)
			}
		case !errors.Is(err, ErrEncryptedLength):
			t.Fatalf("SplitProtected: %v", err)
		}
	})
}

// FuzzDecodePayloads is FuzzDecode for payload chains, as decrypted from an
// SK payload, with Unpad applied first when padded is set.
func FuzzDecodePayloads(f *testing.F) {
	f.Fuzz(func(t *testing.T, first uint8, data []byte, padded bool) {
		if padded {
			inner, err := Unpad(data)
			if err != nil {
				checkFuzzError(t, err, len(data))
				return
			}
			data = inner
		}
		ps, err := DecodePayloads(PayloadType(first), data)
		if err != nil {
			checkFuzzError(t, err, len(data))
			return
		}
		spans, err := SplitPayloads(PayloadType(first), data)
		if err != nil || len(spans) != len(ps) {
			t.Fatalf("SplitPayloads disagrees with DecodePayloads: %d spans, %d payloads, %v", len(spans), len(ps), err)
		}
		for i, s := range spans {
			if s.Type != ps[i].PayloadType() {
				t.Fatalf("span %d of type %v, payload %v", i+1, s.Type, ps[i].PayloadType())
			}
		}
		out, err := EncodePayloads(ps)
		if err != nil {
			t.Fatalf("EncodePayloads of decoded payloads: %v", err)
		}
		if len(out) != len(data) {
			t.Fatalf("EncodePayloads changed the length: %d to %d", len(data), len(out))
		}
		ps2, err := DecodePayloads(PayloadType(first), out)
		if err != nil {
			t.Fatalf("DecodePayloads of an encoded chain: %v\n%x", err, out)
		}
		if !reflect.DeepEqual(ps, ps2) {
			t.Fatalf("round trip changed the payloads:\n%#v\n%#v", ps, ps2)
		}
		if out2, err := EncodePayloads(ps2); err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("second EncodePayloads differs: %v", err)
		}
	})
}

func checkFuzzError(t *testing.T, err error, n int) {
	t.Helper()
	var de *DecodeError
	if !errors.As(err, &de) {
		t.Fatalf("error %v (%T) is not a *DecodeError", err, err)
	}
	if de.Err == nil || de.Offset < 0 || de.Offset > n {
		t.Fatalf("bad DecodeError %+v for %d octets", de, n)
	}
	if nt, data := NotifyFor(err); nt == 0 || nt == NotifyUnsupportedCriticalPayload && len(data) != 1 {
		t.Fatalf("NotifyFor(%v) = %v %x", err, nt, data)
	}
}

// TestWriteFuzzSeeds writes the seed corpora when IKEV2_WRITE_SEEDS is set.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("IKEV2_WRITE_SEEDS") == "" {
		t.Skip("set IKEV2_WRITE_SEEDS=1 to write testdata/fuzz")
	}
	write := func(target, name, content string) {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte("go test fuzz v1\n"+content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	message := func(name string, b []byte) { write("FuzzDecode", name, fmt.Sprintf("[]byte(%q)\n", b)) }
	chain := func(name string, first PayloadType, b []byte, padded bool) {
		write("FuzzDecodePayloads", name, fmt.Sprintf("byte(%q)\n[]byte(%q)\nbool(%v)\n", byte(first), b, padded))
	}

	ds := loadCapture(t)
	for _, c := range []struct {
		packet int
		name   string
	}{
		{1, "ike-sa-init-request"}, {2, "ike-sa-init-response"},
		{3, "ike-auth-fragment-1"}, {4, "ike-auth-fragment-2"}, {5, "ike-auth-response"},
		{6, "rekey-child-request"}, {8, "delete-child"}, {12, "rekey-ike-fragment-1"},
		{17, "liveness"}, {27, "ike-sa-init-gcm"}, {31, "ike-auth-response-gcm"}, {32, "delete-ike-gcm"},
	} {
		message("strongswan-"+c.name, ds[c.packet-1].ike)
	}
	message("vector-ike-sa-init", ikeSAInit)
	message("vector-sk", skMessage)
	message("vector-skf", skfMessage)
	message("critical-unknown", patch(ikeSAInit, 191, 0x80))
	message("ikev1", patch(ikeSAInit, 17, 0x10))
	message("bad-transform-count", patch(ikeSAInit, 39, 5))
	message("sk-not-last", patch(skMessage, 30, 0, 0x40))

	ws, _ := reassemble(t, openCapture(t))
	for _, w := range ws {
		name := map[int]string{
			4: "ike-auth-request", 5: "ike-auth-response", 6: "rekey-child-request",
			8: "delete-child", 10: "address-update", 13: "rekey-ike-request", 14: "rekey-ike-response",
			15: "delete-ike", 30: "ike-auth-request-gcm",
		}[w.packet]
		if name == "" {
			continue
		}
		chain("strongswan-"+name, w.first, w.inner, false)
		padded, err := Pad(bytes.Clone(w.inner), 16)
		if err != nil {
			t.Fatal(err)
		}
		if w.packet == 5 {
			chain("strongswan-ike-auth-response-padded", w.first, padded, true)
		}
	}
	chain("vector-auth", PayloadIDi, authPlain, false)
	chain("vector-info", PayloadDelete, infoPlain, false)
	chain("vector-sa-init", PayloadSA, ikeSAInit[28:], false)
	chain("bad-ts-count", PayloadIDi, patch(authPlain, 177, 3), false)
	chain("bad-padding", PayloadIDi, append(bytes.Clone(authPlain), 0xff), true)
}
