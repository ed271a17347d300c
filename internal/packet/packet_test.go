package packet

import (
	"encoding/hex"
	"net/netip"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
)

// httpSYN is the first packet of Wireshark's sample capture http.cap: a TCP
// SYN from 145.254.160.237:3372 to 65.208.228.223:80 with options MSS 1460,
// NOP, NOP, SACK permitted; IP checksum 0x91eb, TCP checksum 0xc30c.
const httpSYN = "450000300f414000800691eb91fea0ed41d0e4df" +
	"0d2c005038affe13000000007002" + "2238c30c0000" + "020405b401010402"

// unhex decodes a hex string, ignoring spaces, and fails the test on error.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// verifyChecksums decodes pkt with gopacket, starting at the given layer,
// fails on decode errors or checksum mismatches, and returns the packet.
func verifyChecksums(t *testing.T, pkt []byte, first gopacket.LayerType) gopacket.Packet {
	t.Helper()
	p := gopacket.NewPacket(pkt, first, gopacket.Default)
	if el := p.ErrorLayer(); el != nil {
		t.Fatalf("gopacket: %v", el.Error())
	}
	// gopacket needs to be told which IP header a TCP, UDP or ICMPv6
	// pseudo-header comes from.
	for _, l := range p.Layers() {
		if c, ok := l.(interface {
			SetNetworkLayerForChecksum(gopacket.NetworkLayer) error
		}); ok {
			if err := c.SetNetworkLayerForChecksum(p.NetworkLayer()); err != nil {
				t.Fatal(err)
			}
		}
	}
	err, mismatches := p.VerifyChecksums()
	if err != nil {
		t.Fatalf("gopacket VerifyChecksums: %v", err)
	}
	for _, m := range mismatches {
		t.Errorf("gopacket: bad checksum in %v: %+v", m.Layer.LayerType(), m.ChecksumVerificationResult)
	}
	return p
}

// serialize builds a packet from gopacket layers with lengths and checksums
// computed by gopacket.
func serialize(t testing.TB, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, ls...); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// tcpChecksumOK recomputes the TCP checksum of an IPv4 or IPv6 packet
// without extension headers.
func tcpChecksumOK(pkt []byte) bool {
	switch Version(pkt) {
	case 4:
		h, err := ParseIPv4(pkt)
		if err != nil {
			return false
		}
		seg := pkt[h.HeaderLen:h.TotalLen]
		return Checksum(seg, PseudoHeaderSum(ProtoTCP, h.Src, h.Dst, len(seg))) == 0
	case 6:
		h, err := ParseIPv6(pkt)
		if err != nil {
			return false
		}
		seg := pkt[IPv6HeaderLen : IPv6HeaderLen+h.PayloadLen]
		return Checksum(seg, PseudoHeaderSum(ProtoTCP, h.Src, h.Dst, len(seg))) == 0
	}
	return false
}

// ipAddrs returns the source and destination of an IPv4 or IPv6 packet
// whose header is known to be well formed.
func ipAddrs(pkt []byte) (src, dst netip.Addr) {
	if Version(pkt) == 4 {
		return netip.AddrFrom4([4]byte(pkt[12:16])), netip.AddrFrom4([4]byte(pkt[16:20]))
	}
	return netip.AddrFrom16([16]byte(pkt[8:24])), netip.AddrFrom16([16]byte(pkt[24:40]))
}
