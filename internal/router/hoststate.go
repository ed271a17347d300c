package router

import (
	"net/netip"
	"slices"

	"github.com/gresec/gresec/internal/linux"
)

// hostState is the router's picture of the host's links and addresses,
// kept from netlink events: a pass reads it instead of dumping the host,
// which for a hub of N tunnels made every pass cost O(N) system calls and
// every show wait for them.
type hostState struct {
	links map[string]linux.Link // by name, without addresses
	names map[int]string        // link index to name
	// addrs holds each link's addresses by index (an address event may
	// come before its link's event: they arrive on separate sockets).
	addrs map[int]*linkAddrs
	// owners maps each address to the index of its link.
	owners map[netip.Addr]int
	// v6src is the ICMPv6 source; v6stale says it must be recomputed.
	v6src   netip.Addr
	v6stale bool
}

type linkAddrs struct{ v4, v6 []netip.Prefix }

// hostChange says what an event changed, for the router to re-evaluate
// only what depends on it.
type hostChange struct {
	all bool // everything may have changed (a snapshot)
	// link is the name of the link that changed, or whose addresses did.
	link string
	// addr is the address added or removed; route the destination of a
	// route that changed, routeProto its protocol.
	addr, route netip.Prefix
	routeProto  int
	// carrier is set when a link's operational state changed (or the link
	// came or went).
	carrier bool
}

func newHostState() *hostState {
	return &hostState{links: map[string]linux.Link{}, names: map[int]string{}, addrs: map[int]*linkAddrs{}, owners: map[netip.Addr]int{}}
}

// apply records one event and says what changed; ok is false when
// nothing did that the router looks at (a link event for counters only).
func (h *hostState) apply(ev linux.Event) (c hostChange, ok bool) {
	switch ev.Kind {
	case linux.EventSnapshot:
		*h = *newHostState()
		for _, l := range ev.Links {
			h.replace(l)
		}
		h.v6stale = true
		return hostChange{all: true}, true
	case linux.EventLink:
		l := ev.Link
		old, had := h.links[l.Name]
		if had && old.Index == l.Index && old.AdminUp == l.AdminUp && old.OperUp == l.OperUp && old.MTU == l.MTU {
			return hostChange{}, false
		}
		if name, ok := h.names[l.Index]; ok && name != l.Name {
			delete(h.links, name) // renamed
		}
		h.setLink(l)
		h.v6stale = true
		return hostChange{link: l.Name, carrier: !had || old.OperUp != l.OperUp}, true
	case linux.EventLinkGone:
		name, ok := h.names[ev.Link.Index]
		if !ok {
			return hostChange{}, false
		}
		delete(h.links, name)
		delete(h.names, ev.Link.Index)
		if la := h.addrs[ev.Link.Index]; la != nil {
			for _, p := range append(slices.Clone(la.v4), la.v6...) {
				h.dropOwner(p.Addr(), ev.Link.Index)
			}
		}
		delete(h.addrs, ev.Link.Index)
		h.v6stale = true
		return hostChange{link: name, carrier: true}, true
	case linux.EventAddr, linux.EventAddrGone:
		la := h.addrs[ev.Index]
		if la == nil {
			la = &linkAddrs{}
			h.addrs[ev.Index] = la
		}
		list := &la.v4
		if ev.Prefix.Addr().Is6() {
			list = &la.v6
			h.v6stale = true
		}
		i := slices.Index(*list, ev.Prefix)
		switch {
		case ev.Kind == linux.EventAddr && i < 0:
			*list = append(*list, ev.Prefix)
			h.owners[ev.Prefix.Addr()] = ev.Index
		case ev.Kind == linux.EventAddrGone && i >= 0:
			*list = slices.Delete(*list, i, i+1)
			h.dropOwner(ev.Prefix.Addr(), ev.Index)
		default:
			return hostChange{}, false
		}
		return hostChange{link: h.names[ev.Index], addr: ev.Prefix}, true
	case linux.EventRoute:
		return hostChange{route: ev.Prefix, routeProto: ev.Protocol}, true
	}
	return hostChange{}, false
}

// replace records a link read afresh, with its addresses.
func (h *hostState) replace(l linux.Link) {
	if la := h.addrs[l.Index]; la != nil {
		for _, p := range append(slices.Clone(la.v4), la.v6...) {
			h.dropOwner(p.Addr(), l.Index)
		}
	}
	if name, ok := h.names[l.Index]; ok && name != l.Name {
		delete(h.links, name)
	}
	h.setLink(l)
	h.addrs[l.Index] = &linkAddrs{v4: slices.Clone(l.Addrs), v6: slices.Clone(l.Addrs6)}
	for _, p := range append(slices.Clone(l.Addrs), l.Addrs6...) {
		h.owners[p.Addr()] = l.Index
	}
	h.v6stale = true
}

func (h *hostState) setLink(l linux.Link) {
	l.Addrs, l.Addrs6 = nil, nil
	h.links[l.Name] = l
	h.names[l.Index] = l.Name
}

// link returns a link with its addresses.
func (h *hostState) link(name string) (linux.Link, bool) {
	l, ok := h.links[name]
	if !ok {
		return linux.Link{}, false
	}
	if la := h.addrs[l.Index]; la != nil {
		l.Addrs, l.Addrs6 = la.v4, la.v6
	}
	return l, true
}

func (h *hostState) has(name string) bool {
	_, ok := h.links[name]
	return ok
}

// all returns every link with its addresses, by index.
func (h *hostState) all() []linux.Link {
	out := make([]linux.Link, 0, len(h.links))
	for name := range h.links {
		l, _ := h.link(name)
		out = append(out, l)
	}
	slices.SortFunc(out, func(a, b linux.Link) int { return a.Index - b.Index })
	return out
}

func (h *hostState) dropOwner(a netip.Addr, index int) {
	if h.owners[a] == index {
		delete(h.owners, a)
	}
}

// owner returns the link that has address a.
func (h *hostState) owner(a netip.Addr) (linux.Link, bool) {
	index, ok := h.owners[a]
	if !ok {
		return linux.Link{}, false
	}
	return h.link(h.names[index])
}

// ipv6Source is the address ICMPv6 errors come from: the first global (or
// unique local) unicast address, in link index order; zero when the host
// has none.
func (h *hostState) ipv6Source() netip.Addr {
	if !h.v6stale {
		return h.v6src
	}
	best, bestIndex := netip.Addr{}, 0
	for index, la := range h.addrs {
		if _, ok := h.names[index]; !ok {
			continue
		}
		for _, p := range la.v6 {
			a := p.Addr()
			if !a.IsGlobalUnicast() || a.IsLinkLocalUnicast() {
				continue
			}
			if !best.IsValid() || index < bestIndex {
				best, bestIndex = a, index
			}
		}
	}
	h.v6src, h.v6stale = best, false
	return best
}
