package gre

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// unhex decodes a hex string, ignoring spaces, and fails the test on error.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Literal GRE packets. Checksums were summed by hand: for example the
// words of "800086dd 0000 0000 deadbeef" add up to 0xa47b, whose
// complement is 0x5b84.
var decodeTests = []struct {
	name    string
	in      string
	want    Header
	payload string
}{
	{"RFC 2784 minimal, IPv4", "00000800 45", Header{Protocol: ProtoIPv4}, "45"},
	{"IPv6", "000086dd 60", Header{Protocol: ProtoIPv6}, "60"},
	{"keepalive reply", "00000000", Header{}, ""},
	{"RFC 2890 key 100", "20000800 00000064 45", Header{Protocol: ProtoIPv4, HasKey: true, Key: 100}, "45"},
	{"RFC 2890 sequence number", "10000800 fffffffe", Header{Protocol: ProtoIPv4, HasSeq: true, Seq: 0xfffffffe}, ""},
	{"RFC 2890 key and sequence number", "30000800 0001e240 00000001 4500",
		Header{Protocol: ProtoIPv4, HasKey: true, Key: 123456, HasSeq: true, Seq: 1}, "4500"},
	{"checksum with payload", "800086dd 5b840000 deadbeef",
		Header{Protocol: ProtoIPv6, HasChecksum: true, Checksum: 0x5b84}, "deadbeef"},
	{"checksum, key and sequence number", "b0000800 47fc0000 00000001 00000002",
		Header{Protocol: ProtoIPv4, HasChecksum: true, Checksum: 0x47fc, HasKey: true, Key: 1, HasSeq: true, Seq: 2}, ""},
	// Reserved1 is ignored (0xffff is one's complement zero, so the
	// checksum still matches).
	{"nonzero Reserved1", "800086dd 5b84ffff deadbeef",
		Header{Protocol: ProtoIPv6, HasChecksum: true, Checksum: 0x5b84}, "deadbeef"},
	// RFC 2784 2.3: bits 6-12 must be ignored on receipt.
	{"reserved bits 6-12 ignored", "03f80800", Header{Protocol: ProtoIPv4}, ""},
}

func TestDecode(t *testing.T) {
	for _, tt := range decodeTests {
		t.Run(tt.name, func(t *testing.T) {
			in := unhex(t, tt.in)
			h, payload, err := Decode(in)
			if err != nil {
				t.Fatal(err)
			}
			if h != tt.want {
				t.Errorf("header = %+v\nwant     %+v", h, tt.want)
			}
			if got := hex.EncodeToString(payload); got != tt.payload {
				t.Errorf("payload = %s, want %s", got, tt.payload)
			}
			if hl := len(in) - len(payload); hl != h.Len() {
				t.Errorf("header took %d bytes, Len() = %d", hl, h.Len())
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"empty", "", ErrShort},
		{"3 bytes", "000008", ErrShort},
		{"key missing", "20000800 000000", ErrShort},
		{"sequence number missing", "30000800 00000001", ErrShort},
		{"checksum missing", "80000800", ErrShort},
		// PPTP data packet (RFC 2637 4.1): K and A... flags, version 1,
		// protocol 0x880b, payload length, call ID.
		{"PPTP enhanced GRE", "3001880b 00000001 00000000", ErrPPTP},
		{"version 2", "00020800", ErrVersion},
		{"version 7", "00070800", ErrVersion},
		{"RFC 1701 routing present", "40000800 00000000", ErrRouting},
		{"checksum and routing", "c0000800 00000000", ErrRouting},
		{"strict source route", "08000800", ErrReserved},
		{"recursion control 4", "04000800", ErrReserved},
		{"bad checksum", "800086dd 5b850000 deadbeef", ErrBadChecksum},
		{"payload changed under checksum", "800086dd 5b840000 deadbeee", ErrBadChecksum},
		{"truncated payload under checksum", "800086dd 5b840000 deadbe", ErrBadChecksum},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := Decode(unhex(t, tt.in)); !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestEncode(t *testing.T) {
	for _, tt := range decodeTests {
		if tt.name == "nonzero Reserved1" || tt.name == "reserved bits 6-12 ignored" {
			continue // not what an encoder writes
		}
		t.Run(tt.name, func(t *testing.T) {
			want := unhex(t, tt.in)
			h := tt.want
			buf := make([]byte, h.Len())
			for i := range buf {
				buf[i] = 0xa5 // Encode must overwrite every byte
			}
			n, err := h.Encode(buf)
			if err != nil || n != h.Len() {
				t.Fatalf("Encode = %d, %v", n, err)
			}
			if string(buf) != string(want[:n]) {
				t.Errorf("Encode = %x, want %x", buf, want[:n])
			}
		})
	}
}

func TestEncapsulate(t *testing.T) {
	for _, tt := range decodeTests {
		if tt.name == "nonzero Reserved1" || tt.name == "reserved bits 6-12 ignored" {
			continue
		}
		t.Run(tt.name, func(t *testing.T) {
			want := unhex(t, tt.in)
			payload := unhex(t, tt.payload)
			h := tt.want
			h.Checksum = 0x1234 // must be replaced by the computed one
			if !h.HasChecksum {
				h.Checksum = 0
			}
			buf := make([]byte, MaxHeaderLen+len(payload))
			copy(buf[MaxHeaderLen:], payload)
			start, err := h.Encapsulate(buf, MaxHeaderLen)
			if err != nil {
				t.Fatal(err)
			}
			if got := buf[start:]; string(got) != string(want) {
				t.Errorf("Encapsulate = %x, want %x", got, want)
			}
		})
	}
}

func TestEncodeErrors(t *testing.T) {
	h := Header{Protocol: ProtoIPv4, HasKey: true, HasSeq: true}
	if _, err := h.Encode(make([]byte, 11)); !errors.Is(err, ErrNoSpace) {
		t.Errorf("Encode into 11 bytes: %v", err)
	}
	if _, err := h.Encapsulate(make([]byte, 20), 11); !errors.Is(err, ErrNoSpace) {
		t.Errorf("Encapsulate with 11 bytes of headroom: %v", err)
	}
	if _, err := h.Encapsulate(make([]byte, 20), 21); !errors.Is(err, ErrNoSpace) {
		t.Errorf("Encapsulate past the buffer: %v", err)
	}
	if err := SetChecksum([]byte{0x80, 0, 8, 0, 0}); !errors.Is(err, ErrShort) {
		t.Errorf("SetChecksum on a truncated header: %v", err)
	}
	if err := SetChecksum([]byte{0x80}); !errors.Is(err, ErrShort) {
		t.Errorf("SetChecksum on 1 byte: %v", err)
	}
	pkt := []byte{0, 0, 8, 0, 0x45}
	if err := SetChecksum(pkt); err != nil || string(pkt) != "\x00\x00\x08\x00\x45" {
		t.Errorf("SetChecksum without C bit: %v, %x", err, pkt)
	}
}

// TestGopacketDecodesOurs has gopacket's independent dissector read what we
// encode, checksum included.
func TestGopacketDecodesOurs(t *testing.T) {
	payload := unhex(t, "4500001c000100004011f6cc c0000201c0000202 0035003500080000") // IPv4 UDP, DNS port to DNS port, no data
	for _, h := range []Header{
		{Protocol: ProtoIPv4},
		{Protocol: ProtoIPv6, HasKey: true, Key: 0xdeadbeef},
		{Protocol: ProtoIPv4, HasChecksum: true, HasKey: true, Key: 7, HasSeq: true, Seq: 0x80000001},
		{Protocol: ProtoKeepalive, HasChecksum: true},
	} {
		buf := make([]byte, MaxHeaderLen+len(payload))
		copy(buf[MaxHeaderLen:], payload)
		start, err := h.Encapsulate(buf, MaxHeaderLen)
		if err != nil {
			t.Fatal(err)
		}
		var g layers.GRE
		if err := g.DecodeFromBytes(buf[start:], gopacket.NilDecodeFeedback); err != nil {
			t.Fatalf("%+v: gopacket: %v", h, err)
		}
		if g.Version != 0 || g.RoutingPresent || g.StrictSourceRoute || g.RecursionControl != 0 ||
			uint16(g.Protocol) != h.Protocol || g.ChecksumPresent != h.HasChecksum ||
			g.KeyPresent != h.HasKey || g.Key != h.Key || g.SeqPresent != h.HasSeq || g.Seq != h.Seq {
			t.Errorf("%+v: gopacket reads %+v", h, g)
		}
		if string(g.Payload) != string(payload) {
			t.Errorf("%+v: gopacket payload %x", h, g.Payload)
		}
		if _, res := g.VerifyChecksum(); !res.Valid {
			t.Errorf("%+v: gopacket rejects the checksum: %+v", h, res)
		}
	}
}

// TestWeDecodeGopacket reads what gopacket's encoder writes.
func TestWeDecodeGopacket(t *testing.T) {
	payload := []byte{0x60, 1, 2, 3, 4, 5, 6}
	for _, g := range []*layers.GRE{
		{Protocol: layers.EthernetTypeIPv4},
		{Protocol: layers.EthernetTypeIPv6, KeyPresent: true, Key: 42, SeqPresent: true, Seq: 9},
		{Protocol: layers.EthernetTypeIPv4, ChecksumPresent: true, KeyPresent: true, Key: 1},
		{Protocol: 0, ChecksumPresent: true, SeqPresent: true, Seq: 0xffffffff},
	} {
		buf := gopacket.NewSerializeBuffer()
		opts := gopacket.SerializeOptions{ComputeChecksums: true}
		if err := gopacket.SerializeLayers(buf, opts, g, gopacket.Payload(payload)); err != nil {
			t.Fatal(err)
		}
		h, p, err := Decode(buf.Bytes())
		if err != nil {
			t.Fatalf("Decode(%x): %v", buf.Bytes(), err)
		}
		want := Header{Protocol: uint16(g.Protocol), HasChecksum: g.ChecksumPresent, Checksum: g.Checksum,
			HasKey: g.KeyPresent, Key: g.Key, HasSeq: g.SeqPresent, Seq: g.Seq}
		if h != want || string(p) != string(payload) {
			t.Errorf("Decode(%x) = %+v, %x\nwant %+v", buf.Bytes(), h, p, want)
		}
	}
	// And gopacket's encoding of what we reject.
	for _, tc := range []struct {
		g    *layers.GRE
		want error
	}{
		{&layers.GRE{Protocol: 0x880b, KeyPresent: true, Version: 1}, ErrPPTP},
		{&layers.GRE{Protocol: layers.EthernetTypeIPv4, StrictSourceRoute: true}, ErrReserved},
		{&layers.GRE{Protocol: layers.EthernetTypeIPv4, RoutingPresent: true}, ErrRouting},
	} {
		buf := gopacket.NewSerializeBuffer()
		if err := tc.g.SerializeTo(buf, gopacket.SerializeOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := Decode(buf.Bytes()); !errors.Is(err, tc.want) {
			t.Errorf("Decode(%x): %v, want %v", buf.Bytes(), err, tc.want)
		}
	}
}

func TestHeaderAllocs(t *testing.T) {
	pkt := unhex(t, "b0000800 47fc0000 00000001 00000002")
	h := Header{Protocol: ProtoIPv4, HasChecksum: true, HasKey: true, Key: 1, HasSeq: true, Seq: 2}
	buf := make([]byte, 1500)
	if a := testing.AllocsPerRun(100, func() { _, _, _ = Decode(pkt) }); a != 0 {
		t.Errorf("Decode allocates %v times", a)
	}
	if a := testing.AllocsPerRun(100, func() { _, _, _ = Decode(pkt[:3]) }); a != 0 {
		t.Errorf("Decode of a short packet allocates %v times", a)
	}
	if a := testing.AllocsPerRun(100, func() { _, _ = h.Encapsulate(buf, MaxHeaderLen) }); a != 0 {
		t.Errorf("Encapsulate allocates %v times", a)
	}
}

func BenchmarkDecode(b *testing.B) {
	pkt := make([]byte, 1400)
	copy(pkt, unhex(b, "30000800 00000064 00000001"))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Decode(pkt); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeChecksum(b *testing.B) {
	h := Header{Protocol: ProtoIPv4, HasChecksum: true, HasKey: true, Key: 100}
	pkt := make([]byte, 1400)
	start, err := h.Encapsulate(pkt, MaxHeaderLen)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(pkt) - start))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Decode(pkt[start:]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncapsulate(b *testing.B) {
	h := Header{Protocol: ProtoIPv4, HasKey: true, Key: 100, HasSeq: true}
	buf := make([]byte, 1400)
	b.ReportAllocs()
	for b.Loop() {
		h.Seq++
		if _, err := h.Encapsulate(buf, MaxHeaderLen); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncapsulateChecksum(b *testing.B) {
	h := Header{Protocol: ProtoIPv4, HasChecksum: true}
	buf := make([]byte, 1400)
	b.SetBytes(int64(len(buf) - MaxHeaderLen + h.Len()))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Encapsulate(buf, MaxHeaderLen); err != nil {
			b.Fatal(err)
		}
	}
}
