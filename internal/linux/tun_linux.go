package linux

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
	"golang.zx2c4.com/wireguard/tun"
)

// tunSetCarrier is TUNSETCARRIER, _IOW('T', 226, int), which x/sys lacks.
const tunSetCarrier = 0x400454e2

// TunnelDevice is the TUN device of a TunnelN interface.
//
// It starts light: gresec reads and writes one packet at a time, with a
// virtio-net header but no offloads, and holds no more than the descriptor.
// Once the tunnel carries traffic (upgradeRate packets within a second, in
// either direction) it becomes a golang.zx2c4.com/wireguard/tun device on
// the same TUN queue, with TSO/USO offloads and GRO: reads hand over
// batches and writes coalesce. That device's GRO tables take some 1.2 MB,
// which a hub's thousand idle tunnels should not pay (nor the garbage
// collector, which paced itself on them and let the daemon's garbage grow
// to gigabytes).
type TunnelDevice struct {
	name  string
	light *os.File // the descriptor of the light mode, kept for waits and ioctls
	rw    *readWaiter

	// dev is the offloading device once upgraded (nil before).
	dev         atomic.Pointer[tun.Device]
	wantUpgrade atomic.Bool
	upgradeMu   sync.Mutex
	// The packets of the current one-second window.
	winStart, winPackets atomic.Int64
	// now is the clock of the window (tests stop it).
	now func() time.Time
}

const (
	// virtioNetHdrLen is the virtio-net header in front of each packet
	// (struct virtio_net_hdr, little endian).
	virtioNetHdrLen = 10
	// upgradeRate is the packets per second (read and written) from which
	// a tunnel gets the offloading device.
	upgradeRate = 256
	// lightBatchSize is the batch the data plane offers a light device:
	// that of the device it may become.
	lightBatchSize  = 128
	virtioNeedsCsum = 1
)

// CreateTunnelDevice creates the TUN device of a TunnelN interface (light,
// see TunnelDevice). The device is "unmonitored": wireguard/tun's own
// watchers (a netlink socket and two goroutines per device, one waking
// every second) would cost a hub of N tunnels N sockets that each receive
// every link event of the host; the router follows links itself.
func CreateTunnelDevice(name string, mtu int) (*TunnelDevice, error) {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: open /dev/net/tun: %w", name, err)
	}
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	ifr.SetUint16(unix.IFF_TUN | unix.IFF_NO_PI | unix.IFF_VNET_HDR)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("%s: TUNSETIFF: %w", name, err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	f := os.NewFile(uintptr(fd), "/dev/net/tun:"+name)
	if err := noIPv6LinkLocal(name); err != nil {
		f.Close()
		return nil, err
	}
	if err := writeSysctl("net/ipv4/conf/"+name+"/accept_local", "1"); err != nil {
		f.Close()
		return nil, err
	}
	if err := initLink(name, mtu); err != nil {
		f.Close()
		return nil, err
	}
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &TunnelDevice{name: name, light: f, rw: newReadWaiter(rc), now: time.Now}, nil
}

// BatchSize implements dataplane.Overlay.
func (d *TunnelDevice) BatchSize() int {
	if dev := d.dev.Load(); dev != nil {
		return (*dev).BatchSize()
	}
	return lightBatchSize
}

// Read implements dataplane.Overlay. One goroutine reads; it is the one
// that upgrades the device, between two reads, so that no read of the
// light mode ever meets a segmentation offload packet.
func (d *TunnelDevice) Read(bufs [][]byte, sizes []int, offset int) (int, error) {
	if d.wantUpgrade.Load() {
		d.upgrade()
	}
	if dev := d.dev.Load(); dev != nil {
		return (*dev).Read(bufs, sizes, offset)
	}
	if offset < virtioNetHdrLen {
		return 0, fmt.Errorf("%s: read offset %d leaves no room for the virtio-net header", d.name, offset)
	}
	b := bufs[0][offset-virtioNetHdrLen:]
	n, err := d.light.Read(b)
	if err != nil {
		return 0, err
	}
	if n < virtioNetHdrLen {
		return 0, fmt.Errorf("%s: short read (%d bytes)", d.name, n)
	}
	if b[1] != unix.VIRTIO_NET_HDR_GSO_NONE {
		return 0, fmt.Errorf("%s: segmentation offload packet on a device without offloads", d.name)
	}
	if b[0]&virtioNeedsCsum != 0 {
		start := int(binary.LittleEndian.Uint16(b[6:]))
		at := start + int(binary.LittleEndian.Uint16(b[8:]))
		pkt := b[virtioNetHdrLen:n]
		if at+2 > len(pkt) || start > at {
			return 0, fmt.Errorf("%s: checksum offsets %d+%d beyond a %d-byte packet", d.name, start, at-start, len(pkt))
		}
		finishChecksum(pkt, start, at)
	}
	sizes[0] = n - virtioNetHdrLen
	d.count(1)
	return 1, nil
}

// finishChecksum completes a partial checksum (the pseudo-header sum the
// kernel left at at) over pkt[start:].
func finishChecksum(pkt []byte, start, at int) {
	var sum uint32
	b := pkt[start:]
	for len(b) >= 2 {
		sum += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	binary.BigEndian.PutUint16(pkt[at:], ^uint16(sum))
}

// Write implements dataplane.Overlay; it is safe for concurrent use.
func (d *TunnelDevice) Write(bufs [][]byte, offset int) (int, error) {
	if dev := d.dev.Load(); dev != nil {
		return (*dev).Write(bufs, offset)
	}
	if offset < virtioNetHdrLen {
		return 0, fmt.Errorf("%s: write offset %d leaves no room for the virtio-net header", d.name, offset)
	}
	for i, b := range bufs {
		clear(b[offset-virtioNetHdrLen : offset]) // no offload asked
		if _, err := d.light.Write(b[offset-virtioNetHdrLen:]); err != nil {
			return i, err
		}
	}
	d.count(len(bufs))
	return len(bufs), nil
}

// count notes packets of the light mode and asks for the upgrade when the
// tunnel carries traffic.
func (d *TunnelDevice) count(n int) {
	now := d.now().UnixNano()
	if start := d.winStart.Load(); now-start > int64(time.Second) {
		if d.winStart.CompareAndSwap(start, now) {
			d.winPackets.Store(0)
		}
	}
	if d.winPackets.Add(int64(n)) >= upgradeRate {
		d.wantUpgrade.Store(true)
	}
}

// upgrade turns on the offloads: a wireguard/tun device on a duplicate of
// the descriptor (the same queue; the light descriptor stays for waits and
// ioctls).
func (d *TunnelDevice) upgrade() {
	d.upgradeMu.Lock()
	defer d.upgradeMu.Unlock()
	d.wantUpgrade.Store(false)
	if d.dev.Load() != nil {
		return
	}
	rc, err := d.light.SyscallConn()
	if err != nil {
		return
	}
	fd, derr := -1, error(nil)
	if err := rc.Control(func(lfd uintptr) { fd, derr = unix.FcntlInt(lfd, unix.F_DUPFD_CLOEXEC, 0) }); err != nil || derr != nil {
		return // closed: the next read says so
	}
	dev, _, err := tun.CreateUnmonitoredTUNFromFD(fd)
	if err != nil {
		unix.Close(fd)
		return // stays light
	}
	d.dev.Store(&dev)
}

// Offloading reports whether the device was upgraded to offloads.
func (d *TunnelDevice) Offloading() bool { return d.dev.Load() != nil }

// Close closes the device (both descriptors once upgraded).
func (d *TunnelDevice) Close() error {
	d.upgradeMu.Lock()
	defer d.upgradeMu.Unlock()
	var err error
	if dev := d.dev.Load(); dev != nil {
		err = (*dev).Close()
	}
	return errors.Join(err, d.light.Close())
}

// A tunnel device accepts packets from the router's own addresses
// (accept_local): the ICMP errors the data plane writes into it come from
// the tunnel's address, and without it the kernel drops them as martians
// instead of forwarding them to the sender. IPv6 has no such check.

// noIPv6LinkLocal keeps the kernel from giving a new device an IPv6
// link-local address of its own (addr_gen_mode none), before it goes up.
// Each such address brings duplicate address detection, MLD reports and
// router solicitations into the tunnel, and an fe80::/64 route per device:
// with 10000 tunnels the kernel's IPv6 table held 10000 routes to the same
// prefix, and each new device took longer than the one before. IPv6 still
// crosses the device; its addresses come from the configuration.
func noIPv6LinkLocal(name string) error {
	err := writeSysctl("net/ipv6/conf/"+name+"/addr_gen_mode", "1")
	if errors.Is(err, os.ErrNotExist) {
		return nil // a kernel without IPv6
	}
	return err
}

// initLink sets the MTU of a new device.
func initLink(name string, mtu int) error {
	l, err := netlink.LinkByName(name)
	if err == nil {
		err = netlink.LinkSetMTU(l, mtu)
	}
	if err != nil {
		return fmt.Errorf("%s: set MTU %d: %w", name, mtu, err)
	}
	return nil
}

// WaitRead implements dataplane.Waiter: it returns when the kernel has a
// packet for the tunnel, without reading it.
func (d *TunnelDevice) WaitRead() error { return d.rw.wait() }

// SetCarrier sets the carrier of a TUN device. With the carrier off, the
// link is administratively up but operationally down: the kernel and any
// routing daemon see what IOS calls "up, line protocol down".
func (d *TunnelDevice) SetCarrier(on bool) error {
	v := 0
	if on {
		v = 1
	}
	raw, err := d.light.SyscallConn()
	if err != nil {
		return err
	}
	var ierr error
	err = raw.Control(func(fd uintptr) {
		ierr = unix.IoctlSetPointerInt(int(fd), tunSetCarrier, v)
	})
	if err != nil {
		return err
	}
	if ierr != nil {
		return fmt.Errorf("%s: TUNSETCARRIER: %w", d.name, ierr)
	}
	return nil
}

// CreateLoopbackDevice creates a plain TUN device that stands in for a
// LoopbackN interface: this kernel has no dummy interfaces, and a device of
// its own lets `shutdown` and `show interfaces` behave as on IOS. Nothing is
// routed into it (its address is local), so it is never read.
func CreateLoopbackDevice(name string) (*os.File, error) {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: open /dev/net/tun: %w", name, err)
	}
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	ifr.SetUint16(unix.IFF_TUN | unix.IFF_NO_PI)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("%s: TUNSETIFF: %w", name, err)
	}
	f := os.NewFile(uintptr(fd), "/dev/net/tun:"+name)
	// The link-local address is the router's to give, as on a tunnel (a
	// loopback with IPv6 gets one derived as IOS does; the kernel's would
	// be a second, random one).
	if err := noIPv6LinkLocal(name); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
