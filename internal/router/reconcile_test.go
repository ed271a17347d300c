package router

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gresec/gresec/internal/api"
	"github.com/gresec/gresec/internal/config"
	"github.com/gresec/gresec/internal/dataplane/dataplanetest"
	"github.com/gresec/gresec/internal/linux"
)

// testRouter is a Router over a fakeHost, driven pass by pass: the test
// moves the clock, changes the host, and calls step or settle.
type testRouter struct {
	t      *testing.T
	h      *fakeHost
	r      *Router
	events chan linux.Event
	clock  *fakeClock
	logs   *syncBuffer
	path   string
}

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// syncBuffer collects the logs of the router and its data plane
// goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// physicalHost is a host with eth0 (192.0.2.1/24) and a default route
// through it.
func physicalHost() *fakeHost {
	h := newFakeHost()
	h.addLink("eth0")
	h.addAddr("eth0", "192.0.2.1/24")
	h.addRoute("0.0.0.0/0", "eth0", "192.0.2.254", 0, protoStatic)
	return h
}

// startRouter writes conf, makes a router over h, and settles it: the
// snapshot, then passes until no event is left.
func startRouter(t *testing.T, h *fakeHost, conf string) *testRouter {
	t.Helper()
	path := filepath.Join(t.TempDir(), "gresec.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	tr := &testRouter{t: t, h: h, events: make(chan linux.Event, 4096), logs: &syncBuffer{},
		clock: &fakeClock{now: time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)}, path: path}
	log := slog.New(slog.NewTextHandler(tr.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	load := func() (*config.Config, []string) {
		return config.Load(path, config.Options{InterfaceExists: h.LinkExists})
	}
	cfg, problems := load()
	if cfg == nil {
		t.Fatalf("configuration refused:\n%s", strings.Join(problems, "\n"))
	}
	r, err := New(cfg, Options{ConfigPath: path, Load: load, Log: log, Now: tr.clock.Now, Host: h})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	tr.r = r
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := r.host.Watch(ctx, tr.events); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.shutdown)
	tr.settle()
	return tr
}

// step applies the events the host sent and makes one pass.
func (tr *testRouter) step() {
	tr.h.waitQuiet(tr.t)
	tr.r.mu.Lock()
	defer tr.r.mu.Unlock()
	tr.r.drainEventsLocked(tr.events)
	tr.r.passLocked()
}

// settle makes passes until the host sends no more events and nothing is
// left to evaluate.
func (tr *testRouter) settle() {
	tr.t.Helper()
	for range 20 {
		tr.step()
		tr.h.waitQuiet(tr.t)
		tr.r.mu.Lock()
		idle := len(tr.events) == 0 && !tr.r.dirtyAll && len(tr.r.dirty) == 0 && !tr.r.routesDirty
		tr.r.mu.Unlock()
		if idle {
			return
		}
	}
	tr.t.Fatal("the router did not settle in 20 passes")
}

// gets settles the router after f and returns the destinations it looked
// up meanwhile.
func (tr *testRouter) gets(f func()) []netip.Addr {
	tr.t.Helper()
	before := len(tr.h.routeGetDsts())
	f()
	tr.settle()
	return tr.h.routeGetDsts()[before:]
}

// lineProto returns a tunnel's line protocol and the reason it is down.
func (tr *testRouter) lineProto(name string) (bool, string) {
	tr.r.mu.Lock()
	defer tr.r.mu.Unlock()
	it := tr.r.ifs[name]
	if it == nil {
		tr.t.Fatalf("no interface %s", name)
	}
	return it.lp.Up(), it.lp.Reason()
}

func (tr *testRouter) wantUp(names ...string) {
	tr.t.Helper()
	for _, name := range names {
		if up, reason := tr.lineProto(name); !up {
			tr.t.Errorf("%s: line protocol down (%s), want up", name, reason)
		}
	}
}

// wantDown checks that a tunnel is down for a reason that contains why.
func (tr *testRouter) wantDown(name, why string) {
	tr.t.Helper()
	if up, reason := tr.lineProto(name); up || !strings.Contains(reason, why) {
		tr.t.Errorf("%s: up=%v reason %q, want down with %q", name, up, reason, why)
	}
}

// writeConfig replaces the configuration file (Reload reads it).
func (tr *testRouter) writeConfig(conf string) {
	tr.t.Helper()
	if err := os.WriteFile(tr.path, []byte(conf), 0o600); err != nil {
		tr.t.Fatal(err)
	}
}

// count says how many times the logs hold s.
func (tr *testRouter) count(s string) int { return strings.Count(tr.logs.String(), s) }

// tunnelConf is a Loopback0 (203.0.113.1) and one tunnel from it per
// destination, Tunnel0 to the first; extra goes into every tunnel and
// global at the end.
func tunnelConf(dsts []string, extra, global string) string {
	var b strings.Builder
	b.WriteString("hostname hub\n!\ninterface Loopback0\n ip address 203.0.113.1 255.255.255.255\n!\n")
	for i, d := range dsts {
		fmt.Fprintf(&b, "interface Tunnel%d\n ip address 10.0.%d.1 255.255.255.252\n tunnel source Loopback0\n tunnel destination %s\n%s!\n", i, i, d, extra)
	}
	b.WriteString(global)
	return b.String()
}

var threeTunnels = []string{"198.51.100.10", "198.51.100.11", "198.51.100.12"}

func addrs(ss ...string) []netip.Addr {
	out := make([]netip.Addr, 0, len(ss))
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out
}

// sameSet reports whether a and b hold the same addresses, however many
// times each.
func sameSet(a, b []netip.Addr) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.SortFunc(a, netip.Addr.Compare)
	slices.SortFunc(b, netip.Addr.Compare)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}

// TestStartup: three loopback-sourced tunnels come up on the first passes,
// with their carrier on, one shared GRE socket, and show says so.
func TestStartup(t *testing.T) {
	tr := startRouter(t, physicalHost(), tunnelConf(threeTunnels, "", ""))
	tr.wantUp("Tunnel0", "Tunnel1", "Tunnel2")
	for _, name := range []string{"Tunnel0", "Tunnel1", "Tunnel2"} {
		l, ok := tr.h.linkState(name)
		if !ok || !l.AdminUp || !l.OperUp {
			t.Errorf("%s link: %+v (exists %v), want admin up with carrier", name, l, ok)
		}
		if !tr.h.ignoresLinkdown(name) {
			t.Errorf("%s: IgnoreLinkdownRoutes not called: its routes would stay in use without carrier", name)
		}
	}
	if l, ok := tr.h.linkState("Loopback0"); !ok || !l.AdminUp || !slices.Equal(l.Addrs, []netip.Prefix{netip.MustParsePrefix("203.0.113.1/32")}) {
		t.Errorf("Loopback0: %+v (exists %v), want up with 203.0.113.1/32", l, ok)
	}
	raws := tr.h.openRaws()
	if len(raws) != 1 || raws[0].proto != 47 || raws[0].src != netip.MustParseAddr("203.0.113.1") {
		t.Errorf("GRE sockets: %d open, want one of protocol 47 from 203.0.113.1 for all tunnels", len(raws))
	}
	tr.h.mu.Lock()
	fwd := tr.h.forwarding
	tr.h.mu.Unlock()
	if !fwd {
		t.Error("forwarding not enabled")
	}
	if n := tr.count("%LINEPROTO-5-UPDOWN: Line protocol on Interface Tunnel1, changed state to up"); n != 1 {
		t.Errorf("Tunnel1 logged up %d times, want once", n)
	}

	resp := tr.r.Handle(context.Background(), api.Request{Args: []string{"show", "ip", "interface", "brief"}})
	if resp.Error != "" {
		t.Fatal(resp.Error)
	}
	seen := 0
	for _, ai := range resp.Data.(api.Interfaces).Interfaces {
		if strings.HasPrefix(ai.Name, "Tunnel") {
			seen++
			if ai.Status != "up" || ai.LineProtocol != "up" {
				t.Errorf("show: %s is %s, line protocol is %s; want up/up", ai.Name, ai.Status, ai.LineProtocol)
			}
		}
	}
	if seen != 3 {
		t.Errorf("show lists %d tunnels, want 3", seen)
	}
}

// TestIncrementalPasses: once settled, a pass evaluates only the tunnels an
// event concerns; the periodic pass and a physical link's change evaluate
// all of them.
func TestIncrementalPasses(t *testing.T) {
	tr := startRouter(t, physicalHost(), tunnelConf(threeTunnels, "", ""))
	tr.wantUp("Tunnel0", "Tunnel1", "Tunnel2")
	// The periodic pass: every tunnel, whatever happened before.
	if got := tr.gets(func() { tr.clock.advance(resolveInterval) }); !sameSet(got, addrs(threeTunnels...)) {
		t.Errorf("after resolveInterval: looked up %v, want every tunnel's destination", got)
	}

	if got := tr.gets(func() { tr.h.addRoute("10.99.0.0/16", "eth0", "192.0.2.254", 0, protoStatic) }); len(got) != 0 {
		t.Errorf("a route to an unrelated prefix: looked up %v, want nothing", got)
	}
	if got := tr.gets(func() { tr.h.addRoute("198.51.100.11/32", "eth0", "192.0.2.253", 0, protoStatic) }); !slices.Equal(got, addrs("198.51.100.11")) {
		t.Errorf("a route to Tunnel1's destination: looked up %v, want only 198.51.100.11", got)
	}
	tr.r.mu.Lock()
	lk := tr.r.ifs["Tunnel1"].lookup
	tr.r.mu.Unlock()
	if lk.Prefix != netip.MustParsePrefix("198.51.100.11/32") || lk.Gateway != netip.MustParseAddr("192.0.2.253") {
		t.Errorf("Tunnel1's underlay %+v, want the new /32", lk)
	}

	// A quiet pass before resolveInterval looks nothing up; one after it
	// looks everything up.
	if got := tr.gets(func() { tr.clock.advance(resolveInterval - time.Second) }); len(got) != 0 {
		t.Errorf("a pass with nothing to do looked up %v", got)
	}
	if got := tr.gets(func() { tr.clock.advance(2 * time.Second) }); !sameSet(got, addrs(threeTunnels...)) {
		t.Errorf("after resolveInterval: looked up %v, want every tunnel's destination", got)
	}

	// eth0 loses its carrier: every tunnel loses its route.
	if got := tr.gets(func() { tr.h.setLinkUp("eth0", true, false) }); !sameSet(got, addrs(threeTunnels...)) {
		t.Errorf("eth0 down: looked up %v, want every tunnel's destination", got)
	}
	for _, name := range []string{"Tunnel0", "Tunnel1", "Tunnel2"} {
		tr.wantDown(name, "no route to tunnel destination")
	}
	if got := tr.gets(func() { tr.h.setLinkUp("eth0", true, true) }); !sameSet(got, addrs(threeTunnels...)) {
		t.Errorf("eth0 up: looked up %v, want every tunnel's destination", got)
	}
	tr.wantUp("Tunnel0", "Tunnel1", "Tunnel2")
}

// TestSourceAddressGone: a tunnel whose source interface loses its address
// goes down saying so, and comes back with the address.
func TestSourceAddressGone(t *testing.T) {
	tr := startRouter(t, physicalHost(), tunnelConf(threeTunnels[:2], "", ""))
	tr.wantUp("Tunnel0", "Tunnel1")
	tr.h.delAddr("Loopback0", "203.0.113.1/32")
	tr.settle()
	tr.wantDown("Tunnel0", "tunnel source Loopback0 has no IP address")
	tr.wantDown("Tunnel1", "tunnel source Loopback0 has no IP address")
	if n := len(tr.h.openRaws()); n != 0 {
		t.Errorf("%d GRE sockets still open from the address that went away", n)
	}
	if l, _ := tr.h.linkState("Tunnel0"); l.OperUp {
		t.Error("Tunnel0's carrier is on while its line protocol is down")
	}
	tr.h.addAddr("Loopback0", "203.0.113.1/32")
	tr.settle()
	tr.wantUp("Tunnel0", "Tunnel1")
	if raws := tr.h.openRaws(); len(raws) != 1 || raws[0].src != netip.MustParseAddr("203.0.113.1") {
		t.Errorf("GRE sockets after the address came back: %d, want one from 203.0.113.1", len(raws))
	}

	tr.h.setLinkUp("Loopback0", false, true)
	tr.settle()
	tr.wantDown("Tunnel0", "tunnel source Loopback0 is down")
}

// TestRecursionKernelRoute: a route learned over Tunnel0 to its own
// destination takes it down for the hold-down; it comes back when the
// route has gone and the hold-down has passed, not before.
func TestRecursionKernelRoute(t *testing.T) {
	tr := startRouter(t, physicalHost(), tunnelConf(threeTunnels[:2], "", ""))
	tr.wantUp("Tunnel0", "Tunnel1")
	tr.h.addRoute("198.51.100.10/32", "Tunnel0", "", 20, protoOSPF)
	tr.settle()
	tr.wantDown("Tunnel0", "recursive routing")
	tr.wantUp("Tunnel1")
	if n := tr.count("%TUN-5-RECURDOWN: Tunnel0 temporarily disabled due to recursive routing"); n != 1 {
		t.Errorf("RECURDOWN logged %d times, want once\n%s", n, tr.logs)
	}
	if !strings.Contains(tr.logs.String(), "198.51.100.10/32 via Tunnel0, proto ospf") {
		t.Errorf("the log does not name the recursive route\n%s", tr.logs)
	}

	tr.clock.advance(30 * time.Second)
	tr.settle()
	tr.wantDown("Tunnel0", "recursive routing")
	tr.h.delRoute("198.51.100.10/32")
	tr.clock.advance(29 * time.Second)
	tr.settle()
	tr.wantDown("Tunnel0", "hold-down")
	tr.clock.advance(2 * time.Second)
	tr.settle()
	tr.wantUp("Tunnel0", "Tunnel1")
	if n := tr.count("RECURDOWN"); n != 1 {
		t.Errorf("RECURDOWN logged %d times in all, want once", n)
	}
}

// TestRecursionPersists: a recursive route that is still there when the
// hold-down ends is caught again as soon as the tunnel's carrier brings
// the route back into use, not at the next periodic pass.
func TestRecursionPersists(t *testing.T) {
	tr := startRouter(t, physicalHost(), tunnelConf(threeTunnels[:1], " tunnel recursion hold-down 10\n", ""))
	tr.h.addRoute("198.51.100.10/32", "Tunnel0", "", 20, protoOSPF)
	tr.settle()
	tr.wantDown("Tunnel0", "recursive routing")
	tr.clock.advance(5 * time.Second)
	tr.settle()
	tr.wantDown("Tunnel0", "recursive routing")
	tr.clock.advance(5 * time.Second)
	tr.settle()
	tr.wantDown("Tunnel0", "recursive routing")
	if n := tr.count("%TUN-5-RECURDOWN: Tunnel0"); n != 2 {
		t.Errorf("RECURDOWN logged %d times, want twice: once, and again when the hold-down ended\n%s", n, tr.logs)
	}
	if n := tr.count("changed state to up"); n != 2 {
		t.Errorf("Tunnel0 came up %d times, want twice (at start, and to try again after the hold-down)", n)
	}
}

// TestRecursionNoHoldDown: with `tunnel recursion hold-down 0` the tunnel
// stays down while the recursive route lasts (lineproto: "down for as long
// as the route lasts"), without flapping, and comes up when it goes.
func TestRecursionNoHoldDown(t *testing.T) {
	tr := startRouter(t, physicalHost(), tunnelConf(threeTunnels[:1], " tunnel recursion hold-down 0\n", ""))
	ups := tr.count("Tunnel0, changed state to up")
	tr.h.addRoute("198.51.100.10/32", "Tunnel0", "", 20, protoOSPF)
	// Passes as the main loop makes them, an event burst each, at one
	// instant: no timer is due.
	for range 20 {
		tr.step()
	}
	tr.wantDown("Tunnel0", "recursive routing")
	if n := tr.count("Tunnel0, changed state to up") - ups; n > 0 {
		t.Errorf("the tunnel came up %d times in 20 passes while the recursive route lasted (%d RECURDOWN): it flaps",
			n, tr.count("%TUN-5-RECURDOWN: Tunnel0"))
	}
	tr.h.delRoute("198.51.100.10/32")
	tr.settle()
	tr.wantUp("Tunnel0")
}

// TestRecursionStaticRoute: a configured static route that sends Tunnel0's
// destination into Tunnel0 is installed while the tunnel is up, which makes
// it recursive: down, the route withdrawn, and one retry per hold-down (no
// flapping in between); once the route leaves the configuration the tunnel
// stays up.
func TestRecursionStaticRoute(t *testing.T) {
	conf := tunnelConf(threeTunnels[:1], "", "ip route 198.51.100.10 255.255.255.255 Tunnel0\n")
	tr := startRouter(t, physicalHost(), conf)
	tr.wantDown("Tunnel0", "recursive routing")
	if n := tr.count("%TUN-5-RECURDOWN: Tunnel0"); n != 1 {
		t.Fatalf("RECURDOWN logged %d times, want once\n%s", n, tr.logs)
	}
	if !strings.Contains(tr.logs.String(), "198.51.100.10/32 via Tunnel0, proto static") {
		t.Errorf("the log does not name the static route\n%s", tr.logs)
	}
	if own, _ := tr.h.OwnRoutes(); len(own) != 0 {
		t.Errorf("routes through the tunnel that is down: %+v, want none", own)
	}
	for range 5 {
		tr.clock.advance(10 * time.Second)
		tr.settle()
		tr.wantDown("Tunnel0", "recursive routing")
	}
	// The hold-down ends: the tunnel is tried again, the route comes back
	// with it, and the recursion is caught again.
	tr.clock.advance(11 * time.Second)
	tr.settle()
	tr.wantDown("Tunnel0", "recursive routing")
	if n := tr.count("%TUN-5-RECURDOWN: Tunnel0"); n != 2 {
		t.Errorf("RECURDOWN logged %d times after one hold-down, want twice", n)
	}

	tr.writeConfig(tunnelConf(threeTunnels[:1], "", ""))
	if _, err := tr.r.reloadFile(); err != nil {
		t.Fatal(err)
	}
	tr.settle()
	tr.clock.advance(61 * time.Second)
	tr.settle()
	tr.wantUp("Tunnel0")
	tr.clock.advance(resolveInterval)
	tr.settle()
	tr.wantUp("Tunnel0")
}

// TestRecursionChain: Tunnel0's underlay runs through Tunnel1 and
// Tunnel1's through Tunnel0: a loop that one of them breaks by going down.
func TestRecursionChain(t *testing.T) {
	tr := startRouter(t, physicalHost(), tunnelConf(threeTunnels, "", ""))
	tr.h.addRoute("198.51.100.10/32", "Tunnel1", "", 20, protoOSPF)
	tr.h.addRoute("198.51.100.11/32", "Tunnel0", "", 20, protoOSPF)
	tr.settle()
	down := 0
	for _, name := range []string{"Tunnel0", "Tunnel1"} {
		if up, reason := tr.lineProto(name); !up {
			down++
			if !strings.Contains(reason, "recursive routing") {
				t.Errorf("%s down for %q, want recursive routing", name, reason)
			}
		}
	}
	if down != 1 {
		t.Errorf("%d of the two tunnels are down, want one (the other then runs through the physical path)", down)
	}
	if !strings.Contains(tr.logs.String(), "Tunnel0 -> Tunnel1") && !strings.Contains(tr.logs.String(), "Tunnel1 -> Tunnel0") {
		t.Errorf("the log does not name the chain\n%s", tr.logs)
	}
	tr.wantUp("Tunnel2")
}

// routeViaHost has eth1 besides eth0; the main table prefers eth0 for the
// tunnels' destinations.
func routeViaHost() *fakeHost {
	h := physicalHost()
	h.addLink("eth1")
	h.addAddr("eth1", "198.18.0.1/24")
	h.addRoute("198.51.100.0/24", "eth0", "192.0.2.254", 100, protoStatic)
	h.addRoute("198.51.100.0/24", "eth1", "198.18.0.254", 200, protoStatic)
	return h
}

// TestRouteViaMandatory: the underlay is pinned to eth1 although the main
// table prefers eth0; without eth1 the tunnel goes down.
func TestRouteViaMandatory(t *testing.T) {
	tr := startRouter(t, routeViaHost(), tunnelConf(threeTunnels[:1], " tunnel route-via eth1 mandatory\n", ""))
	tr.wantUp("Tunnel0")
	eth1, _ := tr.h.linkState("eth1")
	pins := tr.h.pinCalls()
	if len(pins) == 0 {
		t.Fatal("no pin installed")
	}
	p := pins[len(pins)-1]
	want := []linux.Nexthop{{Gateway: netip.MustParseAddr("198.18.0.254"), LinkIndex: eth1.Index}}
	if p.Dst != netip.MustParseAddr("198.51.100.10") || !p.FailClosed || !slices.Equal(p.Nexthops, want) {
		t.Errorf("pin %+v, want 198.51.100.10 fail-closed through %v", p, want)
	}
	tr.r.mu.Lock()
	dev := tr.r.ifs["Tunnel0"].lookup.Device
	tr.r.mu.Unlock()
	if dev != "eth1" {
		t.Errorf("Tunnel0's underlay leaves through %q, want eth1", dev)
	}
	if raws := tr.h.openRaws(); len(raws) != 1 || raws[0].opts.Mark != linux.PinMark(p.Slot) {
		t.Errorf("GRE socket without the pin's mark: %+v", raws)
	}

	tr.h.setLinkUp("eth1", true, false)
	tr.settle()
	tr.wantDown("Tunnel0", "route-via mandatory")
	tr.h.setLinkUp("eth1", true, true)
	tr.settle()
	tr.wantUp("Tunnel0")
}

// TestRouteViaPreferred: without eth1 the underlay falls back to the main
// table, and the tunnel stays up.
func TestRouteViaPreferred(t *testing.T) {
	tr := startRouter(t, routeViaHost(), tunnelConf(threeTunnels[:1], " tunnel route-via eth1 preferred\n", ""))
	tr.wantUp("Tunnel0")
	device := func() string {
		tr.r.mu.Lock()
		defer tr.r.mu.Unlock()
		return tr.r.ifs["Tunnel0"].lookup.Device
	}
	if d := device(); d != "eth1" {
		t.Errorf("Tunnel0's underlay leaves through %q, want eth1", d)
	}
	tr.h.setLinkUp("eth1", true, false)
	tr.settle()
	tr.wantUp("Tunnel0")
	if d := device(); d != "eth0" {
		t.Errorf("eth1 down: Tunnel0's underlay leaves through %q, want eth0", d)
	}
	if pins := tr.h.pinCalls(); len(pins) == 0 || pins[len(pins)-1].FailClosed || len(pins[len(pins)-1].Nexthops) != 0 {
		t.Errorf("eth1 down: pin %+v, want an empty preferred pin", pins)
	}
	tr.h.setLinkUp("eth1", true, true)
	tr.settle()
	if d := device(); d != "eth1" {
		t.Errorf("eth1 back: Tunnel0's underlay leaves through %q, want eth1", d)
	}
}

// TestReloadOneTunnel: a reload that changes one tunnel's destination
// evaluates that tunnel only and leaves the others' data planes alone.
func TestReloadOneTunnel(t *testing.T) {
	tr := startRouter(t, physicalHost(), tunnelConf(threeTunnels, "", ""))
	tr.r.mu.Lock()
	dps := map[string]any{}
	for _, name := range []string{"Tunnel0", "Tunnel2"} {
		it := tr.r.ifs[name]
		dps[name] = it.dp
		if p := it.dp.Params(); p.Remote != it.cfg.Tunnel.Destination {
			t.Errorf("%s: data plane sends to %s", name, p.Remote)
		}
	}
	port := tr.r.ifs["Tunnel0"].grePort
	sh := tr.r.ports[port]
	tr.r.mu.Unlock()

	tr.writeConfig(tunnelConf([]string{"198.51.100.10", "198.51.100.99", "198.51.100.12"}, "", ""))
	got := tr.gets(func() {
		if _, err := tr.r.reloadFile(); err != nil {
			t.Fatal(err)
		}
	})
	if !slices.Equal(got, addrs("198.51.100.99")) {
		t.Errorf("the reload looked up %v, want only Tunnel1's new destination", got)
	}
	tr.wantUp("Tunnel0", "Tunnel1", "Tunnel2")
	tr.r.mu.Lock()
	defer tr.r.mu.Unlock()
	for name, dp := range dps {
		it := tr.r.ifs[name]
		if any(it.dp) != dp {
			t.Errorf("%s: data plane replaced", name)
		}
		if p := it.dp.Params(); p.Remote != it.cfg.Tunnel.Destination {
			t.Errorf("%s: data plane now sends to %s", name, p.Remote)
		}
	}
	if p := tr.r.ifs["Tunnel1"].dp.Params(); p.Remote != netip.MustParseAddr("198.51.100.99") {
		t.Errorf("Tunnel1's data plane sends to %s, want 198.51.100.99", p.Remote)
	}
	if tr.r.ports[port] != sh || len(tr.r.ports) != 1 {
		t.Errorf("the shared GRE port changed (%d ports)", len(tr.r.ports))
	}
	if d := sh.tunnels["Tunnel1"]; d != netip.MustParseAddr("198.51.100.99") {
		t.Errorf("the port files Tunnel1 under %s, want 198.51.100.99", d)
	}
}

// TestStaticRouteFollowsTunnel: a static route through Tunnel0 is
// installed while the tunnel is up and withdrawn while it is down.
func TestStaticRouteFollowsTunnel(t *testing.T) {
	h := newFakeHost()
	h.addLink("eth0")
	h.addAddr("eth0", "192.0.2.1/24")
	h.addRoute("198.51.100.0/24", "eth0", "192.0.2.254", 0, protoStatic)
	tr := startRouter(t, h, tunnelConf(threeTunnels[:1], "", "ip route 10.9.0.0 255.255.0.0 Tunnel0\n"))
	tr.wantUp("Tunnel0")
	tun, _ := h.linkState("Tunnel0")
	want := []linux.Route{{Prefix: netip.MustParsePrefix("10.9.0.0/16"), Metric: 1, Nexthops: []linux.Nexthop{{LinkIndex: tun.Index}}}}
	own, _ := h.OwnRoutes()
	if !routesEqual(own, want) {
		t.Errorf("installed routes %+v, want %+v", own, want)
	}
	if lk, _ := h.RouteGet(netip.MustParseAddr("10.9.1.1"), linux.LookupOptions{}); lk.Device != "Tunnel0" {
		t.Errorf("10.9.1.1 is routed through %q, want Tunnel0", lk.Device)
	}

	h.delRoute("198.51.100.0/24")
	tr.settle()
	tr.wantDown("Tunnel0", "no route to tunnel destination")
	if own, _ := h.OwnRoutes(); len(own) != 0 {
		t.Errorf("routes through the tunnel that is down: %+v", own)
	}
	h.addRoute("198.51.100.0/24", "eth0", "192.0.2.254", 0, protoStatic)
	tr.settle()
	tr.wantUp("Tunnel0")
	if own, _ := h.OwnRoutes(); !routesEqual(own, want) {
		t.Errorf("installed routes after the tunnel came back %+v, want %+v", own, want)
	}
}

func routesEqual(a, b []linux.Route) bool {
	return slices.EqualFunc(a, b, func(x, y linux.Route) bool {
		return x.Prefix == y.Prefix && x.Metric == y.Metric && slices.Equal(x.Nexthops, y.Nexthops)
	})
}

// TestFloatingStatic: a static route with a higher distance through
// Tunnel1 takes over while Tunnel0 is down, and gives way when it is back.
func TestFloatingStatic(t *testing.T) {
	h := newFakeHost()
	h.addLink("eth0")
	h.addAddr("eth0", "192.0.2.1/24")
	h.addRoute("198.51.100.10/32", "eth0", "192.0.2.254", 0, protoStatic)
	h.addRoute("198.51.100.11/32", "eth0", "192.0.2.254", 0, protoStatic)
	tr := startRouter(t, h, tunnelConf(threeTunnels[:2], "",
		"ip route 10.9.0.0 255.255.0.0 Tunnel0\nip route 10.9.0.0 255.255.0.0 Tunnel1 200\nip route 10.8.0.0 255.255.0.0 192.0.2.200\n"))
	tr.wantUp("Tunnel0", "Tunnel1")
	t0, _ := h.linkState("Tunnel0")
	t1, _ := h.linkState("Tunnel1")
	eth0, _ := h.linkState("eth0")
	viaNexthop := linux.Route{Prefix: netip.MustParsePrefix("10.8.0.0/16"), Metric: 1,
		Nexthops: []linux.Nexthop{{Gateway: netip.MustParseAddr("192.0.2.200"), LinkIndex: eth0.Index}}}
	primary := []linux.Route{viaNexthop, {Prefix: netip.MustParsePrefix("10.9.0.0/16"), Metric: 1, Nexthops: []linux.Nexthop{{LinkIndex: t0.Index}}}}
	floating := []linux.Route{viaNexthop, {Prefix: netip.MustParsePrefix("10.9.0.0/16"), Metric: 200, Nexthops: []linux.Nexthop{{LinkIndex: t1.Index}}}}
	if own, _ := h.OwnRoutes(); !routesEqual(own, primary) {
		t.Errorf("installed %+v, want %+v", own, primary)
	}
	h.delRoute("198.51.100.10/32")
	tr.settle()
	tr.wantDown("Tunnel0", "no route to tunnel destination")
	if own, _ := h.OwnRoutes(); !routesEqual(own, floating) {
		t.Errorf("Tunnel0 down: installed %+v, want the floating route %+v", own, floating)
	}
	h.addRoute("198.51.100.10/32", "eth0", "192.0.2.254", 0, protoStatic)
	tr.settle()
	tr.wantUp("Tunnel0")
	if own, _ := h.OwnRoutes(); !routesEqual(own, primary) {
		t.Errorf("Tunnel0 back: installed %+v, want %+v", own, primary)
	}
	// The next hop's interface loses its carrier: the route through it
	// goes (and the tunnels, with their underlay, and theirs).
	h.setLinkUp("eth0", true, false)
	tr.settle()
	tr.wantDown("Tunnel0", "no route to tunnel destination")
	if own, _ := h.OwnRoutes(); len(own) != 0 {
		t.Errorf("eth0 down: installed %+v, want nothing", own)
	}
}

// TestRouteViaFollowsMainTable: the pin copies the main table's route
// through the interface, and follows it when it changes.
func TestRouteViaFollowsMainTable(t *testing.T) {
	tr := startRouter(t, routeViaHost(), tunnelConf(threeTunnels[:1], " tunnel route-via eth1 mandatory\n", ""))
	tr.wantUp("Tunnel0")
	tr.h.delRoute("198.51.100.0/24")
	tr.h.addRoute("198.51.100.0/24", "eth1", "198.18.0.253", 200, protoStatic)
	tr.settle()
	pins := tr.h.pinCalls()
	if p := pins[len(pins)-1]; len(p.Nexthops) != 1 || p.Nexthops[0].Gateway != netip.MustParseAddr("198.18.0.253") {
		t.Errorf("pin %+v, want the new gateway 198.18.0.253", p)
	}
	tr.r.mu.Lock()
	lk := tr.r.ifs["Tunnel0"].lookup
	tr.r.mu.Unlock()
	if lk.Gateway != netip.MustParseAddr("198.18.0.253") {
		t.Errorf("Tunnel0's underlay %+v, want through 198.18.0.253", lk)
	}
	// No route through eth1 any more: mandatory fails closed, although
	// the default route would carry it.
	tr.h.delRoute("198.51.100.0/24")
	tr.settle()
	tr.wantDown("Tunnel0", "route-via mandatory")
}

// TestShutdownReload: a reload that shuts a tunnel down takes it down
// (administratively, its link too) and leaves the others up.
func TestShutdownReload(t *testing.T) {
	tr := startRouter(t, physicalHost(), tunnelConf(threeTunnels[:2], "", ""))
	tr.writeConfig(strings.Replace(tunnelConf(threeTunnels[:2], "", ""), "interface Tunnel1\n", "interface Tunnel1\n shutdown\n", 1))
	if _, err := tr.r.reloadFile(); err != nil {
		t.Fatal(err)
	}
	tr.settle()
	tr.wantDown("Tunnel1", "administratively down")
	tr.wantUp("Tunnel0")
	if l, _ := tr.h.linkState("Tunnel1"); l.AdminUp {
		t.Error("Tunnel1's link is still admin up")
	}
	resp := tr.r.Handle(context.Background(), api.Request{Args: []string{"show", "interfaces", "Tunnel1"}})
	if ifs, ok := resp.Data.(api.Interfaces); !ok || len(ifs.Interfaces) != 1 || ifs.Interfaces[0].Status != "administratively down" {
		t.Errorf("show interfaces Tunnel1: %+v", resp)
	}
	tr.writeConfig(tunnelConf(threeTunnels[:2], "", ""))
	if _, err := tr.r.reloadFile(); err != nil {
		t.Fatal(err)
	}
	tr.settle()
	tr.wantUp("Tunnel0", "Tunnel1")
}

// TestKeepalive: keepalives go out every period without asking the host
// anything; missed replies take the tunnel down, and a reply brings it
// back at once.
func TestKeepalive(t *testing.T) {
	tr := startRouter(t, physicalHost(), tunnelConf(threeTunnels[:2], " keepalive 10 3\n", ""))
	tr.wantUp("Tunnel0", "Tunnel1")
	raws := tr.h.openRaws()
	if len(raws) != 1 {
		t.Fatalf("%d GRE sockets open, want 1", len(raws))
	}
	raw := raws[0]
	if n := len(raw.Out); n != 2 {
		t.Errorf("%d keepalives sent at start, want one per tunnel", n)
	}
	tr.gets(func() { tr.clock.advance(10 * time.Second) })
	if got := tr.gets(func() { tr.clock.advance(10 * time.Second) }); len(got) != 0 {
		t.Errorf("a keepalive period looked up %v, want nothing", got)
	}
	tr.wantUp("Tunnel0", "Tunnel1")
	if n := len(raw.Out); n != 6 {
		t.Errorf("%d keepalives sent after two periods, want 6", n)
	}
	tr.clock.advance(10 * time.Second)
	tr.settle()
	tr.wantDown("Tunnel0", "keepalive")
	tr.wantDown("Tunnel1", "keepalive")

	raw.In <- dataplanetest.Datagram{Payload: []byte{0, 0, 0, 0}, Src: netip.AddrPortFrom(netip.MustParseAddr("198.51.100.10"), 0)}
	select {
	case name := <-tr.r.kaIn:
		if name != "Tunnel0" {
			t.Fatalf("keepalive reply for %s, want Tunnel0", name)
		}
		tr.r.mu.Lock()
		tr.r.keepaliveReplyLocked(name)
		tr.r.mu.Unlock()
	case <-time.After(5 * time.Second):
		t.Fatal("the reply never reached the router")
	}
	tr.wantUp("Tunnel0")
	tr.wantDown("Tunnel1", "keepalive")
	if l, _ := tr.h.linkState("Tunnel0"); !l.OperUp {
		t.Error("Tunnel0's carrier stays off after the reply")
	}
}

// TestProtectedTunnelIKE: a protected tunnel opens the IKE ports on its
// source address and starts Main Mode with its peer at once; the line
// protocol does not wait for the SA. A router without one opens none.
func TestProtectedTunnelIKE(t *testing.T) {
	plain := startRouter(t, physicalHost(), tunnelConf(threeTunnels[:1], "", ""))
	plain.h.mu.Lock()
	n := len(plain.h.ikes)
	plain.h.mu.Unlock()
	if n != 0 {
		t.Errorf("%d IKE sockets without a protected tunnel, want none", n)
	}

	crypto := "crypto isakmp policy 10\n encr aes 256\n hash sha256\n authentication pre-share\n group 19\n" +
		"crypto isakmp key SecretPassword12 address 0.0.0.0\n" +
		"crypto ipsec transform-set TS esp-aes 256 esp-sha384-hmac\n mode transport\n" +
		"crypto ipsec profile P\n set transform-set TS\n!\n"
	tr := startRouter(t, physicalHost(), crypto+tunnelConf(threeTunnels[:1], " tunnel protection ipsec profile P\n", ""))
	tr.wantUp("Tunnel0")
	tr.h.mu.Lock()
	ikes := slices.Clone(tr.h.ikes)
	tr.h.mu.Unlock()
	var locals []netip.AddrPort
	var c500 *fakeIKE
	for _, c := range ikes {
		locals = append(locals, c.local)
		if c.mark != 0 {
			t.Errorf("IKE socket %s has mark %#x without route-via", c.local, c.mark)
		}
		if c.local.Port() == 500 {
			c500 = c
		}
	}
	want := []netip.AddrPort{netip.MustParseAddrPort("203.0.113.1:500"), netip.MustParseAddrPort("203.0.113.1:4500")}
	if !slices.Equal(locals, want) && !slices.Equal(locals, []netip.AddrPort{want[1], want[0]}) {
		t.Fatalf("IKE sockets on %v, want %v", locals, want)
	}
	select {
	case d := <-c500.Out:
		if d.Addr != netip.MustParseAddrPort("198.51.100.10:500") || len(d.Data) < 28 {
			t.Errorf("first IKE message: %d bytes to %s, want Main Mode to 198.51.100.10:500", len(d.Data), d.Addr)
		}
	default:
		t.Error("no IKE message sent to the peer")
	}
}

// TestTunnelInTunnel: Tunnel1's underlay runs through Tunnel0 (legitimate,
// not recursive); when Tunnel0 goes down Tunnel1 follows in the same
// settling, not at the next periodic pass. When Tunnel0 comes back, the
// route through it comes back into use unreported (its linkdown flag):
// Tunnel1 follows within fullDelay of Tunnel0's carrier.
func TestTunnelInTunnel(t *testing.T) {
	h := newFakeHost()
	h.addLink("eth0")
	h.addAddr("eth0", "192.0.2.1/24")
	h.addRoute("198.51.100.10/32", "eth0", "192.0.2.254", 0, protoStatic)
	tr := startRouter(t, h, tunnelConf([]string{"198.51.100.10", "10.77.0.2"}, "", ""))
	h.addRoute("10.77.0.0/24", "Tunnel0", "", 20, protoOSPF)
	tr.settle()
	tr.wantUp("Tunnel0", "Tunnel1")
	tr.r.mu.Lock()
	dev := tr.r.ifs["Tunnel1"].lookup.Device
	tr.r.mu.Unlock()
	if dev != "Tunnel0" {
		t.Fatalf("Tunnel1's underlay leaves through %q, want Tunnel0", dev)
	}
	h.delRoute("198.51.100.10/32")
	tr.settle()
	tr.wantDown("Tunnel0", "no route to tunnel destination")
	tr.wantDown("Tunnel1", "no route to tunnel destination")
	h.addRoute("198.51.100.10/32", "eth0", "192.0.2.254", 0, protoStatic)
	tr.settle()
	tr.wantUp("Tunnel0")
	tr.clock.advance(time.Second)
	tr.settle()
	tr.wantUp("Tunnel1")
}

// TestProtectedTunnelIKEv2: a profile with `set ikev2-profile` is
// negotiated with IKEv2: the first message to the peer is an IKEv2
// IKE_SA_INIT; answers of either version reach their engine.
func TestProtectedTunnelIKEv2(t *testing.T) {
	crypto := "crypto ikev2 proposal PROP\n encryption aes-cbc-256\n integrity sha256\n group 19\n" +
		"crypto ikev2 policy POL\n proposal PROP\n" +
		"crypto ikev2 keyring KEYS\n peer ANY\n  address 0.0.0.0 0.0.0.0\n  pre-shared-key SecretPassword12\n" +
		"crypto ikev2 profile IKEV2\n match identity remote address 0.0.0.0\n authentication remote pre-share\n" +
		" authentication local pre-share\n keyring local KEYS\n dpd 10 3 periodic\n" +
		"crypto ipsec transform-set TS esp-aes 256 esp-sha384-hmac\n mode transport\n" +
		"crypto ipsec profile P\n set transform-set TS\n set ikev2-profile IKEV2\n!\n"
	tr := startRouter(t, physicalHost(), crypto+tunnelConf(threeTunnels[:1], " tunnel protection ipsec profile P\n", ""))
	tr.wantUp("Tunnel0")
	tr.h.mu.Lock()
	ikes := slices.Clone(tr.h.ikes)
	tr.h.mu.Unlock()
	var c500 *fakeIKE
	for _, c := range ikes {
		if c.local.Port() == 500 {
			c500 = c
		}
	}
	if c500 == nil {
		t.Fatal("no IKE socket on port 500")
	}
	select {
	case d := <-c500.Out:
		if d.Addr != netip.MustParseAddrPort("198.51.100.10:500") || len(d.Data) < 28 || d.Data[17] != 0x20 || d.Data[18] != 34 {
			t.Errorf("first IKE message: %d bytes to %s, want an IKEv2 IKE_SA_INIT to 198.51.100.10:500", len(d.Data), d.Addr)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no IKE message sent to the peer")
	}
	resp := tr.r.Handle(context.Background(), api.Request{Args: []string{"show", "crypto", "session"}})
	if s, ok := resp.Data.(api.CryptoSessions); !ok || len(s.Sessions) != 1 || s.Sessions[0].Status != "DOWN-NEGOTIATING" {
		t.Errorf("show crypto session: %+v", resp)
	}
}
