package packet

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

func TestFragNeededLiteral(t *testing.T) {
	orig := unhex(t, httpSYN)
	var dst [576]byte
	n, err := FragNeeded(dst[:], orig, netip.MustParseAddr("10.0.0.1"), 1400)
	if err != nil {
		t.Fatal(err)
	}
	// 10.0.0.1 -> 145.254.160.237, TOS 0xc0, TTL 64, ICMP 3/4 with MTU 1400,
	// quoting the 20-byte header and 8 bytes of TCP (computed independently).
	want := unhex(t, "45c000380000000040013d190a00000191fea0ed"+
		"0304b34400000578"+
		"450000300f414000800691eb91fea0ed41d0e4df0d2c005038affe13")
	if string(dst[:n]) != string(want) {
		t.Fatalf("FragNeeded = %x\nwant        %x", dst[:n], want)
	}
	p := verifyChecksums(t, dst[:n], layers.LayerTypeIPv4)
	icmp := p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
	if icmp.TypeCode != layers.CreateICMPv4TypeCode(layers.ICMPv4TypeDestinationUnreachable, layers.ICMPv4CodeFragmentationNeeded) {
		t.Errorf("gopacket reads type/code %v", icmp.TypeCode)
	}
	if icmp.Seq != 1400 { // gopacket names the next-hop MTU field Seq
		t.Errorf("next-hop MTU %d, want 1400", icmp.Seq)
	}
}

// TestFragNeededOptionsAndPadding quotes a header with options and stops
// at the total length, not at the end of the buffer.
func TestFragNeededOptionsAndPadding(t *testing.T) {
	udp := &layers.UDP{SrcPort: 53, DstPort: 5353}
	ip := &layers.IPv4{Version: 4, IHL: 6, TTL: 9, Protocol: layers.IPProtocolUDP, Flags: layers.IPv4DontFragment,
		SrcIP: net.ParseIP("192.0.2.9").To4(), DstIP: net.ParseIP("198.51.100.1").To4(),
		Options: []layers.IPv4Option{{OptionType: 1}, {OptionType: 1}, {OptionType: 1}, {OptionType: 0}}}
	if err := udp.SetNetworkLayerForChecksum(ip); err != nil {
		t.Fatal(err)
	}
	orig := serialize(t, ip, udp, gopacket.Payload(make([]byte, 3)))
	if orig[0] != 0x46 {
		t.Fatalf("gopacket built IHL %d", orig[0]&0xf)
	}
	orig = append(orig, 0xee, 0xee) // link-layer padding
	var dst [100]byte
	n, err := FragNeeded(dst[:], orig, netip.MustParseAddr("203.0.113.1"), 576)
	if err != nil {
		t.Fatal(err)
	}
	if want := 20 + 8 + 24 + 8; n != want {
		t.Fatalf("length %d, want %d", n, want)
	}
	if got, want := dst[28:n], orig[:32]; string(got) != string(want) {
		t.Errorf("quote %x, want %x", got, want)
	}
	p := verifyChecksums(t, dst[:n], layers.LayerTypeIPv4)
	got := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	if !got.DstIP.Equal(net.ParseIP("192.0.2.9")) || got.TTL != 64 || got.Flags != 0 {
		t.Errorf("gopacket reads %+v", got)
	}
}

func TestFragNeededRefusals(t *testing.T) {
	from := netip.MustParseAddr("10.0.0.1")
	echo := serialize(t,
		&layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolICMPv4,
			SrcIP: net.IP{192, 0, 2, 1}, DstIP: net.IP{198, 51, 100, 1}},
		&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoRequest, 0)},
		gopacket.Payload(make([]byte, 1400)))
	withByte := func(i int, v byte) []byte {
		b := append([]byte(nil), echo...)
		b[i] = v
		return b
	}
	tests := []struct {
		name string
		orig []byte
		from netip.Addr
		mtu  int
		dst  int
		want error
	}{
		{"echo request", echo, from, 1400, 576, nil},
		{"destination unreachable", withByte(20, 3), from, 1400, 576, ErrICMPError},
		{"time exceeded", withByte(20, 11), from, 1400, 576, ErrICMPError},
		{"redirect", withByte(20, 5), from, 1400, 576, ErrICMPError},
		{"unknown type", withByte(20, 42), from, 1400, 576, ErrICMPError},
		{"echo reply", withByte(20, 0), from, 1400, 576, nil},
		{"ICMP without a type", func() []byte {
			b := append([]byte(nil), echo[:20]...)
			b[2], b[3] = 0, 20
			return b
		}(), from, 1400, 576, ErrICMPError},
		{"non-first fragment", withByte(7, 1), from, 1400, 576, ErrNotFirstFragment},
		{"source 0.0.0.0", withByte(12, 0), from, 1400, 576, ErrNotUnicast},
		{"source loopback", withByte(12, 127), from, 1400, 576, ErrNotUnicast},
		{"source multicast", withByte(12, 224), from, 1400, 576, ErrNotUnicast},
		{"source class E", withByte(12, 240), from, 1400, 576, ErrNotUnicast},
		{"destination multicast", withByte(16, 239), from, 1400, 576, ErrNotUnicast},
		{"destination broadcast", func() []byte {
			b := append([]byte(nil), echo...)
			copy(b[16:20], []byte{255, 255, 255, 255})
			return b
		}(), from, 1400, 576, ErrNotUnicast},
		{"IPv6 from", echo, netip.MustParseAddr("2001:db8::1"), 1400, 576, ErrAddr},
		{"invalid from", echo, netip.Addr{}, 1400, 576, ErrAddr},
		{"MTU 67", echo, from, 67, 576, ErrMTU},
		{"MTU 65536", echo, from, 65536, 576, ErrMTU},
		{"small buffer", echo, from, 1400, 55, ErrNoSpace},
		{"truncated original", echo[:19], from, 1400, 576, ErrShort},
		{"IPv6 original", unhex(t, ipv6TCP), from, 1400, 576, ErrVersion},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := make([]byte, tt.dst)
			if _, err := FragNeeded(dst, tt.orig, tt.from, tt.mtu); !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

// ipv6Packet builds an IPv6 packet of the given total size from src to dst
// with the given next header and payload start.
func ipv6Packet(size int, src, dst string, next uint8, start []byte) []byte {
	b := make([]byte, size)
	h := IPv6Header{PayloadLen: size - 40, NextHeader: next, HopLimit: 64,
		Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst)}
	if _, err := h.Encode(b); err != nil {
		panic(err)
	}
	copy(b[40:], start)
	for i := 40 + len(start); i < size; i++ {
		b[i] = byte(i)
	}
	return b
}

func TestPacketTooBig(t *testing.T) {
	from := netip.MustParseAddr("2001:db8:ffff::1")
	tests := []struct {
		name string
		orig []byte
		want int // length of the message
	}{
		{"large packet quoted up to 1280", ipv6Packet(1500, "2001:db8::1", "2001:db8::2", ProtoUDP, nil), 1280},
		{"small packet quoted whole", ipv6Packet(100, "2001:db8::1", "2001:db8::2", ProtoUDP, nil), 148},
		{"TCP SYN", unhex(t, ipv6TCP), 48 + 80},
		{"echo request", ipv6Packet(1400, "2001:db8::1", "2001:db8::2", ProtoICMPv6, []byte{128, 0}), 1280},
		{"multicast destination", ipv6Packet(1400, "2001:db8::1", "ff0e::1", ProtoUDP, nil), 1280},
		{"first fragment", ipv6Packet(1400, "2001:db8::1", "2001:db8::2", ProtoFragment,
			[]byte{ProtoUDP, 0, 0, 1, 0, 0, 0, 7}), 1280},
		{"hop-by-hop then echo", ipv6Packet(1400, "2001:db8::1", "2001:db8::2", ProtoHopByHop,
			[]byte{ProtoICMPv6, 0, 1, 4, 0, 0, 0, 0, 129, 0}), 1280},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var dst [1500]byte
			n, err := PacketTooBig(dst[:], tt.orig, from, 1400)
			if err != nil {
				t.Fatal(err)
			}
			if n != tt.want {
				t.Fatalf("length %d, want %d", n, tt.want)
			}
			if got, want := dst[48:n], tt.orig[:n-48]; string(got) != string(want) {
				t.Error("quote is not the start of the original")
			}
			p := verifyChecksums(t, dst[:n], layers.LayerTypeIPv6)
			ip := p.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
			if !ip.SrcIP.Equal(net.ParseIP("2001:db8:ffff::1")) || !ip.DstIP.Equal(net.IP(tt.orig[8:24])) ||
				ip.HopLimit != 64 || int(ip.Length) != n-40 {
				t.Errorf("gopacket reads %+v", ip)
			}
			icmp := p.Layer(layers.LayerTypeICMPv6).(*layers.ICMPv6)
			if icmp.TypeCode != layers.CreateICMPv6TypeCode(layers.ICMPv6TypePacketTooBig, 0) {
				t.Errorf("type/code %v", icmp.TypeCode)
			}
			if mtu := binary.BigEndian.Uint32(icmp.Payload[:4]); mtu != 1400 {
				t.Errorf("MTU %d, want 1400", mtu)
			}
		})
	}
}

func TestPacketTooBigLiteral(t *testing.T) {
	var dst [1280]byte
	n, err := PacketTooBig(dst[:], unhex(t, ipv6TCP), netip.MustParseAddr("2001:db8:ffff::1"), 1280)
	if err != nil {
		t.Fatal(err)
	}
	// Checksum 0x1379 computed independently over the pseudo-header
	// 2001:db8:ffff::1, 2001:db8::1, length 88, next header 58.
	want := unhex(t, "6000000000583a4020010db8ffff0000000000000000000120010db8000000000000000000000001"+
		"0200137900000500"+ipv6TCP)
	if string(dst[:n]) != string(want) {
		t.Errorf("PacketTooBig = %x\nwant          %x", dst[:n], want)
	}
}

func TestPacketTooBigRefusals(t *testing.T) {
	from := netip.MustParseAddr("2001:db8:ffff::1")
	udp := ipv6Packet(1400, "2001:db8::1", "2001:db8::2", ProtoUDP, nil)
	tests := []struct {
		name string
		orig []byte
		from netip.Addr
		mtu  int
		dst  int
		want error
	}{
		{"ICMPv6 error", ipv6Packet(1400, "2001:db8::1", "2001:db8::2", ProtoICMPv6, []byte{1, 4}), from, 1280, 1280, ErrICMPError},
		{"ICMPv6 packet too big", ipv6Packet(1400, "2001:db8::1", "2001:db8::2", ProtoICMPv6, []byte{2, 0}), from, 1280, 1280, ErrICMPError},
		{"ICMPv6 error after destination options", ipv6Packet(1400, "2001:db8::1", "2001:db8::2", ProtoDestOpts,
			[]byte{ProtoICMPv6, 0, 1, 4, 0, 0, 0, 0, 3, 0}), from, 1280, 1280, ErrICMPError},
		{"empty ICMPv6", ipv6Packet(40, "2001:db8::1", "2001:db8::2", ProtoICMPv6, nil), from, 1280, 1280, ErrICMPError},
		{"non-first fragment", ipv6Packet(1400, "2001:db8::1", "2001:db8::2", ProtoFragment,
			[]byte{ProtoUDP, 0, 0x05, 0x00, 0, 0, 0, 7}), from, 1280, 1280, ErrNotFirstFragment},
		{"truncated extension header", ipv6Packet(44, "2001:db8::1", "2001:db8::2", ProtoHopByHop, nil), from, 1280, 1280, ErrShort},
		{"extension header beyond payload", ipv6Packet(60, "2001:db8::1", "2001:db8::2", ProtoRouting,
			[]byte{ProtoUDP, 9}), from, 1280, 1280, ErrShort},
		{"AH beyond payload", ipv6Packet(60, "2001:db8::1", "2001:db8::2", ProtoAH,
			[]byte{ProtoUDP, 9}), from, 1280, 1280, ErrShort},
		{"unspecified source", ipv6Packet(1400, "::", "2001:db8::2", ProtoUDP, nil), from, 1280, 1280, ErrNotUnicast},
		{"multicast source", ipv6Packet(1400, "ff02::1", "2001:db8::2", ProtoUDP, nil), from, 1280, 1280, ErrNotUnicast},
		{"loopback source", ipv6Packet(1400, "::1", "2001:db8::2", ProtoUDP, nil), from, 1280, 1280, ErrNotUnicast},
		{"IPv4 from", udp, netip.MustParseAddr("192.0.2.1"), 1280, 1280, ErrAddr},
		{"IPv4-mapped from", udp, netip.MustParseAddr("::ffff:192.0.2.1"), 1280, 1280, ErrAddr},
		{"MTU 1279", udp, from, 1279, 1280, ErrMTU},
		{"small buffer", udp, from, 1280, 1279, ErrNoSpace},
		{"IPv4 original", unhex(t, httpSYN), from, 1280, 1280, ErrVersion},
		{"truncated original", udp[:1399], from, 1280, 1280, ErrTotalLen},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := make([]byte, tt.dst)
			if _, err := PacketTooBig(dst, tt.orig, tt.from, tt.mtu); !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestICMPAllocs(t *testing.T) {
	v4 := unhex(t, httpSYN)
	v6 := ipv6Packet(1500, "2001:db8::1", "2001:db8::2", ProtoUDP, nil)
	from4, from6 := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("2001:db8::ffff")
	dst := make([]byte, 1280)
	if a := testing.AllocsPerRun(100, func() { _, _ = FragNeeded(dst, v4, from4, 1400) }); a != 0 {
		t.Errorf("FragNeeded allocates %v times", a)
	}
	if a := testing.AllocsPerRun(100, func() { _, _ = PacketTooBig(dst, v6, from6, 1400) }); a != 0 {
		t.Errorf("PacketTooBig allocates %v times", a)
	}
}

func BenchmarkFragNeeded(b *testing.B) {
	orig := unhex(b, httpSYN)
	from := netip.MustParseAddr("10.0.0.1")
	dst := make([]byte, 576)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := FragNeeded(dst, orig, from, 1400); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPacketTooBig(b *testing.B) {
	orig := ipv6Packet(1500, "2001:db8::1", "2001:db8::2", ProtoUDP, nil)
	from := netip.MustParseAddr("2001:db8::ffff")
	dst := make([]byte, 1280)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := PacketTooBig(dst, orig, from, 1400); err != nil {
			b.Fatal(err)
		}
	}
}
