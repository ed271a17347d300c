package dataplane_test

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gresec/gresec/internal/dataplane"
	"github.com/gresec/gresec/internal/dataplane/dataplanetest"
	"github.com/gresec/gresec/internal/esp"
)

var (
	left  = netip.MustParseAddr("192.0.2.1")
	right = netip.MustParseAddr("192.0.2.2")
	quiet = slog.New(slog.NewTextHandler(io.Discard, nil))
)

// echo is an ICMP echo request 10.1.0.10 -> 10.2.0.10 (28 bytes).
var echo, _ = hex.DecodeString("450000200001400040010000" + "0a01000a0a02000a" + "0800f7ff000000000000000000000000")

// transient are the read errors a loop must survive: a peer's closed port
// (ICMP port unreachable), no route, an interrupted call, a full buffer.
var transient = []syscall.Errno{syscall.ECONNREFUSED, syscall.EHOSTUNREACH, syscall.ENETUNREACH, syscall.EINTR, syscall.ENOBUFS}

func params(local, remote netip.Addr, protected bool) dataplane.Params {
	return dataplane.Params{Name: "Tunnel0", Local: local, Remote: remote, MTU: 1400, Protected: protected}
}

// receive waits for one packet on ch.
func receive(t *testing.T, ch <-chan []byte, what string) []byte {
	t.Helper()
	select {
	case p := <-ch:
		return p
	case <-time.After(5 * time.Second):
		t.Fatalf("no %s within 5 s", what)
		return nil
	}
}

// TestGREReadLoopSurvivesTransientErrors: a failed read of the underlay
// (here each transient errno in turn) is counted and retried; the loop
// goes on delivering packets and ends only when the underlay is closed.
func TestGREReadLoopSurvivesTransientErrors(t *testing.T) {
	ov := dataplanetest.NewOverlay(16)
	ul := dataplanetest.NewUnderlay(16)
	tun := dataplane.New(ov, params(left, right, false), dataplane.Env{}, quiet)
	tun.SetUp(true)
	tun.SetUnderlay(ul)
	frame := append([]byte{0, 0, 0x08, 0}, echo...) // GRE, protocol IPv4
	for _, errno := range transient {
		ul.Errs <- os.NewSyscallError("recvmmsg", errno)
		ul.In <- dataplanetest.Datagram{Payload: frame, Src: netip.AddrPortFrom(right, 0)}
		if got := receive(t, ov.Out, "decapsulated packet after "+errno.Error()); !bytes.Equal(got, echo) {
			t.Fatalf("after %v: overlay got %x, want %x", errno, got, echo)
		}
	}
	tun.Close()
	if !ul.Closed() || ul.Reading.Load() != 0 {
		t.Errorf("after Close: underlay closed %v, reads in progress %d", ul.Closed(), ul.Reading.Load())
	}
}

// TestOverlayReadLoopSurvivesErrors: the encapsulating loop retries a
// failed TUN read and ends when the device is closed.
func TestOverlayReadLoopSurvivesErrors(t *testing.T) {
	ov := dataplanetest.NewOverlay(16)
	ul := dataplanetest.NewUnderlay(16)
	tun := dataplane.New(ov, params(left, right, false), dataplane.Env{}, quiet)
	tun.SetUp(true)
	tun.SetUnderlay(ul)
	defer tun.Close()
	tun.Start()
	ov.Errs <- errors.New("tun read: resource temporarily unavailable")
	ov.In <- echo
	got := receive(t, ul.Out, "GRE datagram")
	if !bytes.Equal(got[4:], echo) {
		t.Fatalf("underlay got %x", got)
	}
	if n := tun.C.Load(dataplane.OutReadErrors); n != 1 {
		t.Errorf("OutReadErrors = %d, want 1", n)
	}
	ov.Close()
}

// TestUnderlaySwapWaitsForOldLoop: when an underlay is replaced, the old
// read loop has returned before the new one reads (a batch in progress
// on the old socket must not run beside the new one's).
func TestUnderlaySwapWaitsForOldLoop(t *testing.T) {
	ov := dataplanetest.NewOverlay(16)
	tun := dataplane.New(ov, params(left, right, false), dataplane.Env{}, quiet)
	old := dataplanetest.NewUnderlay(1)
	old.CloseDelay = 50 * time.Millisecond
	tun.SetUnderlay(old)
	for old.Reading.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	var overlap atomic.Bool
	next := dataplanetest.NewUnderlay(1)
	next.OnRead = func() {
		if old.Reading.Load() != 0 {
			overlap.Store(true)
		}
	}
	tun.SetUnderlay(next)
	for next.Reads.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	if overlap.Load() {
		t.Error("the new underlay's loop read while the old one's was still running")
	}
	if !old.Closed() {
		t.Error("the old underlay was not closed")
	}
	tun.Close()
}

// sa returns a matching outbound and inbound ESP SA (AES-GCM-256).
func sa(t *testing.T, spi uint32) (*esp.SA, *esp.SA) {
	t.Helper()
	suite := esp.Suite{Cipher: esp.AES256GCM}
	k := make([]byte, suite.KeyLen())
	_, _ = rand.Read(k)
	out, err := esp.NewOutbound(spi, suite, k, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	in, err := esp.NewInbound(spi, suite, k, nil, false, 64)
	if err != nil {
		t.Fatal(err)
	}
	return out, in
}

// protectedEnd is a protected tunnel with its overlay and ESP port.
type protectedEnd struct {
	tun  *dataplane.Tunnel
	ov   *dataplanetest.Overlay
	ul   *dataplanetest.Underlay
	port *dataplane.Port
}

// protectedPeers builds two protected tunnels, a (left) and b (right),
// with one SA pair, each on its own ESP port. unknown hears b's unknown
// SPIs.
func protectedPeers(t *testing.T, unknown func(netip.Addr, uint32)) (a, b protectedEnd) {
	t.Helper()
	abOut, abIn := sa(t, 0x1001)
	baOut, baIn := sa(t, 0x2002)
	mk := func(local, remote netip.Addr, prot *dataplane.Protection, unknown func(netip.Addr, uint32)) protectedEnd {
		e := protectedEnd{ov: dataplanetest.NewOverlay(64), ul: dataplanetest.NewUnderlay(64)}
		e.tun = dataplane.New(e.ov, params(local, remote, true), dataplane.Env{}, quiet)
		e.tun.SetUp(true)
		e.tun.SetProtection(prot)
		e.port = dataplane.NewESPPort(e.ul, nil, unknown, quiet)
		e.port.Attach(e.tun, e.ul)
		e.tun.Start()
		t.Cleanup(func() {
			e.ov.Close()
			e.tun.Close()
			e.port.Close()
		})
		return e
	}
	a = mk(left, right, &dataplane.Protection{Out: abOut, OutMu: &sync.Mutex{}, In: []*esp.SA{baIn}}, nil)
	b = mk(right, left, &dataplane.Protection{Out: baOut, OutMu: &sync.Mutex{}, In: []*esp.SA{abIn}}, unknown)
	return a, b
}

// TestESPPortSurvivesConnectionRefused is issue 10's black hole: the
// ESP-in-UDP socket is connected, so an ICMP port unreachable (the peer
// restarting, or one forged datagram) fails its next read with
// ECONNREFUSED. The port keeps reading: ESP (and the IKE behind it on port
// 4500) still gets through.
func TestESPPortSurvivesConnectionRefused(t *testing.T) {
	a, b := protectedPeers(t, nil)
	for i, errno := range transient {
		b.ul.Errs <- os.NewSyscallError("recvmmsg", errno)
		a.ov.In <- echo
		b.ul.In <- dataplanetest.Datagram{Payload: receive(t, a.ul.Out, "ESP from a"), Src: netip.AddrPortFrom(left, 0)}
		if got := receive(t, b.ov.Out, "decrypted packet at b"); !bytes.Equal(got, echo) {
			t.Fatalf("packet %d: b got %x", i, got)
		}
	}
	if n := b.port.ReadErrors.Load(); n != uint64(len(transient)) {
		t.Errorf("port ReadErrors = %d, want %d", n, len(transient))
	}
}

// TestESPPortDemultiplexes: two tunnels to the same peer share one port;
// each receives exactly its own SAs' packets, and an SPI neither knows is
// counted and reported.
func TestESPPortDemultiplexes(t *testing.T) {
	var unknown atomic.Uint32
	ul := dataplanetest.NewUnderlay(64)
	port := dataplane.NewESPPort(ul, nil, func(peer netip.Addr, spi uint32) {
		if peer == right {
			unknown.Store(spi)
		}
	}, quiet)
	defer port.Close()
	type end struct {
		tun *dataplane.Tunnel
		ov  *dataplanetest.Overlay
		out *esp.SA // the peer's outbound SA towards this tunnel
	}
	var ends []end
	for i, spi := range []uint32{0x3003, 0x4004} {
		out, in := sa(t, spi)
		ov := dataplanetest.NewOverlay(16)
		p := params(left, right, true)
		p.HasKey, p.Key = true, uint32(i)
		tun := dataplane.New(ov, p, dataplane.Env{}, quiet)
		tun.SetUp(true)
		own, _ := sa(t, 0x9000+spi)
		tun.SetProtection(&dataplane.Protection{Out: own, OutMu: &sync.Mutex{}, In: []*esp.SA{in}})
		port.Attach(tun, ul)
		defer tun.Close()
		ends = append(ends, end{tun, ov, out})
	}
	seal := func(e end, key byte) []byte {
		gre := append([]byte{0x20, 0, 0x08, 0, 0, 0, 0, key}, echo...)
		buf := make([]byte, 64+len(gre)+64)
		copy(buf[64:], gre)
		pkt, err := e.out.Seal(buf[:64+len(gre)], 64, esp.NextHeaderGRE)
		if err != nil {
			t.Fatal(err)
		}
		return append([]byte(nil), pkt...)
	}
	for round := range 3 {
		for i, e := range ends {
			ul.In <- dataplanetest.Datagram{Src: netip.AddrPortFrom(right, 0), Payload: seal(e, byte(i))}
			if got := receive(t, e.ov.Out, "packet for its own tunnel"); !bytes.Equal(got, echo) {
				t.Fatalf("round %d tunnel %d got %x", round, i, got)
			}
		}
	}
	// Two tunnels between the same endpoints may each hold the pair IKE
	// filed under the other: the GRE key inside decides where a packet goes.
	ul.In <- dataplanetest.Datagram{Src: netip.AddrPortFrom(right, 0), Payload: seal(ends[0], 1)}
	if got := receive(t, ends[1].ov.Out, "packet on the other tunnel's SA, for its key"); !bytes.Equal(got, echo) {
		t.Fatalf("swapped pair: tunnel 1 got %x", got)
	}
	select {
	case p := <-ends[0].ov.Out:
		t.Fatalf("tunnel 0 got a packet keyed for tunnel 1: %x", p)
	default:
	}
	stray, _ := sa(t, 0x5005)
	ul.In <- dataplanetest.Datagram{Src: netip.AddrPortFrom(right, 0), Payload: seal(end{out: stray}, 0)}
	deadline := time.Now().Add(5 * time.Second)
	for unknown.Load() != 0x5005 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if got := unknown.Load(); got != 0x5005 {
		t.Errorf("unknown SPI reported as 0x%x, want 0x5005", got)
	}
	for i, e := range ends {
		s := e.tun.C.Snapshot()
		wantNoSA := uint64(0)
		if i == 0 {
			wantNoSA = 1 // a packet no tunnel owns is counted on the first
		}
		if want := uint64(3 + i); s[dataplane.InPackets] != want || s[dataplane.InKeyMismatch] != 0 || s[dataplane.InNoSA] != wantNoSA {
			t.Errorf("tunnel %d: in %d, key mismatches %d, no SA %d; want %d, 0, %d", i, s[dataplane.InPackets], s[dataplane.InKeyMismatch], s[dataplane.InNoSA], want, wantNoSA)
		}
	}
	// Detached, a tunnel no longer receives from the port.
	if left := port.Detach(ends[1].tun); left != 1 {
		t.Errorf("%d tunnels left on the port, want 1", left)
	}
	ul.In <- dataplanetest.Datagram{Src: netip.AddrPortFrom(right, 0), Payload: seal(ends[1], 1)}
	ul.In <- dataplanetest.Datagram{Src: netip.AddrPortFrom(right, 0), Payload: seal(ends[0], 0)}
	receive(t, ends[0].ov.Out, "packet for the tunnel still attached")
	select {
	case p := <-ends[1].ov.Out:
		t.Errorf("detached tunnel received %x", p)
	default:
	}
}

// TestUDPPortSortsControl: on a port of ESP in UDP, ESP goes to the
// tunnel, IKE behind the non-ESP marker to the control callback (with its
// sender), and NAT keepalives and runts nowhere; none of them is counted
// as ESP without an SA.
func TestUDPPortSortsControl(t *testing.T) {
	ul := dataplanetest.NewUnderlay(64)
	control := make(chan []byte, 4)
	from := netip.AddrPortFrom(right, 4500)
	port := dataplane.NewUDPPort(ul, nil, nil, func(data []byte, src netip.AddrPort) {
		if src != from {
			t.Errorf("control from %v, want %v", src, from)
		}
		control <- data
	}, quiet)
	defer port.Close()
	out, in := sa(t, 0x6006)
	ov := dataplanetest.NewOverlay(16)
	tun := dataplane.New(ov, params(left, right, true), dataplane.Env{}, quiet)
	tun.SetUp(true)
	own, _ := sa(t, 0x7007)
	tun.SetProtection(&dataplane.Protection{Out: own, OutMu: &sync.Mutex{}, In: []*esp.SA{in}})
	port.Attach(tun, ul)
	defer tun.Close()

	gre := append([]byte{0, 0, 0x08, 0}, echo...)
	buf := make([]byte, 64+len(gre)+64)
	copy(buf[64:], gre)
	sealed, err := out.Seal(buf[:64+len(gre)], 64, esp.NextHeaderGRE)
	if err != nil {
		t.Fatal(err)
	}
	ike := append([]byte{0, 0, 0, 0}, bytes.Repeat([]byte{7}, 40)...)
	for _, d := range [][]byte{{0xff}, ike, {1, 2, 3}, append([]byte(nil), sealed...)} {
		ul.In <- dataplanetest.Datagram{Src: from, Payload: d}
	}
	if got := receive(t, ov.Out, "ESP after the control messages"); !bytes.Equal(got, echo) {
		t.Fatalf("tunnel got %x", got)
	}
	select {
	case got := <-control:
		if !bytes.Equal(got, ike) {
			t.Errorf("control got %x, want the IKE message", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the IKE message never reached the control callback")
	}
	if len(control) != 0 {
		t.Errorf("%d more control messages: keepalives or runts went there", len(control))
	}
	if s := tun.C.Snapshot(); s[dataplane.InNoSA] != 0 || s[dataplane.InPackets] != 1 {
		t.Errorf("tunnel: %d in, %d without SA; want 1, 0", s[dataplane.InPackets], s[dataplane.InNoSA])
	}
}

// TestGREPortHub: one GRE socket serves the tunnels of a hub: each packet
// goes to the tunnel of its sender, and among two tunnels to one peer to
// the one whose key it carries; a stranger's packets reach nobody.
func TestGREPortHub(t *testing.T) {
	ul := dataplanetest.NewUnderlay(64)
	port := dataplane.NewGREPort(ul, nil, quiet)
	defer port.Close()
	type spoke struct {
		peer netip.Addr
		key  uint32
		tun  *dataplane.Tunnel
		ov   *dataplanetest.Overlay
	}
	var spokes []*spoke
	for i, peer := range []string{"198.51.100.1", "198.51.100.2", "198.51.100.2"} {
		s := &spoke{peer: netip.MustParseAddr(peer), key: uint32(i), ov: dataplanetest.NewOverlay(16)}
		p := params(left, s.peer, false)
		p.HasKey, p.Key = true, s.key
		s.tun = dataplane.New(s.ov, p, dataplane.Env{}, quiet)
		s.tun.SetUp(true)
		port.Attach(s.tun, ul)
		defer s.tun.Close()
		spokes = append(spokes, s)
	}
	frame := func(key uint32) []byte {
		return append([]byte{0x20, 0, 0x08, 0, byte(key >> 24), byte(key >> 16), byte(key >> 8), byte(key)}, echo...)
	}
	for round := range 2 {
		for i, s := range spokes {
			ul.In <- dataplanetest.Datagram{Payload: frame(s.key), Src: netip.AddrPortFrom(s.peer, 0)}
			if got := receive(t, s.ov.Out, "packet for its own tunnel"); !bytes.Equal(got, echo) {
				t.Fatalf("round %d spoke %d got %x", round, i, got)
			}
		}
	}
	ul.In <- dataplanetest.Datagram{Payload: frame(0), Src: netip.AddrPortFrom(netip.MustParseAddr("203.0.113.9"), 0)}
	deadline := time.Now().Add(5 * time.Second)
	for port.Strangers.Load() != 1 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := port.Strangers.Load(); n != 1 {
		t.Errorf("Strangers = %d, want 1", n)
	}
	for i, s := range spokes {
		if c := s.tun.C.Snapshot(); c[dataplane.InPackets] != 2 || c[dataplane.InKeyMismatch] != 0 {
			t.Errorf("spoke %d: in %d, key mismatches %d; want 2 and 0", i, c[dataplane.InPackets], c[dataplane.InKeyMismatch])
		}
	}
}
