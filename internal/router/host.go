package router

import (
	"context"
	"io"
	"net/netip"

	"github.com/gresec/gresec/internal/dataplane"
	"github.com/gresec/gresec/internal/linux"
)

// Host is everything the router asks of the machine: the state of its
// links, addresses and routes (as a stream of events), the changes it
// makes to them, and the devices and sockets the data plane runs on. The
// daemon's Host is Linux (linuxHost); tests give the router an in-memory
// one, so that reconciliation, the line protocol, route-via, recursion and
// protection are tested without root, as the IKE engine is with its fake
// clock.
type Host interface {
	// Watch sends the host's links and addresses, then every change to
	// links, addresses and routes, until ctx ends. The first event is a
	// snapshot; another snapshot follows whenever events were lost.
	Watch(ctx context.Context, events chan<- linux.Event) error

	// Link reads one link afresh, with its addresses; Links reads every
	// link with its counters (the views); LinkExists says whether a link
	// of that name exists.
	Link(name string) (linux.Link, error)
	Links() ([]linux.Link, error)
	LinkExists(name string) bool
	// Routes lists the main table's routes of both families.
	Routes() ([]linux.KernelRoute, error)
	// RouteGet asks how a packet to dst with the options' selectors would
	// be routed.
	RouteGet(dst netip.Addr, o linux.LookupOptions) (linux.Lookup, error)

	SetUp(name string, up bool) error
	SetMTU(name string, mtu int) error
	// SetIPv6MTU sets a link's IPv6 MTU (at most its MTU).
	SetIPv6MTU(name string, mtu int) error
	// SetAddress replaces old (if valid) with p (if valid) on a link; either
	// family.
	SetAddress(name string, p, old netip.Prefix) error
	EnableForwarding() error
	// EnableIPv6Forwarding is `ipv6 unicast-routing`.
	EnableIPv6Forwarding() error
	// IgnoreLinkdownRoutes keeps a link's routes out of use while its
	// carrier is off.
	IgnoreLinkdownRoutes(dev string) error

	// Routes gresec installs, of both families (its protocol tells them
	// apart).
	OwnRoutes() ([]linux.Route, error)
	ReplaceRoute(rt linux.Route) error
	DeleteRoute(prefix netip.Prefix, metric int) error
	FlushRoutes() error
	// SetPin installs the policy routing of `tunnel route-via`; DeletePin
	// removes it.
	SetPin(p linux.Pin) error
	DeletePin(slot int) error

	CreateTunnelDevice(name string, mtu int) (TunnelDevice, error)
	CreateLoopbackDevice(name string) (io.Closer, error)
	// ListenRaw opens the raw socket of one IP protocol (47 or 50) from
	// one source address, shared by the tunnels from it.
	ListenRaw(proto int, src netip.Addr, opts linux.UnderlayOptions, h RawHooks) (RawSocket, error)
	// DialUDP opens the ESP-in-UDP socket from local to peer.
	DialUDP(local, peer netip.AddrPort, opts linux.UnderlayOptions, h UDPHooks) (UDPSocket, error)
	// ListenIKE opens an IKE socket (UDP 500 or 4500).
	ListenIKE(local netip.AddrPort, mark uint32) (IKESocket, error)
	// ReadFile reads a file the configuration names (a trust point's PEM
	// certificates and key).
	ReadFile(path string) ([]byte, error)

	Close()
}

// TunnelDevice is the device of a TunnelN interface.
type TunnelDevice interface {
	dataplane.Overlay
	dataplane.Waiter
	// SetCarrier turns the carrier (the line protocol as the kernel and
	// routing daemons see it) on or off.
	SetCarrier(on bool) error
	Close() error
}

// RawSocket is a shared raw socket: read by its port, written through a
// sender per peer.
type RawSocket interface {
	dataplane.Reader
	dataplane.Waiter
	To(dst netip.Addr) dataplane.Writer
	// PathMTU is the path MTU to dst that the socket learned (an IPv6
	// socket, from Packet Too Big), or 0.
	PathMTU(dst netip.Addr) int
}

// UDPSocket is a connected ESP-in-UDP socket.
type UDPSocket interface {
	dataplane.Underlay
	dataplane.Waiter
	// PathMTU is the path MTU to the peer over IPv6 (from Packet Too
	// Big), or 0.
	PathMTU() int
}

// RawHooks are what a raw socket tells the router.
type RawHooks struct {
	// OnPathMTU hears of a path MTU to dst the socket learned (an IPv6
	// socket, from a Packet Too Big of the path).
	OnPathMTU func(dst netip.Addr)
}

// UDPHooks are what a UDP socket tells the router.
type UDPHooks struct {
	// OnGSORefused hears when the route refused UDP segmentation offload.
	OnGSORefused func(segment int, err error)
}

// IKESocket is an unconnected UDP socket for IKE.
type IKESocket interface {
	ReadFromUDPAddrPort(b []byte) (int, netip.AddrPort, error)
	WriteToUDPAddrPort(b []byte, addr netip.AddrPort) (int, error)
	Close() error
}
