package linux

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
)

// TestWatchEvents: Watch sends a snapshot of what exists, then typed
// events for a link, an address, a route and the link's removal.
func TestWatchEvents(t *testing.T) {
	events := make(chan Event, 256)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var veth *netlink.Veth
	inNewNetns(t, func() error {
		if err := Watch(ctx, events, func(err error) { t.Errorf("watch: %v", err) }); err != nil {
			return err
		}
		veth = &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "wt0"}, PeerName: "wt1"}
		if err := netlink.LinkAdd(veth); err != nil {
			return err
		}
		l, err := netlink.LinkByName("wt0")
		if err != nil {
			return err
		}
		addr, _ := netlink.ParseAddr("198.51.100.1/24")
		if err := netlink.AddrAdd(l, addr); err != nil {
			return err
		}
		for _, n := range []string{"wt0", "wt1"} {
			if p, err := netlink.LinkByName(n); err == nil {
				if err := netlink.LinkSetUp(p); err != nil {
					return err
				}
			}
		}
		dst := netip.MustParsePrefix("203.0.113.0/24")
		if err := netlink.RouteAdd(&netlink.Route{LinkIndex: l.Attrs().Index, Dst: ipnet(dst), Gw: []byte{198, 51, 100, 2}}); err != nil {
			return err
		}
		return netlink.LinkDel(l)
	})
	first := next(t, events)
	if first.Kind != EventSnapshot || len(first.Links) == 0 || first.Links[0].Name != "lo" {
		t.Fatalf("first event %+v, want a snapshot with lo", first)
	}
	var sawLink, sawAddr, sawRoute, sawGone bool
	deadline := time.After(5 * time.Second)
	for !(sawLink && sawAddr && sawRoute && sawGone) {
		var ev Event
		select {
		case ev = <-events:
		case <-deadline:
			t.Fatalf("events seen: link %v, address %v, route %v, link gone %v", sawLink, sawAddr, sawRoute, sawGone)
		}
		switch {
		case ev.Kind == EventLink && ev.Link.Name == "wt0":
			sawLink = true
		case ev.Kind == EventAddr && ev.Prefix == netip.MustParsePrefix("198.51.100.1/24"):
			sawAddr = true
		case ev.Kind == EventRoute && ev.Prefix == netip.MustParsePrefix("203.0.113.0/24"):
			sawRoute = true
		case ev.Kind == EventLinkGone && ev.Link.Name == "wt0":
			sawGone = true
		}
	}
}

func next(t *testing.T, events <-chan Event) Event {
	t.Helper()
	select {
	case ev := <-events:
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no event")
		return Event{}
	}
}
