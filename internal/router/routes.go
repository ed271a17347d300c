package router

import (
	"net/netip"
	"slices"

	"github.com/gresec/gresec/internal/config"
	"github.com/gresec/gresec/internal/linux"
	"github.com/gresec/gresec/internal/rib"
)

// resolver answers rib's questions from the host and the line protocols.
type resolver struct {
	r *Router
}

func (s resolver) Interface(name string) (int, bool) {
	l, ok := s.r.hs.link(name)
	if !ok {
		return 0, false
	}
	if it := s.r.ifs[name]; it != nil && it.cfg.Kind == config.Tunnel {
		return l.Index, it.lp.Up()
	}
	return l.Index, l.AdminUp && l.OperUp
}

// NextHop accepts a next hop that is directly connected through an
// interface that can carry traffic.
func (s resolver) NextHop(a netip.Addr) (int, bool) {
	lk, err := s.r.host.RouteGet(a, linux.LookupOptions{})
	if err != nil || !lk.Found || lk.Gateway.IsValid() {
		return 0, false
	}
	l, ok := s.r.hs.link(lk.Device)
	if !ok || !l.AdminUp || !l.OperUp {
		return 0, false
	}
	if it := s.r.ifs[lk.Device]; it != nil && it.cfg.Kind == config.Tunnel && !it.lp.Up() {
		return 0, false
	}
	return lk.LinkIndex, true
}

// syncRoutes installs the selected static routes and withdraws the rest.
// It compares with what the kernel holds, not with what it last did: the
// kernel drops routes of a device that goes down, and so may an operator.
func (r *Router) syncRoutes() {
	sel := rib.Select(r.cfg.Routes, resolver{r: r})
	want := make(map[netip.Prefix]linux.Route, len(sel))
	for _, s := range sel {
		lr := linux.Route{Prefix: s.Prefix, Metric: s.Distance}
		for _, nh := range s.Nexthops {
			lr.Nexthops = append(lr.Nexthops, linux.Nexthop{Gateway: nh.Gateway, LinkIndex: nh.LinkIndex})
		}
		want[s.Prefix] = lr
	}
	have, err := r.host.OwnRoutes()
	if err != nil {
		r.log.Warn(err.Error())
		return
	}
	current := map[netip.Prefix]linux.Route{}
	for _, old := range have {
		if nw, ok := want[old.Prefix]; ok && nw.Metric == old.Metric {
			current[old.Prefix] = old
			continue
		}
		if err := r.host.DeleteRoute(old.Prefix, old.Metric); err != nil {
			r.log.Warn(err.Error())
		}
	}
	for p, nw := range want {
		if old, ok := current[p]; ok && sameNexthops(old.Nexthops, nw.Nexthops) {
			continue
		}
		if err := r.host.ReplaceRoute(nw); err != nil {
			r.log.Warn(err.Error())
			continue
		}
	}
	r.routes = want
}

func sameNexthops(a, b []linux.Nexthop) bool {
	less := func(x, y linux.Nexthop) int {
		if c := x.Gateway.Compare(y.Gateway); c != 0 {
			return c
		}
		return x.LinkIndex - y.LinkIndex
	}
	a, b = slices.Clone(a), slices.Clone(b)
	slices.SortFunc(a, less)
	slices.SortFunc(b, less)
	return slices.Equal(a, b)
}
