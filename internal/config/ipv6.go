package config

// The IPv6 statements of interfaces and `ipv6 unicast-routing`; `ipv6
// route` is with `ip route` in route.go.

import (
	"net/netip"
	"slices"
)

func (p *parser) ipv6UnicastRouting(s *stmt) {
	if s.end(0) {
		p.cfg.IPv6UnicastRouting = !s.neg
	}
}

func (p *parser) ipv6Enable(s *stmt) {
	if s.end(0) {
		s.sec.iface.IPv6Enable = !s.neg
	}
}

// ipv6Address is `ipv6 address PREFIX/LENGTH [eui-64]` or `ipv6 address
// FE80::X link-local`, and their negations; `no ipv6 address` alone removes
// every IPv6 address, as on IOS.
func (p *parser) ipv6Address(s *stmt) {
	iface := s.sec.iface
	if s.neg && !s.has(0) {
		iface.IPv6Addresses, iface.IPv6LinkLocal = nil, netip.Addr{}
		p.meta(iface).ipv6 = nil
		return
	}
	w, ok := s.arg(0, "PREFIX/LENGTH or a link-local address")
	if !ok {
		return
	}
	if dynamic := []string{"autoconfig", "dhcp"}; !looksLikeAddr(w.text) {
		if i, res, _ := matchKeyword(w.text, dynamic); res == matched {
			// Nothing to remove for the negation: gresec never had one.
			if !s.neg {
				s.errorf(w, "\"ipv6 address %s\" is not supported; configure a static address", dynamic[i])
			}
			return
		}
	}
	if s.has(1) {
		kw, ok := s.choice(1, "eui-64", "link-local", "anycast", "cga")
		if !ok || !s.end(2) {
			return
		}
		switch kw {
		case "link-local":
			p.ipv6LinkLocal(s, w)
			return
		case "anycast", "cga":
			s.errorf(s.args[1], "%s addresses are not supported", kw)
			return
		}
	}
	pfx, ok := s.parseIPv6Prefix(w, 64)
	if !ok {
		return
	}
	a := IPv6Address{Prefix: pfx, EUI64: s.has(1)}
	if !s.neg && !p.checkIPv6Address(s, iface, a) {
		return
	}
	key := ipv6Key{addr: pfx.Addr(), eui64: a.EUI64}
	m := p.meta(iface)
	old, exists := m.ipv6[key]
	if s.neg {
		if !exists || old.prefix != pfx {
			s.warnf(w, "%s", describeRemoval("ipv6 address "+ipv6AddressString(a)+" on "+iface.Name))
			return
		}
		iface.IPv6Addresses = slices.DeleteFunc(iface.IPv6Addresses, func(o IPv6Address) bool { return o == a })
		delete(m.ipv6, key)
		return
	}
	switch {
	case exists && old.prefix == pfx:
		s.warnf(w, "duplicate of the ipv6 address at line %d; ignored", old.w.pos.Line)
		return
	case exists:
		// IOS would keep both lengths of one address, which routes its
		// on-link prefixes oddly; ask which was meant.
		s.errorf(w, "%s is already an address of %s, as %s (line %d); remove that one first with \"no ipv6 address %s\"",
			pfx.Addr(), iface.Name, old.prefix, old.w.pos.Line, old.prefix)
		return
	}
	iface.IPv6Addresses = append(iface.IPv6Addresses, a)
	if m.ipv6 == nil {
		m.ipv6 = map[ipv6Key]ipv6Entry{}
	}
	m.ipv6[key] = ipv6Entry{prefix: pfx, w: w}
}

// checkIPv6Address reports what is wrong with a as an address of iface.
func (p *parser) checkIPv6Address(s *stmt, iface *Interface, a IPv6Address) bool {
	w, addr, bits := s.args[0], a.Prefix.Addr(), a.Prefix.Bits()
	if msg := hostAddressProblem(addr); msg != "" {
		s.errorf(w, "invalid interface address %s: %s", addr, msg)
		return false
	}
	if addr.IsLinkLocalUnicast() {
		s.errorf(w, "%s is a link-local address; write \"ipv6 address %s link-local\"", addr, addr)
		return false
	}
	if a.EUI64 {
		if iface.Kind != Physical {
			// See IPv6Address: no MAC, so no identifier the peer could rely on.
			s.errorf(s.args[1], "eui-64 needs a MAC address, and %s, %s, has none; write the whole address, as in \"ipv6 address %s/%d\"",
				iface.Name, kindPhrase(iface.Kind), eui64Example(a.Prefix), bits)
			return false
		}
		if bits > 64 {
			s.errorf(w, "eui-64 fills the low 64 bits; the prefix length must be 64 or less, not %d", bits)
			return false
		}
		if low64(addr) != 0 {
			s.errorf(w, "%s already has an interface identifier; write %s/%d eui-64, or drop \"eui-64\"", a.Prefix, clearLow64(addr), bits)
			return false
		}
		return true
	}
	// All zeros in the interface identifier is the Subnet-Router anycast
	// address of the prefix (RFC 4291); /127 (RFC 6164) and /128 have none.
	// A loopback has no neighbours, so anything goes, as for IPv4.
	if iface.Kind != Loopback && bits < 127 && addr == a.Prefix.Masked().Addr() {
		s.errorf(w, "%s is the subnet-router anycast address of %s; give a host address, as in %s/%d",
			addr, a.Prefix.Masked(), addr.Next(), bits)
		return false
	}
	return true
}

func (p *parser) ipv6LinkLocal(s *stmt, w word) {
	iface := s.sec.iface
	a, ok := s.parseIPv6(w)
	if !ok {
		return
	}
	if !a.IsLinkLocalUnicast() {
		s.errorf(w, "%s is not a link-local address (FE80::/10); for a global address write \"ipv6 address %s/LENGTH\"", a, a)
		return
	}
	if s.neg {
		if iface.IPv6LinkLocal != a {
			s.warnf(w, "%s", describeRemoval("link-local address "+a.String()+" on "+iface.Name))
			return
		}
		iface.IPv6LinkLocal = netip.Addr{}
		return
	}
	// A second link-local address replaces the first, as on IOS.
	iface.IPv6LinkLocal = a
}

func low64(a netip.Addr) uint64 {
	b := a.As16()
	var v uint64
	for _, x := range b[8:] {
		v = v<<8 | uint64(x)
	}
	return v
}

func clearLow64(a netip.Addr) netip.Addr {
	b := a.As16()
	clear(b[8:])
	return netip.AddrFrom16(b)
}

// eui64Example is a host address in pfx to suggest instead of eui-64.
func eui64Example(pfx netip.Prefix) netip.Addr {
	return pfx.Masked().Addr().Next()
}

// ipv6AddressString renders a as written after "ipv6 address".
func ipv6AddressString(a IPv6Address) string {
	if a.EUI64 {
		return a.Prefix.String() + " eui-64"
	}
	return a.Prefix.String()
}

func (p *parser) ipv6MTU(s *stmt) {
	t := s.sec.iface.Tunnel
	if s.neg {
		t.IPv6MTU = 0
		return
	}
	// RFC 8200: no IPv6 link has an MTU below 1280.
	if n, ok := s.number(0, "IPv6 MTU", 1280, maxTunnelMTU); ok && s.end(1) {
		t.IPv6MTU = int(n)
		p.meta(s.sec.iface).ipv6MTU = s.args[0]
	}
}

func (p *parser) ipv6AdjustMSS(s *stmt) {
	t := s.sec.iface.Tunnel
	if s.neg {
		t.IPv6AdjustMSS = 0
		return
	}
	// ip tcp adjust-mss's 500-1460, less the 20 bytes by which the IPv6
	// header is longer than IPv4's.
	if n, ok := s.number(0, "MSS", 500, 1440); ok && s.end(1) {
		t.IPv6AdjustMSS = int(n)
	}
}
