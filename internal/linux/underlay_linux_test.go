package linux

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/gresec/gresec/internal/packet"
)

var (
	addrA = netip.MustParseAddrPort("127.0.0.1:4500")
	addrB = netip.MustParseAddrPort("127.0.0.2:4500")
)

// udpPair opens two ESP-in-UDP underlays facing each other in a namespace
// of their own, whose loopback has the given MTU (0: as it is).
func udpPair(t *testing.T, mtu int) (a, b *UDPUnderlay) {
	t.Helper()
	inNewNetns(t, func() error {
		if mtu > 0 {
			lo, err := netlink.LinkByName("lo")
			if err != nil {
				return err
			}
			if err := netlink.LinkSetMTU(lo, mtu); err != nil {
				return err
			}
		}
		var err error
		if a, err = DialUDP(addrA, addrB, UnderlayOptions{}); err != nil {
			return err
		}
		b, err = DialUDP(addrB, addrA, UnderlayOptions{})
		return err
	})
	t.Cleanup(func() { _ = a.Close(); _ = b.Close() })
	return a, b
}

// espFrames returns n ESP-looking datagrams (non-zero SPI, sequence
// number i) of size bytes, the last one last bytes long.
func espFrames(n, size, last int) [][]byte {
	frames := make([][]byte, n)
	for i := range frames {
		l := size
		if i == n-1 {
			l = last
		}
		f := make([]byte, l)
		binary.BigEndian.PutUint32(f, 0x1000)
		binary.BigEndian.PutUint32(f[4:], uint32(i))
		for j := 8; j < l; j++ {
			f[j] = byte(i + j)
		}
		frames[i] = f
	}
	return frames
}

func packets(n int) []packet.Datagram {
	pkts := make([]packet.Datagram, n)
	for i := range pkts {
		pkts[i].Buf = make([]byte, 65536)
	}
	return pkts
}

// readAll reads until want datagrams have come; after 10 s it closes the
// socket and fails, rather than leave the test hanging.
func readAll(t *testing.T, u *UDPUnderlay, pkts []packet.Datagram, want int) [][]byte {
	t.Helper()
	var got [][]byte
	done := make(chan error, 1)
	go func() {
		for len(got) < want {
			n, err := u.ReadBatch(pkts)
			if err != nil {
				done <- err
				return
			}
			for _, p := range pkts[:n] {
				got = append(got, bytes.Clone(p.Payload))
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		u.Close()
		<-done
		t.Fatalf("%d of %d datagrams in 10 s", len(got), want)
	}
	return got
}

func TestUDPUnderlaySegmentsAndCoalesces(t *testing.T) {
	a, b := udpPair(t, 0)
	frames := espFrames(100, 1436, 700)
	sent, err := a.WriteBatch(frames, nil)
	if err != nil || sent != len(frames) {
		t.Fatalf("WriteBatch: sent %d of %d: %v", sent, len(frames), err)
	}
	// 100 equal frames but the last: two GSO messages of 44 (the 64 KiB
	// bound) and one of 12.
	if a.wb.msgs != 3 {
		t.Errorf("sent in %d messages, want 3 (UDP GSO runs)", a.wb.msgs)
	}
	got := readAll(t, b, packets(udpBatchSize), len(frames))
	for i := range frames {
		if !bytes.Equal(got[i], frames[i]) {
			t.Fatalf("datagram %d differs: %d bytes, want %d", i, len(got[i]), len(frames[i]))
		}
	}
	if !b.gro || b.gseg != 1436 {
		t.Errorf("receiver GRO %v, last segment size %d: want coalesced runs of 1436", b.gro, b.gseg)
	}
}

// TestUDPUnderlayHandsOverEverything: ESP, IKE behind the non-ESP marker
// and NAT keepalives all reach the reader, in order (the data plane's port
// sorts them).
func TestUDPUnderlayHandsOverEverything(t *testing.T) {
	a, b := udpPair(t, 0)
	ike := append([]byte{0, 0, 0, 0}, bytes.Repeat([]byte{7}, 40)...)
	esp := espFrames(3, 200, 200)
	batch := [][]byte{esp[0], {0xff}, ike, esp[1], esp[2]}
	if n, err := a.WriteBatch(batch, nil); err != nil || n != len(batch) {
		t.Fatalf("WriteBatch: %d, %v", n, err)
	}
	got := readAll(t, b, packets(8), len(batch))
	for i := range got {
		if !bytes.Equal(got[i], batch[i]) {
			t.Errorf("datagram %d differs", i)
		}
	}
}

// A UDP GSO message whose segments exceed the route's MTU is refused
// (EINVAL); the datagrams go again one by one (fragmented) and GSO is
// narrowed for the next batches.
func TestUDPUnderlayFallsBackWithoutGSO(t *testing.T) {
	a, b := udpPair(t, 1300)
	var refused []int
	a.OnGSORefused = func(segment int, err error) { refused = append(refused, segment) }
	frames := espFrames(10, 1436, 1436)
	for round := range 2 {
		sent, err := a.WriteBatch(frames, nil)
		if err != nil || sent != len(frames) {
			t.Fatalf("round %d: sent %d of %d: %v", round, sent, len(frames), err)
		}
		got := readAll(t, b, packets(16), len(frames))
		for i := range frames {
			if !bytes.Equal(got[i], frames[i]) {
				t.Fatalf("round %d: datagram %d differs", round, i)
			}
		}
	}
	if a.gsoMax != 1436 {
		t.Errorf("gsoMax = %d, want 1436 (runs of that size no longer coalesced)", a.gsoMax)
	}
	if len(refused) != 1 || refused[0] != 1436 {
		t.Errorf("OnGSORefused heard %v, want once, for 1436", refused)
	}
}

func TestUnderlaysDoNotAllocate(t *testing.T) {
	a, b := udpPair(t, 0)
	frames := espFrames(40, 1436, 1436)
	pkts := packets(udpBatchSize)
	allocs := testing.AllocsPerRun(50, func() {
		if _, err := a.WriteBatch(frames, nil); err != nil {
			t.Fatal(err)
		}
		for got := 0; got < len(frames); {
			n, err := b.ReadBatch(pkts)
			if err != nil {
				t.Fatal(err)
			}
			got += n
		}
	})
	if allocs != 0 {
		t.Errorf("UDP: %v allocations per batch, want 0", allocs)
	}

	var ra, rb *RawSocket
	inNewNetns(t, func() error {
		var err error
		if ra, err = ListenRaw(47, addrA.Addr(), UnderlayOptions{}); err != nil {
			return err
		}
		rb, err = ListenRaw(47, addrB.Addr(), UnderlayOptions{})
		return err
	})
	defer ra.Close()
	defer rb.Close()
	toB := ra.To(addrB.Addr())
	allocs = testing.AllocsPerRun(50, func() {
		if _, err := toB.WriteBatch(frames, nil); err != nil {
			t.Fatal(err)
		}
		for got := 0; got < len(frames); {
			n, err := rb.ReadBatch(pkts[:batchSize])
			if err != nil {
				t.Fatal(err)
			}
			got += n
		}
	})
	if allocs != 0 {
		t.Errorf("raw: %v allocations per batch, want 0", allocs)
	}
}

// TestRawSocketSharedByPeers: one raw socket receives every peer's
// datagrams, each with its sender (the data plane sorts them by it), and
// each sender writes with its own ToS, TTL 255.
func TestRawSocketSharedByPeers(t *testing.T) {
	other := netip.MustParseAddr("127.0.0.3")
	var ra, rb, rc *RawSocket
	inNewNetns(t, func() error {
		var err error
		if ra, err = ListenRaw(47, addrA.Addr(), UnderlayOptions{}); err != nil {
			return err
		}
		if rc, err = ListenRaw(47, other, UnderlayOptions{}); err != nil {
			return err
		}
		rb, err = ListenRaw(47, addrB.Addr(), UnderlayOptions{})
		return err
	})
	defer ra.Close()
	defer rb.Close()
	defer rc.Close()
	frames := espFrames(3, 100, 50)
	if _, err := rc.To(addrB.Addr()).WriteBatch(frames[:1], nil); err != nil {
		t.Fatal(err)
	}
	tos := []byte{0x20, 0, 0xb8}
	if _, err := ra.To(addrB.Addr()).WriteBatch(frames, tos); err != nil {
		t.Fatal(err)
	}
	type want struct {
		src     netip.Addr
		payload []byte
		tos     byte
	}
	wants := []want{{other, frames[0], 0}}
	for i, f := range frames {
		wants = append(wants, want{addrA.Addr(), f, tos[i]})
	}
	pkts := packets(8)
	for i := 0; i < len(wants); {
		n, err := rb.ReadBatch(pkts)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pkts[:n] {
			w := wants[i]
			if p.Src.Addr() != w.src || !bytes.Equal(p.Payload, w.payload) {
				t.Errorf("datagram %d from %v: %x; want from %v: %x", i, p.Src, p.Payload, w.src, w.payload)
			}
			if hdr := p.Buf[:20]; hdr[1] != w.tos || hdr[8] != 255 {
				t.Errorf("datagram %d: ToS %#x TTL %d, want %#x and 255", i, hdr[1], hdr[8], w.tos)
			}
			i++
		}
	}
}

// Through a device without UDP segmentation offload (a TUN device without
// offloads) the kernel segments the GSO runs itself: the device, like the
// wire, sees ordinary datagrams, one per frame, in order.
func TestUDPUnderlayThroughDeviceWithoutOffloads(t *testing.T) {
	local := netip.MustParseAddrPort("192.0.2.1:4500")
	peer := netip.MustParseAddrPort("192.0.2.2:4500")
	var u *UDPUnderlay
	var dev *os.File
	inNewNetns(t, func() error {
		var err error
		if dev, err = CreateLoopbackDevice("gsotest0"); err != nil {
			return err
		}
		link, err := netlink.LinkByName("gsotest0")
		if err != nil {
			return err
		}
		addr, _ := netlink.ParseAddr("192.0.2.1/24")
		if err := netlink.AddrAdd(link, addr); err != nil {
			return err
		}
		if err := netlink.LinkSetUp(link); err != nil {
			return err
		}
		u, err = DialUDP(local, peer, UnderlayOptions{})
		return err
	})
	defer dev.Close()
	defer u.Close()
	frames := espFrames(10, 1000, 1000)
	// The outer ToS follows each frame's: a change ends a GSO run.
	tos := []byte{0, 0, 0, 0xb8, 0xb8, 0xb8, 0xb8, 0, 0, 0}
	for round := range 2 {
		sent, err := u.WriteBatch(frames, tos)
		if err != nil || sent != len(frames) {
			t.Fatalf("round %d: sent %d of %d: %v", round, sent, len(frames), err)
		}
	}
	if u.wb.msgs != 3 {
		t.Errorf("sent in %d messages, want 3 (UDP GSO runs of one ToS)", u.wb.msgs)
	}
	buf := make([]byte, 2048)
	for i := 0; i < 2*len(frames); {
		n, err := dev.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		if n < 28 || buf[0] != 0x45 || buf[9] != 17 {
			continue // IPv6 neighbour discovery and the like
		}
		// IPv4 (20) + UDP (8) + the frame.
		if n != 28+1000 || !bytes.Equal(buf[28:n], frames[i%len(frames)]) {
			t.Fatalf("datagram %d on the device: %d bytes, want frame %d", i, n, i%len(frames))
		}
		if buf[1] != tos[i%len(frames)] || buf[8] != 255 {
			t.Errorf("datagram %d: ToS %#x TTL %d, want %#x and 255", i, buf[1], buf[8], tos[i%len(frames)])
		}
		i++
	}
}

// A coalesced run longer than the caller's batch is handed over across
// several ReadBatch calls, in order, nothing lost or repeated.
func TestUDPUnderlayHandsOverRunsAcrossCalls(t *testing.T) {
	a, b := udpPair(t, 0)
	frames := espFrames(60, 1200, 300)
	if n, err := a.WriteBatch(frames, nil); err != nil || n != len(frames) {
		t.Fatalf("WriteBatch: %d, %v", n, err)
	}
	pkts := packets(7)
	var got [][]byte
	calls := 0
	for len(got) < len(frames) {
		n, err := b.ReadBatch(pkts)
		if err != nil {
			t.Fatal(err)
		}
		if n > len(pkts) {
			t.Fatalf("ReadBatch returned %d packets for a batch of %d", n, len(pkts))
		}
		for _, p := range pkts[:n] {
			got = append(got, bytes.Clone(p.Payload))
		}
		calls++
	}
	for i := range frames {
		if !bytes.Equal(got[i], frames[i]) {
			t.Fatalf("datagram %d differs", i)
		}
	}
	if calls < len(frames)/len(pkts) {
		t.Errorf("%d calls for %d datagrams in batches of %d", calls, len(frames), len(pkts))
	}
}

// TestUnderlaysOverIPv6: a raw IPv6 socket hands over GRE with its sender
// (a raw IPv6 socket gives no header), room in front for the data plane,
// and sends with a traffic class; an ESP-in-UDP socket over IPv6 moves
// datagrams both ways with a traffic class too.
func TestUnderlaysOverIPv6(t *testing.T) {
	a6, b6 := netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2")
	far := netip.MustParseAddr("2001:db8:9::1") // routed into lo with mtu 1300
	var ra, rb *RawSocket
	var ua, ub *UDPUnderlay
	inNewNetns(t, func() error {
		lo, err := netlink.LinkByName("lo")
		if err != nil {
			return err
		}
		for _, a := range []netip.Addr{a6, b6} {
			if err := netlink.AddrAdd(lo, &netlink.Addr{IPNet: ipnet(netip.PrefixFrom(a, 128)), Flags: unix.IFA_F_NODAD}); err != nil {
				return err
			}
		}
		// The kernel makes an IPv6 address local a moment after adding
		// it: a socket connected before then sends into the void.
		if err := waitLocal(a6, b6); err != nil {
			return err
		}
		_, dst, _ := net.ParseCIDR(far.String() + "/128")
		if err := netlink.RouteAdd(&netlink.Route{Dst: dst, LinkIndex: lo.Attrs().Index, MTU: 1300}); err != nil {
			return err
		}
		if ra, err = ListenRaw(47, a6, UnderlayOptions{}); err != nil {
			return err
		}
		if rb, err = ListenRaw(47, b6, UnderlayOptions{}); err != nil {
			return err
		}
		if ua, err = DialUDP(netip.AddrPortFrom(a6, 4500), netip.AddrPortFrom(b6, 4500), UnderlayOptions{}); err != nil {
			return err
		}
		ub, err = DialUDP(netip.AddrPortFrom(b6, 4500), netip.AddrPortFrom(a6, 4500), UnderlayOptions{})
		return err
	})
	defer ra.Close()
	defer rb.Close()
	defer ua.Close()
	defer ub.Close()
	frames := espFrames(3, 100, 50)
	if n, err := ra.To(b6).WriteBatch(frames, []byte{0xb8, 0, 0x20}); err != nil || n != 3 {
		t.Fatalf("raw IPv6 write: %d %v", n, err)
	}
	pkts := packets(8)
	for i := 0; i < len(frames); {
		n, err := rb.ReadBatch(pkts)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pkts[:n] {
			if p.Src.Addr() != a6 || !bytes.Equal(p.Payload, frames[i]) {
				t.Errorf("datagram %d from %v: %x; want from %v: %x", i, p.Src, p.Payload, a6, frames[i])
			}
			if off := cap(p.Buf) - cap(p.Payload); off < 16 {
				t.Errorf("datagram %d at offset %d: no room in front for the overlay's header", i, off)
			}
			i++
		}
	}
	// A send above the path MTU (a route with mtu 1300) is refused, not
	// fragmented, and the socket learns the path MTU from the kernel.
	big := make([]byte, 1400)
	if n, err := ra.To(far).WriteBatch([][]byte{big}, nil); n != 0 || !errors.Is(err, unix.EMSGSIZE) {
		t.Errorf("1400 bytes over a 1300-byte path: sent %d, %v; want EMSGSIZE", n, err)
	}
	if got := ra.PathMTU(far); got != 1300 {
		t.Errorf("PathMTU = %d, want 1300", got)
	}
	if n, err := ua.WriteBatch(frames, []byte{0xb8, 0, 0x20}); err != nil || n != 3 {
		t.Fatalf("UDP over IPv6 write: %d %v", n, err)
	}
	got := readAll(t, ub, packets(8), 3)
	for i := range frames {
		if !bytes.Equal(got[i], frames[i]) {
			t.Errorf("UDP datagram %d: %x, want %x", i, got[i], frames[i])
		}
	}
}

// waitLocal waits until each address routes as a local one.
func waitLocal(addrs ...netip.Addr) error {
	deadline := time.Now().Add(5 * time.Second)
	for _, a := range addrs {
		for {
			rs, err := netlink.RouteGet(a.AsSlice())
			if err == nil && len(rs) > 0 && rs[0].Type == unix.RTN_LOCAL {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s is not local after 5 s: %v %v", a, rs, err)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	return nil
}
