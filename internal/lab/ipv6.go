package lab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/gresec/gresec/internal/api"
	"github.com/gresec/gresec/internal/show"
)

// IPv6 addressing of the lab (Options.IPv6Core): the core speaks IPv6
// only, each router's Loopback0 has an IPv6 /128 as its tunnel source, and
// the LANs and Tunnel0 run both families. Documentation prefixes only
// (2001:db8::/32), inside the lab's namespaces.
type IPv6Addressing struct {
	Loopback string // Loopback0's /128, the tunnel source
	Peer     string // the other router's Loopback0
	Tunnel   string // Tunnel0's address (/64)
	LAN      string // the router's LAN address (/64)
	LANHost  string // the host behind it
	PeerLAN  string // the other side's LAN summary (/48), routed into the tunnel
	// Core links, as Router.Core: the router's address and the core's
	// (each /64).
	Core [2]struct{ Addr, NextHop string }
}

// IPv6Of returns a router's IPv6 addressing.
func IPv6Of(router string) IPv6Addressing {
	var a IPv6Addressing
	switch router {
	case "left":
		a = IPv6Addressing{Loopback: "2001:db8:ffff::1", Peer: "2001:db8:ffff::2", Tunnel: "2001:db8:ff::1",
			LAN: "2001:db8:1::1", LANHost: "2001:db8:1::10", PeerLAN: "2001:db8:2::/48"}
		a.Core[0].Addr, a.Core[0].NextHop = "2001:db8:c1:1::1", "2001:db8:c1:1::2"
		a.Core[1].Addr, a.Core[1].NextHop = "2001:db8:c2:1::1", "2001:db8:c2:1::2"
	default:
		a = IPv6Addressing{Loopback: "2001:db8:ffff::2", Peer: "2001:db8:ffff::1", Tunnel: "2001:db8:ff::2",
			LAN: "2001:db8:2::1", LANHost: "2001:db8:2::10", PeerLAN: "2001:db8:1::/48"}
		a.Core[0].Addr, a.Core[0].NextHop = "2001:db8:c1:2::1", "2001:db8:c1:2::2"
		a.Core[1].Addr, a.Core[1].NextHop = "2001:db8:c2:2::1", "2001:db8:c2:2::2"
	}
	return a
}

// DualStackConfig is the router's configuration over the IPv6 core:
// issue 13's underlay configuration, GRE over IPv6 from Loopback0's IPv6
// address over two equal-cost IPv6 statics, carrying IPv4 and IPv6
// between the LANs; protect adds `tunnel protection` (IKEv1 with the key
// for any IPv6 peer). Its MTUs and MSS are the reference's less 20 bytes:
// the outer IPv6 header is 20 bytes longer than IPv4's, and over IPv6
// nothing fragments the outer packet, so ESP must fit in 1500.
func (r Router) DualStackConfig(protect bool) string {
	a := IPv6Of(r.Name)
	prot := " ! tunnel protection ipsec profile TUNNEL  (left out: plain GRE)\n"
	if protect {
		prot = " tunnel protection ipsec profile TUNNEL\n"
	}
	var b strings.Builder
	fmt.Fprintf(&b, `hostname %[1]s
!
ipv6 unicast-routing
!
interface Loopback0
 ip address %[2]s 255.255.255.255
 ipv6 address %[3]s/128
!
`, r.Name, r.Loopback, a.Loopback)
	for i, c := range r.Core {
		fmt.Fprintf(&b, "interface %s\n description core path %d (%s, IPv6 only)\n ipv6 address %s/64\n!\n", c.Dev, i+1, c.CoreNS, a.Core[i].Addr)
	}
	fmt.Fprintf(&b, `interface %[1]s-lan
 description LAN
 ip address %[2]s 255.255.255.0
 ipv6 address %[3]s/64
!
crypto isakmp policy 10
 encr aes 256
 hash sha256
 authentication pre-share
 group 19
crypto isakmp key SecretPassword12 address ipv6 ::/0
crypto isakmp keepalive 10 periodic
!
crypto ipsec transform-set TRANSFORM esp-aes 256 esp-sha384-hmac
 mode transport
!
crypto ipsec profile TUNNEL
 set transform-set TRANSFORM
!
interface Tunnel0
 ip address %[4]s 255.255.255.252
 ipv6 address %[5]s/64
 ip mtu 1380
 ip tcp adjust-mss 1340
 ipv6 mtu 1380
 ipv6 tcp adjust-mss 1320
 keepalive 10 3
 tunnel mode gre ipv6
 tunnel source Loopback0
 tunnel destination %[6]s
%[7]s!
ipv6 route %[6]s/128 %[8]s
ipv6 route %[6]s/128 %[9]s
ip route %[10]s Tunnel0
ipv6 route %[11]s Tunnel0
`, r.Name, r.LAN, a.LAN, r.Tunnel, a.Tunnel, a.Peer, prot, a.Core[0].NextHop, a.Core[1].NextHop, r.PeerLAN, a.PeerLAN)
	return b.String()
}

// buildIPv6Core gives the core nodes their IPv6 side of each link and the
// routes back to each Loopback0 through both paths, and turns on IPv6
// forwarding there. Nothing of IPv4 is routed by the core.
func (l *Lab) buildIPv6Core() error {
	for _, c := range []string{"core1", "core2"} {
		if err := l.sysctl(c, "net.ipv6.conf.all.forwarding", "1"); err != nil {
			return err
		}
	}
	for _, r := range l.Routers() {
		a := IPv6Of(r.Name)
		for i, c := range r.Core {
			// nodad: the lab's own addresses are unique; the routers'
			// side goes through duplicate address detection as gresec
			// adds it.
			if err := l.ip(l.NS(c.CoreNS), "-6", "addr", "add", a.Core[i].NextHop+"/64", "dev", c.CoreDev, "nodad"); err != nil {
				return err
			}
			if err := l.ip(l.NS(c.CoreNS), "-6", "route", "add", a.Loopback+"/128", "via", a.Core[i].Addr); err != nil {
				return err
			}
		}
	}
	return nil
}

// addHostIPv6 gives a LAN host its IPv6 address and default route.
func (l *Lab) addHostIPv6(r Router) error {
	a := IPv6Of(r.Name)
	host := l.NS(r.Name + "-host")
	if err := l.ip(host, "-6", "addr", "add", a.LANHost+"/64", "dev", "eth0", "nodad"); err != nil {
		return err
	}
	return l.ip(host, "-6", "route", "add", "default", "via", a.LAN)
}

// DualStackResult is what the dual-stack scenario measured.
type DualStackResult struct {
	// IPv4 and IPv6 are the LAN-to-LAN pings of each family.
	IPv4, IPv6 PingResult
	// Before and After are the core links left's IPv6 underlay leaves by
	// before and after the failure; Failover the ping6 across it.
	Before, After CoreLink
	Failover      PingResult
	// LineProtoDowns counts line protocol downs during the failure.
	LineProtoDowns int
}

// txPackets reads a device's transmitted packets in a node.
func (l *Lab) txPackets(ctx context.Context, node, dev string) (int, error) {
	out, err := l.Exec(ctx, node, "cat", "/sys/class/net/"+dev+"/statistics/tx_packets")
	if err != nil {
		return 0, fmt.Errorf("%s: tx_packets of %s: %v: %s", node, dev, err, out)
	}
	return strconv.Atoi(strings.TrimSpace(out))
}

// underlayPath6 is the core link a router's IPv6 underlay leaves by now,
// seen from the traffic: the link that sent the most while ping6 crossed
// the tunnel (a route lookup would not do: the kernel hashes the flow
// label of the tunnel's packets onto one of the equal-cost paths).
func (l *Lab) underlayPath6(ctx context.Context, router string) (CoreLink, error) {
	var me Router
	for _, r := range l.Routers() {
		if r.Name == router {
			me = r
		}
	}
	var before [2]int
	for i, c := range me.Core {
		n, err := l.txPackets(ctx, router, c.Dev)
		if err != nil {
			return CoreLink{}, err
		}
		before[i] = n
	}
	if _, err := l.Exec(ctx, router+"-host", "ping", "-6", "-q", "-c", "20", "-i", "0.01", "-W", "1", IPv6Of(otherRouter(router)).LANHost); err != nil {
		return CoreLink{}, fmt.Errorf("%s: ping6 across the tunnel: %w", router, err)
	}
	best, most := CoreLink{}, -1
	for i, c := range me.Core {
		n, err := l.txPackets(ctx, router, c.Dev)
		if err != nil {
			return CoreLink{}, err
		}
		if n-before[i] > most {
			best, most = c, n-before[i]
		}
	}
	return best, nil
}

func otherRouter(name string) string {
	if name == "left" {
		return "right"
	}
	return "left"
}

// DualStack plays the dual-stack scenario on a lab built with IPv6Core
// and DualStackConfig(true): the protected tunnel runs over the IPv6-only
// core, both families cross it LAN to LAN, one IPv6 core path fails under
// a ping6 at 200 packets a second, and the IPv6 views are printed.
func (l *Lab) DualStack(ctx context.Context) (DualStackResult, error) {
	var res DualStackResult
	left, right := IPv6Of("left"), IPv6Of("right")
	for _, r := range []string{"left", "right"} {
		if _, err := l.WaitLineProtocol(ctx, r, "up", 30*time.Second); err != nil {
			return res, err
		}
	}
	if err := l.waitProtection(ctx, 30*time.Second); err != nil {
		return res, err
	}
	l.printf("\n== Dual stack over an IPv6-only core\n")
	l.printf("Tunnel0 is GRE over IPv6 (tunnel mode gre ipv6) from Loopback0 %s to %s, protected by IPsec\n", left.Loopback, left.Peer)
	l.printf("(IKEv1 and ESP over IPv6); it carries IPv4 (10.1.0.0/24 <-> 10.2.0.0/24) and IPv6 (%s <-> %s).\n", "2001:db8:1::/64", "2001:db8:2::/64")
	pings := []struct {
		family, dst string
		res         *PingResult
	}{{"-4", "10.2.0.10", &res.IPv4}, {"-6", right.LANHost, &res.IPv6}}
	for _, p := range pings {
		// The routers' LAN addresses may still be in duplicate address
		// detection: a few tries.
		var out string
		var err error
		for try := 0; try < 10; try++ {
			out, err = l.Exec(ctx, "left-host", "ping", p.family, "-c", "3", "-i", "0.2", "-W", "2", p.dst)
			if err == nil {
				break
			}
			time.Sleep(300 * time.Millisecond)
		}
		l.printf("\nleft-host -> right-host %s:\n%s", p.dst, out)
		if err != nil {
			return res, fmt.Errorf("ping %s %s: %w", p.family, p.dst, err)
		}
		if *p.res, err = ParsePing(out); err != nil {
			return res, err
		}
	}

	var err error
	if res.Before, err = l.underlayPath6(ctx, "left"); err != nil {
		return res, err
	}
	l.printf("\nleft's IPv6 underlay leaves through %s (%s); two equal-cost ipv6 route statics offer both core paths.\n", res.Before.Dev, res.Before.CoreNS)
	l.printf("left-host pings right-host %s, 600 packets at 200 a second; after 1 s %s fails (both its links lose carrier).\n", right.LANHost, res.Before.CoreNS)
	marks := map[string]int{"left": len(l.Log("left")), "right": len(l.Log("right"))}
	ping := exec.CommandContext(ctx, "ip", "netns", "exec", l.NS("left-host"), "ping", "-6", "-q", "-i", "0.005", "-c", "600", "-W", "1", right.LANHost)
	var out strings.Builder
	ping.Stdout, ping.Stderr = &out, &out
	if err := ping.Start(); err != nil {
		return res, err
	}
	time.Sleep(time.Second)
	failErr := l.FailCore(res.Before.CoreNS, true)
	werr := ping.Wait()
	if failErr != nil {
		return res, failErr
	}
	if res.Failover, err = ParsePing(out.String()); err != nil {
		return res, errors.Join(werr, err)
	}
	if res.After, err = l.underlayPath6(ctx, "left"); err != nil {
		return res, err
	}
	for r, from := range marks {
		res.LineProtoDowns += len(l.LogSince(r, from, lineProtoDown))
	}
	lost := res.Failover.Sent - res.Failover.Received
	l.printf("ping6: %d sent, %d received, %d lost (%.1f%%); left's IPv6 underlay now leaves through %s (%s); line protocol downs: %d.\n",
		res.Failover.Sent, res.Failover.Received, lost, 100*res.Failover.Loss(), res.After.Dev, res.After.CoreNS, res.LineProtoDowns)
	if err := l.FailCore(res.Before.CoreNS, false); err != nil {
		return res, err
	}
	return res, l.printIPv6Views("left")
}

// printIPv6Views prints a router's IPv6 views and its tunnel.
func (l *Lab) printIPv6Views(router string) error {
	views := []struct {
		args   []string
		render func(data json.RawMessage) error
	}{
		{[]string{"ipv6", "interface", "brief"}, func(d json.RawMessage) error {
			return decode(d, func(v api.Interfaces) { show.IPv6Brief(l.opts.Out, v) })
		}},
		{[]string{"ipv6", "route"}, func(d json.RawMessage) error {
			return decode(d, func(v api.RouteTable) { show.IPv6Routes(l.opts.Out, v) })
		}},
		{[]string{"interfaces", "Tunnel0"}, func(d json.RawMessage) error {
			return decode(d, func(v api.Interfaces) { show.Interfaces(l.opts.Out, v) })
		}},
		{[]string{"crypto", "ipsec", "sa"}, func(d json.RawMessage) error {
			return decode(d, func(v api.IPsecSAs) { show.IPsecSAs(l.opts.Out, v) })
		}},
	}
	for _, v := range views {
		data, err := l.Show(router, v.args...)
		if err != nil {
			return err
		}
		l.outMu.Lock()
		fmt.Fprintf(l.opts.Out, "\n%s# show %s\n", router, strings.Join(v.args, " "))
		err = v.render(data)
		l.outMu.Unlock()
		if err != nil {
			return err
		}
	}
	return nil
}
