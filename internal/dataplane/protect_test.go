package dataplane

import (
	"bytes"
	"crypto/rand"
	"net/netip"
	"sync"
	"testing"

	"github.com/gresec/gresec/internal/esp"
)

// saPair returns mirrored protections for two ends: a's outbound is b's
// inbound and the other way round.
func saPair(t testing.TB, suite esp.Suite, tunnelMode bool) (a, b *Protection) {
	t.Helper()
	key := func(n int) []byte {
		k := make([]byte, n)
		_, _ = rand.Read(k)
		return k
	}
	mk := func(spi uint32) (*esp.SA, *esp.SA) {
		ek, ak := key(suite.KeyLen()), key(suite.AuthKeyLen())
		out, err := esp.NewOutbound(spi, suite, ek, ak, false)
		if err != nil {
			t.Fatal(err)
		}
		in, err := esp.NewInbound(spi, suite, ek, ak, false, 64)
		if err != nil {
			t.Fatal(err)
		}
		return out, in
	}
	abOut, abIn := mk(0x1001)
	baOut, baIn := mk(0x2002)
	return &Protection{Out: abOut, OutMu: &sync.Mutex{}, In: []*esp.SA{baIn}, TunnelMode: tunnelMode},
		&Protection{Out: baOut, OutMu: &sync.Mutex{}, In: []*esp.SA{abIn}, TunnelMode: tunnelMode}
}

// protectedPair builds two protected tunnels facing each other.
func protectedPair(t testing.TB, suite esp.Suite, tunnelMode bool) (a, b *Tunnel, aUL, bUL *fakeUnderlay, bOV *fakeOverlay, bRef bool) {
	pa := baseParams()
	pa.Protected = true
	pb := pa
	pb.Local, pb.Remote = pa.Remote, pa.Local
	a, _, _, _ = newTestTunnel(pa)
	b, bOV, _, _ = newTestTunnel(pb)
	aUL, bUL = &fakeUnderlay{}, &fakeUnderlay{}
	testPort(a, aUL)
	bRef = testPort(b, bUL)
	protA, protB := saPair(t, suite, tunnelMode)
	a.SetProtection(protA)
	b.SetProtection(protB)
	return
}

func TestProtectedRoundTrip(t *testing.T) {
	for _, suite := range []esp.Suite{
		{Cipher: esp.AES256CBC, Integrity: esp.HMACSHA384},
		{Cipher: esp.AES256GCM},
		{Cipher: esp.AES128CBC, Integrity: esp.HMACSHA1},
	} {
		for _, tunnelMode := range []bool{false, true} {
			t.Run(suite.String()+map[bool]string{false: " transport", true: " tunnel"}[tunnelMode], func(t *testing.T) {
				a, b, aUL, _, bOV, bRef := protectedPair(t, suite, tunnelMode)
				inner := unhex(t, icmpEcho)
				bufs, sizes := overlayBatch(inner, inner)
				a.encapBatch(newEncapState(16), bufs, sizes)
				if len(aUL.sent) != 2 || a.C.Load(Encrypted) != 2 {
					t.Fatalf("sent %d ESP packets, encrypted %d", len(aUL.sent), a.C.Load(Encrypted))
				}
				// What leaves is ESP: the SPI, then nothing readable.
				if !bytes.Equal(aUL.sent[0][:4], []byte{0, 0, 0x10, 0x01}) || bytes.Contains(aUL.sent[0], inner[12:20]) {
					t.Fatalf("not an ESP packet of SPI 0x1001, or inner addresses in clear: %x", aUL.sent[0])
				}
				payloadLen := len(inner) + 4 // GRE
				if tunnelMode {
					payloadLen += 20 // the outer IPv4 header inside ESP
				}
				if got, want := len(aUL.sent[0])-payloadLen, suite.Overhead(payloadLen); got != want {
					t.Errorf("ESP overhead %d, suite says %d", got, want)
				}
				pkts := []Packet{underlayPacket(aUL.sent[0]), underlayPacket(aUL.sent[1])}
				b.decapBatch(&decapState{}, bRef, pkts)
				if len(bOV.written) != 2 || !bytes.Equal(bOV.written[0], inner) {
					t.Fatalf("b got %x, want the inner packet twice", bOV.written)
				}
				// Replayed: dropped and counted.
				replay := underlayPacket(aUL.sent[0])
				b.decapBatch(&decapState{}, bRef, []Packet{replay})
				if b.C.Load(InReplayDrops) != 1 || len(bOV.written) != 2 {
					t.Errorf("replay accepted: counters %+v", b.C.Snapshot())
				}
				// Tampered: dropped and counted.
				bufs, sizes = overlayBatch(inner)
				a.encapBatch(newEncapState(16), bufs, sizes)
				tampered := append([]byte(nil), aUL.sent[2]...)
				tampered[len(tampered)/2] ^= 0x40
				b.decapBatch(&decapState{}, bRef, []Packet{underlayPacket(tampered)})
				if b.C.Load(InAuthFailures) != 1 || len(bOV.written) != 2 {
					t.Errorf("tampered packet accepted: counters %+v", b.C.Snapshot())
				}
				// Unknown SPI.
				unknown := append([]byte(nil), aUL.sent[2]...)
				unknown[3] = 0x77
				b.decapBatch(&decapState{}, bRef, []Packet{underlayPacket(unknown)})
				if b.C.Load(InNoSA) != 1 {
					t.Errorf("unknown SPI not counted: %+v", b.C.Snapshot())
				}
			})
		}
	}
}

func TestProtectedKeepaliveReflectedThroughSA(t *testing.T) {
	a, b, aUL, bUL, _, bRef := protectedPair(t, esp.Suite{Cipher: esp.AES256CBC, Integrity: esp.HMACSHA384}, false)
	if err := a.SendKeepalive(); err != nil {
		t.Fatal(err)
	}
	if len(aUL.sent) != 1 || a.C.Load(Encrypted) != 0 && aUL.sent[0][0] != 0 {
		t.Fatalf("keepalive: %x", aUL.sent)
	}
	b.decapBatch(&decapState{}, bRef, []Packet{underlayPacket(aUL.sent[0])})
	if len(bUL.sent) != 1 || b.C.Load(KeepalivesReflected) != 1 {
		t.Fatalf("b reflected %d packets", len(bUL.sent))
	}
	if !bytes.Equal(bUL.sent[0][:4], []byte{0, 0, 0x20, 0x02}) {
		t.Fatalf("reflection did not go through b's SA: %x", bUL.sent[0])
	}
	aRef := true
	a.decapBatch(&decapState{}, aRef, []Packet{underlayPacket(bUL.sent[0])})
	if a.C.Load(KeepaliveReplies) != 1 {
		t.Fatalf("a saw no keepalive reply: %+v", a.C.Snapshot())
	}
}

func TestProtectedNoAllocations(t *testing.T) {
	a, b, _, _, _, bRef := protectedPair(t, esp.Suite{Cipher: esp.AES256GCM}, false)
	testPort(a, &countingUnderlay{})
	bufs, sizes := overlayBatch(unhex(t, icmpEcho), fixIPv4Checksums(unhex(t, tcpSYN)))
	e := newEncapState(16)
	if n := testing.AllocsPerRun(100, func() { a.encapBatch(e, bufs, sizes) }); n != 0 {
		t.Errorf("protected encapsulation allocates %.1f times per batch", n)
	}
	// Open allocates nothing either: feed b fresh packets from a.
	ul := &fakeUnderlay{}
	testPort(a, ul)
	for range 101 {
		bufs, sizes := overlayBatch(unhex(t, icmpEcho))
		a.encapBatch(e, bufs, sizes)
	}
	pkts := make([]Packet, len(ul.sent))
	for i, s := range ul.sent {
		pkts[i] = underlayPacket(s)
	}
	b.ov = &countingOverlay{}
	d := &decapState{out: make([][]byte, 0, 16), reflect: make([]reflection, 0, 16), frames: make([][]byte, 0, 16)}
	i := 0
	if n := testing.AllocsPerRun(100, func() { b.decapBatch(d, bRef, pkts[i:i+1]); i++ }); n != 0 {
		t.Errorf("protected decapsulation allocates %.1f times per batch", n)
	}
	if b.C.Load(Decrypted) < 100 {
		t.Errorf("decrypted %d, want 101", b.C.Load(Decrypted))
	}
}

func TestTunnelModeRejectsForeignInner(t *testing.T) {
	// A peer's SA carrying an inner IPv4 packet that is not this tunnel's
	// GRE (wrong addresses) is dropped as a policy violation.
	a, b, aUL, _, bOV, bRef := protectedPair(t, esp.Suite{Cipher: esp.AES256GCM}, true)
	p := a.Params()
	p.Local = mustAddr("198.51.100.9")
	a.SetParams(p)
	bufs, sizes := overlayBatch(unhex(t, icmpEcho))
	a.encapBatch(newEncapState(16), bufs, sizes)
	b.decapBatch(&decapState{}, bRef, []Packet{underlayPacket(aUL.sent[0])})
	if len(bOV.written) != 0 || b.C.Load(InPolicyDrops) != 1 {
		t.Errorf("foreign inner header accepted: %+v", b.C.Snapshot())
	}
}

// TestSoftLimitSignalledOnce: when the SAs in use cross a soft volume
// limit, the data plane tells the control plane at once (the router's
// passes came too late: only a tenth of the volume lies between soft and
// hard), and once per Protection however many batches follow.
func TestSoftLimitSignalledOnce(t *testing.T) {
	a, b, aUL, _, _, bRef := protectedPair(t, esp.Suite{Cipher: esp.AES256GCM}, false)
	var aSoft, bSoft int
	a.env.SoftLimit = func() { aSoft++ }
	b.env.SoftLimit = func() { bSoft++ }
	a.Protection().Out.SetLifetime(esp.Lifetime{SoftBytes: 100, HardBytes: 1000})
	b.Protection().In[0].SetLifetime(esp.Lifetime{SoftBytes: 100, HardBytes: 1000})
	e := newEncapState(16)
	for range 5 {
		bufs, sizes := overlayBatch(unhex(t, icmpEcho))
		a.encapBatch(e, bufs, sizes)
	}
	if aSoft != 1 {
		t.Errorf("sender: soft limit signalled %d times over 140 bytes (soft 100), want 1", aSoft)
	}
	for _, pkt := range aUL.sent {
		b.decapBatch(&decapState{}, bRef, []Packet{underlayPacket(pkt)})
	}
	if bSoft != 1 {
		t.Errorf("receiver: soft limit signalled %d times, want 1", bSoft)
	}
}

// TestProtectedOverIPv6: between IPv6 endpoints ESP in tunnel mode wraps
// the GRE frame in an IPv6 header (next header 41 in the ESP trailer),
// and the receiver takes it apart; transport mode works as over IPv4.
func TestProtectedOverIPv6(t *testing.T) {
	a6, b6 := netip.MustParseAddr("2001:db8:ffff::1"), netip.MustParseAddr("2001:db8:ffff::2")
	for _, tunnelMode := range []bool{false, true} {
		suite := esp.Suite{Cipher: esp.AES256GCM}
		pa := baseParams()
		pa.Protected, pa.Local, pa.Remote = true, a6, b6
		pb := pa
		pb.Local, pb.Remote = b6, a6
		a, _, _, _ := newTestTunnel(pa)
		b, bOV, _, _ := newTestTunnel(pb)
		aUL := &fakeUnderlay{}
		testPort(a, aUL)
		bRef := testPort(b, &fakeUnderlay{})
		protA, protB := saPair(t, suite, tunnelMode)
		a.SetProtection(protA)
		b.SetProtection(protB)
		inner := ipv6Echo(100)
		bufs, sizes := overlayBatch(inner)
		a.encapBatch(newEncapState(16), bufs, sizes)
		if len(aUL.sent) != 1 {
			t.Fatalf("tunnel mode %v: sent %d", tunnelMode, len(aUL.sent))
		}
		payloadLen := len(inner) + 4
		if tunnelMode {
			payloadLen += 40 // the IPv6 header inside ESP
		}
		if got, want := len(aUL.sent[0])-payloadLen, suite.Overhead(payloadLen); got != want {
			t.Errorf("tunnel mode %v: ESP overhead %d, want %d", tunnelMode, got, want)
		}
		pk := underlayPacket(aUL.sent[0])
		pk.Src = netip.AddrPortFrom(a6, 0)
		b.decapBatch(&decapState{}, bRef, []Packet{pk})
		if len(bOV.written) != 1 || !bytes.Equal(bOV.written[0], inner) {
			t.Errorf("tunnel mode %v: b got %x, want the inner packet", tunnelMode, bOV.written)
		}
	}
}

// TestHardLimitSignalledOnce: the outbound SA's hard limit is signalled
// once more, so that the router moves outbound to a replacement at once
// instead of dropping until its next pass.
func TestHardLimitSignalledOnce(t *testing.T) {
	a, _, _, _, _, _ := protectedPair(t, esp.Suite{Cipher: esp.AES256GCM}, false)
	var calls int
	a.env.SoftLimit = func() { calls++ }
	a.Protection().Out.SetLifetime(esp.Lifetime{SoftBytes: 50, HardBytes: 100})
	e := newEncapState(16)
	for range 8 {
		bufs, sizes := overlayBatch(unhex(t, icmpEcho))
		a.encapBatch(e, bufs, sizes)
	}
	if !a.Protection().Out.Expired() {
		t.Fatal("the outbound SA did not reach its hard limit")
	}
	if calls != 2 {
		t.Errorf("SoftLimit called %d times through soft and hard limits, want 2", calls)
	}
}
