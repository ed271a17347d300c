package packet

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
)

// refSum is the textbook RFC 1071 loop, one 16-bit word at a time.
func refSum(b []byte, initial uint32) uint32 {
	s := uint64(initial)
	for i := 0; i+1 < len(b); i += 2 {
		s += uint64(b[i])<<8 | uint64(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint64(b[len(b)-1]) << 8
	}
	for s > 0xffff {
		s = s&0xffff + s>>16
	}
	return uint32(s)
}

func TestChecksumKnown(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want uint16
	}{
		// RFC 1071 section 3: the words sum to 0xddf2.
		{"rfc1071", "0001f203f4f5f6f7", ^uint16(0xddf2)},
		{"empty", "", 0xffff},
		{"odd", "01", ^uint16(0x0100)},
		// Headers carrying a correct checksum sum to zero.
		{"http.cap IPv4 header", httpSYN[:40], 0},
		{"keepalive inner IPv4 header", "4500001800000000ff2f37b3c0000202c0000201", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Checksum(unhex(t, tt.in), 0); got != tt.want {
				t.Errorf("Checksum = %#04x, want %#04x", got, tt.want)
			}
		})
	}
}

// TestChecksumAgainstReferences compares Sum with the textbook loop and
// with gopacket over every length and alignment a packet can have.
func TestChecksumAgainstReferences(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 1600)
	for i := range buf {
		buf[i] = byte(r.Uint32())
	}
	for n := 0; n <= 300; n++ {
		for off := 0; off < 3; off++ {
			b := buf[off : off+n]
			initial := r.Uint32() & 0x1ffff
			if got, want := Sum(b, initial), refSum(b, initial); got != want {
				t.Fatalf("Sum(len %d, off %d, %#x) = %#x, want %#x", n, off, initial, got, want)
			}
			if got, want := Checksum(b, 0), gopacket.FoldChecksum(gopacket.ComputeChecksum(b, 0)); got != want {
				t.Fatalf("Checksum(len %d) = %#04x, gopacket %#04x", n, got, want)
			}
		}
	}
	// All ones must not overflow the accumulator.
	ones := make([]byte, 65535)
	for i := range ones {
		ones[i] = 0xff
	}
	if got, want := Sum(ones, 0xffffffff), refSum(ones, 0xffffffff); got != want {
		t.Fatalf("Sum(all ones) = %#x, want %#x", got, want)
	}
}

func TestPseudoHeaderSum(t *testing.T) {
	// The http.cap SYN's TCP checksum verifies with our pseudo-header.
	if !tcpChecksumOK(unhex(t, httpSYN)) {
		t.Error("TCP checksum of http.cap SYN does not verify")
	}
	src, dst := netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2")
	var ph [40]byte
	a, b := src.As16(), dst.As16()
	copy(ph[0:], a[:])
	copy(ph[16:], b[:])
	binary.BigEndian.PutUint32(ph[32:], 0x12345)
	ph[39] = ProtoTCP
	if got, want := PseudoHeaderSum(ProtoTCP, src, dst, 0x12345), refSum(ph[:], 0); got != want {
		t.Errorf("IPv6 PseudoHeaderSum = %#x, want %#x", got, want)
	}
}

// TestUpdateChecksum checks RFC 1624 updates by verifying the result,
// including data summing to 0xffff, the case equation 2 of RFC 1141 got
// wrong. The last word is never changed and never zero: real checksummed
// data always has a nonzero word (the protocol in the pseudo-header), and
// all-zero data is the one case where 0x0000 does not verify.
func TestUpdateChecksum(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	b := make([]byte, 64)
	for i := 0; i < 20000; i++ {
		for j := range b {
			b[j] = byte(r.Uint32())
		}
		b[len(b)-1] |= 1
		if i%7 == 0 { // data summing to 0xffff
			clear(b)
			b[0], b[1] = 0xff, 0xfe
			b[len(b)-1] = 1
		}
		at := 2 * r.IntN(len(b)/2-1)
		ck := Checksum(b, 0)
		old := binary.BigEndian.Uint16(b[at:])
		nw := uint16(r.Uint32())
		if i%5 == 0 {
			nw = 0
		}
		binary.BigEndian.PutUint16(b[at:], nw)
		got := UpdateChecksum(ck, old, nw)
		// Verification is what matters: 0x0000 and 0xffff are both zero.
		if Sum(b, uint32(got)) != 0xffff {
			t.Fatalf("updated checksum %#04x does not verify (recomputed %#04x)", got, Checksum(b, 0))
		}
	}
}

func BenchmarkChecksum1500(b *testing.B) {
	buf := make([]byte, 1500)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		Checksum(buf, 0)
	}
}
