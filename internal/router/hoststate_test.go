package router

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/gresec/gresec/internal/linux"
)

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }

func linkEvent(name string, index int, up bool) linux.Event {
	return linux.Event{Kind: linux.EventLink, Link: linux.Link{Name: name, Index: index, AdminUp: up, OperUp: up, MTU: 1500}}
}

func addrEvent(kind linux.EventKind, index int, p string) linux.Event {
	return linux.Event{Kind: kind, Index: index, Prefix: pfx(p)}
}

// apply applies an event and fails the test when it reports no change.
func apply(t *testing.T, h *hostState, ev linux.Event) hostChange {
	t.Helper()
	c, ok := h.apply(ev)
	if !ok {
		t.Fatalf("apply(%+v): ok=false, want a change", ev)
	}
	return c
}

func TestHostStateSnapshotReplaces(t *testing.T) {
	h := newHostState()
	apply(t, h, linux.Event{Kind: linux.EventSnapshot, Links: []linux.Link{
		{Name: "eth0", Index: 2, AdminUp: true, OperUp: true, Addrs: []netip.Prefix{pfx("192.0.2.1/24")}},
		{Name: "eth1", Index: 3, AdminUp: true, OperUp: true, Addrs6: []netip.Prefix{pfx("2001:db8::1/64")}},
	}})
	apply(t, h, addrEvent(linux.EventAddr, 2, "192.0.2.9/24"))
	if l, ok := h.owner(netip.MustParseAddr("192.0.2.9")); !ok || l.Name != "eth0" {
		t.Fatalf("owner of 192.0.2.9 = %+v, %v; want eth0", l, ok)
	}

	c := apply(t, h, linux.Event{Kind: linux.EventSnapshot, Links: []linux.Link{
		{Name: "eth9", Index: 7, AdminUp: true, OperUp: false, Addrs: []netip.Prefix{pfx("198.51.100.1/24")}},
	}})
	if !c.all {
		t.Error("a snapshot does not ask for everything to be evaluated")
	}
	for _, name := range []string{"eth0", "eth1"} {
		if h.has(name) {
			t.Errorf("%s survived a snapshot without it", name)
		}
	}
	for _, a := range []string{"192.0.2.1", "192.0.2.9", "2001:db8::1"} {
		if l, ok := h.owner(netip.MustParseAddr(a)); ok {
			t.Errorf("%s still owned by %s after a snapshot without it", a, l.Name)
		}
	}
	l, ok := h.link("eth9")
	if !ok || l.Index != 7 || l.OperUp || !slices.Equal(l.Addrs, []netip.Prefix{pfx("198.51.100.1/24")}) {
		t.Errorf("eth9 = %+v, %v; want it as the snapshot has it", l, ok)
	}
	if a := h.ipv6Source(); a.IsValid() {
		t.Errorf("ipv6Source = %s after the only IPv6 address went with its link", a)
	}
	if all := h.all(); len(all) != 1 || all[0].Name != "eth9" {
		t.Errorf("all() = %+v, want only eth9", all)
	}
}

// TestHostStateAddrBeforeLink: address and link events come on separate
// sockets, so an address may be reported before its link.
func TestHostStateAddrBeforeLink(t *testing.T) {
	h := newHostState()
	apply(t, h, linux.Event{Kind: linux.EventSnapshot})
	c := apply(t, h, addrEvent(linux.EventAddr, 5, "203.0.113.1/32"))
	if c.addr != pfx("203.0.113.1/32") {
		t.Errorf("change %+v does not name the address", c)
	}
	c = apply(t, h, linkEvent("Loopback0", 5, true))
	if c.link != "Loopback0" {
		t.Errorf("change %+v does not name the link", c)
	}
	l, ok := h.link("Loopback0")
	if !ok || !slices.Equal(l.Addrs, []netip.Prefix{pfx("203.0.113.1/32")}) {
		t.Errorf("Loopback0 = %+v, %v; want it with the address reported before it", l, ok)
	}
	if o, ok := h.owner(netip.MustParseAddr("203.0.113.1")); !ok || o.Name != "Loopback0" {
		t.Errorf("owner = %+v, %v; want Loopback0", o, ok)
	}
	// The same address again is no change; removing one it does not have
	// neither.
	if _, ok := h.apply(addrEvent(linux.EventAddr, 5, "203.0.113.1/32")); ok {
		t.Error("a repeated address is reported as a change")
	}
	if _, ok := h.apply(addrEvent(linux.EventAddrGone, 5, "203.0.113.2/32")); ok {
		t.Error("removing an address the link does not have is reported as a change")
	}
	c = apply(t, h, addrEvent(linux.EventAddrGone, 5, "203.0.113.1/32"))
	if c.link != "Loopback0" || c.addr != pfx("203.0.113.1/32") {
		t.Errorf("removal: change %+v, want Loopback0 and the address", c)
	}
	if l, _ := h.link("Loopback0"); len(l.Addrs) != 0 {
		t.Errorf("Loopback0 still has %v", l.Addrs)
	}
	if _, ok := h.owner(netip.MustParseAddr("203.0.113.1")); ok {
		t.Error("a removed address still has an owner")
	}
}

func TestHostStateRename(t *testing.T) {
	h := newHostState()
	apply(t, h, linux.Event{Kind: linux.EventSnapshot, Links: []linux.Link{
		{Name: "eth3", Index: 3, AdminUp: true, OperUp: true, MTU: 1500, Addrs: []netip.Prefix{pfx("192.0.2.1/24")}},
	}})
	c := apply(t, h, linkEvent("wan0", 3, true))
	if c.link != "wan0" {
		t.Errorf("change %+v, want wan0", c)
	}
	if h.has("eth3") {
		t.Error("the old name is still there")
	}
	l, ok := h.link("wan0")
	if !ok || !slices.Equal(l.Addrs, []netip.Prefix{pfx("192.0.2.1/24")}) {
		t.Errorf("wan0 = %+v, %v; want the renamed link with its address", l, ok)
	}
	if o, ok := h.owner(netip.MustParseAddr("192.0.2.1")); !ok || o.Name != "wan0" {
		t.Errorf("owner = %+v, %v; want wan0", o, ok)
	}
}

func TestHostStateLinkGone(t *testing.T) {
	h := newHostState()
	apply(t, h, linux.Event{Kind: linux.EventSnapshot, Links: []linux.Link{
		{Name: "eth0", Index: 2, AdminUp: true, OperUp: true, Addrs: []netip.Prefix{pfx("192.0.2.1/24")}, Addrs6: []netip.Prefix{pfx("2001:db8::1/64")}},
		{Name: "eth1", Index: 3, AdminUp: true, OperUp: true, Addrs6: []netip.Prefix{pfx("2001:db8:1::1/64")}},
	}})
	if a := h.ipv6Source(); a != netip.MustParseAddr("2001:db8::1") {
		t.Fatalf("ipv6Source = %s, want eth0's", a)
	}
	c := apply(t, h, linux.Event{Kind: linux.EventLinkGone, Link: linux.Link{Name: "eth0", Index: 2}})
	if c.link != "eth0" {
		t.Errorf("change %+v, want eth0", c)
	}
	if h.has("eth0") {
		t.Error("eth0 is still there")
	}
	for _, a := range []string{"192.0.2.1", "2001:db8::1"} {
		if l, ok := h.owner(netip.MustParseAddr(a)); ok {
			t.Errorf("%s is still owned by %s", a, l.Name)
		}
	}
	if a := h.ipv6Source(); a != netip.MustParseAddr("2001:db8:1::1") {
		t.Errorf("ipv6Source = %s, want eth1's now", a)
	}
	if len(h.owners) != 1 {
		t.Errorf("owners %v, want only eth1's address", h.owners)
	}
	// A new link on the same index starts without the old addresses.
	apply(t, h, linkEvent("eth5", 2, true))
	if l, _ := h.link("eth5"); len(l.Addrs)+len(l.Addrs6) != 0 {
		t.Errorf("a new link got the addresses of the one that went: %+v", l)
	}
	if l, ok := h.owner(netip.MustParseAddr("192.0.2.1")); ok {
		t.Errorf("192.0.2.1 is owned by %s, the new link on the old one's index", l.Name)
	}
	if _, ok := h.apply(linux.Event{Kind: linux.EventLinkGone, Link: linux.Link{Name: "eth9", Index: 9}}); ok {
		t.Error("an unknown link going away is reported as a change")
	}
}

// TestHostStateIPv6: a tentative address is reported as gone (not usable)
// until duplicate address detection passed; ipv6Source picks the global
// address of the lowest link index.
func TestHostStateIPv6(t *testing.T) {
	h := newHostState()
	apply(t, h, linux.Event{Kind: linux.EventSnapshot, Links: []linux.Link{
		{Name: "lo", Index: 1, AdminUp: true, OperUp: true, Addrs6: []netip.Prefix{pfx("::1/128")}},
		{Name: "eth0", Index: 2, AdminUp: true, OperUp: true, Addrs6: []netip.Prefix{pfx("fe80::1/64")}},
		{Name: "eth1", Index: 3, AdminUp: true, OperUp: true},
		{Name: "eth2", Index: 4, AdminUp: true, OperUp: true, Addrs6: []netip.Prefix{pfx("2001:db8:4::1/64")}},
	}})
	if a := h.ipv6Source(); a != netip.MustParseAddr("2001:db8:4::1") {
		t.Fatalf("ipv6Source = %s, want eth2's global address (loopback and link-local do not count)", a)
	}
	// eth1's address while tentative: nothing changes.
	if _, ok := h.apply(addrEvent(linux.EventAddrGone, 3, "fd00::3/64")); ok {
		t.Error("a tentative address that was never usable is reported as a change")
	}
	if a := h.ipv6Source(); a != netip.MustParseAddr("2001:db8:4::1") {
		t.Errorf("ipv6Source = %s while eth1's address is tentative, want eth2's", a)
	}
	apply(t, h, addrEvent(linux.EventAddr, 3, "fd00::3/64"))
	if a := h.ipv6Source(); a != netip.MustParseAddr("fd00::3") {
		t.Errorf("ipv6Source = %s, want eth1's unique local address (lower index)", a)
	}
	if l, _ := h.link("eth1"); !slices.Equal(l.Addrs6, []netip.Prefix{pfx("fd00::3/64")}) || len(l.Addrs) != 0 {
		t.Errorf("eth1 = %+v, want the IPv6 address in Addrs6 only", l)
	}
	apply(t, h, addrEvent(linux.EventAddr, 2, "2001:db8:2::1/64"))
	if a := h.ipv6Source(); a != netip.MustParseAddr("2001:db8:2::1") {
		t.Errorf("ipv6Source = %s, want eth0's global address (lowest index)", a)
	}
	apply(t, h, addrEvent(linux.EventAddrGone, 2, "2001:db8:2::1/64"))
	apply(t, h, addrEvent(linux.EventAddrGone, 3, "fd00::3/64"))
	if a := h.ipv6Source(); a != netip.MustParseAddr("2001:db8:4::1") {
		t.Errorf("ipv6Source = %s after removals, want eth2's again", a)
	}
}

// TestHostStateLinkNoChange: a link event that changes nothing the router
// looks at (counters, or the very same state) is not a change.
func TestHostStateLinkNoChange(t *testing.T) {
	h := newHostState()
	apply(t, h, linux.Event{Kind: linux.EventSnapshot, Links: []linux.Link{
		{Name: "eth0", Index: 2, AdminUp: true, OperUp: true, MTU: 1500},
	}})
	ev := linkEvent("eth0", 2, true)
	ev.Link.Stats.RxPackets = 1000
	if _, ok := h.apply(ev); ok {
		t.Error("a counters-only link event is reported as a change")
	}
	cases := []struct {
		name string
		edit func(*linux.Link)
	}{
		{"carrier", func(l *linux.Link) { l.OperUp = false }},
		{"admin", func(l *linux.Link) { l.AdminUp = false }},
		{"mtu", func(l *linux.Link) { l.MTU = 9000 }},
	}
	for _, c := range cases {
		ev := linkEvent("eth0", 2, true)
		c.edit(&ev.Link)
		if ch, ok := h.apply(ev); !ok || ch.link != "eth0" {
			t.Errorf("%s: change %+v, %v; want eth0 changed", c.name, ch, ok)
		}
		h.apply(linkEvent("eth0", 2, true))
	}
	// A link event carries no addresses: the known ones stay.
	apply(t, h, addrEvent(linux.EventAddr, 2, "192.0.2.1/24"))
	apply(t, h, linkEvent("eth0", 2, false))
	if l, _ := h.link("eth0"); len(l.Addrs) != 1 {
		t.Errorf("a link event dropped the link's addresses: %+v", l)
	}
	if c := apply(t, h, linux.Event{Kind: linux.EventRoute, Prefix: pfx("10.0.0.0/8"), Table: 254}); c.route != pfx("10.0.0.0/8") {
		t.Errorf("route event: change %+v, want the prefix", c)
	}
}
