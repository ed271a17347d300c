package router

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/gresec/gresec/internal/config"
	"github.com/gresec/gresec/internal/linux"
)

func TestRouteVia(t *testing.T) {
	gw := netip.MustParseAddr
	pfx := netip.MustParsePrefix
	// The article's left router: the /16 summary over both core links, a
	// default route, and the /24 learned over the tunnel.
	routes := []linux.KernelRoute{
		{Prefix: pfx("0.0.0.0/0"), Metric: 0, Nexthops: []linux.KernelNexthop{{Gateway: gw("203.0.113.1"), Device: "eth9"}}},
		{Prefix: pfx("172.16.0.0/16"), Metric: 1, Nexthops: []linux.KernelNexthop{
			{Gateway: gw("198.51.100.254"), Device: "l-c1"}, {Gateway: gw("198.51.100.250"), Device: "l-c2"}}},
		{Prefix: pfx("172.16.0.0/16"), Metric: 250, Nexthops: []linux.KernelNexthop{{Gateway: gw("198.51.100.1"), Device: "l-c1"}}},
		{Prefix: pfx("172.16.1.0/24"), Protocol: 188, Metric: 20, Nexthops: []linux.KernelNexthop{{Device: "Tunnel0"}}},
		{Prefix: pfx("198.51.100.252/30"), Nexthops: []linux.KernelNexthop{{Device: "l-c1"}}},
		{Prefix: pfx("172.16.9.0/24"), Linkdown: true, Nexthops: []linux.KernelNexthop{{Gateway: gw("198.51.100.254"), Device: "l-c1"}}},
	}
	cases := []struct {
		name string
		dst  string
		dev  string
		want []linux.KernelNexthop
	}{
		{"the /16's nexthop through the interface, not the tunnel's /24", "172.16.1.1", "l-c1",
			[]linux.KernelNexthop{{Gateway: gw("198.51.100.254"), Device: "l-c1"}}},
		{"the other core link", "172.16.1.1", "l-c2",
			[]linux.KernelNexthop{{Gateway: gw("198.51.100.250"), Device: "l-c2"}}},
		{"a connected destination has no gateway", "198.51.100.254", "l-c1",
			[]linux.KernelNexthop{{Device: "l-c1"}}},
		{"the default route counts", "203.0.113.77", "eth9",
			[]linux.KernelNexthop{{Gateway: gw("203.0.113.1"), Device: "eth9"}}},
		{"a route through a down link does not", "172.16.9.1", "l-c1",
			[]linux.KernelNexthop{{Gateway: gw("198.51.100.254"), Device: "l-c1"}}},
		{"no route through the interface", "10.9.9.9", "l-c1", nil},
		{"the tunnel itself may be asked for", "172.16.1.1", "Tunnel0",
			[]linux.KernelNexthop{{Device: "Tunnel0"}}},
	}
	for _, c := range cases {
		got := routeVia(routes, gw(c.dst), c.dev)
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: routeVia(%s, %s) = %v, want %v", c.name, c.dst, c.dev, got, c.want)
		}
	}
}

func TestTunnelChain(t *testing.T) {
	tunnel := func(name, underlayDev string) *iface {
		return &iface{cfg: &config.Interface{Name: name, Kind: config.Tunnel}, lookup: linux.Lookup{Found: true, Device: underlayDev}}
	}
	r := &Router{ifs: map[string]*iface{
		"Tunnel0":   tunnel("Tunnel0", "l-c1"),
		"Tunnel1":   tunnel("Tunnel1", "Tunnel0"), // runs inside Tunnel0
		"Tunnel2":   tunnel("Tunnel2", "Tunnel3"),
		"Tunnel3":   tunnel("Tunnel3", "Tunnel2"), // Tunnel2 and 3 inside each other
		"Loopback0": {cfg: &config.Interface{Name: "Loopback0", Kind: config.Loopback}},
	}}
	cases := []struct{ dev, self, want string }{
		{"Tunnel0", "Tunnel0", "Tunnel0"},            // into itself
		{"Tunnel1", "Tunnel0", "Tunnel1 -> Tunnel0"}, // into a tunnel that runs inside it
		{"Tunnel0", "Tunnel1", ""},                   // tunnel in tunnel: legitimate
		{"l-c1", "Tunnel0", ""},
		{"Loopback0", "Tunnel0", ""},
		{"Tunnel3", "Tunnel2", "Tunnel3 -> Tunnel2"},
		{"Tunnel2", "Tunnel0", ""}, // a loop that does not involve Tunnel0 ends
	}
	for _, c := range cases {
		if got := r.tunnelChain(c.dev, c.self); got != c.want {
			t.Errorf("tunnelChain(%s, %s) = %q, want %q", c.dev, c.self, got, c.want)
		}
	}
}
