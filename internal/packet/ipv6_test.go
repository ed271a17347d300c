package packet

import (
	"errors"
	"net/netip"
	"testing"
)

// ipv6TCP is an IPv6 TCP SYN from 2001:db8::1 port 40000 to 2001:db8::2
// port 443, hop limit 64, flow label 0x12345, traffic class 0, with
// options MSS 1440, SACK permitted, timestamps, NOP, window scale 7.
const ipv6TCP = "600123450028064020010db800000000000000000000000120010db8000000000000000000000002" +
	"9c4001bb000003e800000000a0028000ca400000" + "020405a00402080a0000007b0000000001030307"

func TestParseIPv6(t *testing.T) {
	h, err := ParseIPv6(unhex(t, ipv6TCP))
	if err != nil {
		t.Fatal(err)
	}
	want := IPv6Header{
		FlowLabel: 0x12345, PayloadLen: 40, NextHeader: ProtoTCP, HopLimit: 64,
		Src: netip.MustParseAddr("2001:db8::1"), Dst: netip.MustParseAddr("2001:db8::2"),
	}
	if h != want {
		t.Errorf("ParseIPv6 = %+v\nwant %+v", h, want)
	}
	var b [40]byte
	if _, err := want.Encode(b[:]); err != nil {
		t.Fatal(err)
	}
	if got := unhex(t, ipv6TCP)[:40]; string(got) != string(b[:]) {
		t.Errorf("Encode = %x\nwant     %x", b, got)
	}
}

func TestParseIPv6Errors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"empty", "", ErrShort},
		{"39 bytes", ipv6TCP[:78], ErrShort},
		{"IPv4", httpSYN + httpSYN, ErrVersion},
		{"payload beyond buffer", ipv6TCP[:8] + "0029" + ipv6TCP[12:], ErrTotalLen},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParseIPv6(unhex(t, tt.in)); !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestIPv6EncodeErrors(t *testing.T) {
	v6 := netip.MustParseAddr("2001:db8::1")
	var b [40]byte
	tests := []struct {
		name string
		h    IPv6Header
		buf  []byte
		want error
	}{
		{"short buffer", IPv6Header{Src: v6, Dst: v6}, b[:39], ErrNoSpace},
		{"IPv4 source", IPv6Header{Src: netip.MustParseAddr("192.0.2.1"), Dst: v6}, b[:], ErrAddr},
		{"IPv4-mapped destination", IPv6Header{Src: v6, Dst: netip.MustParseAddr("::ffff:192.0.2.1")}, b[:], ErrAddr},
		{"payload too big", IPv6Header{Src: v6, Dst: v6, PayloadLen: 65536}, b[:], ErrTotalLen},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.h.Encode(tt.buf); !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}
