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
		if a := i.Address.Addr(); i.Address.IsValid() && idx.owned[a] == nil {
			idx.owned[a] = i
		}
	}
	for _, iface := range p.cfg.Interfaces {
		if iface.Kind == Tunnel {
			p.checkTunnel(iface, idx)
		}
	}
	p.checkDemux()
	p.checkProfiles()
	p.checkRoutes()
	p.checkRecursion()
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

// checkAddressOverlaps refuses overlapping interface subnets, as IOS does.
// Two prefixes overlap only when one contains the other, so after sorting
// by start address a stack of the enclosing prefixes finds every conflict
// in O(n log n).
func (p *parser) checkAddressOverlaps() {
	type entry struct {
		iface *Interface
		order int // position in the file, to blame the later one
	}
	var list []entry
	for i, iface := range p.cfg.Interfaces {
		if iface.Address.IsValid() {
			list = append(list, entry{iface, i})
		}
	}
	slices.SortStableFunc(list, func(a, b entry) int {
		if c := a.iface.Address.Masked().Addr().Compare(b.iface.Address.Masked().Addr()); c != 0 {
			return c
		}
		return a.iface.Address.Bits() - b.iface.Address.Bits()
	})
	var stack []entry
	for _, e := range list {
		for len(stack) > 0 && !stack[len(stack)-1].iface.Address.Masked().Contains(e.iface.Address.Masked().Addr()) {
			stack = stack[:len(stack)-1]
		}
		if len(stack) > 0 {
			a, b := stack[len(stack)-1], e
			if a.order > b.order {
				a, b = b, a
			}
			p.errorf(at(p.meta(b.iface).address, b.iface.Pos), "%s: %s overlaps %s's %s",
				b.iface.Name, b.iface.Address, a.iface.Name, a.iface.Address)
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

	srcAddr := t.SourceAddr
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
			} else if src != nil && src.Kind == Loopback && !src.Address.IsValid() {
				p.warnf(pos, "%s: tunnel source %s has no ip address; the tunnel stays down until it has one", iface.Name, name)
			}
		}
		if src != nil && src.Address.IsValid() {
			srcAddr = src.Address.Addr()
		}
	}

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
	if len(c.ISAKMPPolicies) == 0 {
		p.errorf(pos, "%s: tunnel protection needs at least one \"crypto isakmp policy\"", iface.Name)
	}
	if dst := iface.Tunnel.Destination; dst.IsValid() {
		if _, _, ok := keys.lookup(dst); !ok {
			p.errorf(pos, "%s: no crypto isakmp key matches peer %s; add \"crypto isakmp key KEY address %s\"", iface.Name, dst, dst)
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
		src := t.SourceAddr.String()
		if t.SourceInterface != "" {
			src = "if " + t.SourceInterface
			if s := p.ifaces[t.SourceInterface]; s != nil && s.Address.IsValid() {
				src = s.Address.Addr().String()
			}
		} else if !t.SourceAddr.IsValid() {
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

func (p *parser) checkRoutes() {
	for _, r := range p.cfg.Routes {
		if r.Interface == "" {
			continue
		}
		if msg := p.unknownInterface(r.Interface); msg != "" {
			p.errorf(at(p.rtMeta[r].iface, r.Pos), "ip route %s: %s", r.Prefix, msg)
		}
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
func (p *parser) underlayTable() *prefixMap[underlayHop] {
	connected := &prefixMap[*Interface]{}
	table := &prefixMap[underlayHop]{}
	for _, i := range p.cfg.Interfaces {
		if !i.Address.IsValid() {
			continue
		}
		if _, dup := connected.get(i.Address); !dup {
			connected.set(i.Address, i)
			table.set(i.Address, underlayHop{prefix: i.Address.Masked(), via: i})
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
func (p *parser) checkRecursion() {
	table := p.underlayTable()
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
		case hop.route != nil && hop.prefix.Bits() < 32 && iface.Tunnel.RouteVia != nil && iface.Tunnel.RouteVia.Mandatory:
			// `tunnel route-via ... mandatory` pins the underlay by policy
			// routing: no route learned over the tunnel can draw it in.
		case hop.route != nil && hop.prefix.Bits() < 32:
			nh := "<next-hop>"
			if r := hop.route; r.NextHop.IsValid() {
				nh = r.NextHop.String()
				if r.Interface != "" {
					nh = r.Interface + " " + nh
				}
			}
			p.warnf(pos, "%s: destination %s is reached only through %s (less specific than /32); a route learned over the tunnel could make it recursive: add \"ip route %s 255.255.255.255 %s\" (or \"tunnel route-via INTERFACE mandatory\")",
				iface.Name, dst, hop.prefix, dst, nh)
		}
	}
}
