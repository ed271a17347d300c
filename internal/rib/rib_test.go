package rib

import (
	"net/netip"
	"testing"

	"github.com/gresec/gresec/internal/config"
)

type fakeHost struct {
	up       map[string]bool
	index    map[string]int
	nexthops map[netip.Addr]int
}

func (f fakeHost) Interface(name string) (int, bool) { return f.index[name], f.up[name] }
func (f fakeHost) NextHop(a netip.Addr) (int, bool) {
	i, ok := f.nexthops[a]
	return i, ok
}

func route(prefix, ifname, nh string, dist int) *config.StaticRoute {
	r := &config.StaticRoute{Prefix: netip.MustParsePrefix(prefix), Interface: ifname, Distance: dist}
	if nh != "" {
		r.NextHop = netip.MustParseAddr(nh)
	}
	return r
}

func TestSelect(t *testing.T) {
	host := fakeHost{
		up:       map[string]bool{"Tunnel0": true, "Tunnel1": false},
		index:    map[string]int{"Tunnel0": 10, "Tunnel1": 11},
		nexthops: map[netip.Addr]int{netip.MustParseAddr("198.51.100.254"): 2, netip.MustParseAddr("198.51.100.250"): 3},
	}
	routes := []*config.StaticRoute{
		// ECMP: same prefix, same distance.
		route("192.0.2.2/32", "", "198.51.100.254", 1),
		route("192.0.2.2/32", "", "198.51.100.250", 1),
		// Floating static behind a tunnel that is down: the floating one wins.
		route("10.2.0.0/16", "Tunnel1", "", 1),
		route("10.2.0.0/16", "Tunnel0", "", 200),
		// Unresolvable next hop: not installed.
		route("10.9.0.0/16", "", "203.0.113.1", 1),
		// Interface route through an up tunnel.
		route("10.3.0.0/16", "Tunnel0", "", 1),
	}
	got := Select(routes, host)
	if len(got) != 3 {
		t.Fatalf("selected %d routes, want 3: %+v", len(got), got)
	}
	want := map[string]Route{
		"10.2.0.0/16":  {Distance: 200, Nexthops: []Nexthop{{LinkIndex: 10}}},
		"10.3.0.0/16":  {Distance: 1, Nexthops: []Nexthop{{LinkIndex: 10}}},
		"192.0.2.2/32": {Distance: 1, Nexthops: []Nexthop{{netip.MustParseAddr("198.51.100.254"), 2}, {netip.MustParseAddr("198.51.100.250"), 3}}},
	}
	for _, r := range got {
		w, ok := want[r.Prefix.String()]
		if !ok {
			t.Errorf("unexpected route %v", r.Prefix)
			continue
		}
		if r.Distance != w.Distance || len(r.Nexthops) != len(w.Nexthops) {
			t.Errorf("%v: got %+v, want %+v", r.Prefix, r, w)
			continue
		}
		for i := range w.Nexthops {
			if r.Nexthops[i] != w.Nexthops[i] {
				t.Errorf("%v nexthop %d: got %+v, want %+v", r.Prefix, i, r.Nexthops[i], w.Nexthops[i])
			}
		}
	}
	// The better route comes back when Tunnel1 is up.
	host.up["Tunnel1"] = true
	for _, r := range Select(routes, host) {
		if r.Prefix.String() == "10.2.0.0/16" && (r.Distance != 1 || r.Nexthops[0].LinkIndex != 11) {
			t.Errorf("10.2.0.0/16 did not move back to Tunnel1: %+v", r)
		}
	}
}
