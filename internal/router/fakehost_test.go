package router

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gresec/gresec/internal/dataplane"
	"github.com/gresec/gresec/internal/dataplane/dataplanetest"
	"github.com/gresec/gresec/internal/linux"
)

// fakeHost is an in-memory Host: links with addresses, a main routing
// table, route-via pins, devices and sockets built on dataplanetest, and a
// stream of events as linux.Watch sends them. It is safe for concurrent
// use; the router calls it while holding its own mutex, so it never blocks
// on the router (events wait in an unbounded queue).
type fakeHost struct {
	mu        sync.Mutex
	nextIndex int
	links     map[string]*fakeLink
	// routes are the test's (kernel, FRR...); own those the router
	// installed, by prefix and metric.
	routes []fakeRoute
	own    map[ownKey]linux.Route
	pins   map[int]linux.Pin
	// pinLog is every SetPin call, in order.
	pinLog         []linux.Pin
	ignoreLinkdown map[string]bool
	// pathMTU is what lookups say of a destination's path MTU (Packet
	// Too Big learned).
	pathMTU     map[netip.Addr]int
	forwarding  bool
	forwarding6 bool
	// files are what ReadFile finds, by path.
	files map[string][]byte
	// setAddrCalls counts SetAddress calls.
	setAddrCalls int
	// gets counts RouteGet calls; getDsts lists their destinations.
	gets    int
	getDsts []netip.Addr
	raws    []*fakeRaw
	udps    []*fakeUDP
	ikes    []*fakeIKE
	closed  bool

	watchers []*fakeWatcher
}

type fakeLink struct {
	name           string
	index          int
	admin, carrier bool
	mtu            int
	mtu6           int // 0: mtu
	mac            net.HardwareAddr
	v4, v6         []netip.Prefix
	// tentative6 are IPv6 addresses added while the link could not carry
	// traffic: Linux keeps them tentative (unusable, left out of the
	// events and dumps) until it can.
	tentative6 []netip.Prefix
	// created is set on the devices the router created.
	created bool
}

// up reports whether the link can carry traffic: admin up with carrier
// (the router makes a tunnel's routes unusable without carrier).
func (l *fakeLink) up() bool { return l.admin && l.carrier }

// describe is the link as linux.Link, with its addresses or without.
func (l *fakeLink) describe(addrs bool) linux.Link {
	out := linux.Link{Name: l.name, Index: l.index, AdminUp: l.admin, OperUp: l.up(), MTU: l.mtu, HWAddr: l.mac}
	if addrs {
		out.Addrs, out.Addrs6 = slices.Clone(l.v4), slices.Clone(l.v6)
	}
	return out
}

type fakeNexthop struct {
	gw  netip.Addr
	dev string
}

type fakeRoute struct {
	prefix   netip.Prefix
	metric   int
	proto    int
	nexthops []fakeNexthop
}

type ownKey struct {
	prefix netip.Prefix
	metric int
}

// Route protocols as the kernel numbers them.
const (
	protoKernel = 2
	protoStatic = 4
	protoOSPF   = 188
)

func newFakeHost() *fakeHost {
	return &fakeHost{
		nextIndex:      1,
		links:          map[string]*fakeLink{},
		own:            map[ownKey]linux.Route{},
		pins:           map[int]linux.Pin{},
		ignoreLinkdown: map[string]bool{},
		pathMTU:        map[netip.Addr]int{},
		files:          map[string][]byte{},
	}
}

// setPathMTU makes lookups of dst report a path MTU (0: none).
func (h *fakeHost) setPathMTU(dst string, mtu int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.pathMTU[netip.MustParseAddr(dst)] = mtu
}

var _ Host = (*fakeHost)(nil)

// --- Helpers for tests: what the world does to the host. ---

// addLink adds a physical link, up with carrier.
func (h *fakeHost) addLink(name string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.change(func() { h.newLinkLocked(name, true, true, 1500) })
}

// setLinkUp sets a link's admin state and carrier.
func (h *fakeHost) setLinkUp(name string, admin, oper bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	l := h.mustLink(name)
	h.change(func() {
		if l.admin != admin || l.carrier != oper {
			l.admin, l.carrier = admin, oper
			h.emit(linux.Event{Kind: linux.EventLink, Link: l.describe(false)})
		}
	})
}

// addAddr adds an address to a link.
func (h *fakeHost) addAddr(name string, p string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	l := h.mustLink(name)
	h.change(func() { h.addAddrLocked(l, netip.MustParsePrefix(p)) })
}

// delAddr removes an address from a link.
func (h *fakeHost) delAddr(name string, p string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	l := h.mustLink(name)
	h.change(func() { h.delAddrLocked(l, netip.MustParsePrefix(p)) })
}

// addRoute adds a route of the main table through dev (gateway "" for
// none), as the kernel or a routing daemon would.
func (h *fakeHost) addRoute(prefix, dev, gateway string, metric, proto int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	nh := fakeNexthop{dev: dev}
	if gateway != "" {
		nh.gw = netip.MustParseAddr(gateway)
	}
	p := netip.MustParsePrefix(prefix)
	h.routes = append(h.routes, fakeRoute{prefix: p, metric: metric, proto: proto, nexthops: []fakeNexthop{nh}})
	h.emitRoute(p)
}

// delRoute removes the test's routes to prefix.
func (h *fakeHost) delRoute(prefix string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	p := netip.MustParsePrefix(prefix)
	n := len(h.routes)
	h.routes = slices.DeleteFunc(h.routes, func(r fakeRoute) bool { return r.prefix == p })
	if len(h.routes) != n {
		h.emitRoute(p)
	}
}

// routeGets is the number of RouteGet calls so far.
func (h *fakeHost) routeGets() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.gets
}

// routeGetDsts lists the destinations RouteGet was asked for so far.
func (h *fakeHost) routeGetDsts() []netip.Addr {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.getDsts)
}

// linkState returns a link as the host has it (ok=false: none).
func (h *fakeHost) linkState(name string) (linux.Link, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	l := h.links[name]
	if l == nil {
		return linux.Link{}, false
	}
	return l.describe(true), true
}

// ipv6MTU is a link's IPv6 MTU.
func (h *fakeHost) ipv6MTU(name string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	l := h.mustLink(name)
	if l.mtu6 == 0 {
		return l.mtu
	}
	return l.mtu6
}

// setMAC gives a physical link a MAC address.
func (h *fakeHost) setMAC(name, mac string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	hw, err := net.ParseMAC(mac)
	if err != nil {
		panic(err)
	}
	h.mustLink(name).mac = hw
}

// pinCalls returns every SetPin call so far.
func (h *fakeHost) pinCalls() []linux.Pin {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.pinLog)
}

// openRaws returns the raw sockets that are open.
func (h *fakeHost) openRaws() []*fakeRaw {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []*fakeRaw
	for _, s := range h.raws {
		if !s.Closed() {
			out = append(out, s)
		}
	}
	return out
}

func (h *fakeHost) ignoresLinkdown(dev string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.ignoreLinkdown[dev]
}

// waitQuiet waits until every event emitted so far is in its watcher's
// channel.
func (h *fakeHost) waitQuiet(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		h.mu.Lock()
		pending := 0
		for _, w := range h.watchers {
			pending += w.pending
		}
		h.mu.Unlock()
		if pending == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("fake host: %d events still undelivered (is the events channel full?)", pending)
		}
		time.Sleep(50 * time.Microsecond)
	}
}

// --- Internals (h.mu held). ---

func (h *fakeHost) mustLink(name string) *fakeLink {
	l := h.links[name]
	if l == nil {
		panic("fake host: no link " + name)
	}
	return l
}

func (h *fakeHost) link(name string) (*fakeLink, error) {
	if l := h.links[name]; l != nil {
		return l, nil
	}
	return nil, fmt.Errorf("link %s: no such device", name)
}

func (h *fakeHost) byIndex(index int) *fakeLink {
	for _, l := range h.links {
		if l.index == index {
			return l
		}
	}
	return nil
}

func (h *fakeHost) newLinkLocked(name string, admin, carrier bool, mtu int) *fakeLink {
	l := &fakeLink{name: name, index: h.nextIndex, admin: admin, carrier: carrier, mtu: mtu}
	h.nextIndex++
	h.links[name] = l
	h.emit(linux.Event{Kind: linux.EventLink, Link: l.describe(false)})
	return l
}

func (h *fakeHost) removeLinkLocked(name string) {
	l := h.links[name]
	if l == nil {
		return
	}
	h.change(func() {
		delete(h.links, name)
		h.emit(linux.Event{Kind: linux.EventLinkGone, Link: linux.Link{Name: l.name, Index: l.index}})
	})
}

func (h *fakeHost) addAddrLocked(l *fakeLink, p netip.Prefix) {
	list := &l.v4
	if p.Addr().Is6() {
		list = &l.v6
		if slices.Contains(l.tentative6, p) {
			return
		}
		if !l.up() && !slices.Contains(l.v6, p) {
			// As linux.Watch reports a tentative address: gone.
			l.tentative6 = append(l.tentative6, p)
			h.emit(linux.Event{Kind: linux.EventAddrGone, Index: l.index, Prefix: p})
			return
		}
	}
	if slices.Contains(*list, p) {
		return
	}
	*list = append(*list, p)
	h.emit(linux.Event{Kind: linux.EventAddr, Index: l.index, Prefix: p})
}

func (h *fakeHost) delAddrLocked(l *fakeLink, p netip.Prefix) {
	list := &l.v4
	if p.Addr().Is6() {
		list = &l.v6
		l.tentative6 = slices.DeleteFunc(l.tentative6, func(x netip.Prefix) bool { return x == p })
	}
	i := slices.Index(*list, p)
	if i < 0 {
		return
	}
	*list = slices.Delete(*list, i, i+1)
	h.emit(linux.Event{Kind: linux.EventAddrGone, Index: l.index, Prefix: p})
}

// connected lists the connected routes: the prefixes (shorter than /32
// or /128, as Linux adds them) of the links that are up.
func (h *fakeHost) connected() []fakeRoute {
	var out []fakeRoute
	for _, l := range h.links {
		if !l.up() {
			continue
		}
		for _, p := range append(slices.Clone(l.v4), l.v6...) {
			if p.Bits() < p.Addr().BitLen() {
				out = append(out, fakeRoute{prefix: p.Masked(), proto: protoKernel, nexthops: []fakeNexthop{{dev: l.name}}})
			}
		}
	}
	return out
}

// change runs f and emits a route event for each connected route that
// appeared or went away.
func (h *fakeHost) change(f func()) {
	key := func(r fakeRoute) string { return r.prefix.String() + " " + r.nexthops[0].dev }
	before := map[string]netip.Prefix{}
	for _, r := range h.connected() {
		before[key(r)] = r.prefix
	}
	f()
	// Links that can carry traffic now finish duplicate address
	// detection at once (a TUN device has no neighbours).
	for _, l := range h.links {
		if l.up() && len(l.tentative6) > 0 {
			for _, p := range l.tentative6 {
				l.v6 = append(l.v6, p)
				h.emit(linux.Event{Kind: linux.EventAddr, Index: l.index, Prefix: p})
			}
			l.tentative6 = nil
		}
	}
	after := map[string]netip.Prefix{}
	for _, r := range h.connected() {
		after[key(r)] = r.prefix
	}
	for k, p := range before {
		if _, ok := after[k]; !ok {
			h.emitRoute(p)
		}
	}
	for k, p := range after {
		if _, ok := before[k]; !ok {
			h.emitRoute(p)
		}
	}
}

// table is the main table: connected, the test's and the router's routes.
func (h *fakeHost) table() []fakeRoute {
	out := h.connected()
	out = append(out, h.routes...)
	keys := make([]ownKey, 0, len(h.own))
	for k := range h.own {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b ownKey) int {
		return cmp.Or(a.prefix.Addr().Compare(b.prefix.Addr()), a.prefix.Bits()-b.prefix.Bits(), a.metric-b.metric)
	})
	for _, k := range keys {
		rt := h.own[k]
		fr := fakeRoute{prefix: rt.Prefix, metric: rt.Metric, proto: int(linux.RouteProtocol)}
		for _, nh := range rt.Nexthops {
			dev := ""
			if l := h.byIndex(nh.LinkIndex); l != nil {
				dev = l.name
			}
			fr.nexthops = append(fr.nexthops, fakeNexthop{gw: nh.Gateway, dev: dev})
		}
		out = append(out, fr)
	}
	return out
}

// usableNexthop is the first nexthop of a route through a link that is
// up (and is dev, when dev is set).
func (h *fakeHost) usableNexthop(nhs []fakeNexthop, dev string) (fakeNexthop, *fakeLink, bool) {
	for _, nh := range nhs {
		if dev != "" && nh.dev != dev {
			continue
		}
		if l := h.links[nh.dev]; l != nil && l.up() {
			return nh, l, true
		}
	}
	return fakeNexthop{}, nil, false
}

func (h *fakeHost) emitRoute(p netip.Prefix) {
	h.emit(linux.Event{Kind: linux.EventRoute, Prefix: p, Table: 254})
}

func (h *fakeHost) emit(ev linux.Event) {
	for _, w := range h.watchers {
		w.queue = append(w.queue, ev)
		w.pending++
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

// --- Host. ---

// fakeWatcher delivers one Watch's events in order from an unbounded
// queue.
type fakeWatcher struct {
	queue []linux.Event
	// pending counts the events not yet in the channel.
	pending int
	wake    chan struct{}
}

func (h *fakeHost) Watch(ctx context.Context, events chan<- linux.Event) error {
	h.mu.Lock()
	var snap []linux.Link
	for _, l := range h.links {
		snap = append(snap, l.describe(true))
	}
	slices.SortFunc(snap, func(a, b linux.Link) int { return a.Index - b.Index })
	w := &fakeWatcher{wake: make(chan struct{}, 1)}
	h.watchers = append(h.watchers, w)
	h.mu.Unlock()
	select {
	case events <- linux.Event{Kind: linux.EventSnapshot, Links: snap}:
	case <-ctx.Done():
		h.unwatch(w)
		return ctx.Err()
	}
	go h.deliver(ctx, w, events)
	return nil
}

func (h *fakeHost) unwatch(w *fakeWatcher) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.watchers = slices.DeleteFunc(h.watchers, func(x *fakeWatcher) bool { return x == w })
}

func (h *fakeHost) deliver(ctx context.Context, w *fakeWatcher, events chan<- linux.Event) {
	defer h.unwatch(w)
	for {
		h.mu.Lock()
		if len(w.queue) == 0 {
			h.mu.Unlock()
			select {
			case <-w.wake:
				continue
			case <-ctx.Done():
				return
			}
		}
		ev := w.queue[0]
		w.queue = w.queue[1:]
		h.mu.Unlock()
		select {
		case events <- ev:
		case <-ctx.Done():
			return
		}
		h.mu.Lock()
		w.pending--
		h.mu.Unlock()
	}
}

func (h *fakeHost) Link(name string) (linux.Link, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	l, err := h.link(name)
	if err != nil {
		return linux.Link{}, err
	}
	return l.describe(true), nil
}

func (h *fakeHost) Links() ([]linux.Link, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]linux.Link, 0, len(h.links))
	for _, l := range h.links {
		out = append(out, l.describe(true))
	}
	slices.SortFunc(out, func(a, b linux.Link) int { return a.Index - b.Index })
	return out, nil
}

func (h *fakeHost) LinkExists(name string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.links[name] != nil
}

func (h *fakeHost) Routes() ([]linux.KernelRoute, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []linux.KernelRoute
	for _, r := range h.table() {
		kr := linux.KernelRoute{Prefix: r.prefix, Protocol: r.proto, Metric: r.metric}
		if r.proto == protoKernel {
			kr.Scope = 253 // link
		}
		_, _, usable := h.usableNexthop(r.nexthops, "")
		kr.Linkdown = !usable
		for _, nh := range r.nexthops {
			kr.Nexthops = append(kr.Nexthops, linux.KernelNexthop{Gateway: nh.gw, Device: nh.dev})
		}
		out = append(out, kr)
	}
	slices.SortStableFunc(out, func(a, b linux.KernelRoute) int {
		return cmp.Or(a.Prefix.Addr().Compare(b.Prefix.Addr()), a.Prefix.Bits()-b.Prefix.Bits())
	})
	return out, nil
}

// RouteGet answers from the pin whose mark the lookup carries, else from
// the main table: the longest prefix, then the lowest metric, among the
// routes through a link that is up.
func (h *fakeHost) RouteGet(dst netip.Addr, o linux.LookupOptions) (linux.Lookup, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.gets++
	h.getDsts = append(h.getDsts, dst)
	if o.Mark != 0 {
		for _, p := range h.pins {
			if linux.PinMark(p.Slot) != o.Mark || p.Dst != dst {
				continue
			}
			for _, nh := range p.Nexthops {
				if l := h.byIndex(nh.LinkIndex); l != nil && l.up() {
					return linux.Lookup{Found: true, LinkIndex: l.index, Device: l.name, Gateway: nh.Gateway,
						Prefix: netip.PrefixFrom(dst, dst.BitLen()), Protocol: int(linux.RouteProtocol)}, nil
				}
			}
			if p.FailClosed {
				return linux.Lookup{}, nil
			}
		}
	}
	var best *fakeRoute
	var bestNH fakeNexthop
	var bestLink *fakeLink
	routes := h.table()
	for i := range routes {
		r := &routes[i]
		if !r.prefix.Contains(dst) {
			continue
		}
		nh, l, ok := h.usableNexthop(r.nexthops, o.BindDevice)
		if !ok {
			continue
		}
		if best != nil && (r.prefix.Bits() < best.prefix.Bits() ||
			r.prefix.Bits() == best.prefix.Bits() && r.metric >= best.metric) {
			continue
		}
		best, bestNH, bestLink = r, nh, l
	}
	if best == nil {
		return linux.Lookup{}, nil
	}
	return linux.Lookup{Found: true, LinkIndex: bestLink.index, Device: bestLink.name, Gateway: bestNH.gw,
		Prefix: best.prefix, Protocol: best.proto, MTU: h.pathMTU[dst]}, nil
}

func (h *fakeHost) SetUp(name string, up bool) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	l, err := h.link(name)
	if err != nil {
		return err
	}
	h.change(func() {
		if l.admin != up {
			l.admin = up
			h.emit(linux.Event{Kind: linux.EventLink, Link: l.describe(false)})
		}
	})
	return nil
}

func (h *fakeHost) SetMTU(name string, mtu int) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	l, err := h.link(name)
	if err != nil {
		return err
	}
	if l.mtu != mtu {
		l.mtu, l.mtu6 = mtu, 0 // as Linux, the IPv6 MTU follows
		h.emit(linux.Event{Kind: linux.EventLink, Link: l.describe(false)})
	}
	return nil
}

func (h *fakeHost) SetIPv6MTU(name string, mtu int) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	l, err := h.link(name)
	if err != nil {
		return err
	}
	if mtu > l.mtu {
		return fmt.Errorf("%s: ipv6 mtu %d: invalid argument", name, mtu)
	}
	l.mtu6 = mtu
	return nil
}

func (h *fakeHost) EnableIPv6Forwarding() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.forwarding6 = true
	return nil
}

func (h *fakeHost) SetAddress(name string, p, old netip.Prefix) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.setAddrCalls++
	l, err := h.link(name)
	if err != nil {
		return err
	}
	h.change(func() {
		if old.IsValid() && old != p {
			h.delAddrLocked(l, old)
		}
		if p.IsValid() {
			h.addAddrLocked(l, p)
		}
	})
	return nil
}

func (h *fakeHost) EnableForwarding() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.forwarding = true
	return nil
}

func (h *fakeHost) IgnoreLinkdownRoutes(dev string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, err := h.link(dev); err != nil {
		return err
	}
	h.ignoreLinkdown[dev] = true
	return nil
}

func (h *fakeHost) OwnRoutes() ([]linux.Route, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]linux.Route, 0, len(h.own))
	for _, r := range h.own {
		r.Nexthops = slices.Clone(r.Nexthops)
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b linux.Route) int {
		return cmp.Or(a.Prefix.Addr().Compare(b.Prefix.Addr()), a.Prefix.Bits()-b.Prefix.Bits(), a.Metric-b.Metric)
	})
	return out, nil
}

func (h *fakeHost) ReplaceRoute(rt linux.Route) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(rt.Nexthops) == 0 {
		return fmt.Errorf("route %s: no nexthop", rt.Prefix)
	}
	for _, nh := range rt.Nexthops {
		if h.byIndex(nh.LinkIndex) == nil {
			return fmt.Errorf("route %s: link index %d: no such device", rt.Prefix, nh.LinkIndex)
		}
	}
	rt.Nexthops = slices.Clone(rt.Nexthops)
	h.own[ownKey{rt.Prefix, rt.Metric}] = rt
	h.emitRoute(rt.Prefix)
	return nil
}

func (h *fakeHost) DeleteRoute(prefix netip.Prefix, metric int) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	k := ownKey{prefix, metric}
	if _, ok := h.own[k]; ok {
		delete(h.own, k)
		h.emitRoute(prefix)
	}
	return nil
}

func (h *fakeHost) FlushRoutes() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	for k := range h.own {
		delete(h.own, k)
		h.emitRoute(k.prefix)
	}
	clear(h.pins)
	return nil
}

func (h *fakeHost) SetPin(p linux.Pin) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if p.Slot < 0 || p.Slot >= linux.MaxPins {
		return fmt.Errorf("pin slot %d out of range", p.Slot)
	}
	p.Nexthops = slices.Clone(p.Nexthops)
	old, had := h.pins[p.Slot]
	h.pins[p.Slot] = p
	h.pinLog = append(h.pinLog, p)
	// The slot's table changes (as the kernel reports it) only when its
	// route does.
	if had && old.Dst != p.Dst && len(old.Nexthops) > 0 {
		h.emitPinRoute(old)
	}
	if !slices.Equal(old.Nexthops, p.Nexthops) || old.Dst != p.Dst && len(p.Nexthops) > 0 {
		h.emitPinRoute(p)
	}
	return nil
}

func (h *fakeHost) emitPinRoute(p linux.Pin) {
	h.emit(linux.Event{Kind: linux.EventRoute, Prefix: netip.PrefixFrom(p.Dst, p.Dst.BitLen()), Table: linux.PinTable(p.Slot)})
}

func (h *fakeHost) DeletePin(slot int) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if p, ok := h.pins[slot]; ok && len(p.Nexthops) > 0 {
		h.emitPinRoute(p)
	}
	delete(h.pins, slot)
	return nil
}

// CreateTunnelDevice creates a TUN link: admin down, carrier on, as Linux
// does.
func (h *fakeHost) CreateTunnelDevice(name string, mtu int) (TunnelDevice, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.links[name] != nil {
		return nil, fmt.Errorf("create %s: file exists", name)
	}
	h.newLinkLocked(name, false, true, mtu).created = true
	return &fakeTunnel{Overlay: dataplanetest.NewOverlay(64), h: h, name: name}, nil
}

// CreateLoopbackDevice creates a link that is up.
func (h *fakeHost) CreateLoopbackDevice(name string) (io.Closer, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.links[name] != nil {
		return nil, fmt.Errorf("create %s: file exists", name)
	}
	h.newLinkLocked(name, true, true, 1500).created = true
	return &fakeLoopback{h: h, name: name}, nil
}

func (h *fakeHost) ListenRaw(proto int, src netip.Addr, opts linux.UnderlayOptions, _ RawHooks) (RawSocket, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := &fakeRaw{Underlay: dataplanetest.NewUnderlay(64), proto: proto, src: src, opts: opts}
	h.raws = append(h.raws, s)
	return s, nil
}

func (h *fakeHost) DialUDP(local, peer netip.AddrPort, opts linux.UnderlayOptions, hooks UDPHooks) (UDPSocket, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	u := &fakeUDP{Underlay: dataplanetest.NewUnderlay(64), local: local, peer: peer, opts: opts, hooks: hooks}
	h.udps = append(h.udps, u)
	return u, nil
}

func (h *fakeHost) ListenIKE(local netip.AddrPort, mark uint32) (IKESocket, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	c := &fakeIKE{local: local, mark: mark, In: make(chan fakeDatagram, 64), Out: make(chan fakeDatagram, 64), closed: make(chan struct{})}
	h.ikes = append(h.ikes, c)
	return c, nil
}

func (h *fakeHost) ReadFile(path string) ([]byte, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	b, ok := h.files[path]
	if !ok {
		return nil, fmt.Errorf("open %s: no such file or directory", path)
	}
	return b, nil
}

func (h *fakeHost) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
}

// fakeTunnel is a TunnelN device: an overlay fed through channels, whose
// carrier is its link's.
type fakeTunnel struct {
	*dataplanetest.Overlay
	h    *fakeHost
	name string
	once sync.Once
}

func (d *fakeTunnel) SetCarrier(on bool) error {
	d.h.mu.Lock()
	defer d.h.mu.Unlock()
	l := d.h.links[d.name]
	if l == nil {
		return fmt.Errorf("%s: carrier: no such device", d.name)
	}
	d.h.change(func() {
		if l.carrier != on {
			l.carrier = on
			d.h.emit(linux.Event{Kind: linux.EventLink, Link: l.describe(false)})
		}
	})
	return nil
}

func (d *fakeTunnel) Close() error {
	d.once.Do(func() {
		d.h.mu.Lock()
		d.h.removeLinkLocked(d.name)
		d.h.mu.Unlock()
		_ = d.Overlay.Close()
	})
	return nil
}

type fakeLoopback struct {
	h    *fakeHost
	name string
}

func (c *fakeLoopback) Close() error {
	c.h.mu.Lock()
	defer c.h.mu.Unlock()
	c.h.removeLinkLocked(c.name)
	return nil
}

// fakeRaw is a shared raw socket; what any of its senders writes goes to
// Out.
type fakeRaw struct {
	*dataplanetest.Underlay
	proto int
	src   netip.Addr
	opts  linux.UnderlayOptions
	mu    sync.Mutex
	pmtu  map[netip.Addr]int
}

func (s *fakeRaw) To(netip.Addr) dataplane.Writer { return rawSender{s.Underlay} }

func (s *fakeRaw) PathMTU(dst netip.Addr) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pmtu[dst]
}

// setPathMTU makes the socket report a path MTU to dst.
func (s *fakeRaw) setPathMTU(dst string, mtu int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pmtu == nil {
		s.pmtu = map[netip.Addr]int{}
	}
	s.pmtu[netip.MustParseAddr(dst)] = mtu
}

type rawSender struct{ u *dataplanetest.Underlay }

func (w rawSender) WriteBatch(bufs [][]byte, tos []byte) (int, error) {
	return w.u.WriteBatch(bufs, tos)
}

type fakeUDP struct {
	*dataplanetest.Underlay
	local, peer netip.AddrPort
	opts        linux.UnderlayOptions
	hooks       UDPHooks
}

func (u *fakeUDP) PathMTU() int { return 0 }

type fakeDatagram struct {
	Data []byte
	Addr netip.AddrPort
}

// fakeIKE is an IKE socket: reads come from In, writes go to Out (a full
// Out drops).
type fakeIKE struct {
	local   netip.AddrPort
	mark    uint32
	In, Out chan fakeDatagram

	once   sync.Once
	closed chan struct{}
}

func (c *fakeIKE) ReadFromUDPAddrPort(b []byte) (int, netip.AddrPort, error) {
	select {
	case d := <-c.In:
		return copy(b, d.Data), d.Addr, nil
	case <-c.closed:
		return 0, netip.AddrPort{}, net.ErrClosed
	}
}

func (c *fakeIKE) WriteToUDPAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	select {
	case <-c.closed:
		return 0, net.ErrClosed
	default:
	}
	select {
	case c.Out <- fakeDatagram{Data: append([]byte(nil), b...), Addr: addr}:
	default:
	}
	return len(b), nil
}

func (c *fakeIKE) Close() error {
	c.once.Do(func() { close(c.closed) })
	return nil
}

// TestFakeHostRouteGet checks the fake's own lookups, which the router's
// tests rely on.
func TestFakeHostRouteGet(t *testing.T) {
	h := newFakeHost()
	h.addLink("eth0")
	h.addAddr("eth0", "192.0.2.1/24")
	h.addLink("eth1")
	h.addAddr("eth1", "198.18.0.1/24")
	h.addRoute("0.0.0.0/0", "eth0", "192.0.2.254", 0, protoStatic)
	h.addRoute("198.51.100.0/24", "eth1", "198.18.0.254", 10, protoStatic)
	h.addRoute("198.51.100.0/24", "eth0", "192.0.2.254", 5, protoStatic)
	dst := netip.MustParseAddr("198.51.100.7")
	get := func(o linux.LookupOptions) linux.Lookup {
		t.Helper()
		lk, err := h.RouteGet(dst, o)
		if err != nil {
			t.Fatal(err)
		}
		return lk
	}
	if lk := get(linux.LookupOptions{}); !lk.Found || lk.Device != "eth0" || lk.Prefix.Bits() != 24 {
		t.Errorf("lowest metric of the longest prefix: %+v, want the /24 through eth0", lk)
	}
	h.setLinkUp("eth0", true, false)
	if lk := get(linux.LookupOptions{}); !lk.Found || lk.Device != "eth1" {
		t.Errorf("eth0 without carrier: %+v, want eth1", lk)
	}
	if lk, _ := h.RouteGet(netip.MustParseAddr("192.0.2.9"), linux.LookupOptions{}); lk.Found {
		t.Errorf("the connected route of a link without carrier is used: %+v", lk)
	}
	h.setLinkUp("eth0", true, true)
	eth1, _ := h.linkState("eth1")
	_ = h.SetPin(linux.Pin{Slot: 3, Dst: dst, FailClosed: true, Nexthops: []linux.Nexthop{{Gateway: netip.MustParseAddr("198.18.0.254"), LinkIndex: eth1.Index}}})
	if lk := get(linux.LookupOptions{Mark: linux.PinMark(3)}); !lk.Found || lk.Device != "eth1" {
		t.Errorf("pinned: %+v, want eth1", lk)
	}
	_ = h.SetPin(linux.Pin{Slot: 3, Dst: dst, FailClosed: true})
	if lk := get(linux.LookupOptions{Mark: linux.PinMark(3)}); lk.Found {
		t.Errorf("mandatory pin without nexthops: %+v, want unreachable", lk)
	}
	_ = h.SetPin(linux.Pin{Slot: 3, Dst: dst})
	if lk := get(linux.LookupOptions{Mark: linux.PinMark(3)}); !lk.Found || lk.Device != "eth0" {
		t.Errorf("preferred pin without nexthops: %+v, want the main table's eth0", lk)
	}
	if n := h.routeGets(); n != 6 {
		t.Errorf("routeGets = %d, want 6", n)
	}
}

// TestFakeHostEvents checks that the fake sends a snapshot, then every
// change in order, connected routes included.
func TestFakeHostEvents(t *testing.T) {
	h := newFakeHost()
	h.addLink("eth0")
	h.addAddr("eth0", "192.0.2.1/24")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := make(chan linux.Event, 64)
	if err := h.Watch(ctx, ch); err != nil {
		t.Fatal(err)
	}
	ev := <-ch
	if ev.Kind != linux.EventSnapshot || len(ev.Links) != 1 || len(ev.Links[0].Addrs) != 1 {
		t.Fatalf("first event %+v, want a snapshot of eth0 with its address", ev)
	}
	h.setLinkUp("eth0", false, true)
	h.delAddr("eth0", "192.0.2.1/24")
	h.waitQuiet(t)
	var kinds []linux.EventKind
	for len(ch) > 0 {
		kinds = append(kinds, (<-ch).Kind)
	}
	want := []linux.EventKind{linux.EventLink, linux.EventRoute, linux.EventAddrGone}
	if !slices.Equal(kinds, want) {
		t.Errorf("events %v, want %v", kinds, want)
	}
	cancel()
	deadline := time.Now().Add(time.Second)
	for {
		h.mu.Lock()
		n := len(h.watchers)
		h.mu.Unlock()
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the watcher outlived its context")
		}
		time.Sleep(time.Millisecond)
	}
	if _, err := h.Link("nope"); err == nil {
		t.Error("Link of a missing link: no error")
	}
}
