package linux

import (
	"fmt"
	"os"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
	"golang.zx2c4.com/wireguard/tun"
)

// tunSetCarrier is TUNSETCARRIER, _IOW('T', 226, int), which x/sys lacks.
const tunSetCarrier = 0x400454e2

// TunnelDevice is the TUN device of a TunnelN interface.
type TunnelDevice struct {
	tun.Device
	rw *readWaiter
}

// CreateTunnelDevice creates the TUN device of a TunnelN interface, with the
// virtio-net header and TSO/USO offloads that golang.zx2c4.com/wireguard/tun
// negotiates, so that reads hand over batches and writes coalesce. The
// device is "unmonitored": wireguard/tun's own watchers (a netlink socket
// and two goroutines per device, one waking every second) would cost a
// hub of N tunnels N sockets that each receive every link event of the
// host; the router follows links itself.
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
	dev, _, err := tun.CreateUnmonitoredTUNFromFD(fd) // sets it non-blocking
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("%s: create TUN device: %w", name, err)
	}
	if err := setMTU(name, mtu); err != nil {
		dev.Close()
		return nil, err
	}
	rc, err := dev.File().SyscallConn()
	if err != nil {
		dev.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &TunnelDevice{Device: dev, rw: newReadWaiter(rc)}, nil
}

// setMTU sets a link's MTU by name.
func setMTU(name string, mtu int) error {
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
func SetCarrier(dev tun.Device, on bool) error {
	v := 0
	if on {
		v = 1
	}
	raw, err := dev.File().SyscallConn()
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
		return fmt.Errorf("TUNSETCARRIER: %w", ierr)
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
	return os.NewFile(uintptr(fd), "/dev/net/tun:"+name), nil
}
