package router

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"net"
	"net/netip"
	"slices"

	"github.com/gresec/gresec/internal/config"
	"github.com/gresec/gresec/internal/linux"
)

// ipv6Addresses is what an interface's IPv6 configuration asks of the
// host: its link-local address first, then the global ones in file
// order. As on IOS, an interface with an IPv6 address or `ipv6 enable`
// has a link-local address: the configured one, else, on the interfaces
// gresec creates (Linux gives them none), one derived for the interface
// (autoLinkLocal). A physical interface keeps the kernel's own. It says
// what it cannot apply (eui-64 without a MAC address).
func ipv6Addresses(hostname string, ic *config.Interface, mac net.HardwareAddr) ([]netip.Prefix, string) {
	if !ic.IPv6Enabled() {
		return nil, ""
	}
	var out []netip.Prefix
	var problem string
	for _, a := range ic.IPv6Addresses {
		if !a.EUI64 {
			out = append(out, a.Prefix)
			continue
		}
		p, ok := eui64(a.Prefix, mac)
		if !ok {
			problem = fmt.Sprintf("%s: ipv6 address %s eui-64: the interface has no MAC address", ic.Name, a.Prefix)
			continue
		}
		out = append(out, p)
	}
	ll := ic.IPv6LinkLocal
	if !ll.IsValid() && ic.Kind != config.Physical {
		ll = autoLinkLocal(hostname, ic.Name, out)
	}
	if ll.IsValid() {
		out = slices.Insert(out, 0, netip.PrefixFrom(ll, 64))
	}
	return out, problem
}

// autoLinkLocal is the link-local address of an interface without one of
// the kernel's (TunnelN, LoopbackN): fe80:: with the interface identifier
// of its first global address, which is unique on the link as that
// address is (2001:db8:ff::1/64 gives fe80::1); without one, an
// identifier hashed from the hostname and the interface name, stable
// across restarts (RFC 7217's idea, without its secret).
func autoLinkLocal(hostname, name string, global []netip.Prefix) netip.Addr {
	var iid uint64
	if len(global) > 0 {
		b := global[0].Addr().As16()
		iid = binary.BigEndian.Uint64(b[8:])
	}
	if iid == 0 {
		h := fnv.New64a()
		h.Write([]byte(hostname + "\x00" + name))
		iid = h.Sum64()
	}
	var b [16]byte
	b[0], b[1] = 0xfe, 0x80
	binary.BigEndian.PutUint64(b[8:], iid)
	return netip.AddrFrom16(b)
}

// eui64 fills the low 64 bits of p's address with the modified EUI-64
// interface identifier of mac (RFC 4291 appendix A).
func eui64(p netip.Prefix, mac net.HardwareAddr) (netip.Prefix, bool) {
	if len(mac) != 6 {
		return netip.Prefix{}, false
	}
	b := p.Addr().As16()
	b[8], b[9], b[10] = mac[0]^0x02, mac[1], mac[2]
	b[11], b[12] = 0xff, 0xfe
	b[13], b[14], b[15] = mac[3], mac[4], mac[5]
	return netip.PrefixFrom(netip.AddrFrom16(b), p.Bits()), true
}

// applyIPv6 makes the interface's IPv6 addresses what its configuration
// asks: what gresec put there and no longer wants is removed, what is
// wanted and not known to be there (never added, or reported gone: Linux
// flushes IPv6 addresses when a link goes down) is added. The host state
// cannot tell: it leaves tentative addresses out, and an address stays
// tentative while its link is down, so comparing with it would add every
// down tunnel's addresses again at every pass. It reports whether it
// changed anything.
func (r *Router) applyIPv6(it *iface) (bool, error) {
	ic := it.cfg
	l, _ := r.hs.link(ic.Name)
	want, problem := ipv6Addresses(r.cfg.Hostname, ic, l.HWAddr)
	if problem != "" {
		r.warnOnce(it, problem)
	}
	changed := false
	for _, p := range it.addrs6 {
		if slices.Contains(want, p) {
			continue
		}
		if err := r.host.SetAddress(ic.Name, netip.Prefix{}, p); err != nil {
			return changed, err
		}
		changed = true
	}
	unwanted := func(p netip.Prefix) bool { return !slices.Contains(want, p) }
	it.addrs6 = slices.DeleteFunc(it.addrs6, unwanted)
	it.added6 = slices.DeleteFunc(it.added6, unwanted)
	for _, p := range want {
		if slices.Contains(it.added6, p) {
			continue
		}
		// Adding an address the host has (tentative, say) is harmless.
		if err := r.host.SetAddress(ic.Name, p, netip.Prefix{}); err != nil {
			return changed, err
		}
		if !slices.Contains(it.addrs6, p) {
			it.addrs6 = append(it.addrs6, p)
		}
		it.added6 = append(it.added6, p)
		changed = true
	}
	return changed, nil
}

// noteAddrGone records that the host reports an address gone or
// tentative: if gresec added it, it is added again at the next pass (a
// tentative one is then kept as it is). A snapshot, after lost events,
// makes every address be added again.
func (r *Router) noteAddrGone(ev linux.Event) {
	switch ev.Kind {
	case linux.EventSnapshot:
		for _, it := range r.ifs {
			it.added6 = nil
		}
	case linux.EventAddrGone:
		if !ev.Prefix.Addr().Is6() {
			return
		}
		name, ok := r.hs.names[ev.Index]
		if it := r.ifs[name]; ok && it != nil {
			it.added6 = slices.DeleteFunc(it.added6, func(p netip.Prefix) bool { return p == ev.Prefix })
		}
	}
}

// tunnelIPv6MTU is the largest IPv6 packet a tunnel carries: `ipv6 mtu`,
// or what fits the underlay, as on IOS (not `ip mtu`), and never above the
// device's MTU, which Linux's IPv6 MTU cannot exceed.
func tunnelIPv6MTU(tc *config.TunnelConfig, underlayMTU, deviceMTU int) int {
	mtu := tc.IPv6MTU
	if mtu == 0 {
		mtu = underlayMTU - overhead(tc)
	}
	return min(mtu, deviceMTU)
}

// applyIPv6MTU gives a tunnel with IPv6 its IPv6 MTU on the host (the
// kernel resets it to the link MTU whenever that changes).
func (r *Router) applyIPv6MTU(it *iface) error {
	tc := it.cfg.Tunnel
	if !it.cfg.IPv6Enabled() && tc.IPv6MTU == 0 {
		return nil
	}
	mtu := tunnelIPv6MTU(tc, 1500, it.mtu)
	if mtu == it.mtu6 || mtu < 1280 {
		return nil
	}
	if err := r.host.SetIPv6MTU(it.cfg.Name, mtu); err != nil {
		return err
	}
	it.mtu6 = mtu
	return nil
}

// ipv6LinkLocal returns the link-local address among a link's addresses.
func ipv6LinkLocal(l linux.Link) (netip.Prefix, bool) {
	for _, p := range l.Addrs6 {
		if p.Addr().IsLinkLocalUnicast() {
			return p, true
		}
	}
	return netip.Prefix{}, false
}
