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
	if s.neg && !s.has(2) {
		p.removeRoutes(s, func(r *StaticRoute) bool { return r.Prefix == pfx })
		return
	}
	r := &StaticRoute{Prefix: pfx, Distance: defaultDistance, Pos: s.line.words[0].pos}
	var meta routeMeta
	w, ok := s.arg(2, "a next hop or an interface")
	if !ok {
		return
	}
	i := 3
	if looksNumeric(w.text) {
		if r.NextHop, ok = s.parseIPv4(w); !ok {
			return
		}
	} else {
		if r.Interface, _, i, ok = s.ifname(2); !ok {
			return
		}
		meta.iface = w
		if s.has(i) && strings.Contains(s.args[i].text, ".") {
			if r.NextHop, ok = s.parseIPv4(s.args[i]); !ok {
				return
			}
			i++
		}
	}
	if r.NextHop.IsValid() {
		if msg := hostAddressProblem(r.NextHop); msg != "" {
			s.errorf(s.args[i-1], "invalid next hop %s: %s", r.NextHop, msg)
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
