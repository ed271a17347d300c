package config

import (
	"net/netip"
	"time"
)

// interfaceContext is the mode of an `interface NAME` section.
var interfaceContext = context{
	name: "interface",
	commands: []*command{
		{name: "ip", sub: []*command{
			{name: "address", run: (*parser).ipAddress},
			{name: "mtu", run: (*parser).ipMTU, tunnelOnly: true},
			{name: "tcp", tunnelOnly: true, sub: []*command{
				{name: "adjust-mss", run: (*parser).adjustMSS},
			}},
		}},
		{name: "ipv6", sub: []*command{
			{name: "address", run: (*parser).ipv6Address},
			{name: "enable", run: (*parser).ipv6Enable},
			{name: "mtu", run: (*parser).ipv6MTU, tunnelOnly: true},
			{name: "tcp", tunnelOnly: true, sub: []*command{
				{name: "adjust-mss", run: (*parser).ipv6AdjustMSS},
			}},
		}},
		{name: "description", run: (*parser).description},
		{name: "shutdown", run: (*parser).shutdown},
		{name: "keepalive", run: (*parser).keepalive, tunnelOnly: true},
		{name: "tunnel", tunnelOnly: true, sub: []*command{
			{name: "source", run: (*parser).tunnelSource},
			{name: "destination", run: (*parser).tunnelDestination},
			{name: "mode", run: (*parser).tunnelMode},
			{name: "key", run: (*parser).tunnelKey},
			{name: "sequence-datagrams", run: (*parser).tunnelSequence},
			{name: "checksum", run: (*parser).tunnelChecksum},
			{name: "protection", sub: []*command{
				{name: "ipsec", sub: []*command{
					{name: "profile", run: (*parser).tunnelProtection},
				}},
			}},
			{name: "route-via", run: (*parser).tunnelRouteVia},
			{name: "recursion", sub: []*command{
				{name: "hold-down", run: (*parser).tunnelHoldDown},
			}},
		}},
	},
}

const (
	// maxTunnelMTU is the largest inner packet the data plane carries.
	maxTunnelMTU            = 9000
	maxDescription          = 240 // as IOS
	defaultKeepalivePeriod  = 10 * time.Second
	defaultKeepaliveRetries = 3
)

func (p *parser) ipAddress(s *stmt) {
	iface := s.sec.iface
	if s.neg {
		iface.Address = netip.Prefix{}
		return
	}
	addr, ok := s.ipv4(0, "an address and a mask")
	if !ok {
		return
	}
	bits, ok := s.mask(1)
	if !ok {
		return
	}
	if s.has(2) {
		if _, res, _ := matchKeyword(s.args[2].text, []string{"secondary"}); res == matched {
			s.errorf(s.args[2], "secondary addresses are not supported")
			return
		}
	}
	if !s.end(2) {
		return
	}
	if msg := hostAddressProblem(addr); msg != "" {
		s.errorf(s.args[0], "invalid interface address %s: %s", addr, msg)
		return
	}
	pfx := netip.PrefixFrom(addr, bits)
	if bits == 0 {
		s.errorf(s.args[1], "mask 0.0.0.0 is not valid for an interface address")
		return
	}
	// On /30 and wider, the first and last addresses are the network and
	// broadcast addresses; a loopback has no neighbours, so anything goes.
	if iface.Kind != Loopback && bits <= 30 {
		switch addr {
		case pfx.Masked().Addr():
			s.errorf(s.args[0], "%s is the network address of %s", addr, pfx.Masked())
			return
		case lastAddr(pfx):
			s.errorf(s.args[0], "%s is the broadcast address of %s", addr, pfx.Masked())
			return
		}
	}
	iface.Address = pfx
	p.meta(iface).address = s.args[0]
}

// lastAddr is the broadcast address of pfx.
func lastAddr(pfx netip.Prefix) netip.Addr {
	b := pfx.Masked().Addr().As4()
	for i := pfx.Bits(); i < 32; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	return netip.AddrFrom4(b)
}

// hostAddressProblem says why a can never be a unicast host address, or "".
// Link-local IPv6 addresses pass: where they need an interface, the caller
// says so.
func hostAddressProblem(a netip.Addr) string {
	if a.Is6() {
		switch {
		case a.IsUnspecified():
			return ":: is the unspecified address"
		case a.IsLoopback():
			return "::1 is reserved for the host's own loopback"
		case a.IsMulticast():
			return "it is a multicast address"
		case a.Is4In6():
			return "::ffff:0:0/96 holds IPv4-mapped addresses, which never appear on the wire"
		}
		return ""
	}
	switch {
	case a.IsUnspecified(), a.As4()[0] == 0:
		return "0.0.0.0/8 is not a host address"
	case a.IsLoopback():
		return "127.0.0.0/8 is reserved for the host's own loopback"
	case a.IsMulticast():
		return "it is a multicast address"
	case a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return "it is the limited broadcast address"
	case a.As4()[0] >= 240:
		return "240.0.0.0/4 is reserved"
	}
	return ""
}

func (p *parser) ipMTU(s *stmt) {
	t := s.sec.iface.Tunnel
	if s.neg {
		t.IPMTU = 0
		return
	}
	if n, ok := s.number(0, "MTU", 576, maxTunnelMTU); ok && s.end(1) {
		t.IPMTU = int(n)
		p.meta(s.sec.iface).ipMTU = s.args[0]
	}
}

func (p *parser) adjustMSS(s *stmt) {
	t := s.sec.iface.Tunnel
	if s.neg {
		t.AdjustMSS = 0
		return
	}
	if n, ok := s.number(0, "MSS", 500, 1460); ok && s.end(1) {
		t.AdjustMSS = int(n)
	}
}

func (p *parser) description(s *stmt) {
	if d, ok := s.descriptionText(); ok {
		s.sec.iface.Description = d
	}
}

// descriptionText reads the free text of a `description` line of any
// section; "" with `no description`.
func (s *stmt) descriptionText() (string, bool) {
	if s.neg {
		return "", true
	}
	if _, ok := s.arg(0, "a text"); !ok {
		return "", false
	}
	text := s.rest(0)
	if n := len([]rune(text)); n > maxDescription {
		s.errorf(s.args[0], "description too long (%d characters; at most %d)", n, maxDescription)
		return "", false
	}
	return text, true
}

func (p *parser) shutdown(s *stmt) {
	if s.end(0) {
		s.sec.iface.Shutdown = !s.neg
	}
}

func (p *parser) keepalive(s *stmt) {
	t := s.sec.iface.Tunnel
	if s.neg {
		t.Keepalive = nil
		return
	}
	ka := &Keepalive{Period: defaultKeepalivePeriod, Retries: defaultKeepaliveRetries}
	if s.has(0) {
		n, ok := s.number(0, "keepalive period", 1, 32767)
		if !ok {
			return
		}
		ka.Period = time.Duration(n) * time.Second
	}
	if s.has(1) {
		n, ok := s.number(1, "keepalive retries", 1, 255)
		if !ok {
			return
		}
		ka.Retries = int(n)
	}
	if s.end(2) {
		t.Keepalive = ka
	}
}

func (p *parser) tunnelSource(s *stmt) {
	iface := s.sec.iface
	t := iface.Tunnel
	if s.neg {
		t.SourceInterface, t.SourceAddr = "", netip.Addr{}
		return
	}
	w, ok := s.arg(0, "an interface or an address")
	if !ok {
		return
	}
	if looksLikeAddr(w.text) {
		a, ok := s.parseAddr(w)
		if !ok || !s.end(1) {
			return
		}
		if msg := endpointProblem(a); msg != "" {
			s.errorf(w, "invalid tunnel source %s: %s", a, msg)
			return
		}
		t.SourceInterface, t.SourceAddr = "", a
	} else {
		name, _, next, ok := s.ifname(0)
		if !ok || !s.end(next) {
			return
		}
		t.SourceInterface, t.SourceAddr = name, netip.Addr{}
	}
	p.meta(iface).source = w
}

// endpointProblem says why a cannot be a tunnel's outer address, or "".
func endpointProblem(a netip.Addr) string {
	if msg := hostAddressProblem(a); msg != "" {
		return msg
	}
	if a.IsLinkLocalUnicast() {
		// IOS refuses them too: the outer packets would need an interface
		// (a zone), and a peer one link away needs no tunnel.
		return "a link-local address cannot be a tunnel endpoint; use a global address"
	}
	return ""
}

func (p *parser) tunnelDestination(s *stmt) {
	iface := s.sec.iface
	if s.neg {
		iface.Tunnel.Destination = netip.Addr{}
		return
	}
	// The family is checked against the tunnel mode once the whole section
	// is read: "tunnel mode gre ipv6" may come after the destination.
	w, ok := s.arg(0, "an IPv4 or IPv6 address")
	if !ok {
		return
	}
	a, ok := s.parseAddr(w)
	if !ok || !s.end(1) {
		return
	}
	if msg := endpointProblem(a); msg != "" {
		s.errorf(w, "invalid tunnel destination %s: %s", a, msg)
		return
	}
	iface.Tunnel.Destination = a
	p.meta(iface).destination = w
}

// tunnelModes are the modes IOS users may write; only gre ip and gre ipv6
// are supported, the others are recognised to say so plainly.
var tunnelModes = []string{"gre", "ipip", "ipsec", "ipv6ip", "mpls"}

func (p *parser) tunnelMode(s *stmt) {
	t := s.sec.iface.Tunnel
	if s.neg {
		t.Mode = ModeGREIP
		return
	}
	mode, ok := s.choice(0, tunnelModes...)
	if !ok {
		return
	}
	if mode != "gre" {
		hint := "use \"tunnel mode gre ip\""
		switch mode {
		case "ipsec":
			hint = "use \"tunnel mode gre ip\" with \"tunnel protection ipsec profile\""
		case "ipv6ip":
			hint = "use \"tunnel mode gre ip\", which carries IPv6 too"
		}
		s.errorf(s.args[0], "tunnel mode %s is not supported; %s", mode, hint)
		return
	}
	transport, ok := s.choice(1, "ip", "ipv6", "multipoint")
	if !ok {
		return
	}
	if transport == "multipoint" {
		s.errorf(s.args[1], "tunnel mode gre multipoint (DMVPN) is not supported in this release")
		return
	}
	if s.end(2) {
		t.Mode = ModeGREIP
		if transport == "ipv6" {
			t.Mode = ModeGREIPv6
		}
	}
}

func (p *parser) tunnelKey(s *stmt) {
	t := s.sec.iface.Tunnel
	if s.neg {
		t.HasKey, t.Key = false, 0
		return
	}
	if n, ok := s.number(0, "tunnel key", 0, 1<<32-1); ok && s.end(1) {
		t.HasKey, t.Key = true, uint32(n)
	}
}

func (p *parser) tunnelSequence(s *stmt) {
	if s.end(0) {
		s.sec.iface.Tunnel.Sequence = !s.neg
	}
}

func (p *parser) tunnelChecksum(s *stmt) {
	if s.end(0) {
		s.sec.iface.Tunnel.Checksum = !s.neg
	}
}

func (p *parser) tunnelProtection(s *stmt) {
	iface := s.sec.iface
	if s.neg {
		iface.Tunnel.ProtectionProfile = ""
		return
	}
	w, ok := s.arg(0, "a crypto ipsec profile name")
	if !ok {
		return
	}
	if s.has(1) {
		if _, res, _ := matchKeyword(s.args[1].text, []string{"shared"}); res == matched {
			s.errorf(s.args[1], "shared tunnel protection is not supported; each tunnel has its own SAs")
			return
		}
	}
	if s.end(1) {
		iface.Tunnel.ProtectionProfile = w.text
		p.meta(iface).protection = w
	}
}

func (p *parser) tunnelRouteVia(s *stmt) {
	iface := s.sec.iface
	if s.neg {
		iface.Tunnel.RouteVia = nil
		return
	}
	w, ok := s.arg(0, "an interface and \"mandatory\" or \"preferred\"")
	if !ok {
		return
	}
	name, _, next, ok := s.ifname(0)
	if !ok {
		return
	}
	how, ok := s.choice(next, "mandatory", "preferred")
	if !ok || !s.end(next+1) {
		return
	}
	iface.Tunnel.RouteVia = &RouteVia{Interface: name, Mandatory: how == "mandatory"}
	p.meta(iface).routeVia = w
}

func (p *parser) tunnelHoldDown(s *stmt) {
	t := s.sec.iface.Tunnel
	if s.neg {
		t.RecursionHoldDown = defaultRecursionHoldDown
		return
	}
	if n, ok := s.number(0, "hold-down seconds", 0, 3600); ok && s.end(1) {
		t.RecursionHoldDown = time.Duration(n) * time.Second
	}
}
