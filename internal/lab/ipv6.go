package lab

import (
	"fmt"
	"strings"
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
// for any IPv6 peer).
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
 ip mtu 1400
 ip tcp adjust-mss 1360
 ipv6 mtu 1400
 ipv6 tcp adjust-mss 1340
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
