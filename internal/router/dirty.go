package router

import (
	"net/netip"

	"github.com/gresec/gresec/internal/config"
	"github.com/gresec/gresec/internal/linux"
)

// noteEventLocked records a host event and marks what depends on it for
// the next pass.
//
// A change of a link that is not a gresec tunnel (a cable, a loopback, an
// address on them) may move any tunnel's source or underlay route, and the
// kernel drops the IPv4 routes of a link that goes down without reporting
// each, so every tunnel is evaluated again; such changes are rare. A
// tunnel's own link changes whenever its line protocol does (its carrier),
// a thousand times when a hub starts. The routes through it come into use
// or out of it then, unreported (the kernel changes their linkdown flag
// only): the tunnel is evaluated again at once, since its own destination
// may now run through it, and so are the tunnels that use it (as source,
// route-via interface or underlay route); every tunnel is evaluated
// within fullDelay, once for any number of carrier changes. A route
// concerns the tunnels whose destination it contains.
func (r *Router) noteEventLocked(ev linux.Event) {
	c, ok := r.hs.apply(ev)
	if !ok {
		return
	}
	r.routesDirty = true
	switch {
	case c.all:
		r.dirtyAll = true
	case c.route.IsValid():
		for name, it := range r.ifs {
			if it.cfg.Kind == config.Tunnel && c.route.Contains(it.cfg.Tunnel.Destination) {
				r.dirty[name] = true
			}
		}
	case c.link != "":
		if it := r.ifs[c.link]; it == nil || it.cfg.Kind != config.Tunnel {
			r.dirtyAll = true
			return
		}
		r.markUsers(c.link, c.addr)
		if ev.Kind == linux.EventLink {
			r.dirty[c.link] = true
			if r.fullAt.IsZero() {
				r.fullAt = r.opts.Now().Add(fullDelay)
			}
		}
	}
}

// markUsers marks the tunnels that use tunnel link dev: as their source
// (by name, or by address when addr is valid), their route-via interface,
// or the way to their destination.
func (r *Router) markUsers(dev string, addr netip.Prefix) {
	for name, it := range r.ifs {
		if it.cfg.Kind != config.Tunnel {
			continue
		}
		tc := it.cfg.Tunnel
		if tc.SourceInterface == dev || it.lookup.Device == dev ||
			(tc.RouteVia != nil && tc.RouteVia.Interface == dev) ||
			(addr.IsValid() && tc.SourceAddr == addr.Addr()) {
			r.dirty[name] = true
		}
	}
}
