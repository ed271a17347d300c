package linux

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
)

// tunPair creates a light tunnel device with 10.9.0.1/24 in a namespace of
// its own and a UDP socket on 10.9.0.1 there.
func tunPair(t *testing.T) (*TunnelDevice, *net.UDPConn) {
	t.Helper()
	var d *TunnelDevice
	var c *net.UDPConn
	inNewNetns(t, func() error {
		var err error
		if d, err = CreateTunnelDevice("tun9", 1400); err != nil {
			return err
		}
		l, err := netlink.LinkByName("tun9")
		if err != nil {
			return err
		}
		addr, _ := netlink.ParseAddr("10.9.0.1/24")
		if err := netlink.AddrAdd(l, addr); err != nil {
			return err
		}
		if err := netlink.LinkSetUp(l); err != nil {
			return err
		}
		if err := d.SetCarrier(true); err != nil {
			return err
		}
		c, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(10, 9, 0, 1), Port: 5000})
		return err
	})
	t.Cleanup(func() { _ = c.Close(); _ = d.Close() })
	return d, c
}

const testOffset = 16

// readUDP reads packets from the device until one is a UDP datagram to
// 10.9.0.2:9 (the kernel may send others, such as IGMP or ND) and returns
// its payload.
func readUDP(t *testing.T, d *TunnelDevice) []byte {
	t.Helper()
	bufs := make([][]byte, d.BatchSize())
	for i := range bufs {
		bufs[i] = make([]byte, testOffset+65536)
	}
	sizes := make([]int, len(bufs))
	for {
		n, err := d.Read(bufs, sizes, testOffset)
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			pkt := bufs[i][testOffset : testOffset+sizes[i]]
			if len(pkt) < 28 || pkt[9] != 17 || !bytes.Equal(pkt[16:20], []byte{10, 9, 0, 2}) {
				continue
			}
			if !checksumOK(pkt) {
				t.Fatalf("UDP checksum of a read packet is wrong: % x", pkt[:28])
			}
			return pkt[28:]
		}
	}
}

// checksumOK verifies an IPv4 UDP datagram's checksum.
func checksumOK(pkt []byte) bool {
	ihl := int(pkt[0]&0xf) * 4
	udp := pkt[ihl:]
	if binary.BigEndian.Uint16(udp[6:]) == 0 {
		return true
	}
	var sum uint32
	add := func(b []byte) {
		for len(b) >= 2 {
			sum += uint32(b[0])<<8 | uint32(b[1])
			b = b[2:]
		}
		if len(b) == 1 {
			sum += uint32(b[0]) << 8
		}
	}
	add(pkt[12:20])
	sum += 17 + uint32(len(udp))
	add(udp)
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return sum == 0xffff
}

// udpTo builds an IPv4 UDP datagram from 10.9.0.2:9 to 10.9.0.1:5000 at
// testOffset in a buffer.
func udpTo(payload []byte) []byte {
	b := make([]byte, testOffset+28+len(payload))
	p := b[testOffset:]
	p[0], p[8], p[9] = 0x45, 64, 17
	binary.BigEndian.PutUint16(p[2:], uint16(len(p)))
	copy(p[12:], []byte{10, 9, 0, 2, 10, 9, 0, 1})
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(p[i:]))
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	binary.BigEndian.PutUint16(p[10:], ^uint16(sum))
	binary.BigEndian.PutUint16(p[20:], 9)
	binary.BigEndian.PutUint16(p[22:], 5000)
	binary.BigEndian.PutUint16(p[24:], uint16(8+len(payload)))
	copy(p[28:], payload) // checksum 0: none
	return b
}

// TestTunnelDeviceLightThenOffloading: a tunnel device starts light (one
// packet per read and write, no GRO tables), carries packets both ways,
// and turns into the offloading device once traffic reaches upgradeRate
// packets in a second, still carrying them both ways.
func TestTunnelDeviceLightThenOffloading(t *testing.T) {
	d, c := tunPair(t)
	// A stopped clock: the packets all fall in one window however slowly
	// this machine (or the race detector) runs them.
	stopped := time.Now()
	d.now = func() time.Time { return stopped }
	peer := &net.UDPAddr{IP: net.IPv4(10, 9, 0, 2), Port: 9}
	roundTrip := func(i int) {
		t.Helper()
		msg := []byte{byte(i), byte(i >> 8), 'x'}
		if _, err := c.WriteToUDP(msg, peer); err != nil {
			t.Fatal(err)
		}
		if got := readUDP(t, d); !bytes.Equal(got, msg) {
			t.Fatalf("read %q, sent %q", got, msg)
		}
		if _, err := d.Write([][]byte{udpTo(msg)}, testOffset); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		buf := make([]byte, 100)
		n, from, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			t.Fatalf("packet %d written to the device never reached the socket: %v", i, err)
		}
		if from != netip.MustParseAddrPort("10.9.0.2:9") || !bytes.Equal(buf[:n], msg) {
			t.Fatalf("socket got %q from %s", buf[:n], from)
		}
	}
	roundTrip(0)
	if d.Offloading() {
		t.Fatal("offloading after one packet; want light")
	}
	// Both directions count: the upgrade comes at the read after about
	// upgradeRate/2 round trips within a second (the kernel's own packets
	// count too).
	i := 1
	for ; i <= upgradeRate && !d.Offloading(); i++ {
		roundTrip(i)
	}
	if n := i - 1; n < upgradeRate/2-4 || n > upgradeRate/2+4 {
		t.Fatalf("offloading after %d round trips (%v), want about %d", n, d.Offloading(), upgradeRate/2)
	}
	for j := range 10 {
		roundTrip(i + j)
	}
}

func TestFinishChecksum(t *testing.T) {
	pkt := udpTo([]byte("hello, checksum"))[testOffset:]
	// What the kernel leaves with NEEDS_CSUM: the pseudo-header sum, not
	// complemented, in the checksum field.
	var sum uint32
	for i := 12; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(pkt[i:]))
	}
	sum += 17 + uint32(len(pkt)-20)
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	binary.BigEndian.PutUint16(pkt[26:], uint16(sum))
	finishChecksum(pkt, 20, 26)
	if !checksumOK(pkt) {
		t.Fatalf("checksum %#04x does not verify", binary.BigEndian.Uint16(pkt[26:]))
	}
}

// TestTunnelDeviceNoIPv6LinkLocal: an up tunnel device with carrier gets
// no IPv6 link-local address of the kernel's (nor its fe80::/64 route).
func TestTunnelDeviceNoIPv6LinkLocal(t *testing.T) {
	var v6 []netlink.Addr
	var d *TunnelDevice
	inNewNetns(t, func() error {
		var err error
		if d, err = CreateTunnelDevice("tun6", 1400); err != nil {
			return err
		}
		l, err := netlink.LinkByName("tun6")
		if err != nil {
			return err
		}
		if err := netlink.LinkSetUp(l); err != nil {
			return err
		}
		if err := d.SetCarrier(true); err != nil {
			return err
		}
		v6, err = netlink.AddrList(l, netlink.FAMILY_V6)
		return err
	})
	defer d.Close()
	if len(v6) != 0 {
		t.Errorf("IPv6 addresses on a new tunnel device: %v", v6)
	}
}
