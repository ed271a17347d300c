package config

import (
	"net/netip"
	"slices"
	"strings"
)

const defaultDistance = 1

// ipRoute is `ip route PREFIX MASK (NEXT-HOP | INTERFACE [NEXT-HOP]) [DISTANCE]`.
func (p *parser) ipRoute(s *stmt) {
	dst, ok := s.ipv4(0, "a prefix, a mask and a next hop or an interface")
	if !ok {
		return
	}
	bits, ok := s.mask(1)
	if !ok {
		return
	}
	pfx := netip.PrefixFrom(dst, bits)
	if pfx.Masked() != pfx {
		// IOS silently masks; a file that says 10.1.2.3/16 probably meant
		// something else, so ask instead of guessing.
		s.errorf(s.args[0], "prefix %s has host bits set for mask %s; did you mean %s?", dst, s.args[1].text, pfx.Masked().Addr())
		return
	}
	p.staticRoute(s, pfx, 2)
}

// ipv6Route is `ipv6 route PREFIX/LENGTH (NEXT-HOP | INTERFACE [NEXT-HOP]) [DISTANCE]`.
func (p *parser) ipv6Route(s *stmt) {
	w, ok := s.arg(0, "PREFIX/LENGTH and a next hop or an interface")
	if !ok {
		return
	}
	if a, err := netip.ParseAddr(strings.SplitN(w.text, "/", 2)[0]); err == nil && a.Is4() {
		s.errorf(w, "%q is not an IPv6 prefix; IPv4 routes are \"ip route PREFIX MASK ...\"", w.text)
		return
	}
	pfx, ok := s.parseIPv6Prefix(w, 64)
	if !ok {
		return
	}
	if pfx.Masked() != pfx {
		s.errorf(w, "prefix %s has host bits set; did you mean %s?", pfx, pfx.Masked())
		return
	}
	p.staticRoute(s, pfx, 1)
}

// staticRoute reads the rest of an `ip route` or `ipv6 route` from
// argument i on, after the prefix, and applies it: both families are one
// table of statements, with the same ECMP and floating-static rules.
func (p *parser) staticRoute(s *stmt, pfx netip.Prefix, i int) {
	if s.neg && !s.has(i) {
		p.removeRoutes(s, func(r *StaticRoute) bool { return r.Prefix == pfx })
		return
	}
	v6 := pfx.Addr().Is6()
	parseNextHop := s.parseIPv4
	if v6 {
		parseNextHop = s.parseIPv6
	}
	r := &StaticRoute{Prefix: pfx, Distance: defaultDistance, Pos: s.line.words[0].pos}
	var meta routeMeta
	w, ok := s.arg(i, "a next hop or an interface")
	if !ok {
		return
	}
	if looksLikeAddr(w.text) {
		if zone := strings.Index(w.text, "%"); v6 && zone >= 0 {
			s.errorf(w, "zone in %q is not accepted; name the interface before the next hop, as in \"ipv6 route %s %s %s\"",
				w.text, pfx, w.text[zone+1:], w.text[:zone])
			return
		}
		if r.NextHop, ok = parseNextHop(w); !ok {
			return
		}
		i++
	} else {
		if r.Interface, _, i, ok = s.ifname(i); !ok {
			return
		}
		meta.iface = w
		if s.has(i) && strings.ContainsAny(s.args[i].text, ".:") {
			if v6 && strings.Contains(s.args[i].text, "%") {
				s.errorf(s.args[i], "zone in %q is not accepted: the interface before the next hop already says where it is", s.args[i].text)
				return
			}
			if r.NextHop, ok = parseNextHop(s.args[i]); !ok {
				return
			}
			i++
		}
	}
	if r.NextHop.IsValid() {
		nh := s.args[i-1]
		if msg := hostAddressProblem(r.NextHop); msg != "" {
			s.errorf(nh, "invalid next hop %s: %s", r.NextHop, msg)
			return
		}
		if r.NextHop.IsLinkLocalUnicast() && r.Interface == "" {
			// As IOS: a link-local address means nothing without its link.
			s.errorf(nh, "link-local next hop %s needs an interface, as in \"ipv6 route %s INTERFACE %s\"", r.NextHop, pfx, r.NextHop)
			return
		}
	}
	distanceGiven := s.has(i)
	if distanceGiven {
		d, ok := s.number(i, "distance", 1, 255)
		if !ok {
			return
		}
		r.Distance = int(d)
		i++
	}
	if !s.end(i) {
		return
	}
	key := routeKey{r.Prefix, r.Interface, r.NextHop}
	old := p.routes[key]
	if s.neg {
		p.removeRoutes(s, func(o *StaticRoute) bool {
			return o == old && (!distanceGiven || o.Distance == r.Distance)
		})
		return
	}
	// The same prefix through another next hop is ECMP or a floating
	// static; through the same next hop it is the same route again.
	if old != nil {
		if old.Distance == r.Distance {
			s.warnf(s.line.words[0], "duplicate of the route at line %d; ignored", old.Pos.Line)
		} else {
			s.warnf(s.line.words[0], "changes the distance of the route at line %d from %d to %d", old.Pos.Line, old.Distance, r.Distance)
			old.Distance = r.Distance
		}
		return
	}
	p.cfg.Routes = append(p.cfg.Routes, r)
	p.routes[key] = r
	p.rtMeta[r] = meta
}

func (p *parser) removeRoutes(s *stmt, match func(*StaticRoute) bool) {
	n := len(p.cfg.Routes)
	p.cfg.Routes = slices.DeleteFunc(p.cfg.Routes, func(r *StaticRoute) bool {
		if match(r) {
			delete(p.routes, routeKey{r.Prefix, r.Interface, r.NextHop})
			return true
		}
		return false
	})
	if len(p.cfg.Routes) == n {
		s.warnf(s.args[0], "%s", describeRemoval("such a route"))
	}
}

// routeCommand is the statement r came from, for messages.
func routeCommand(r *StaticRoute) string {
	if r.Prefix.Addr().Is6() {
		return "ipv6 route"
	}
	return "ip route"
}
