package dataplane

import (
	"bytes"
	"encoding/hex"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/gresec/gresec/internal/gre"
	"github.com/gresec/gresec/internal/packet"
)

// fakeOverlay records what the tunnel writes; Read blocks until Close.
type fakeOverlay struct {
	untilClosed
	written [][]byte
}

func (f *fakeOverlay) Read([][]byte, []int, int) (int, error) { return f.ReadBatch(nil) }
func (f *fakeOverlay) BatchSize() int                         { return 16 }
func (f *fakeOverlay) Write(bufs [][]byte, offset int) (int, error) {
	for _, b := range bufs {
		if offset < 10 {
			panic("overlay write offset leaves no room for the virtio header")
		}
		f.written = append(f.written, append([]byte(nil), b[offset:]...))
	}
	return len(bufs), nil
}

// untilClosed is the read side of a fake underlay that never receives:
// ReadBatch blocks until Close, as a socket's does.
type untilClosed struct {
	once, closeOnce sync.Once
	ch              chan struct{}
}

func (u *untilClosed) c() chan struct{} {
	u.once.Do(func() { u.ch = make(chan struct{}) })
	return u.ch
}

func (u *untilClosed) ReadBatch([]Packet) (int, error) {
	<-u.c()
	return 0, net.ErrClosed
}

func (u *untilClosed) Close() error {
	u.closeOnce.Do(func() { close(u.c()) })
	return nil
}

type fakeUnderlay struct {
	untilClosed
	sent [][]byte
	tos  []byte
}

func (f *fakeUnderlay) BatchSize() int { return 16 }
func (f *fakeUnderlay) WriteBatch(bufs [][]byte, tos []byte) (int, error) {
	for i, b := range bufs {
		f.sent = append(f.sent, append([]byte(nil), b...))
		t := byte(0)
		if tos != nil {
			t = tos[i]
		}
		f.tos = append(f.tos, t)
	}
	return len(bufs), nil
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var (
	local  = netip.MustParseAddr("192.0.2.1")
	remote = netip.MustParseAddr("192.0.2.2")
)

// An ICMP echo request 10.1.0.10 -> 10.2.0.10, DF set, 28 bytes.
const icmpEcho = "45000020 0001 4000 40 01 0000 0a01000a 0a02000a 0800f7ff 0000 0000 00000000 00000000"

// idlePort is a port without a reading goroutine: tests call decapBatch
// themselves.
func idlePort(esp bool) *Port {
	p := &Port{ref: newUnderlayRef(nil, esp), esp: esp}
	close(p.ref.done)
	p.peers = map[netip.Addr][]*Tunnel{}
	return p
}

// testPort attaches t to an idle ESP port sending through u; decapBatch
// calls then say esp (true).
func testPort(t *Tunnel, u Underlay) bool {
	idlePort(true).Attach(t, u)
	return true
}

// newTestTunnel returns an up tunnel on an idle GRE port over a fake
// underlay; its last result is the esp argument of decapBatch (false).
func newTestTunnel(p Params) (*Tunnel, *fakeOverlay, *fakeUnderlay, bool) {
	ov := &fakeOverlay{}
	ul := &fakeUnderlay{}
	t := New(ov, p, Env{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	idlePort(false).Attach(t, ul)
	t.SetUp(true)
	return t, ov, ul, false
}

func baseParams() Params {
	return Params{Name: "Tunnel0", Local: local, Remote: remote, MTU: 1400, ICMPSource: netip.MustParseAddr("10.255.0.1")}
}

// overlayBatch puts packets where the TUN device would: at Headroom.
func overlayBatch(pkts ...[]byte) ([][]byte, []int) {
	bufs := make([][]byte, len(pkts))
	sizes := make([]int, len(pkts))
	for i, p := range pkts {
		bufs[i] = make([]byte, Headroom+maxInner+tailroom)
		sizes[i] = copy(bufs[i][Headroom:], p)
	}
	return bufs, sizes
}

func TestEncapsulateWithKey(t *testing.T) {
	p := baseParams()
	p.HasKey, p.Key = true, 0x01020304
	tun, _, ul, _ := newTestTunnel(p)
	inner := unhex(t, icmpEcho)
	bufs, sizes := overlayBatch(inner)
	tun.encapBatch(newEncapState(16), bufs, sizes)
	if len(ul.sent) != 1 {
		t.Fatalf("sent %d datagrams, want 1", len(ul.sent))
	}
	// RFC 2890: flags 0x2000 (K), protocol 0x0800, key.
	want := append(unhex(t, "2000 0800 01020304"), inner...)
	if !bytes.Equal(ul.sent[0], want) {
		t.Errorf("GRE datagram\n got %x\nwant %x", ul.sent[0], want)
	}
	if s := tun.C.Snapshot(); s[OutPackets] != 1 || s[OutBytes] != uint64(len(inner)) {
		t.Errorf("counters %+v", s)
	}
}

func TestEncapsulateSequence(t *testing.T) {
	p := baseParams()
	p.Sequence = true
	tun, _, ul, _ := newTestTunnel(p)
	bufs, sizes := overlayBatch(unhex(t, icmpEcho), unhex(t, icmpEcho))
	tun.encapBatch(newEncapState(16), bufs, sizes)
	for i, d := range ul.sent {
		h, _, err := gre.Decode(d)
		if err != nil || !h.HasSeq || h.Seq != uint32(i) {
			t.Errorf("datagram %d: %+v %v, want sequence %d", i, h, err, i)
		}
	}
}

func TestFailClosed(t *testing.T) {
	p := baseParams()
	p.Protected = true
	tun, ov, ul, ref := newTestTunnel(p)
	bufs, sizes := overlayBatch(unhex(t, icmpEcho))
	tun.encapBatch(newEncapState(16), bufs, sizes)
	if len(ul.sent) != 0 || tun.C.Load(OutNoSADrops) != 1 {
		t.Fatalf("protected tunnel without SA sent %d datagrams, dropped %d", len(ul.sent), tun.C.Load(OutNoSADrops))
	}
	// Clear GRE from the peer is dropped too.
	pk := underlayPacket(append(unhex(t, "0000 0800"), unhex(t, icmpEcho)...))
	tun.decapBatch(&decapState{}, ref, []Packet{pk})
	if len(ov.written) != 0 || tun.C.Load(InClearDrops) != 1 {
		t.Fatalf("clear GRE on a protected tunnel: %d written, %d dropped", len(ov.written), tun.C.Load(InClearDrops))
	}
}

func TestLineProtocolDownDrops(t *testing.T) {
	tun, _, ul, _ := newTestTunnel(baseParams())
	tun.SetUp(false)
	bufs, sizes := overlayBatch(unhex(t, icmpEcho))
	tun.encapBatch(newEncapState(16), bufs, sizes)
	if len(ul.sent) != 0 || tun.C.Load(OutDownDrops) != 1 {
		t.Fatal("a down tunnel sent a packet")
	}
}

func TestRecursionDrop(t *testing.T) {
	tun, _, ul, _ := newTestTunnel(baseParams())
	// A GRE packet from the tunnel source to its destination, coming back
	// out of the tunnel device: encapsulating it would loop.
	own := unhex(t, "45000018 0001 0000 40 2f 0000 c0000201 c0000202 0000 0800")
	bufs, sizes := overlayBatch(own)
	tun.encapBatch(newEncapState(16), bufs, sizes)
	if len(ul.sent) != 0 || tun.C.Load(OutRecursionDrops) != 1 {
		t.Fatal("own underlay packet was encapsulated into its own tunnel")
	}
}

func TestTooBigGetsICMP(t *testing.T) {
	p := baseParams()
	p.MTU = 576
	tun, ov, ul, _ := newTestTunnel(p)
	big := make([]byte, 1000)
	copy(big, unhex(t, icmpEcho))
	big[2], big[3] = 0x03, 0xe8 // total length 1000
	bufs, sizes := overlayBatch(big)
	tun.encapBatch(newEncapState(16), bufs, sizes)
	if len(ul.sent) != 0 {
		t.Fatal("packet above the MTU with DF was sent")
	}
	if len(ov.written) != 1 {
		t.Fatalf("%d ICMP errors written back, want 1", len(ov.written))
	}
	h, err := packet.ParseIPv4(ov.written[0])
	if err != nil || h.Protocol != packet.ProtoICMP || h.Dst != netip.MustParseAddr("10.1.0.10") || h.Src != p.ICMPSource {
		t.Fatalf("ICMP error header %+v %v", h, err)
	}
	icmp := ov.written[0][h.HeaderLen:]
	if icmp[0] != 3 || icmp[1] != 4 || int(icmp[6])<<8|int(icmp[7]) != 576 {
		t.Errorf("ICMP type %d code %d mtu %d, want 3/4/576", icmp[0], icmp[1], int(icmp[6])<<8|int(icmp[7]))
	}
}

// A TCP SYN 10.1.0.10:40000 -> 10.2.0.10:80 with MSS 1460.
const tcpSYN = "4500002c 0001 4000 40 06 0000 0a01000a 0a02000a 9c40 0050 00000001 00000000 6002 ffff 0000 0000 020405b4"

func fixIPv4Checksums(b []byte) []byte {
	b[10], b[11] = 0, 0
	c := packet.Checksum(b[:20], 0)
	b[10], b[11] = byte(c>>8), byte(c)
	seg := b[20:]
	seg[16], seg[17] = 0, 0
	src, _ := netip.AddrFromSlice(b[12:16])
	dst, _ := netip.AddrFromSlice(b[16:20])
	tc := packet.Checksum(seg, packet.PseudoHeaderSum(packet.ProtoTCP, src, dst, len(seg)))
	seg[16], seg[17] = byte(tc>>8), byte(tc)
	return b
}

func TestAdjustMSSBothWays(t *testing.T) {
	p := baseParams()
	p.AdjustMSS = 1360
	tun, ov, ul, ref := newTestTunnel(p)
	syn := fixIPv4Checksums(unhex(t, tcpSYN))
	bufs, sizes := overlayBatch(syn)
	tun.encapBatch(newEncapState(16), bufs, sizes)
	if len(ul.sent) != 1 {
		t.Fatal("SYN not sent")
	}
	if mss := ul.sent[0][4+40+2:][:2]; mss[0] != 0x05 || mss[1] != 0x50 {
		t.Errorf("outbound MSS %x, want 0550 (1360)", mss)
	}
	pk := underlayPacket(append(unhex(t, "0000 0800"), fixIPv4Checksums(unhex(t, tcpSYN))...))
	tun.decapBatch(&decapState{}, ref, []Packet{pk})
	if len(ov.written) != 1 {
		t.Fatal("SYN not decapsulated")
	}
	if mss := ov.written[0][40+2:][:2]; mss[0] != 0x05 || mss[1] != 0x50 {
		t.Errorf("inbound MSS %x, want 0550 (1360)", mss)
	}
	if got := tun.C.Load(MSSClamped); got != 2 {
		t.Errorf("MSSClamped = %d, want 2", got)
	}
}

// underlayPacket lays a GRE datagram out as a raw socket delivers it: after
// a 20-byte outer IPv4 header in a large buffer.
func underlayPacket(greDatagram []byte) Packet {
	buf := make([]byte, underlayBufSize)
	n := copy(buf[20:], greDatagram)
	return Packet{Buf: buf, Payload: buf[20 : 20+n], Src: netip.AddrPortFrom(remote, 0)}
}

func TestDecapsulate(t *testing.T) {
	p := baseParams()
	p.HasKey, p.Key = true, 7
	tun, ov, _, ref := newTestTunnel(p)
	inner := unhex(t, icmpEcho)
	good := underlayPacket(append(unhex(t, "2000 0800 00000007"), inner...))
	wrongKey := underlayPacket(append(unhex(t, "2000 0800 00000008"), inner...))
	noKey := underlayPacket(append(unhex(t, "0000 0800"), inner...))
	garbage := underlayPacket(unhex(t, "ff"))
	tun.decapBatch(&decapState{}, ref, []Packet{good, wrongKey, noKey, garbage})
	if len(ov.written) != 1 || !bytes.Equal(ov.written[0], inner) {
		t.Fatalf("overlay got %x, want exactly the inner packet", ov.written)
	}
	s := tun.C.Snapshot()
	if s[InPackets] != 1 || s[InKeyMismatch] != 2 || s[InMalformed] != 1 {
		t.Errorf("counters %+v", s)
	}
}

func TestKeepaliveReflectAndReply(t *testing.T) {
	replies := 0
	tun, ov, ul, ref := newTestTunnel(baseParams())
	tun.env.KeepaliveReply = func() { replies++ }
	// An IOS keepalive from the peer: outer GRE 0x0800 carrying IPv4
	// 192.0.2.1 <- 192.0.2.2 proto 47 TTL 255 with GRE protocol 0.
	inner := unhex(t, "45000018 0000 0000 ff 2f 0000 c0000202 c0000201 0000 0000")
	c := packet.Checksum(inner[:20], 0)
	inner[10], inner[11] = byte(c>>8), byte(c)
	ka := underlayPacket(append(unhex(t, "0000 0800"), inner...))
	reply := underlayPacket(unhex(t, "0000 0000"))
	tun.decapBatch(&decapState{}, ref, []Packet{ka, reply})
	if len(ul.sent) != 1 || !bytes.Equal(ul.sent[0], unhex(t, "0000 0000")) {
		t.Fatalf("reflected %x, want the inner GRE header 00000000", ul.sent)
	}
	if len(ov.written) != 0 {
		t.Error("a keepalive reached the overlay")
	}
	if replies != 1 || tun.C.Load(KeepaliveReplies) != 1 || tun.C.Load(KeepalivesReflected) != 1 {
		t.Errorf("replies=%d counters %+v", replies, tun.C.Snapshot())
	}
}

func TestSendKeepalive(t *testing.T) {
	tun, _, ul, _ := newTestTunnel(baseParams())
	if err := tun.SendKeepalive(); err != nil {
		t.Fatal(err)
	}
	// GRE 0x0800, then inner IPv4 192.0.2.2 -> 192.0.2.1 proto 47 TTL 255,
	// then GRE protocol 0: 4 + 24 bytes, as IOS sends it.
	d := ul.sent[0]
	if len(d) != 28 {
		t.Fatalf("keepalive is %d bytes, want 28: %x", len(d), d)
	}
	h, inner, err := gre.Decode(d)
	if err != nil || h.Protocol != gre.ProtoIPv4 {
		t.Fatalf("outer GRE %+v %v", h, err)
	}
	ip, err := packet.ParseIPv4(inner)
	if err != nil || ip.Src != remote || ip.Dst != local || ip.TTL != 255 || ip.Protocol != 47 {
		t.Fatalf("inner IPv4 %+v %v", ip, err)
	}
}

func TestNoAllocationsPerPacket(t *testing.T) {
	p := baseParams()
	p.HasKey, p.Key, p.AdjustMSS = true, 7, 1360
	tun, _, _, ref := newTestTunnel(p)
	idlePort(false).Attach(tun, &countingUnderlay{})
	bufs, sizes := overlayBatch(fixIPv4Checksums(unhex(t, tcpSYN)), unhex(t, icmpEcho))
	e := newEncapState(16)
	if a := testing.AllocsPerRun(100, func() { tun.encapBatch(e, bufs, sizes) }); a != 0 {
		t.Errorf("encapsulation allocates %.1f times per batch", a)
	}
	pkts := []Packet{
		underlayPacket(append(unhex(t, "2000 0800 00000007"), unhex(t, icmpEcho)...)),
		underlayPacket(append(unhex(t, "2000 0800 00000007"), fixIPv4Checksums(unhex(t, tcpSYN))...)),
	}
	tun.ov = &countingOverlay{}
	d := &decapState{out: make([][]byte, 0, 16), reflect: make([]reflection, 0, 16), frames: make([][]byte, 0, 16)}
	if a := testing.AllocsPerRun(100, func() { tun.decapBatch(d, ref, pkts) }); a != 0 {
		t.Errorf("decapsulation allocates %.1f times per batch", a)
	}
}

type countingUnderlay struct {
	untilClosed
	n int
}

func (c *countingUnderlay) BatchSize() int { return 16 }
func (c *countingUnderlay) WriteBatch(bufs [][]byte, _ []byte) (int, error) {
	c.n += len(bufs)
	return len(bufs), nil
}

type countingOverlay struct{ n int }

func (c *countingOverlay) Read([][]byte, []int, int) (int, error) { select {} }
func (c *countingOverlay) BatchSize() int                         { return 16 }
func (c *countingOverlay) Write(bufs [][]byte, _ int) (int, error) {
	c.n += len(bufs)
	return len(bufs), nil
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

// The outer header carries the inner packet's DSCP (as IOS copies the ToS
// into the delivery header), with ECN cleared; keepalives go with 0.
func TestOuterDSCPFromInner(t *testing.T) {
	tun, _, ul, _ := newTestTunnel(baseParams())
	ef := unhex(t, icmpEcho)
	ef[1] = 0xbb // EF with ECN CE
	be := unhex(t, icmpEcho)
	bufs, sizes := overlayBatch(ef, be)
	tun.encapBatch(newEncapState(16), bufs, sizes)
	if len(ul.tos) != 2 || ul.tos[0] != 0xb8 || ul.tos[1] != 0 {
		t.Errorf("outer ToS %x, want [b8 00]", ul.tos)
	}
	if err := tun.SendKeepalive(); err != nil {
		t.Fatal(err)
	}
	if ul.tos[2] != 0 {
		t.Errorf("keepalive ToS %x, want 0", ul.tos[2])
	}
}

// ipv6Echo is an ICMPv6 echo request 2001:db8:1::10 -> 2001:db8:2::10 with
// size bytes in all.
func ipv6Echo(size int) []byte {
	b := make([]byte, size)
	b[0] = 0x60
	b[4], b[5] = byte((size-40)>>8), byte(size-40)
	b[6], b[7] = 58, 64 // ICMPv6, hop limit
	copy(b[8:24], netip.MustParseAddr("2001:db8:1::10").AsSlice())
	copy(b[24:40], netip.MustParseAddr("2001:db8:2::10").AsSlice())
	b[40] = 128 // echo request
	return b
}

// TestIPv6TooBigGetsPacketTooBig: IPv6 above the tunnel MTU draws an
// ICMPv6 Packet Too Big from the router's IPv6 address (it used to be
// dropped silently: path MTU discovery black-holed).
func TestIPv6TooBigGetsPacketTooBig(t *testing.T) {
	p := baseParams()
	p.ICMPSource6 = netip.MustParseAddr("2001:db8:ff::1")
	tun, ov, ul, _ := newTestTunnel(p)
	bufs, sizes := overlayBatch(ipv6Echo(1500))
	tun.encapBatch(newEncapState(16), bufs, sizes)
	if len(ul.sent) != 0 {
		t.Fatal("IPv6 packet above the MTU was sent")
	}
	if len(ov.written) != 1 {
		t.Fatalf("%d ICMPv6 errors written back, want 1", len(ov.written))
	}
	h, err := packet.ParseIPv6(ov.written[0])
	if err != nil || h.NextHeader != packet.ProtoICMPv6 || h.Src != p.ICMPSource6 || h.Dst != netip.MustParseAddr("2001:db8:1::10") {
		t.Fatalf("ICMPv6 header %+v %v", h, err)
	}
	icmp := ov.written[0][40:]
	if mtu := int(icmp[4])<<24 | int(icmp[5])<<16 | int(icmp[6])<<8 | int(icmp[7]); icmp[0] != 2 || mtu != p.MTU {
		t.Errorf("ICMPv6 type %d mtu %d, want 2 (Packet Too Big) and %d", icmp[0], mtu, p.MTU)
	}
	if n := tun.C.Load(OutTooBig); n != 1 {
		t.Errorf("OutTooBig = %d, want 1", n)
	}
}

// TestIPv6MinimumMTUAlwaysSent: below 1280 bytes IPv6 goes through a
// tunnel with a smaller MTU (fragmented outside), as every IPv6 link must
// carry 1280 bytes.
func TestIPv6MinimumMTUAlwaysSent(t *testing.T) {
	p := baseParams()
	p.MTU = 1000
	p.ICMPSource6 = netip.MustParseAddr("2001:db8:ff::1")
	tun, ov, ul, _ := newTestTunnel(p)
	bufs, sizes := overlayBatch(ipv6Echo(1280))
	tun.encapBatch(newEncapState(16), bufs, sizes)
	if len(ul.sent) != 1 || len(ov.written) != 0 {
		t.Fatalf("sent %d, ICMPv6 errors %d; want 1 and 0", len(ul.sent), len(ov.written))
	}
}

// ipv6SYN is a TCP SYN over IPv6 offering an MSS of 1440.
func ipv6SYN() []byte {
	b := make([]byte, 40+24)
	b[0] = 0x60
	b[5] = 24
	b[6], b[7] = packet.ProtoTCP, 64
	copy(b[8:24], netip.MustParseAddr("2001:db8:1::10").AsSlice())
	copy(b[24:40], netip.MustParseAddr("2001:db8:2::10").AsSlice())
	tcp := b[40:]
	tcp[12] = 6 << 4 // data offset: 24 bytes
	tcp[13] = 0x02   // SYN
	copy(tcp[20:], []byte{2, 4, 0x05, 0xa0})
	return b
}

// TestIPv6MTUAndMSSApartFromIPv4: ipv6 mtu and ipv6 tcp adjust-mss apply
// to IPv6 and ip mtu and ip tcp adjust-mss to IPv4, as on IOS.
func TestIPv6MTUAndMSSApartFromIPv4(t *testing.T) {
	p := baseParams()
	p.MTU, p.MTU6, p.AdjustMSS, p.AdjustMSS6 = 1420, 1400, 1360, 1340
	p.ICMPSource6 = netip.MustParseAddr("2001:db8:ff::1")
	tun, ov, ul, _ := newTestTunnel(p)
	bufs, sizes := overlayBatch(ipv6Echo(1410), ipv6SYN(), fixIPv4Checksums(unhex(t, tcpSYN)))
	tun.encapBatch(newEncapState(16), bufs, sizes)
	if len(ov.written) != 1 {
		t.Fatalf("%d ICMPv6 errors for an IPv6 packet of 1410 bytes with ipv6 mtu 1400, want 1", len(ov.written))
	}
	icmp := ov.written[0][40:]
	if mtu := int(icmp[6])<<8 | int(icmp[7]); icmp[0] != 2 || mtu != 1400 {
		t.Errorf("ICMPv6 type %d mtu %d, want Packet Too Big with 1400", icmp[0], mtu)
	}
	if len(ul.sent) != 2 {
		t.Fatalf("%d packets sent, want the two SYNs", len(ul.sent))
	}
	if mss := ul.sent[0][4+60+2:][:2]; mss[0] != 0x05 || mss[1] != 0x3c {
		t.Errorf("IPv6 SYN MSS %x, want 053c (1340)", mss)
	}
	if mss := ul.sent[1][4+40+2:][:2]; mss[0] != 0x05 || mss[1] != 0x50 {
		t.Errorf("IPv4 SYN MSS %x, want 0550 (1360)", mss)
	}
	// Inbound the same: an IPv6 SYN from the peer gets the IPv6 clamp.
	pk := underlayPacket(append(unhex(t, "0000 86dd"), ipv6SYN()...))
	tun.decapBatch(&decapState{}, false, []Packet{pk})
	if len(ov.written) != 2 {
		t.Fatal("IPv6 SYN not decapsulated")
	}
	if mss := ov.written[1][60+2:][:2]; mss[0] != 0x05 || mss[1] != 0x3c {
		t.Errorf("inbound IPv6 SYN MSS %x, want 053c (1340)", mss)
	}
}
