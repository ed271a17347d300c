package gre

import (
	"encoding/hex"
	"strings"
	"testing"
)

// FuzzGREDecode checks that Decode never panics and that whatever it
// accepts encodes back to the same header bytes.
func FuzzGREDecode(f *testing.F) {
	for _, tt := range decodeTests {
		b, err := hex.DecodeString(strings.ReplaceAll(tt.in, " ", ""))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, payload, err := Decode(b)
		if err != nil {
			return
		}
		n := len(b) - len(payload)
		if n != h.Len() || n < MinHeaderLen || n > MaxHeaderLen {
			t.Fatalf("header of %d bytes, Len() %d", n, h.Len())
		}
		buf := make([]byte, len(b))
		copy(buf[n:], payload)
		start, err := h.Encapsulate(buf, n)
		if err != nil || start != 0 {
			t.Fatalf("Encapsulate(%+v) = %d, %v", h, start, err)
		}
		// Encode writes zero Reserved1 and reserved bits, which the checksum
		// covers, so the recomputed checksum may differ from the one read.
		h2, p2, err := Decode(buf)
		h2.Checksum = h.Checksum
		if err != nil || h2 != h || string(p2) != string(payload) {
			t.Fatalf("round trip: %+v %x %v\nwant %+v %x", h2, p2, err, h, payload)
		}
	})
}

// FuzzParseKeepalive checks that ParseKeepalive never panics, that what it
// accepts lies within the input, and that a keepalive built from what it
// found parses the same.
func FuzzParseKeepalive(f *testing.F) {
	for _, s := range []string{keepaliveInner, keepaliveKey, keepaliveAll, keepaliveIPv6} {
		b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		k, ok := ParseKeepalive(b)
		if !ok {
			return
		}
		if k.Len > len(b) || k.Len < KeepaliveLen || !k.Src.IsValid() || !k.Dst.IsValid() || !k.GRE.IsKeepaliveReply() {
			t.Fatalf("ParseKeepalive(%x) = %+v", b, k)
		}
		buf := make([]byte, 128)
		n := BuildKeepalive(buf, k.Dst, k.Src, k.GRE)
		if n == 0 {
			t.Fatalf("BuildKeepalive(%+v) failed", k)
		}
		k2, ok := ParseKeepalive(buf[:n])
		k.Len, k.GRE.Checksum = n, k2.GRE.Checksum
		if !ok || k2 != k {
			t.Fatalf("rebuilt keepalive reads %+v, want %+v", k2, k)
		}
	})
}
