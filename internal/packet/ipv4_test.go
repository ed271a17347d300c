package packet

import (
	"errors"
	"net"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket/layers"
)

func TestParseIPv4(t *testing.T) {
	h, err := ParseIPv4(unhex(t, httpSYN))
	if err != nil {
		t.Fatal(err)
	}
	want := IPv4Header{
		HeaderLen: 20, TotalLen: 48, ID: 0x0f41, DontFrag: true, TTL: 128,
		Protocol: ProtoTCP, Checksum: 0x91eb,
		Src: netip.MustParseAddr("145.254.160.237"), Dst: netip.MustParseAddr("65.208.228.223"),
	}
	if h != want {
		t.Errorf("ParseIPv4 = %+v\nwant %+v", h, want)
	}
	if h.IsFragment() {
		t.Error("IsFragment on an unfragmented packet")
	}
}

func TestParseIPv4Fragments(t *testing.T) {
	tests := []struct {
		name    string
		flags   string // bytes 6-7
		mf      bool
		off     uint16
		isFrag  bool
		notHead bool
	}{
		{"DF", "4000", false, 0, false, false},
		{"first fragment", "2000", true, 0, true, false},
		{"middle fragment", "20b9", true, 185, true, true},
		{"last fragment", "00b9", false, 185, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := unhex(t, httpSYN)
			copy(b[6:8], unhex(t, tt.flags))
			h, err := ParseIPv4(b)
			if err != nil {
				t.Fatal(err)
			}
			if h.MoreFrags != tt.mf || h.FragOffset != tt.off || h.IsFragment() != tt.isFrag {
				t.Errorf("MF %v off %d IsFragment %v, want %v %d %v", h.MoreFrags, h.FragOffset, h.IsFragment(), tt.mf, tt.off, tt.isFrag)
			}
		})
	}
}

func TestParseIPv4Errors(t *testing.T) {
	syn := httpSYN
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"empty", "", ErrShort},
		{"19 bytes", syn[:38], ErrShort},
		{"IPv6", "60" + syn[2:], ErrVersion},
		{"IHL 4", "44" + syn[2:], ErrHeaderLen},
		{"IHL 15 beyond packet", "4f" + syn[2:], ErrHeaderLen},
		{"total length below IHL", "4500000f" + syn[8:], ErrTotalLen},
		{"total length beyond buffer", "45000031" + syn[8:], ErrTotalLen},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParseIPv4(unhex(t, tt.in)); !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
	// Padding after the total length is not an error.
	if h, err := ParseIPv4(unhex(t, syn+"000000")); err != nil || h.TotalLen != 48 {
		t.Errorf("padded: %+v, %v", h, err)
	}
}

// TestIPv4EncodeGopacket checks Encode against gopacket in both directions.
func TestIPv4EncodeGopacket(t *testing.T) {
	h := IPv4Header{
		TOS: 0xb8, TotalLen: 20, ID: 0x1234, DontFrag: true, MoreFrags: true, FragOffset: 0x1abc,
		TTL: 17, Protocol: ProtoGRE,
		Src: netip.MustParseAddr("192.0.2.1"), Dst: netip.MustParseAddr("198.51.100.7"),
	}
	var b [20]byte
	if n, err := h.Encode(b[:]); err != nil || n != 20 {
		t.Fatalf("Encode = %d, %v", n, err)
	}
	p := verifyChecksums(t, b[:], layers.LayerTypeIPv4)
	ip := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	if ip.TOS != h.TOS || ip.Id != h.ID || ip.Flags != layers.IPv4DontFragment|layers.IPv4MoreFragments ||
		ip.FragOffset != h.FragOffset || ip.TTL != h.TTL || ip.Protocol != layers.IPProtocolGRE ||
		!ip.SrcIP.Equal(net.ParseIP("192.0.2.1")) || !ip.DstIP.Equal(net.ParseIP("198.51.100.7")) {
		t.Errorf("gopacket reads %+v", ip)
	}

	want := serialize(t, &layers.IPv4{
		Version: 4, IHL: 5, TOS: 0xb8, Id: 0x1234, Flags: layers.IPv4DontFragment | layers.IPv4MoreFragments,
		FragOffset: 0x1abc, TTL: 17, Protocol: layers.IPProtocolGRE,
		SrcIP: net.ParseIP("192.0.2.1").To4(), DstIP: net.ParseIP("198.51.100.7").To4(),
	})
	if string(want) != string(b[:]) {
		t.Errorf("Encode = %x\ngopacket %x", b, want)
	}
	got, err := ParseIPv4(want)
	if err != nil {
		t.Fatal(err)
	}
	h.HeaderLen, h.Checksum = 20, got.Checksum
	if got != h {
		t.Errorf("ParseIPv4(gopacket) = %+v\nwant %+v", got, h)
	}
}

func TestIPv4EncodeErrors(t *testing.T) {
	v4, v6 := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::1")
	var b [20]byte
	tests := []struct {
		name string
		h    IPv4Header
		buf  []byte
		want error
	}{
		{"short buffer", IPv4Header{TotalLen: 20, Src: v4, Dst: v4}, b[:19], ErrNoSpace},
		{"IPv6 source", IPv4Header{TotalLen: 20, Src: v6, Dst: v4}, b[:], ErrAddr},
		{"zero destination", IPv4Header{TotalLen: 20, Src: v4}, b[:], ErrAddr},
		{"total length too small", IPv4Header{TotalLen: 19, Src: v4, Dst: v4}, b[:], ErrTotalLen},
		{"total length too big", IPv4Header{TotalLen: 65536, Src: v4, Dst: v4}, b[:], ErrTotalLen},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.h.Encode(tt.buf); !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}
