package packet

import (
	"encoding/hex"
	"net/netip"
	"testing"
)

// FuzzClampMSS checks that ClampMSS never panics, touches nothing but a
// SYN's MSS and checksum, keeps a valid TCP checksum valid, and is
// idempotent.
func FuzzClampMSS(f *testing.F) {
	for _, s := range []string{httpSYN, ipv6TCP} {
		b, err := hex.DecodeString(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint16(1360))
	}
	f.Fuzz(func(t *testing.T, pkt []byte, mss uint16) {
		orig := append([]byte(nil), pkt...)
		valid := tcpChecksumOK(pkt)
		changed := ClampMSS(pkt, mss)
		if !changed {
			if string(pkt) != string(orig) {
				t.Fatal("ClampMSS modified the packet but returned false")
			}
			return
		}
		if d := diffBytes(orig, pkt); d == 0 || d > 4 {
			t.Fatalf("%d bytes changed", d)
		}
		if valid && !tcpChecksumOK(pkt) {
			t.Fatalf("checksum broken by clamping:\n%x\n%x", orig, pkt)
		}
		if ClampMSS(pkt, mss) {
			t.Fatal("second ClampMSS changed the packet again")
		}
	})
}

// FuzzICMPError checks that FragNeeded and PacketTooBig never panic and
// that what they build parses back and carries valid checksums.
func FuzzICMPError(f *testing.F) {
	for _, s := range []string{httpSYN, ipv6TCP} {
		b, err := hex.DecodeString(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, 1400)
	}
	from4, from6 := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("2001:db8::ffff")
	dst := make([]byte, 1280)
	f.Fuzz(func(t *testing.T, orig []byte, mtu int) {
		if n, err := FragNeeded(dst, orig, from4, mtu); err == nil {
			h, err := ParseIPv4(dst[:n])
			if err != nil || h.TotalLen != n || Checksum(dst[:20], 0) != 0 || Checksum(dst[20:n], 0) != 0 {
				t.Fatalf("bad ICMPv4 %x: %v", dst[:n], err)
			}
		}
		if n, err := PacketTooBig(dst, orig, from6, mtu); err == nil {
			h, err := ParseIPv6(dst[:n])
			if err != nil || n > IPv6MinMTU || 40+h.PayloadLen != n ||
				Checksum(dst[40:n], PseudoHeaderSum(ProtoICMPv6, h.Src, h.Dst, n-40)) != 0 {
				t.Fatalf("bad ICMPv6 %x: %v", dst[:n], err)
			}
		}
	})
}
