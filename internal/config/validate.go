package config

import (
	"fmt"
	"net/netip"
	"slices"
)

// validate checks what no single line can: references between sections,
// conflicts between interfaces and tunnels, and routing advice. It runs even
// when lines had errors, so that one run reports everything it can.
func (p *parser) validate() {
	p.checkAddressOverlaps()
	idx := lookups{keys: &prefixMap[*ISAKMPKey]{}, owned: map[netip.Addr]*Interface{}}
	for _, k := range p.cfg.ISAKMPKeys {
		idx.keys.set(k.Peer, k)
	}
	for _, i := range p.cfg.Interfaces {
		for _, a := range ownAddrs(i) {
			if idx.owned[a] == nil {
				idx.owned[a] = i
			}
		}
	}
	for _, iface := range p.cfg.Interfaces {
		if iface.Kind == Tunnel {
			p.checkTunnel(iface, idx)
		}
	}
	connected := p.connectedTable()
	p.checkDemux()
	p.checkProfiles()
	p.checkIKEv2()
	p.checkRoutes(connected)
	p.checkRecursion(connected)
}

// ownAddrs are the addresses the file gives iface, both families; eui-64
// addresses are left out, as their host part comes from the MAC.
func ownAddrs(i *Interface) []netip.Addr {
	var out []netip.Addr
	if i.Address.IsValid() {
		out = append(out, i.Address.Addr())
	}
	for _, a := range i.IPv6Addresses {
		if !a.EUI64 {
			out = append(out, a.Prefix.Addr())
		}
	}
	return out
}

// connectedPrefixes are the on-link prefixes of iface, both families;
// link-local addresses are on every IPv6 link and do not count.
func connectedPrefixes(i *Interface) []netip.Prefix {
	var out []netip.Prefix
	if i.Address.IsValid() {
		out = append(out, i.Address.Masked())
	}
	for _, a := range i.IPv6Addresses {
		out = append(out, a.Prefix.Masked())
	}
	return out
}

// connectedTable maps each connected prefix to the first interface that
// has it.
func (p *parser) connectedTable() *prefixMap[*Interface] {
	connected := &prefixMap[*Interface]{}
	for _, i := range p.cfg.Interfaces {
		for _, pfx := range connectedPrefixes(i) {
			if _, dup := connected.get(pfx); !dup {
				connected.set(pfx, i)
			}
		}
	}
	return connected
}

// lookups are indexes built once for validation, so that checking each of
// many tunnels does not scan every key or interface.
type lookups struct {
	keys  *prefixMap[*ISAKMPKey]
	owned map[netip.Addr]*Interface // by interface address
}

// at returns w's position, or fallback when w was never recorded.
func at(w word, fallback Pos) Pos {
	if w.pos.Line == 0 {
		return fallback
	}
	return w.pos
}

// checkAddressOverlaps refuses overlapping interface subnets, as IOS does,
// in both families. Two prefixes overlap only when one contains the other,
// so after sorting by start address a stack of the enclosing prefixes finds
// every conflict in O(n log n). The IPv6 addresses of one interface may
// share a prefix (IOS allows several in one /64); each stack entry keeps
// the nearest enclosing entry of another interface, so that finding it
// stays O(1).
func (p *parser) checkAddressOverlaps() {
	type entry struct {
		iface *Interface
		addr  netip.Prefix // as configured, for the message
		pos   Pos
		order int // position in the file, to blame the later one
		other int // stack index of the nearest enclosing entry of another interface, or -1
	}
	var list []entry
	for i, iface := range p.cfg.Interfaces {
		m := p.meta(iface)
		if iface.Address.IsValid() {
			list = append(list, entry{iface: iface, addr: iface.Address, pos: at(m.address, iface.Pos), order: i})
		}
		for _, a := range iface.IPv6Addresses {
			w := m.ipv6[ipv6Key{addr: a.Prefix.Addr(), eui64: a.EUI64}].w
			list = append(list, entry{iface: iface, addr: a.Prefix, pos: at(w, iface.Pos), order: i})
		}
	}
	slices.SortStableFunc(list, func(a, b entry) int {
		if c := a.addr.Masked().Addr().Compare(b.addr.Masked().Addr()); c != 0 {
			return c
		}
		return a.addr.Bits() - b.addr.Bits()
	})
	var stack []entry
	for _, e := range list {
		for len(stack) > 0 && !stack[len(stack)-1].addr.Masked().Contains(e.addr.Addr()) {
			stack = stack[:len(stack)-1]
		}
		e.other = -1
		if top := len(stack) - 1; top >= 0 {
			e.other = top
			if stack[top].iface == e.iface {
				e.other = stack[top].other
			}
		}
		if e.other >= 0 {
			a, b := stack[e.other], e
			if a.order > b.order {
				a, b = b, a
			}
			p.errorf(b.pos, "%s: %s overlaps %s's %s", b.iface.Name, b.addr, a.iface.Name, a.addr)
		}
		stack = append(stack, e)
	}
}

// unknownInterface checks that an interface named in a reference exists:
// Loopback and Tunnel interfaces only when configured in the file, physical
// ones when configured or (if the host can be asked) present on the host.
// It returns why it does not, or "".
func (p *parser) unknownInterface(name string) string {
	_, kind, err := ParseInterfaceName(name)
	if err != nil {
		return err.Error()
	}
	if p.ifaces[name] != nil {
		return ""
	}
	switch {
	case kind != Physical:
		return fmt.Sprintf("interface %s is not configured; add an \"interface %s\" section", name, name)
	case p.opts.InterfaceExists != nil && !p.opts.InterfaceExists(name):
		return fmt.Sprintf("interface %s does not exist on this host", name)
	}
	return ""
}

func (p *parser) checkTunnel(iface *Interface, idx lookups) {
	t, m := iface.Tunnel, p.meta(iface)
	if !iface.Shutdown {
		if t.SourceInterface == "" && !t.SourceAddr.IsValid() {
			p.errorf(iface.Pos, "%s has no \"tunnel source\"; configure one or \"shutdown\" the tunnel", iface.Name)
		}
		if !t.Destination.IsValid() {
			p.errorf(iface.Pos, "%s has no \"tunnel destination\"; configure one or \"shutdown\" the tunnel", iface.Name)
		}
	}

	v6 := t.Mode == ModeGREIPv6
	if a := t.SourceAddr; a.IsValid() && a.Is6() != v6 {
		p.errorf(at(m.source, iface.Pos), "%s: tunnel source %s %s", iface.Name, a, familyMismatch(a))
	}
	if a := t.Destination; a.IsValid() && a.Is6() != v6 {
		p.errorf(at(m.destination, iface.Pos), "%s: tunnel destination %s %s", iface.Name, a, familyMismatch(a))
	}
	p.checkTunnelMTU(iface)

	if name := t.SourceInterface; name != "" {
		pos := at(m.source, iface.Pos)
		src := p.ifaces[name]
		switch _, kind, _ := ParseInterfaceName(name); {
		case name == iface.Name:
			p.errorf(pos, "%s cannot be its own tunnel source", iface.Name)
		case kind == Tunnel:
			p.errorf(pos, "%s: tunnel source %s is a tunnel; the underlay of a tunnel cannot run over another tunnel", iface.Name, name)
		default:
			if msg := p.unknownInterface(name); msg != "" {
				p.errorf(pos, "%s: tunnel source: %s", iface.Name, msg)
			} else if src != nil && src.Kind == Loopback {
				// A physical interface may get its addresses from the
				// host (DHCP, SLAAC); a loopback has only the file's.
				if msg := missingSourceAddress(src, t.Mode); msg != "" {
					p.warnf(pos, "%s: tunnel source %s %s", iface.Name, name, msg)
				}
			}
		}
	}

	srcAddr := p.sourceAddr(t)
	if dst := t.Destination; dst.IsValid() {
		pos := at(m.destination, iface.Pos)
		if dst == srcAddr {
			p.errorf(pos, "%s: tunnel destination %s is the tunnel source address", iface.Name, dst)
		} else if o := idx.owned[dst]; o != nil {
			p.errorf(pos, "%s: tunnel destination %s is an address of this router (%s)", iface.Name, dst, o.Name)
		}
	}

	if name := t.ProtectionProfile; name != "" {
		p.checkProtection(iface, name, at(m.protection, iface.Pos), idx.keys)
	}

	if rv := t.RouteVia; rv != nil {
		pos := at(m.routeVia, iface.Pos)
		switch _, kind, _ := ParseInterfaceName(rv.Interface); kind {
		case Tunnel:
			p.errorf(pos, "%s: tunnel route-via %s: the underlay must leave through a physical interface, not a tunnel", iface.Name, rv.Interface)
		case Loopback:
			p.errorf(pos, "%s: tunnel route-via %s: the underlay must leave through a physical interface, not a loopback", iface.Name, rv.Interface)
		default:
			if msg := p.unknownInterface(rv.Interface); msg != "" {
				p.errorf(pos, "%s: tunnel route-via: %s", iface.Name, msg)
			}
		}
	}
}

func (p *parser) checkProtection(iface *Interface, name string, pos Pos, keys *prefixMap[*ISAKMPKey]) {
	c := p.cfg
	pr := p.profiles[name]
	if pr == nil {
		var names []string
		for _, o := range c.Profiles {
			names = append(names, o.Name)
		}
		hint := didYouMean(name, names)
		if hint == "" {
			hint = fmt.Sprintf("; define it with \"crypto ipsec profile %s\"", name)
		}
		p.errorf(pos, "%s: crypto ipsec profile %q is not defined%s", iface.Name, name, hint)
		return
	}
	if len(pr.TransformSets) == 0 {
		p.errorf(pos, "%s: crypto ipsec profile %s has no \"set transform-set\"", iface.Name, name)
	}
	if pr.IKEv2Profile != "" {
		// An undefined IKEv2 profile is reported where it is named.
		if v2 := p.v2.profiles[pr.IKEv2Profile]; v2 != nil {
			p.checkIKEv2Protection(iface, v2, pos)
		}
		return
	}
	if len(c.ISAKMPPolicies) == 0 {
		p.errorf(pos, "%s: tunnel protection needs at least one \"crypto isakmp policy\"", iface.Name)
	}
	if dst := iface.Tunnel.Destination; dst.IsValid() {
		if _, _, ok := keys.lookup(dst); !ok {
			p.errorf(pos, "%s: no crypto isakmp key matches peer %s; add \"crypto isakmp key KEY address %s\"",
				iface.Name, dst, peerString(netip.PrefixFrom(dst, dst.BitLen())))
		}
	}
}

// checkDemux refuses two tunnels a received GRE packet could belong to
// both of: the kernel (and gresec) tell tunnels apart only by outer source,
// outer destination and GRE key.
func (p *parser) checkDemux() {
	seen := map[string]*Interface{}
	for _, iface := range p.cfg.Interfaces {
		t := iface.Tunnel
		if iface.Kind != Tunnel || iface.Shutdown || !t.Destination.IsValid() {
			continue
		}
		var src string
		switch a := p.sourceAddr(t); {
		case a.IsValid():
			src = a.String()
		case t.SourceInterface != "":
			src = "if " + t.SourceInterface
		default:
			continue
		}
		key := "none"
		if t.HasKey {
			key = fmt.Sprint(t.Key)
		}
		id := src + "|" + t.Destination.String() + "|" + key
		if first, dup := seen[id]; dup {
			p.errorf(at(p.meta(iface).destination, iface.Pos),
				"%s has the same source, destination and key as %s: received GRE packets could not be told apart; give the tunnels different \"tunnel key\"s",
				iface.Name, first.Name)
			continue
		}
		seen[id] = iface
	}
}

func (p *parser) checkProfiles() {
	var names []string
	for _, ts := range p.cfg.TransformSets {
		names = append(names, ts.Name)
	}
	for _, pr := range p.cfg.Profiles {
		for _, w := range p.tsRefs[pr] {
			if p.tsets[w.text] == nil && !p.invalidTS[w.text] {
				p.errorf(w.pos, "crypto ipsec transform-set %q is not defined%s", w.text, didYouMean(w.text, names))
			}
		}
	}
}

func (p *parser) checkRoutes(connected *prefixMap[*Interface]) {
	warned := p.cfg.IPv6UnicastRouting
	for _, r := range p.cfg.Routes {
		if r.Interface != "" {
			if msg := p.unknownInterface(r.Interface); msg != "" {
				p.errorf(at(p.rtMeta[r].iface, r.Pos), "%s %s: %s", routeCommand(r), r.Prefix, msg)
			}
		}
		// IOS installs IPv6 routes without unicast-routing but forwards
		// nothing: right for the underlay, which carries only the router's
		// own packets, surely wrong for a route into a tunnel. Once is enough.
		if !warned && r.Prefix.Addr().Is6() {
			if via := routeTunnel(r, connected); via != "" {
				p.warnf(r.Pos, "ipv6 route %s through %s without \"ipv6 unicast-routing\": as on IOS, this router then forwards no IPv6, so only its own traffic uses the route; add \"ipv6 unicast-routing\"",
					r.Prefix, via)
				warned = true
			}
		}
	}
}

// routeTunnel names the tunnel r leads into, or "".
func routeTunnel(r *StaticRoute, connected *prefixMap[*Interface]) string {
	if r.Interface != "" {
		if _, kind, _ := ParseInterfaceName(r.Interface); kind == Tunnel {
			return r.Interface
		}
		return ""
	}
	if _, via, ok := connected.lookup(r.NextHop); ok && via.Kind == Tunnel {
		return via.Name
	}
	return ""
}

// sourceAddr is the address a tunnel's underlay leaves from, as far as the
// file tells: the tunnel source address, or its source interface's first
// address of the tunnel's family; invalid when the file does not tell.
func (p *parser) sourceAddr(t *TunnelConfig) netip.Addr {
	if t.SourceInterface == "" {
		return t.SourceAddr
	}
	src := p.ifaces[t.SourceInterface]
	switch {
	case src == nil:
	case t.Mode == ModeGREIPv6:
		for _, a := range src.IPv6Addresses {
			if !a.EUI64 {
				return a.Prefix.Addr()
			}
		}
	case src.Address.IsValid():
		return src.Address.Addr()
	}
	return netip.Addr{}
}

// familyMismatch finishes the message for a tunnel endpoint a whose family
// is not the one of the tunnel mode.
func familyMismatch(a netip.Addr) string {
	if a.Is6() {
		return "is an IPv6 address, but tunnel mode gre ip (the default) runs over IPv4; add \"tunnel mode gre ipv6\""
	}
	return "is an IPv4 address, but tunnel mode gre ipv6 runs over IPv6; give an IPv6 address or remove \"tunnel mode gre ipv6\""
}

// missingSourceAddress finishes the warning for a loopback tunnel source
// without an address of the tunnel's family, or returns "".
func missingSourceAddress(src *Interface, mode TunnelMode) string {
	has4, has6 := src.Address.IsValid(), len(src.IPv6Addresses) > 0
	switch {
	case mode == ModeGREIP && !has4 && has6:
		return "has no ip address, only IPv6 ones, and tunnel mode gre ip runs over IPv4; the tunnel stays down until it has one (or add \"tunnel mode gre ipv6\")"
	case mode == ModeGREIP && !has4:
		return "has no ip address; the tunnel stays down until it has one"
	case mode == ModeGREIPv6 && !has6 && has4:
		return "has no ipv6 address, only an IPv4 one, and tunnel mode gre ipv6 runs over IPv6; the tunnel stays down until it has one"
	case mode == ModeGREIPv6 && !has6:
		return "has no ipv6 address; the tunnel stays down until it has one"
	}
	return ""
}

// checkTunnelMTU compares a tunnel's MTUs. The data plane gives the
// tunnel's link one MTU, ip mtu; Linux turns IPv6 off on a link below
// 1280 bytes and keeps the IPv6 MTU at or below the link's.
func (p *parser) checkTunnelMTU(iface *Interface) {
	t, m := iface.Tunnel, p.meta(iface)
	if t.IPMTU != 0 && t.IPv6MTU > t.IPMTU {
		p.warnf(at(m.ipv6MTU, iface.Pos), "%s: ipv6 mtu %d is larger than ip mtu %d, though the tunnel adds the same overhead to IPv4 and IPv6; IPv6 packets get at most %d",
			iface.Name, t.IPv6MTU, t.IPMTU, t.IPMTU)
	}
	if t.IPMTU != 0 && t.IPMTU < 1280 && iface.IPv6Enabled() {
		p.warnf(at(m.ipMTU, iface.Pos), "%s: ip mtu %d is below 1280, the smallest MTU IPv6 allows (RFC 8200): IPv6 will not run on this tunnel", iface.Name, t.IPMTU)
	}
}

// underlayHop is the best route this file gives for a tunnel destination.
type underlayHop struct {
	prefix netip.Prefix
	via    *Interface   // nil when it leaves through an unconfigured interface
	route  *StaticRoute // nil for a connected prefix
}

// underlayTable is the routing table this file alone gives: connected
// prefixes and static routes, best entry per prefix as the kernel (and IOS)
// would pick it: connected before static, then the lowest distance.
func (p *parser) underlayTable(connected *prefixMap[*Interface]) *prefixMap[underlayHop] {
	table := &prefixMap[underlayHop]{}
	for _, i := range p.cfg.Interfaces {
		for _, pfx := range connectedPrefixes(i) {
			if first, _ := connected.get(pfx); first == i {
				table.set(pfx, underlayHop{prefix: pfx, via: i})
			}
		}
	}
	for _, r := range p.cfg.Routes {
		h := underlayHop{prefix: r.Prefix, route: r}
		if r.Interface != "" {
			h.via = p.ifaces[r.Interface]
		} else {
			_, h.via, _ = connected.lookup(r.NextHop)
		}
		if cur, ok := table.get(r.Prefix); ok && (cur.route == nil || cur.route.Distance <= r.Distance) {
			continue
		}
		table.set(r.Prefix, h)
	}
	return table
}

// checkRecursion gives the advice of the design article: a tunnel whose
// destination is reached only through a less specific route goes recursive
// as soon as the overlay learns a more specific one; a /32 prevents it.
func (p *parser) checkRecursion(connected *prefixMap[*Interface]) {
	table := p.underlayTable(connected)
	for _, iface := range p.cfg.Interfaces {
		if iface.Kind != Tunnel || !iface.Tunnel.Destination.IsValid() {
			continue
		}
		dst := iface.Tunnel.Destination
		pos := at(p.meta(iface).destination, iface.Pos)
		_, hop, ok := table.lookup(dst)
		switch {
		case !ok:
		case hop.via != nil && hop.via.Kind == Tunnel:
			through := hop.via.Name
			if hop.via == iface {
				through += " itself"
			}
			p.warnf(pos, "%s: destination %s is routed through %s (%s): recursive routing; the tunnel will be held down",
				iface.Name, dst, through, hop.prefix)
		case hop.route != nil && hop.prefix.Bits() < dst.BitLen() && iface.Tunnel.RouteVia != nil && iface.Tunnel.RouteVia.Mandatory:
			// `tunnel route-via ... mandatory` pins the underlay by policy
			// routing: no route learned over the tunnel can draw it in.
		case hop.route != nil && hop.prefix.Bits() < dst.BitLen():
			nh := "<next-hop>"
			if r := hop.route; r.NextHop.IsValid() {
				nh = r.NextHop.String()
				if r.Interface != "" {
					nh = r.Interface + " " + nh
				}
			}
			host := fmt.Sprintf("ip route %s 255.255.255.255", dst)
			if dst.Is6() {
				host = fmt.Sprintf("ipv6 route %s/128", dst)
			}
			p.warnf(pos, "%s: destination %s is reached only through %s (less specific than /%d); a route learned over the tunnel could make it recursive: add \"%s %s\" (or \"tunnel route-via INTERFACE mandatory\")",
				iface.Name, dst, hop.prefix, dst.BitLen(), host, nh)
		}
	}
}
