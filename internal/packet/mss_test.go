package packet

import (
	"encoding/binary"
	"math/rand/v2"
	"net"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// synWithOptions builds an IPv4 (or IPv6) TCP packet with the given flags
// and raw option bytes, with checksums by gopacket.
func synWithOptions(t testing.TB, v6 bool, syn, ack bool, opts []byte) []byte {
	t.Helper()
	tcp := &layers.TCP{SrcPort: 40000, DstPort: 443, Seq: 1000, SYN: syn, ACK: ack, Window: 64240}
	var ip gopacket.NetworkLayer
	var ipl gopacket.SerializableLayer
	if v6 {
		l := &layers.IPv6{Version: 6, NextHeader: layers.IPProtocolTCP, HopLimit: 64,
			SrcIP: net.ParseIP("2001:db8::1"), DstIP: net.ParseIP("2001:db8::2")}
		ip, ipl = l, l
	} else {
		l := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolTCP, Flags: layers.IPv4DontFragment,
			SrcIP: net.ParseIP("192.0.2.1").To4(), DstIP: net.ParseIP("198.51.100.2").To4()}
		ip, ipl = l, l
	}
	if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
		t.Fatal(err)
	}
	pkt := serialize(t, ipl, tcp)
	// gopacket would pad or reject malformed options, so splice the raw
	// bytes in and fix lengths and checksums here; callers check the result
	// with gopacket.
	hl := IPv4HeaderLen
	if v6 {
		hl = IPv6HeaderLen
	}
	out := append(append(append([]byte(nil), pkt[:hl+20]...), opts...), pkt[hl+20:]...)
	seg := out[hl:]
	seg[12] = byte((20+len(opts))/4) << 4
	if v6 {
		binary.BigEndian.PutUint16(out[4:6], uint16(len(seg)))
	} else {
		binary.BigEndian.PutUint16(out[2:4], uint16(len(out)))
		binary.BigEndian.PutUint16(out[10:12], 0)
		binary.BigEndian.PutUint16(out[10:12], Checksum(out[:20], 0))
	}
	binary.BigEndian.PutUint16(seg[16:18], 0)
	src, dst := ipAddrs(out)
	binary.BigEndian.PutUint16(seg[16:18], Checksum(seg, PseudoHeaderSum(ProtoTCP, src, dst, len(seg))))
	return out
}

func TestClampMSSCapturedSYN(t *testing.T) {
	pkt := unhex(t, httpSYN)
	if !ClampMSS(pkt, 1360) {
		t.Fatal("ClampMSS did not change the http.cap SYN")
	}
	// MSS 0x05b4 becomes 0x0550 and the TCP checksum 0xc30c becomes 0xc370
	// (recomputed independently).
	want := unhex(t, "450000300f414000800691eb91fea0ed41d0e4df"+
		"0d2c005038affe13000000007002"+"2238c3700000"+"0204055001010402")
	if string(pkt) != string(want) {
		t.Fatalf("clamped = %x\nwant      %x", pkt, want)
	}
	p := verifyChecksums(t, pkt, layers.LayerTypeIPv4)
	tcp := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
	if tcp.Options[0].OptionType != layers.TCPOptionKindMSS || binary.BigEndian.Uint16(tcp.Options[0].OptionData) != 1360 {
		t.Errorf("gopacket reads options %v", tcp.Options)
	}
	if ClampMSS(pkt, 1360) {
		t.Error("second ClampMSS changed the packet again")
	}
	for _, mss := range []uint16{1460, 1500} {
		pkt := unhex(t, httpSYN)
		if ClampMSS(pkt, mss) || string(pkt) != string(unhex(t, httpSYN)) {
			t.Errorf("ClampMSS(%d) changed a SYN with MSS 1460", mss)
		}
	}
}

func TestClampMSSIPv6(t *testing.T) {
	pkt := unhex(t, ipv6TCP)
	verifyChecksums(t, pkt, layers.LayerTypeIPv6)
	if !ClampMSS(pkt, 1220) {
		t.Fatal("ClampMSS did not change the IPv6 SYN")
	}
	p := verifyChecksums(t, pkt, layers.LayerTypeIPv6)
	tcp := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
	if got := binary.BigEndian.Uint16(tcp.Options[0].OptionData); got != 1220 {
		t.Errorf("MSS = %d, want 1220", got)
	}
}

func TestClampMSS(t *testing.T) {
	mss1460 := []byte{2, 4, 0x05, 0xb4}
	cat := func(bs ...[]byte) []byte {
		var out []byte
		for _, b := range bs {
			out = append(out, b...)
		}
		return out
	}
	tests := []struct {
		name     string
		v6       bool
		syn, ack bool
		opts     []byte
		want     bool
	}{
		{"SYN", false, true, false, cat(mss1460), true},
		{"SYN-ACK", false, true, true, cat(mss1460), true},
		{"IPv6 SYN-ACK", true, true, true, cat(mss1460), true},
		{"ACK", false, false, true, cat(mss1460), false},
		// NOP first puts the MSS value at an odd offset, straddling two
		// checksum words.
		{"odd offset", false, true, false, cat([]byte{1}, mss1460, []byte{1, 1, 1}), true},
		{"odd offset IPv6", true, true, false, cat([]byte{1}, mss1460, []byte{0, 0, 0}), true},
		{"after timestamps", false, true, false, cat([]byte{1, 1, 8, 10, 1, 2, 3, 4, 5, 6, 7, 8}, mss1460), true},
		{"no options", false, true, false, nil, false},
		{"EOL before MSS", false, true, false, cat([]byte{0, 1, 1, 1}, mss1460), false},
		{"zero length option", false, true, false, cat([]byte{8, 0, 1, 1}, mss1460), false},
		{"length 1 option", false, true, false, cat([]byte{8, 1, 1, 1}, mss1460), false},
		{"option overruns header", false, true, false, cat([]byte{1, 1, 8, 9}, mss1460), false},
		{"kind at the very end", false, true, false, []byte{1, 1, 1, 8}, false},
		{"MSS of length 3 skipped", false, true, false, cat([]byte{2, 3, 9, 1}, mss1460), true},
		{"truncated MSS", false, true, false, []byte{1, 1, 2, 4}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pkt := synWithOptions(t, tt.v6, tt.syn, tt.ack, tt.opts)
			first := layers.LayerTypeIPv4
			if tt.v6 {
				first = layers.LayerTypeIPv6
			}
			verifyChecksums(t, pkt, first)
			orig := append([]byte(nil), pkt...)
			if got := ClampMSS(pkt, 1360); got != tt.want {
				t.Fatalf("ClampMSS = %v, want %v", got, tt.want)
			}
			if !tt.want {
				if string(pkt) != string(orig) {
					t.Fatal("unchanged packet was modified")
				}
				return
			}
			p := verifyChecksums(t, pkt, first)
			if diff := diffBytes(orig, pkt); diff > 4 {
				t.Errorf("%d bytes changed, want MSS and checksum only", diff)
			}
			tcp := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
			for _, o := range tcp.Options {
				if o.OptionType == layers.TCPOptionKindMSS && o.OptionLength == 4 {
					if got := binary.BigEndian.Uint16(o.OptionData); got != 1360 {
						t.Errorf("gopacket reads MSS %d, want 1360", got)
					}
				}
			}
		})
	}
}

// diffBytes counts differing bytes of two equal-length slices.
func diffBytes(a, b []byte) int {
	n := 0
	for i := range a {
		if a[i] != b[i] {
			n++
		}
	}
	return n
}

func TestClampMSSSkips(t *testing.T) {
	mss := []byte{2, 4, 0x05, 0xb4}
	tests := []struct {
		name  string
		build func(t *testing.T) []byte
		want  bool
	}{
		{"IPv4 options", func(t *testing.T) []byte {
			// Insert NOP NOP NOP EOL as an IPv4 option (IHL 6).
			pkt := unhex(t, httpSYN)
			out := append(append(append([]byte(nil), pkt[:20]...), 1, 1, 1, 0), pkt[20:]...)
			out[0] = 0x46
			binary.BigEndian.PutUint16(out[2:4], uint16(len(out)))
			binary.BigEndian.PutUint16(out[10:12], 0)
			binary.BigEndian.PutUint16(out[10:12], Checksum(out[:24], 0))
			return out
		}, true},
		{"first fragment", func(t *testing.T) []byte {
			pkt := synWithOptions(t, false, true, false, mss)
			pkt[6] = 0x20 // MF
			return pkt
		}, true},
		{"non-first fragment", func(t *testing.T) []byte {
			pkt := synWithOptions(t, false, true, false, mss)
			pkt[6], pkt[7] = 0x00, 0x03
			return pkt
		}, false},
		{"UDP", func(t *testing.T) []byte {
			pkt := synWithOptions(t, false, true, false, mss)
			pkt[9] = ProtoUDP
			return pkt
		}, false},
		{"IPv6 hop-by-hop before TCP", func(t *testing.T) []byte {
			pkt := synWithOptions(t, true, true, false, mss)
			out := append(append(append([]byte(nil), pkt[:40]...), ProtoTCP, 0, 1, 4, 0, 0, 0, 0), pkt[40:]...)
			out[6] = ProtoHopByHop
			binary.BigEndian.PutUint16(out[4:6], uint16(len(out)-40))
			return out
		}, false},
		{"IPv4 total length beyond buffer", func(t *testing.T) []byte {
			pkt := synWithOptions(t, false, true, false, mss)
			return pkt[:len(pkt)-1]
		}, false},
		{"TCP data offset beyond segment", func(t *testing.T) []byte {
			pkt := synWithOptions(t, false, true, false, mss)
			pkt[20+12] = 0xf0
			return pkt
		}, false},
		{"TCP data offset below 5", func(t *testing.T) []byte {
			pkt := synWithOptions(t, false, true, false, mss)
			pkt[20+12] = 0x40
			return pkt
		}, false},
		{"segment shorter than TCP header", func(t *testing.T) []byte {
			pkt := unhex(t, httpSYN)[:39]
			pkt[3] = 39
			return pkt
		}, false},
		{"empty", func(t *testing.T) []byte { return nil }, false},
		{"version 5", func(t *testing.T) []byte { return []byte{0x50, 0, 0, 0} }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pkt := tt.build(t)
			if got := ClampMSS(pkt, 1360); got != tt.want {
				t.Fatalf("ClampMSS = %v, want %v", got, tt.want)
			}
			if tt.want && !tcpChecksumOK(pkt) {
				t.Error("TCP checksum does not verify after clamping")
			}
		})
	}
}

func TestClampMSSAllocs(t *testing.T) {
	pkt := unhex(t, httpSYN)
	orig := append([]byte(nil), pkt...)
	allocs := testing.AllocsPerRun(100, func() {
		copy(pkt, orig)
		ClampMSS(pkt, 1360)
	})
	if allocs != 0 {
		t.Errorf("ClampMSS allocates %v times per packet", allocs)
	}
}

func BenchmarkClampMSS(b *testing.B) {
	pkt := unhex(b, httpSYN)
	orig := append([]byte(nil), pkt...)
	b.ReportAllocs()
	for b.Loop() {
		copy(pkt, orig)
		ClampMSS(pkt, 1360)
	}
}

// BenchmarkClampMSSData measures the common case, a packet that is not a
// SYN and passes through untouched.
func BenchmarkClampMSSData(b *testing.B) {
	pkt := unhex(b, httpSYN)
	pkt[33] = 0x10 // ACK
	b.ReportAllocs()
	for b.Loop() {
		ClampMSS(pkt, 1360)
	}
}

// TestClampMSSRandom clamps random MSS values at even and odd offsets and
// checks the incremental checksum against a full recomputation.
func TestClampMSSRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 500; i++ {
		old, mss := uint16(r.Uint32()), uint16(r.Uint32())
		opt := []byte{2, 4, byte(old >> 8), byte(old)}
		if i%2 == 1 {
			opt = append([]byte{1}, append(opt, 1, 1, 0)...)
		}
		pkt := synWithOptions(t, i%4 >= 2, true, false, opt)
		changed := ClampMSS(pkt, mss)
		if changed != (old > mss) {
			t.Fatalf("old %d mss %d: changed = %v", old, mss, changed)
		}
		if !tcpChecksumOK(pkt) {
			t.Fatalf("old %d mss %d offset %d: checksum does not verify", old, mss, i%2)
		}
	}
}
