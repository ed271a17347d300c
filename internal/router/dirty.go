package router

import (
	"net/netip"
	"time"

	"github.com/gresec/gresec/internal/config"
	"github.com/gresec/gresec/internal/linux"
)

// pending is what host events changed since the last pass. Events only
// record it; the pass turns it into dirty tunnels in one sweep over the
// tunnels, so that the tens of thousands of events of a hub's start cost
// O(tunnels) per pass rather than per event.
type pending struct {
	// routes holds the destinations of changed routes.
	routes map[netip.Prefix]bool
	// links holds gresec tunnels whose link changed, addrs the addresses
	// added to or removed from them.
	links map[string]bool
	addrs map[netip.Addr]bool
	// carrier holds the tunnels whose carrier changed since the last
	// sweep for routes through them (see fullAt).
	carrier map[string]bool
}

func newPending() pending {
	return pending{routes: map[netip.Prefix]bool{}, links: map[string]bool{}, addrs: map[netip.Addr]bool{}, carrier: map[string]bool{}}
}

// noteEventLocked records a host event for the next pass.
//
// A change of a link that is not a gresec tunnel (a cable, a loopback, an
// address on them) may move any tunnel's source or underlay route, and the
// kernel drops the IPv4 routes of a link that goes down without reporting
// each, so every tunnel is evaluated again; such changes are rare. A
// tunnel's own link changes whenever its line protocol does (its carrier),
// thousands of times when a hub starts. The routes through it come into
// use or out of it then, unreported (the kernel changes their linkdown flag
// only): the tunnel is evaluated again at once, since its own destination
// may now run through it, and so are the tunnels that use it (as source,
// route-via interface or underlay route); within fullDelay, the tunnels
// whose destination a route through it contains. A route concerns the
// tunnels whose destination it contains, and the static routes when it
// is one of gresec's or holds the next hop of one; a tunnel's link, the
// static routes through it.
func (r *Router) noteEventLocked(ev linux.Event) {
	r.noteAddrGone(ev)
	c, ok := r.hs.apply(ev)
	if !ok {
		return
	}
	switch {
	case c.all:
		r.dirtyAll, r.routesDirty = true, true
	case c.route.IsValid():
		r.pend.routes[c.route.Masked()] = true
		if c.routeProto == int(linux.RouteProtocol) || r.holdsNextHop(c.route) {
			r.routesDirty = true
		}
	case c.link != "":
		if it := r.ifs[c.link]; it == nil || it.cfg.Kind != config.Tunnel {
			r.dirtyAll, r.routesDirty = true, true
			return
		}
		r.pend.links[c.link] = true
		if c.carrier && r.routesUse(c.link) {
			r.routesDirty = true // its index or its state
		}
		if c.addr.IsValid() {
			r.pend.addrs[c.addr.Addr()] = true
		}
		if c.carrier {
			r.dirty[c.link] = true
			r.pend.carrier[c.link] = true
			if r.fullAt.IsZero() {
				r.fullAt = r.opts.Now().Add(fullDelay)
			}
		}
	}
}

// routesUse reports whether a static route goes out through interface
// name.
func (r *Router) routesUse(name string) bool {
	for _, sr := range r.cfg.Routes {
		if sr.Interface == name {
			return true
		}
	}
	return false
}

// holdsNextHop reports whether a route to p may change how a static
// route's next hop resolves.
func (r *Router) holdsNextHop(p netip.Prefix) bool {
	for _, sr := range r.cfg.Routes {
		if sr.NextHop.IsValid() && p.Contains(sr.NextHop) {
			return true
		}
	}
	return false
}

// sweepLocked turns what events changed into dirty tunnels, in one pass
// over the tunnels; at fullAt it also looks for routes through tunnels
// whose carrier changed.
func (r *Router) sweepLocked(now time.Time) {
	p := &r.pend
	lengths := map[int]bool{}
	for pfx := range p.routes {
		lengths[pfx.Bits()] = true
	}
	var through map[netip.Prefix]bool
	var carrier map[string]bool
	if dueAt(r.fullAt, now) {
		r.fullAt = time.Time{}
		through = r.routesThrough(p.carrier)
		for pfx := range through {
			lengths[pfx.Bits()] = true
		}
		carrier = p.carrier
		p.carrier = map[string]bool{}
	}
	if len(p.routes)+len(p.links)+len(p.addrs)+len(through)+len(carrier) == 0 {
		return
	}
	for name, it := range r.ifs {
		if it.cfg.Kind != config.Tunnel {
			continue
		}
		tc := it.cfg.Tunnel
		if p.links[tc.SourceInterface] || p.links[it.lookup.Device] ||
			(tc.RouteVia != nil && p.links[tc.RouteVia.Interface]) || p.addrs[tc.SourceAddr] ||
			carrier[it.viaTunnel] {
			r.dirty[name] = true
			continue
		}
		for bits := range lengths {
			if pfx, err := tc.Destination.Prefix(bits); err == nil && (p.routes[pfx] || through[pfx]) {
				r.dirty[name] = true
				break
			}
		}
	}
	clear(p.routes)
	clear(p.links)
	clear(p.addrs)
}

// routesThrough returns the destinations of the routes gresec knows to
// leave through one of the tunnels: their connected prefixes and the
// static routes through them. (A tunnel whose underlay ran through one
// of them is marked by its viaTunnel; a route another program put through
// a tunnel is seen by the next evaluation of every tunnel.) Dumping the
// kernel's table instead cost a hub of 10000 tunnels a dump of 20000
// routes every fullDelay while it started.
func (r *Router) routesThrough(tunnels map[string]bool) map[netip.Prefix]bool {
	out := map[netip.Prefix]bool{}
	for name := range tunnels {
		if it := r.ifs[name]; it != nil && it.cfg.Address.IsValid() {
			out[it.cfg.Address.Masked()] = true
		}
	}
	for _, sr := range r.cfg.Routes {
		if tunnels[sr.Interface] {
			out[sr.Prefix.Masked()] = true
		}
	}
	return out
}
