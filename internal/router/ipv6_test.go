package router

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gresec/gresec/internal/api"
	"github.com/gresec/gresec/internal/dataplane"
	"github.com/gresec/gresec/internal/linux"
)

// overlayConf is issue 13's overlay: IPv6 inside an IPv4 tunnel, with a
// static IPv6 route into it, a floating one through a next hop on eth0,
// and an eui-64 address on eth0.
const overlayConf = `hostname left
ipv6 unicast-routing
!
interface eth0
 ipv6 address 2001:db8:0:1::/64 eui-64
!
interface Loopback0
 ip address 203.0.113.1 255.255.255.255
 ipv6 address 2001:db8:ffff::1/128
!
interface Tunnel0
 ip address 10.255.0.1 255.255.255.252
 ipv6 address 2001:db8:ff::1/64
 ipv6 mtu 1400
 ipv6 tcp adjust-mss 1340
 ip mtu 1420
 ip tcp adjust-mss 1360
 tunnel source Loopback0
 tunnel destination 198.51.100.10
!
interface Tunnel1
 ip address 10.255.1.1 255.255.255.252
 ipv6 enable
 tunnel source Loopback0
 tunnel destination 198.51.100.11
!
ipv6 route 2001:db8:2::/48 Tunnel0
ipv6 route 2001:db8:2::/48 2001:db8:0:1::fe 200
ipv6 route 2001:db8:3::/48 Tunnel1 fe80::2
`

func prefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(ss))
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

// TestIPv6Overlay: the interfaces get their IPv6 addresses (a derived
// link-local one on the tunnels and the loopback, the eui-64 one from
// eth0's MAC), the tunnel its IPv6 MTU, the host IPv6 forwarding, the
// kernel the selected IPv6 statics; the data plane gets the IPv6 MTU and
// MSS apart from the IPv4 ones.
func TestIPv6Overlay(t *testing.T) {
	h := physicalHost()
	h.setMAC("eth0", "52:54:00:12:34:56")
	tr := startRouter(t, h, overlayConf)
	tr.wantUp("Tunnel0", "Tunnel1")

	for name, want := range map[string][]netip.Prefix{
		"Tunnel0":   prefixes("fe80::1/64", "2001:db8:ff::1/64"),
		"Tunnel1":   {netip.PrefixFrom(autoLinkLocal("left", "Tunnel1", nil), 64)},
		"Loopback0": prefixes("fe80::1/64", "2001:db8:ffff::1/128"),
		"eth0":      prefixes("2001:db8:0:1:5054:ff:fe12:3456/64"),
	} {
		l, _ := h.linkState(name)
		if !slices.Equal(l.Addrs6, want) {
			t.Errorf("%s has IPv6 addresses %v, want %v", name, l.Addrs6, want)
		}
	}
	if ll := autoLinkLocal("left", "Tunnel1", nil); !ll.IsLinkLocalUnicast() || ll == autoLinkLocal("right", "Tunnel1", nil) {
		t.Errorf("derived link-local %s: not link-local, or the same on another router", ll)
	}
	// Passes after that add nothing again (a hub's down tunnels would
	// cost a netlink call per address and pass).
	h.mu.Lock()
	calls := h.setAddrCalls
	h.mu.Unlock()
	tr.clock.advance(31 * time.Second)
	tr.settle()
	h.mu.Lock()
	if h.setAddrCalls != calls {
		t.Errorf("%d address changes in passes that had nothing to change", h.setAddrCalls-calls)
	}
	h.mu.Unlock()
	if got := h.ipv6MTU("Tunnel0"); got != 1400 {
		t.Errorf("Tunnel0's IPv6 MTU %d, want 1400", got)
	}
	if !h.forwarding6 {
		t.Error("ipv6 unicast-routing did not turn IPv6 forwarding on")
	}
	tr.r.mu.Lock()
	p := tr.r.ifs["Tunnel0"].dp.Params()
	tr.r.mu.Unlock()
	if p.MTU != 1420 || p.MTU6 != 1400 || p.AdjustMSS != 1360 || p.AdjustMSS6 != 1340 || p.ICMPSource6 != netip.MustParseAddr("2001:db8:ff::1") {
		t.Errorf("data plane params MTU %d MTU6 %d MSS %d MSS6 %d ICMPv6 source %s", p.MTU, p.MTU6, p.AdjustMSS, p.AdjustMSS6, p.ICMPSource6)
	}

	t0, _ := h.linkState("Tunnel0")
	t1, _ := h.linkState("Tunnel1")
	eth0, _ := h.linkState("eth0")
	primary := []linux.Route{
		{Prefix: netip.MustParsePrefix("2001:db8:2::/48"), Metric: 1, Nexthops: []linux.Nexthop{{LinkIndex: t0.Index}}},
		{Prefix: netip.MustParsePrefix("2001:db8:3::/48"), Metric: 1, Nexthops: []linux.Nexthop{{Gateway: netip.MustParseAddr("fe80::2"), LinkIndex: t1.Index}}},
	}
	if own, _ := h.OwnRoutes(); !routesEqual(own, primary) {
		t.Errorf("installed %+v, want %+v", own, primary)
	}
	// The views, as the control socket answers them.
	resp := tr.r.Handle(context.Background(), api.Request{Args: []string{"show", "ipv6", "interface", "brief"}})
	ifs, ok := resp.Data.(api.Interfaces)
	if !ok {
		t.Fatalf("show ipv6 interface brief: %+v", resp)
	}
	var tun api.Interface
	for _, i := range ifs.Interfaces {
		if i.Name == "Tunnel0" {
			tun = i
		}
	}
	if !tun.IPv6Enabled || !slices.Equal(tun.IPv6Addresses, []string{"fe80::1/64", "2001:db8:ff::1/64"}) {
		t.Errorf("show ipv6 interface brief: Tunnel0 %+v", tun)
	}
	resp = tr.r.Handle(context.Background(), api.Request{Args: []string{"show", "interfaces", "Tunnel0"}})
	if ifs := resp.Data.(api.Interfaces); ifs.Interfaces[0].IPv6MTU != 1400 || ifs.Interfaces[0].Tunnel.AdjustMSS6 != 1340 {
		t.Errorf("show interfaces Tunnel0: %+v", ifs.Interfaces[0])
	}
	resp = tr.r.Handle(context.Background(), api.Request{Args: []string{"show", "ipv6", "route"}})
	rt := resp.Data.(api.RouteTable)
	var lines []string
	for _, r := range rt.Routes {
		lines = append(lines, r.Code+" "+r.Prefix)
		if strings.Contains(r.Prefix, ".") {
			t.Errorf("show ipv6 route lists an IPv4 route %+v", r)
		}
	}
	for _, want := range []string{"S 2001:db8:2::/48", "C 2001:db8:ff::/64", "L 2001:db8:ff::1/128", "L 2001:db8:ffff::1/128", "C 2001:db8:0:1::/64"} {
		if !slices.Contains(lines, want) {
			t.Errorf("show ipv6 route lacks %q: %v", want, lines)
		}
	}
	resp = tr.r.Handle(context.Background(), api.Request{Args: []string{"show", "ip", "route"}})
	for _, r := range resp.Data.(api.RouteTable).Routes {
		if strings.Contains(r.Prefix, ":") {
			t.Errorf("show ip route lists an IPv6 route %+v", r)
		}
	}
	// Tunnel0 goes down: the floating IPv6 static through eth0 takes over.
	h.delRoute("0.0.0.0/0")
	h.addRoute("198.51.100.11/32", "eth0", "192.0.2.254", 0, protoStatic)
	tr.settle()
	tr.wantDown("Tunnel0", "no route to tunnel destination")
	floating := []linux.Route{
		{Prefix: netip.MustParsePrefix("2001:db8:2::/48"), Metric: 200, Nexthops: []linux.Nexthop{{Gateway: netip.MustParseAddr("2001:db8:0:1::fe"), LinkIndex: eth0.Index}}},
		primary[1],
	}
	if own, _ := h.OwnRoutes(); !routesEqual(own, floating) {
		t.Errorf("Tunnel0 down: installed %+v, want %+v", own, floating)
	}
}

// TestIPv6AddressChanges: a reload that changes and removes IPv6
// addresses takes away what gresec put there, and only that; shutdown of
// the daemon takes a physical interface's addresses away.
func TestIPv6AddressChanges(t *testing.T) {
	h := physicalHost()
	h.addAddr("eth0", "fe80::5054:ff:fe12:3456/64") // the kernel's
	tr := startRouter(t, h, "interface eth0\n ipv6 address 2001:db8:0:1::1/64\n ipv6 address fe80::1 link-local\n!\n"+
		"interface Tunnel0\n ip address 10.255.0.1 255.255.255.252\n ipv6 address 2001:db8:ff::1/64\n tunnel source eth0\n tunnel destination 198.51.100.10\n")
	l, _ := h.linkState("eth0")
	if want := prefixes("fe80::5054:ff:fe12:3456/64", "fe80::1/64", "2001:db8:0:1::1/64"); !slices.Equal(l.Addrs6, want) {
		t.Errorf("eth0 %v, want %v", l.Addrs6, want)
	}
	tr.writeConfig("interface eth0\n ipv6 address 2001:db8:0:1::2/64\n!\n" +
		"interface Tunnel0\n ip address 10.255.0.1 255.255.255.252\n ipv6 address 2001:db8:fe::1/64\n tunnel source eth0\n tunnel destination 198.51.100.10\n")
	if problems, err := tr.r.reloadFile(); err != nil {
		t.Fatalf("reload: %v %v", err, problems)
	}
	tr.settle()
	l, _ = h.linkState("eth0")
	if want := prefixes("fe80::5054:ff:fe12:3456/64", "2001:db8:0:1::2/64"); !slices.Equal(l.Addrs6, want) {
		t.Errorf("eth0 after reload %v, want %v", l.Addrs6, want)
	}
	l, _ = h.linkState("Tunnel0")
	if want := prefixes("fe80::1/64", "2001:db8:fe::1/64"); !slices.Equal(l.Addrs6, want) {
		t.Errorf("Tunnel0 after reload %v, want %v", l.Addrs6, want)
	}
	tr.r.shutdown()
	l, _ = h.linkState("eth0")
	if want := prefixes("fe80::5054:ff:fe12:3456/64"); !slices.Equal(l.Addrs6, want) {
		t.Errorf("eth0 after shutdown %v, want only the kernel's %v", l.Addrs6, want)
	}
}

// TestEUI64 checks the interface identifier against RFC 4291's example
// of a MAC address (appendix A: 34-56-78-9A-BC-DE).
func TestEUI64(t *testing.T) {
	p, ok := eui64(netip.MustParsePrefix("2001:db8::/64"), []byte{0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde})
	if !ok || p != netip.MustParsePrefix("2001:db8::3656:78ff:fe9a:bcde/64") {
		t.Errorf("eui64 = %v %v", p, ok)
	}
	if _, ok := eui64(netip.MustParsePrefix("2001:db8::/64"), nil); ok {
		t.Error("eui64 without a MAC address")
	}
}

// underlayConf is issue 13's underlay: GRE over IPv6 from Loopback0's IPv6
// address, with keepalives, and a second tunnel from eth0 by address.
const underlayConf = `hostname left
interface eth0
 ipv6 address 2001:db8:0:1::1/64
!
interface Loopback0
 ip address 203.0.113.1 255.255.255.255
 ipv6 address 2001:db8:ffff::1/128
!
interface Tunnel0
 ip address 10.255.0.1 255.255.255.252
 ipv6 address 2001:db8:ff::1/64
 keepalive 5 3
 tunnel mode gre ipv6
 tunnel source Loopback0
 tunnel destination 2001:db8:ffff::2
!
interface Tunnel1
 ip address 10.255.1.1 255.255.255.252
 tunnel mode gre ipv6
 tunnel source 2001:db8:0:1::1
 tunnel destination 2001:db8:ffff::3
!
ipv6 route 2001:db8:ffff::2/128 2001:db8:0:1::2
`

// TestGREOverIPv6: tunnels over an IPv6 underlay take their IPv6 source,
// look their IPv6 destination up (through the static IPv6 route), come up,
// open raw IPv6 sockets, size their MTU for a 40-byte outer header, and
// send their keepalives inside IPv6.
func TestGREOverIPv6(t *testing.T) {
	h := physicalHost()
	tr := startRouter(t, h, underlayConf)
	tr.wantUp("Tunnel0")
	tr.wantDown("Tunnel1", "no route to tunnel destination 2001:db8:ffff::3")
	h.addRoute("2001:db8:ffff::/48", "eth0", "2001:db8:0:1::fe", 0, protoStatic)
	tr.settle()
	tr.wantUp("Tunnel0", "Tunnel1")
	srcs := map[netip.Addr]bool{}
	for _, s := range h.openRaws() {
		if s.proto == 47 {
			srcs[s.src] = true
		}
	}
	if !srcs[netip.MustParseAddr("2001:db8:ffff::1")] || !srcs[netip.MustParseAddr("2001:db8:0:1::1")] || len(srcs) != 2 {
		t.Errorf("GRE sockets on %v, want Loopback0's and eth0's IPv6 addresses", srcs)
	}
	tr.r.mu.Lock()
	it := tr.r.ifs["Tunnel0"]
	p, mtu, lk := it.dp.Params(), it.mtu, it.lookup
	tr.r.mu.Unlock()
	if p.Local != netip.MustParseAddr("2001:db8:ffff::1") || p.Remote != netip.MustParseAddr("2001:db8:ffff::2") {
		t.Errorf("Tunnel0 runs %s -> %s", p.Local, p.Remote)
	}
	if mtu != 1500-40-4 {
		t.Errorf("Tunnel0 MTU %d, want 1456 (1500 less IPv6 and GRE)", mtu)
	}
	if lk.Device != "eth0" || lk.Prefix != netip.MustParsePrefix("2001:db8:ffff::2/128") {
		t.Errorf("Tunnel0's underlay lookup %+v, want the /128 static through eth0", lk)
	}
	resp := tr.r.Handle(context.Background(), api.Request{Args: []string{"show", "interfaces", "Tunnel0"}})
	if ti := resp.Data.(api.Interfaces).Interfaces[0].Tunnel; ti.Mode != "gre ipv6" || ti.Source != "2001:db8:ffff::1" || ti.OverheadMin != 44 {
		t.Errorf("show interfaces Tunnel0: %+v", ti)
	}

	// The keepalive: GRE over IPv6 whose inner packet is IPv6 (next header
	// 47), addressed back to us.
	var raw *fakeRaw
	for _, s := range h.openRaws() {
		if s.src == p.Local {
			raw = s
		}
	}
	tr.clock.advance(6 * time.Second)
	tr.settle()
	select {
	case f := <-raw.Out:
		if len(f) < 4+40+4 || f[2] != 0x86 || f[3] != 0xdd || f[4]>>4 != 6 || f[4+6] != 47 {
			t.Fatalf("keepalive frame %x: want GRE of 0x86DD carrying IPv6 with next header 47", f)
		}
		if dst := netip.AddrFrom16([16]byte(f[4+24 : 4+40])); dst != p.Local {
			t.Errorf("keepalive's inner packet goes to %s, want %s", dst, p.Local)
		}
	default:
		t.Fatal("no keepalive sent over the IPv6 underlay")
	}

	// The address gresec put there goes away: gresec puts it back, and
	// the tunnel stays up.
	h.delAddr("Loopback0", "2001:db8:ffff::1/128")
	tr.settle()
	tr.wantUp("Tunnel0")
	if l, _ := h.linkState("Loopback0"); !slices.Contains(l.Addrs6, netip.MustParsePrefix("2001:db8:ffff::1/128")) {
		t.Errorf("Loopback0's IPv6 address not restored: %v", l.Addrs6)
	}
}

// TestIPv6UnderlayPathMTU: when the underlay reports a path MTU below the
// link's (the kernel learned it from a Packet Too Big of the IPv6 core),
// the data plane's inner MTUs shrink to fit it less the tunnel's overhead,
// at the next evaluation of the tunnel (which the data plane asks for when
// a send fails with EMSGSIZE).
func TestIPv6UnderlayPathMTU(t *testing.T) {
	h := physicalHost()
	tr := startRouter(t, h, underlayConf)
	tr.wantUp("Tunnel0")
	params := func() dataplane.Params {
		tr.r.mu.Lock()
		defer tr.r.mu.Unlock()
		return tr.r.ifs["Tunnel0"].dp.Params()
	}
	if p := params(); p.MTU != 1456 || p.MTU6 != 1456 {
		t.Fatalf("before: MTU %d MTU6 %d, want 1456", p.MTU, p.MTU6)
	}
	h.setPathMTU("2001:db8:ffff::2", 1400)
	tr.r.pathMTU("Tunnel0")
	tr.r.mu.Lock()
	tr.r.dirty[<-tr.r.mtuIn] = true // what the main loop does
	tr.r.mu.Unlock()
	tr.settle()
	if p := params(); p.MTU != 1356 || p.MTU6 != 1356 {
		t.Errorf("path MTU 1400: MTU %d MTU6 %d, want 1356 (1400 less 40 and 4)", p.MTU, p.MTU6)
	}
	resp := tr.r.Handle(context.Background(), api.Request{Args: []string{"show", "interfaces", "Tunnel0"}})
	if ti := resp.Data.(api.Interfaces).Interfaces[0].Tunnel; ti.TransportMTU != 1400 || ti.MaxInner != 1356 {
		t.Errorf("show interfaces: transport MTU %d, largest inner %d; want 1400 and 1356", ti.TransportMTU, ti.MaxInner)
	}
	h.setPathMTU("2001:db8:ffff::2", 0) // the exception expired
	tr.clock.advance(31 * time.Second)
	tr.settle()
	if p := params(); p.MTU != 1456 {
		t.Errorf("after the path MTU expired: MTU %d, want 1456 again", p.MTU)
	}
	// The socket's report counts too (the lookup may hash onto another
	// equal-cost path than the tunnel's packets take).
	for _, s := range h.openRaws() {
		if s.src == netip.MustParseAddr("2001:db8:ffff::1") {
			s.setPathMTU("2001:db8:ffff::2", 1380)
		}
	}
	tr.r.mu.Lock()
	tr.r.dirty["Tunnel0"] = true
	tr.r.mu.Unlock()
	tr.settle()
	if p := params(); p.MTU6 != 1336 {
		t.Errorf("socket's path MTU 1380: MTU6 %d, want 1336", p.MTU6)
	}
}

// TestIPv6AddressesOfADownTunnel: a tunnel whose line protocol is down
// keeps its IPv6 addresses tentative (Linux leaves them out of events and
// dumps); the router adds them once, not again at every pass, and they
// become usable when the tunnel comes up.
func TestIPv6AddressesOfADownTunnel(t *testing.T) {
	h := newFakeHost()
	h.addLink("eth0")
	h.addAddr("eth0", "192.0.2.1/24")
	tr := startRouter(t, h, tunnelConf([]string{"198.51.100.10"}, " ipv6 address 2001:db8:ff::1/64\n", ""))
	tr.wantDown("Tunnel0", "no route")
	if l, _ := h.linkState("Tunnel0"); len(l.Addrs6) != 0 {
		t.Fatalf("a down tunnel's addresses are usable: %v", l.Addrs6)
	}
	h.mu.Lock()
	calls := h.setAddrCalls
	h.mu.Unlock()
	for range 3 {
		tr.clock.advance(31 * time.Second)
		tr.settle()
	}
	h.mu.Lock()
	if n := h.setAddrCalls - calls; n != 0 {
		t.Errorf("%d address changes while the tunnel stayed down, want none", n)
	}
	h.mu.Unlock()
	h.addRoute("0.0.0.0/0", "eth0", "192.0.2.254", 0, protoStatic)
	tr.settle()
	tr.wantUp("Tunnel0")
	if l, _ := h.linkState("Tunnel0"); !slices.Equal(l.Addrs6, prefixes("fe80::1/64", "2001:db8:ff::1/64")) {
		t.Errorf("the tunnel came up with IPv6 addresses %v", l.Addrs6)
	}
}

// TestProtectedIPv6UnderlayDefaultMTU: without `ip mtu`, a protected
// tunnel over IPv6 leaves room for ESP too (nothing fragments the outer
// packet over IPv6): 1500 less IPv6, GRE and the most ESP adds.
func TestProtectedIPv6UnderlayDefaultMTU(t *testing.T) {
	h := physicalHost()
	conf := strings.Replace(underlayConf, " tunnel destination 2001:db8:ffff::2\n", " tunnel destination 2001:db8:ffff::2\n tunnel protection ipsec profile P\n", 1) + `crypto isakmp policy 10
 encr aes 256
 hash sha256
 authentication pre-share
 group 19
crypto isakmp key SecretPassword12 address ipv6 ::/0
crypto ipsec transform-set T esp-aes 256 esp-sha384-hmac
 mode transport
crypto ipsec profile P
 set transform-set T
`
	tr := startRouter(t, h, conf)
	tr.r.mu.Lock()
	it := tr.r.ifs["Tunnel0"]
	_, hi := tr.r.overhead(it)
	mtu, mtu6 := it.mtu, it.dp.Params().MTU6
	tr.r.mu.Unlock()
	// AES-CBC: 8 of ESP header, 16 of IV, up to 15+2 of padding and
	// trailer, 24 of ICV.
	if hi != 44+8+16+17+24 || mtu != 1500-hi || mtu6 != mtu {
		t.Errorf("overhead %d, MTU %d, IPv6 MTU %d; want 109, 1391, 1391", hi, mtu, mtu6)
	}
}

// TestIPv6UnderlayRecursion: a route to the IPv6 destination learned
// through the tunnel itself (OSPFv3 advertising the peer's loopback, say)
// takes it down for recursive routing, held down as over IPv4; ECMP
// statics over two IPv6 next hops make one route with both.
func TestIPv6UnderlayRecursion(t *testing.T) {
	h := physicalHost()
	conf := underlayConf + "ipv6 route 2001:db8:ffff::2/128 2001:db8:0:1::3\n"
	tr := startRouter(t, h, conf)
	tr.wantUp("Tunnel0")
	eth0, _ := h.linkState("eth0")
	own, _ := h.OwnRoutes()
	var ecmp []linux.Nexthop
	for _, r := range own {
		if r.Prefix == netip.MustParsePrefix("2001:db8:ffff::2/128") {
			ecmp = r.Nexthops
		}
	}
	want := []linux.Nexthop{{Gateway: netip.MustParseAddr("2001:db8:0:1::2"), LinkIndex: eth0.Index}, {Gateway: netip.MustParseAddr("2001:db8:0:1::3"), LinkIndex: eth0.Index}}
	if !sameNexthops(ecmp, want) {
		t.Errorf("route to the peer's loopback has nexthops %+v, want both statics %+v", ecmp, want)
	}
	h.addRoute("2001:db8:ffff::2/128", "Tunnel0", "", 0, protoOSPF)
	tr.settle()
	tr.wantDown("Tunnel0", "recursive routing")
	if !strings.Contains(tr.logs.String(), "2001:db8:ffff::2/128 via Tunnel0, proto ospf") {
		t.Errorf("the log does not name the recursive IPv6 route\n%s", tr.logs)
	}
	h.delRoute("2001:db8:ffff::2/128")
	tr.clock.advance(61 * time.Second)
	tr.settle()
	tr.wantUp("Tunnel0")
}
