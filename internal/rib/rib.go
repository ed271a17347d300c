// Package rib selects which configured static routes are installed, as IOS
// does: for each prefix, the usable statements with the lowest
// administrative distance win; several of them form one equal-cost
// multipath route; a statement with a higher distance (a floating static)
// takes over when the better ones become unusable. It is pure: the caller
// says which interfaces are up and how next hops resolve.
package rib

import (
	"net/netip"
	"slices"

	"github.com/gresec/gresec/internal/config"
)

// Resolver answers what the selection needs to know of the host.
type Resolver interface {
	// Interface returns an interface's index and whether it can carry
	// traffic (for a tunnel: its line protocol is up).
	Interface(name string) (index int, up bool)
	// NextHop returns the interface through which a next hop is directly
	// reachable, or ok=false when it is not.
	NextHop(addr netip.Addr) (index int, ok bool)
}

// Nexthop is one path of a selected route.
type Nexthop struct {
	Gateway   netip.Addr
	LinkIndex int
}

// Route is a selected route, ready to install.
type Route struct {
	Prefix   netip.Prefix
	Distance int
	Nexthops []Nexthop
}

// Select returns the routes to install, sorted by prefix.
func Select(routes []*config.StaticRoute, r Resolver) []Route {
	best := map[netip.Prefix]*Route{}
	for _, sr := range routes {
		nh, ok := resolve(sr, r)
		if !ok {
			continue
		}
		cur := best[sr.Prefix]
		switch {
		case cur == nil || sr.Distance < cur.Distance:
			best[sr.Prefix] = &Route{Prefix: sr.Prefix, Distance: sr.Distance, Nexthops: []Nexthop{nh}}
		case sr.Distance == cur.Distance && !slices.Contains(cur.Nexthops, nh):
			cur.Nexthops = append(cur.Nexthops, nh)
		}
	}
	out := make([]Route, 0, len(best))
	for _, rt := range best {
		out = append(out, *rt)
	}
	slices.SortFunc(out, func(a, b Route) int {
		if c := a.Prefix.Addr().Compare(b.Prefix.Addr()); c != 0 {
			return c
		}
		return a.Prefix.Bits() - b.Prefix.Bits()
	})
	return out
}

func resolve(sr *config.StaticRoute, r Resolver) (Nexthop, bool) {
	if sr.Interface != "" {
		idx, up := r.Interface(sr.Interface)
		if !up {
			return Nexthop{}, false
		}
		return Nexthop{Gateway: sr.NextHop, LinkIndex: idx}, true
	}
	idx, ok := r.NextHop(sr.NextHop)
	if !ok {
		return Nexthop{}, false
	}
	return Nexthop{Gateway: sr.NextHop, LinkIndex: idx}, true
}
