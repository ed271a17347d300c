// Package linux is gresec's thin edge to the Linux kernel: TUN devices, raw
// sockets, and netlink for links, addresses, routes and their events.
// Nothing here decides anything; the router does.
package linux

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// RouteProtocol marks the routes gresec installs (`ip route show proto 47`),
// so that it removes exactly its own and tells them apart from FRR's.
const RouteProtocol = netlink.RouteProtocol(47)

// Link is what the router needs to know of one interface.
type Link struct {
	Name    string
	Index   int
	AdminUp bool
	// OperUp is the carrier: false when the cable (or a TUN's carrier) is off.
	OperUp bool
	MTU    int
	// Addrs are the IPv4 addresses, the primary first; Addrs6 the usable
	// (not tentative) IPv6 ones.
	Addrs  []netip.Prefix
	Addrs6 []netip.Prefix
	// HWAddr is the MAC address (nil for TUN devices): the interface
	// identifier of `ipv6 address PREFIX eui-64`.
	HWAddr net.HardwareAddr
	Stats  LinkStats
}

// LinkStats are the kernel's interface counters.
type LinkStats struct {
	RxPackets, RxBytes, RxErrors, RxDropped uint64
	TxPackets, TxBytes, TxErrors, TxDropped uint64
}

// Host talks netlink in the daemon's network namespace.
type Host struct {
	h *netlink.Handle
}

// NewHost opens a netlink handle in the current namespace.
func NewHost() (*Host, error) {
	h, err := netlink.NewHandle()
	if err != nil {
		return nil, fmt.Errorf("netlink: %w", err)
	}
	return &Host{h: h}, nil
}

// Close releases the netlink handle.
func (x *Host) Close() { x.h.Close() }

// LinkExists reports whether an interface of that name exists.
func (x *Host) LinkExists(name string) bool {
	_, err := x.h.LinkByName(name)
	return err == nil
}

// Link reads one interface with its usable addresses of both families.
func (x *Host) Link(name string) (Link, error) {
	l, err := x.h.LinkByName(name)
	if err != nil {
		return Link{}, fmt.Errorf("%s: %w", name, err)
	}
	addrs, err := x.h.AddrList(l, unix.AF_UNSPEC)
	if err != nil {
		return Link{}, fmt.Errorf("%s: list addresses: %w", name, err)
	}
	addrs = slices.DeleteFunc(addrs, func(a netlink.Addr) bool { return a.Flags&unix.IFA_F_TENTATIVE != 0 })
	return describe(l, addrs), nil
}

// Links reads every interface with its usable addresses of both families:
// one dump of the links and one of the addresses, whatever their number
// (an address dump per link made a pass over N tunnels cost O(N^2)).
func (x *Host) Links() ([]Link, error) {
	ls, err := x.h.LinkList()
	if err != nil {
		return nil, fmt.Errorf("list links: %w", err)
	}
	addrs, err := x.h.AddrList(nil, unix.AF_UNSPEC)
	if err != nil {
		return nil, fmt.Errorf("list addresses: %w", err)
	}
	addrs = slices.DeleteFunc(addrs, func(a netlink.Addr) bool { return a.Flags&unix.IFA_F_TENTATIVE != 0 })
	byIndex := make(map[int][]netlink.Addr, len(ls))
	for _, a := range addrs {
		byIndex[a.LinkIndex] = append(byIndex[a.LinkIndex], a)
	}
	out := make([]Link, 0, len(ls))
	for _, l := range ls {
		out = append(out, describe(l, byIndex[l.Attrs().Index]))
	}
	return out, nil
}

func describe(l netlink.Link, addrs []netlink.Addr) Link {
	a := l.Attrs()
	d := Link{
		Name:    a.Name,
		Index:   a.Index,
		AdminUp: a.Flags&net.FlagUp != 0,
		// Loopback-like and TUN devices report "unknown" with a carrier.
		OperUp: a.OperState == netlink.OperUp || (a.OperState == netlink.OperUnknown && a.RawFlags&unix.IFF_LOWER_UP != 0),
		MTU:    a.MTU,
	}
	if s := a.Statistics; s != nil {
		d.Stats = LinkStats{
			RxPackets: s.RxPackets, RxBytes: s.RxBytes, RxErrors: s.RxErrors, RxDropped: s.RxDropped,
			TxPackets: s.TxPackets, TxBytes: s.TxBytes, TxErrors: s.TxErrors, TxDropped: s.TxDropped,
		}
	}
	for _, ad := range addrs {
		p, ok := prefixOf(ad.IPNet)
		switch {
		case !ok:
		case p.Addr().Is4():
			d.Addrs = append(d.Addrs, p)
		default:
			d.Addrs6 = append(d.Addrs6, p)
		}
	}
	return d
}

func prefixOf(n *net.IPNet) (netip.Prefix, bool) {
	if n == nil {
		return netip.Prefix{}, false
	}
	a, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	ones, _ := n.Mask.Size()
	return netip.PrefixFrom(a.Unmap(), ones), true
}

func ipnet(p netip.Prefix) *net.IPNet {
	bits := 32
	if p.Addr().Is6() {
		bits = 128
	}
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), bits)}
}

// SetUp sets an interface administratively up or down.
func (x *Host) SetUp(name string, up bool) error {
	l, err := x.h.LinkByName(name)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if up {
		err = x.h.LinkSetUp(l)
	} else {
		err = x.h.LinkSetDown(l)
	}
	if err != nil {
		return fmt.Errorf("%s: set up=%v: %w", name, up, err)
	}
	return nil
}

// SetMTU sets an interface's MTU.
func (x *Host) SetMTU(name string, mtu int) error {
	l, err := x.h.LinkByName(name)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if l.Attrs().MTU == mtu {
		return nil
	}
	if err := x.h.LinkSetMTU(l, mtu); err != nil {
		return fmt.Errorf("%s: set mtu %d: %w", name, mtu, err)
	}
	return nil
}

// SetAddress replaces the gresec-managed address old (when valid and
// different) with p (when valid), of either family.
func (x *Host) SetAddress(name string, p, old netip.Prefix) error {
	l, err := x.h.LinkByName(name)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if old.IsValid() && old != p {
		err := x.h.AddrDel(l, &netlink.Addr{IPNet: ipnet(old)})
		if err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
			return fmt.Errorf("%s: remove address %s: %w", name, old, err)
		}
	}
	if !p.IsValid() {
		return nil
	}
	a := &netlink.Addr{IPNet: ipnet(p)}
	if p.Addr().Is6() {
		// Added, not replaced: a replacement could restart duplicate
		// address detection of an address still tentative.
		if err := x.h.AddrAdd(l, a); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("%s: add address %s: %w", name, p, err)
		}
		return nil
	}
	if p.Bits() == 31 || p.Bits() == 32 {
		a.Broadcast = nil
	}
	if err := x.h.AddrReplace(l, a); err != nil {
		return fmt.Errorf("%s: add address %s: %w", name, p, err)
	}
	return nil
}

// Nexthop is one path of a route: a gateway, an interface, or both.
type Nexthop struct {
	Gateway   netip.Addr
	LinkIndex int
}

// Route is a route gresec installs in the main table.
type Route struct {
	Prefix   netip.Prefix
	Nexthops []Nexthop
	// Metric is the kernel priority; gresec uses the administrative distance.
	Metric int
}

func (r Route) netlink() *netlink.Route {
	nr := &netlink.Route{
		Dst:      ipnet(r.Prefix),
		Protocol: RouteProtocol,
		Priority: r.Metric,
		Table:    unix.RT_TABLE_MAIN,
	}
	if len(r.Nexthops) == 1 {
		nh := r.Nexthops[0]
		nr.LinkIndex = nh.LinkIndex
		if nh.Gateway.IsValid() {
			nr.Gw = nh.Gateway.AsSlice()
		} else {
			nr.Scope = netlink.SCOPE_LINK
		}
		return nr
	}
	for _, nh := range r.Nexthops {
		ni := &netlink.NexthopInfo{LinkIndex: nh.LinkIndex}
		if nh.Gateway.IsValid() {
			ni.Gw = nh.Gateway.AsSlice()
		}
		nr.MultiPath = append(nr.MultiPath, ni)
	}
	return nr
}

// ReplaceRoute installs or updates a route.
func (x *Host) ReplaceRoute(r Route) error {
	if err := x.h.RouteReplace(r.netlink()); err != nil {
		return fmt.Errorf("route %s: %w", r.Prefix, err)
	}
	return nil
}

// DeleteRoute removes a route gresec installed, whatever its scope.
func (x *Host) DeleteRoute(prefix netip.Prefix, metric int) error {
	nr := &netlink.Route{Dst: ipnet(prefix), Protocol: RouteProtocol, Priority: metric, Table: unix.RT_TABLE_MAIN, Scope: netlink.SCOPE_NOWHERE}
	if err := x.h.RouteDel(nr); err != nil && !errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("delete route %s: %w", prefix, err)
	}
	return nil
}

// OwnRoutes lists the routes of gresec's protocol in the main table, of
// both families.
func (x *Host) OwnRoutes() ([]Route, error) {
	filter := &netlink.Route{Protocol: RouteProtocol, Table: unix.RT_TABLE_MAIN}
	rs, err := x.h.RouteListFiltered(unix.AF_UNSPEC, filter, netlink.RT_FILTER_PROTOCOL|netlink.RT_FILTER_TABLE)
	if err != nil {
		return nil, fmt.Errorf("list routes: %w", err)
	}
	out := make([]Route, 0, len(rs))
	for _, nr := range rs {
		out = append(out, routeOf(nr))
	}
	return out, nil
}

// FlushRoutes removes every route of gresec's protocol from the main
// table, and gresec's route-via rules and tables: left-overs of a daemon
// that did not exit cleanly.
func (x *Host) FlushRoutes() error {
	filter := &netlink.Route{Protocol: RouteProtocol, Table: unix.RT_TABLE_MAIN}
	rs, err := x.h.RouteListFiltered(unix.AF_UNSPEC, filter, netlink.RT_FILTER_PROTOCOL|netlink.RT_FILTER_TABLE)
	if err != nil {
		return fmt.Errorf("list routes: %w", err)
	}
	var errs []error
	for i := range rs {
		if err := x.h.RouteDel(&rs[i]); err != nil && !errors.Is(err, unix.ESRCH) {
			errs = append(errs, err)
		}
	}
	errs = append(errs, x.flushPins())
	return errors.Join(errs...)
}

// KernelRoute is one route of the main table, as `show ip route` and
// `show ipv6 route` list it.
type KernelRoute struct {
	Prefix   netip.Prefix
	Protocol int
	Metric   int
	Scope    int
	Nexthops []KernelNexthop
	// Linkdown is set when the route's device has no carrier.
	Linkdown bool
}

// KernelNexthop is one path of a KernelRoute.
type KernelNexthop struct {
	Gateway netip.Addr
	Device  string
}

// Routes lists the unicast routes of the main table, IPv4 then IPv6.
func (x *Host) Routes() ([]KernelRoute, error) {
	filter := &netlink.Route{Table: unix.RT_TABLE_MAIN}
	rs, err := x.h.RouteListFiltered(unix.AF_UNSPEC, filter, netlink.RT_FILTER_TABLE)
	if err != nil {
		return nil, fmt.Errorf("list routes: %w", err)
	}
	names := map[int]string{}
	if ls, err := x.h.LinkList(); err == nil {
		for _, l := range ls {
			names[l.Attrs().Index] = l.Attrs().Name
		}
	}
	out := make([]KernelRoute, 0, len(rs))
	for _, r := range rs {
		if r.Type != unix.RTN_UNICAST {
			continue
		}
		kr := KernelRoute{Protocol: int(r.Protocol), Metric: r.Priority, Scope: int(r.Scope), Linkdown: r.Flags&unix.RTNH_F_LINKDOWN != 0}
		if r.Dst == nil {
			kr.Prefix = defaultRoute(r.Family)
		} else if p, ok := prefixOf(r.Dst); ok {
			kr.Prefix = p
		}
		add := func(gw net.IP, idx int) {
			nh := KernelNexthop{Device: names[idx]}
			if a, ok := netip.AddrFromSlice(gw); ok {
				nh.Gateway = a.Unmap()
			}
			kr.Nexthops = append(kr.Nexthops, nh)
		}
		if len(r.MultiPath) > 0 {
			for _, nh := range r.MultiPath {
				add(nh.Gw, nh.LinkIndex)
			}
		} else {
			add(r.Gw, r.LinkIndex)
		}
		out = append(out, kr)
	}
	slices.SortFunc(out, func(a, b KernelRoute) int {
		if c := a.Prefix.Addr().Compare(b.Prefix.Addr()); c != 0 {
			return c
		}
		return a.Prefix.Bits() - b.Prefix.Bits()
	})
	return out, nil
}

// Lookup is the answer of the kernel's FIB for one underlay destination.
type Lookup struct {
	// Found is false when the destination is unreachable.
	Found     bool
	LinkIndex int
	Device    string
	Gateway   netip.Addr
	// Prefix and Protocol are the matching route's (RTM_F_FIB_MATCH).
	Prefix   netip.Prefix
	Protocol int
	// MTU is the path MTU the kernel holds for dst (learned from Packet
	// Too Big, or a route's mtu), 0 when none is known.
	MTU int
}

// LookupOptions are the selectors of the underlay socket, so that the
// lookup answers for the same packets the socket will send.
type LookupOptions struct {
	Src        netip.Addr
	Mark       uint32
	BindDevice string
}

// RouteGet asks the kernel how it would route dst.
func (x *Host) RouteGet(dst netip.Addr, o LookupOptions) (Lookup, error) {
	opts := &netlink.RouteGetOptions{Mark: o.Mark, Oif: o.BindDevice}
	if o.Src.IsValid() {
		opts.SrcAddr = o.Src.AsSlice()
	}
	rs, err := x.h.RouteGetWithOptions(dst.AsSlice(), opts)
	if err != nil {
		if errors.Is(err, unix.ENETUNREACH) || errors.Is(err, unix.EHOSTUNREACH) || errors.Is(err, unix.EINVAL) {
			return Lookup{}, nil
		}
		return Lookup{}, fmt.Errorf("route get %s: %w", dst, err)
	}
	if len(rs) == 0 {
		return Lookup{}, nil
	}
	r := rs[0]
	lk := Lookup{Found: true, LinkIndex: r.LinkIndex, MTU: r.MTU}
	if gw, ok := netip.AddrFromSlice(r.Gw); ok {
		lk.Gateway = gw.Unmap()
	}
	if l, err := x.h.LinkByIndex(r.LinkIndex); err == nil {
		lk.Device = l.Attrs().Name
	}
	opts.FIBMatch = true
	if ms, err := x.h.RouteGetWithOptions(dst.AsSlice(), opts); err == nil && len(ms) > 0 {
		m := ms[0]
		lk.Protocol = int(m.Protocol)
		if m.Dst == nil {
			lk.Prefix = defaultRoute(m.Family)
		} else if p, ok := prefixOf(m.Dst); ok {
			lk.Prefix = p
		}
	}
	return lk, nil
}

// defaultRoute is the prefix of a route without destination.
func defaultRoute(family int) netip.Prefix {
	if family == unix.AF_INET6 {
		return netip.PrefixFrom(netip.IPv6Unspecified(), 0)
	}
	return netip.PrefixFrom(netip.IPv4Unspecified(), 0)
}

// EnableForwarding turns on IPv4 forwarding in this namespace.
func EnableForwarding() error {
	return writeSysctl("net/ipv4/ip_forward", "1")
}

// EnableIPv6Forwarding turns on IPv6 forwarding on every interface of this
// namespace (`ipv6 unicast-routing`).
func EnableIPv6Forwarding() error {
	return writeSysctl("net/ipv6/conf/all/forwarding", "1")
}

// SetIPv6MTU sets an interface's IPv6 MTU (`ipv6 mtu`), which the kernel
// keeps at or below the link MTU and resets when that changes.
func SetIPv6MTU(dev string, mtu int) error {
	return writeSysctl("net/ipv6/conf/"+dev+"/mtu", fmt.Sprint(mtu))
}

// IgnoreLinkdownRoutes makes the kernel ignore routes through dev while it
// has no carrier, as IOS withdraws a down interface's connected route;
// IPv6 the same.
func IgnoreLinkdownRoutes(dev string) error {
	if err := writeSysctl("net/ipv4/conf/"+dev+"/ignore_routes_with_linkdown", "1"); err != nil {
		return err
	}
	err := writeSysctl("net/ipv6/conf/"+dev+"/ignore_routes_with_linkdown", "1")
	if errors.Is(err, os.ErrNotExist) {
		return nil // a kernel without IPv6
	}
	return err
}

func writeSysctl(key, val string) error {
	if err := os.WriteFile("/proc/sys/"+key, []byte(val), 0o644); err != nil {
		return fmt.Errorf("sysctl %s: %w", key, err)
	}
	return nil
}
