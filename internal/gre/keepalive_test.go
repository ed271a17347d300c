package gre

import (
	"net"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/gresec/gresec/internal/packet"
)

var (
	local  = netip.MustParseAddr("192.0.2.1")
	peer   = netip.MustParseAddr("198.51.100.2")
	local6 = netip.MustParseAddr("2001:db8::1")
	peer6  = netip.MustParseAddr("2001:db8::2")
)

// Inner packets of keepalives from 192.0.2.1 to 198.51.100.2, so addressed
// 198.51.100.2 -> 192.0.2.1, TTL 255, protocol 47, ID 0, no flags; IPv4
// checksums computed independently.
const (
	// IOS on a tunnel without options: 24 bytes, IPv4 20 + GRE 4.
	keepaliveInner = "4500001800000000ff2fcf7fc6336402c0000201" + "00000000"
	// With tunnel key 100.
	keepaliveKey = "4500001c00000000ff2fcf7bc6336402c0000201" + "20000000 00000064"
	// With checksum, key 100 and sequence number 7.
	keepaliveAll = "4500002400000000ff2fcf73c6336402c0000201" + "b0000000 4f940000 00000064 00000007"
	// IPv6 tunnel, 2001:db8::1 to 2001:db8::2.
	keepaliveIPv6 = "6000000000042fff20010db8000000000000000000000002" +
		"20010db8000000000000000000000001" + "00000000"
)

func TestBuildKeepalive(t *testing.T) {
	tests := []struct {
		name        string
		local, peer netip.Addr
		h           Header
		want        string
	}{
		{"IOS, no options", local, peer, Header{Protocol: ProtoIPv4}, keepaliveInner},
		{"key", local, peer, Header{HasKey: true, Key: 100}, keepaliveKey},
		{"checksum, key, sequence", local, peer,
			Header{HasChecksum: true, Checksum: 0xffff, HasKey: true, Key: 100, HasSeq: true, Seq: 7}, keepaliveAll},
		{"IPv6", local6, peer6, Header{Protocol: ProtoIPv6}, keepaliveIPv6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := unhex(t, tt.want)
			buf := make([]byte, 100)
			for i := range buf {
				buf[i] = 0xa5
			}
			n := BuildKeepalive(buf, tt.local, tt.peer, tt.h)
			if string(buf[:n]) != string(want) {
				t.Errorf("BuildKeepalive = %x\nwant %x", buf[:n], want)
			}
			if n := BuildKeepalive(buf[:len(want)-1], tt.local, tt.peer, tt.h); n != 0 {
				t.Errorf("BuildKeepalive into a short buffer = %d", n)
			}
		})
	}
	if n := BuildKeepalive(make([]byte, 100), local, peer6, Header{}); n != 0 {
		t.Errorf("mixed families: %d", n)
	}
	if n := BuildKeepalive(make([]byte, 100), netip.Addr{}, netip.Addr{}, Header{}); n != 0 {
		t.Errorf("invalid addresses: %d", n)
	}
}

// TestKeepaliveOnTheWire builds a whole IOS keepalive as it leaves
// 192.0.2.1 (outer IPv4, GRE 0x0800, inner 24 bytes), compares it with
// literal bytes and has gopacket dissect it.
func TestKeepaliveOnTheWire(t *testing.T) {
	want := unhex(t, "4500003000000000ff2fcf67c0000201c6336402"+"00000800"+keepaliveInner)
	buf := make([]byte, 48)
	tun := Header{Protocol: ProtoIPv4}
	inner := BuildKeepalive(buf[24:], local, peer, tun)
	start, err := tun.Encapsulate(buf[:24+inner], 24)
	if err != nil {
		t.Fatal(err)
	}
	outer := packet.IPv4Header{TotalLen: 48 - start + 20, TTL: 255, Protocol: packet.ProtoGRE, Src: local, Dst: peer}
	if _, err := outer.Encode(buf[start-20:]); err != nil {
		t.Fatal(err)
	}
	if string(buf) != string(want) {
		t.Fatalf("keepalive = %x\nwant %x", buf, want)
	}

	p := gopacket.NewPacket(buf, layers.LayerTypeIPv4, gopacket.Default)
	var ips []*layers.IPv4
	var gres []*layers.GRE
	for _, l := range p.Layers() {
		switch l := l.(type) {
		case *layers.IPv4:
			ips = append(ips, l)
		case *layers.GRE:
			gres = append(gres, l)
		}
	}
	if len(ips) != 2 || len(gres) != 2 {
		t.Fatalf("gopacket sees %v", p.Layers())
	}
	if !ips[1].SrcIP.Equal(net.IP{198, 51, 100, 2}) || !ips[1].DstIP.Equal(net.IP{192, 0, 2, 1}) ||
		ips[1].TTL != 255 || ips[1].Protocol != layers.IPProtocolGRE || ips[1].Length != 24 {
		t.Errorf("gopacket reads inner IPv4 %+v", ips[1])
	}
	if gres[0].Protocol != layers.EthernetTypeIPv4 || gres[1].Protocol != 0 || len(gres[1].Payload) != 0 {
		t.Errorf("gopacket reads GRE %+v then %+v", gres[0], gres[1])
	}
	for _, ip := range ips {
		if _, res := ip.VerifyChecksum(); !res.Valid {
			t.Errorf("gopacket: bad IPv4 checksum %+v", res)
		}
	}

	// The peer decapsulates and finds a keepalive to send back to us.
	h, payload, err := Decode(buf[20:])
	if err != nil || h.Protocol != ProtoIPv4 {
		t.Fatalf("Decode: %+v, %v", h, err)
	}
	k, ok := ParseKeepalive(payload)
	if !ok || k.Dst != local || k.Src != peer || k.Len != 24 {
		t.Fatalf("ParseKeepalive = %+v, %v", k, ok)
	}
	// What comes back is a protocol-0 GRE packet: a reply.
	reply, _, err := Decode(payload[20:k.Len])
	if err != nil || !reply.IsKeepaliveReply() {
		t.Errorf("reply %+v, %v", reply, err)
	}
	if h.IsKeepaliveReply() {
		t.Error("an IPv4 data packet reads as a keepalive reply")
	}
}

func TestParseKeepalive(t *testing.T) {
	private := func() []byte {
		// Inner addresses that are the tunnel's own (10.0.0.2 -> 10.0.0.1).
		b := make([]byte, 24)
		ip := packet.IPv4Header{TotalLen: 24, TTL: 255, Protocol: packet.ProtoGRE,
			Src: netip.MustParseAddr("10.0.0.2"), Dst: netip.MustParseAddr("10.0.0.1")}
		if _, err := ip.Encode(b); err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []struct {
		name     string
		in       []byte
		ok       bool
		src, dst netip.Addr
		len      int
		gre      Header
	}{
		{"IOS", unhex(t, keepaliveInner), true, peer, local, 24, Header{}},
		{"key", unhex(t, keepaliveKey), true, peer, local, 28, Header{HasKey: true, Key: 100}},
		{"checksum, key, sequence", unhex(t, keepaliveAll), true, peer, local, 36,
			Header{HasChecksum: true, Checksum: 0x4f94, HasKey: true, Key: 100, HasSeq: true, Seq: 7}},
		{"IPv6", unhex(t, keepaliveIPv6), true, peer6, local6, 44, Header{}},
		{"tunnel addresses", private(), true, netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("10.0.0.1"), 24, Header{}},
		{"trailing padding", unhex(t, keepaliveInner+"0000"), true, peer, local, 24, Header{}},
		{"GRE payload after protocol 0", unhex(t, "4500001a00000000ff2fcf7dc6336402c0000201"+"00000000 abcd"),
			true, peer, local, 26, Header{}},

		{"empty", nil, false, netip.Addr{}, netip.Addr{}, 0, Header{}},
		{"nested GRE data, not a keepalive", unhex(t, "4500001800000000ff2fcf7fc6336402c0000201"+"00000800"),
			false, netip.Addr{}, netip.Addr{}, 0, Header{}},
		{"TCP", unhex(t, "450000300f414000800691eb91fea0ed41d0e4df0d2c005038affe13000000007002"+
			"2238c30c0000020405b401010402"), false, netip.Addr{}, netip.Addr{}, 0, Header{}},
		{"bad IPv4 checksum", unhex(t, "4500001800000000ff2fcf7ec6336402c0000201"+"00000000"),
			false, netip.Addr{}, netip.Addr{}, 0, Header{}},
		{"fragment", unhex(t, "4500001800002000ff2faf7fc6336402c0000201"+"00000000"),
			false, netip.Addr{}, netip.Addr{}, 0, Header{}},
		{"truncated GRE", unhex(t, "4500001600000000ff2fcf81c6336402c0000201"+"0000"),
			false, netip.Addr{}, netip.Addr{}, 0, Header{}},
		{"total length beyond buffer", unhex(t, keepaliveInner)[:23], false, netip.Addr{}, netip.Addr{}, 0, Header{}},
		{"GRE version 1", unhex(t, "4500001800000000ff2fcf7fc6336402c0000201"+"00010000"),
			false, netip.Addr{}, netip.Addr{}, 0, Header{}},
		{"IPv6 next header not GRE", unhex(t, "6000000000043aff20010db8000000000000000000000002"+
			"20010db8000000000000000000000001"+"00000000"), false, netip.Addr{}, netip.Addr{}, 0, Header{}},
		{"IPv6 with IPv4-mapped addresses", unhex(t, "6000000000042fff00000000000000000000ffffc6336402"+
			"00000000000000000000ffffc0000201"+"00000000"), false, netip.Addr{}, netip.Addr{}, 0, Header{}},
		{"IPv6 truncated", unhex(t, keepaliveIPv6)[:43], false, netip.Addr{}, netip.Addr{}, 0, Header{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, ok := ParseKeepalive(tt.in)
			if ok != tt.ok {
				t.Fatalf("ParseKeepalive ok = %v, want %v", ok, tt.ok)
			}
			want := Keepalive{Src: tt.src, Dst: tt.dst, Len: tt.len, GRE: tt.gre}
			if k != want {
				t.Errorf("ParseKeepalive = %+v\nwant %+v", k, want)
			}
		})
	}
}

func TestKeepaliveAllocs(t *testing.T) {
	inner := unhex(t, keepaliveAll)
	buf := make([]byte, 64)
	h := Header{HasChecksum: true, HasKey: true, Key: 100, HasSeq: true, Seq: 7}
	if a := testing.AllocsPerRun(100, func() { ParseKeepalive(inner) }); a != 0 {
		t.Errorf("ParseKeepalive allocates %v times", a)
	}
	if a := testing.AllocsPerRun(100, func() { BuildKeepalive(buf, local, peer, h) }); a != 0 {
		t.Errorf("BuildKeepalive allocates %v times", a)
	}
}

func BenchmarkParseKeepalive(b *testing.B) {
	inner := unhex(b, keepaliveKey)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := ParseKeepalive(inner); !ok {
			b.Fatal("not a keepalive")
		}
	}
}

// BenchmarkParseKeepaliveData measures the common case: a data packet
// that is not a keepalive.
func BenchmarkParseKeepaliveData(b *testing.B) {
	inner := unhex(b, "450000300f414000800691eb91fea0ed41d0e4df0d2c005038affe13000000007002"+
		"2238c30c0000020405b401010402")
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := ParseKeepalive(inner); ok {
			b.Fatal("TCP read as a keepalive")
		}
	}
}

func BenchmarkBuildKeepalive(b *testing.B) {
	buf := make([]byte, 64)
	h := Header{HasKey: true, Key: 100}
	b.ReportAllocs()
	for b.Loop() {
		if BuildKeepalive(buf, local, peer, h) == 0 {
			b.Fatal("BuildKeepalive failed")
		}
	}
}
