// Package lab builds the article's world in network namespaces — routers
// left and right, each with a loopback and a LAN, joined by two independent
// core paths through core1 and core2 — and runs one gresec daemon per
// router, so that a newcomer sees the tunnel work end to end.
package lab

import (
	"fmt"
	"strings"
)

// Router is one gresec router of the lab.
type Router struct {
	Name     string // hostname and namespace suffix
	Loopback string // /32 tunnel source
	Tunnel   string // tunnel address (/30)
	Peer     string // the other router's loopback
	LAN      string // router's LAN address (/24)
	LANHost  string // the host behind it
	PeerLAN  string // the other side's LAN summary, routed into the tunnel
	// LoopbackMask is Loopback0's mask; "" means 255.255.255.255.
	LoopbackMask string
	// PeerRoute is the underlay route ("PREFIX MASK") that reaches Peer
	// through both core paths; "" means the /32 of Peer.
	PeerRoute string
	// Core links: local interface, local address, core next hop.
	Core [2]CoreLink
}

// CoreLink is one router-to-core link.
type CoreLink struct {
	Dev, Addr, NextHop, CoreNS, CoreDev string
}

// Routers returns the lab's two routers with their fixed addressing
// (documentation and private ranges only, inside the lab's namespaces).
func Routers() [2]Router {
	return [2]Router{
		{
			Name: "left", Loopback: "192.0.2.1", Tunnel: "10.255.0.1", Peer: "192.0.2.2",
			LAN: "10.1.0.1", LANHost: "10.1.0.10", PeerLAN: "10.2.0.0 255.255.0.0",
			Core: [2]CoreLink{
				{Dev: "l-c1", Addr: "198.51.100.253", NextHop: "198.51.100.254", CoreNS: "core1", CoreDev: "c1-l"},
				{Dev: "l-c2", Addr: "198.51.100.249", NextHop: "198.51.100.250", CoreNS: "core2", CoreDev: "c2-l"},
			},
		},
		{
			Name: "right", Loopback: "192.0.2.2", Tunnel: "10.255.0.2", Peer: "192.0.2.1",
			LAN: "10.2.0.1", LANHost: "10.2.0.10", PeerLAN: "10.1.0.0 255.255.0.0",
			Core: [2]CoreLink{
				{Dev: "r-c1", Addr: "203.0.113.253", NextHop: "203.0.113.254", CoreNS: "core1", CoreDev: "c1-r"},
				{Dev: "r-c2", Addr: "203.0.113.249", NextHop: "203.0.113.250", CoreNS: "core2", CoreDev: "c2-r"},
			},
		},
	}
}

// ArticleRouters is the addressing of the article's recursive-routing
// story: right's real address 172.16.1.1 lies in 172.16.0.0/16, which left
// reaches through the core by that summary only, and right owns the whole
// 172.16.1.0/24 (Loopback0 carries it), which a routing protocol over the
// tunnel would advertise. Left is unchanged.
func ArticleRouters() [2]Router {
	rs := Routers()
	rs[0].Peer, rs[0].PeerRoute = "172.16.1.1", "172.16.0.0 255.255.0.0"
	rs[1].Loopback, rs[1].LoopbackMask = "172.16.1.1", "255.255.255.0"
	return rs
}

// Config is the router's gresec configuration: the reference configuration
// of the specification, plus the lab's physical interfaces, a second
// equal-cost path to the peer, and the LAN. protect keeps the reference
// configuration's `tunnel protection`; without it the tunnel carries plain
// GRE (scenarios and tests that look at GRE on the wire use that).
func (r Router) Config(protect bool) string {
	prot := " ! tunnel protection ipsec profile TUNNEL  (left out: plain GRE)\n"
	if protect {
		prot = " tunnel protection ipsec profile TUNNEL\n"
	}
	mask := r.LoopbackMask
	if mask == "" {
		mask = "255.255.255.255"
	}
	peerRoute := r.PeerRoute
	if peerRoute == "" {
		peerRoute = r.Peer + " 255.255.255.255"
	}
	return fmt.Sprintf(`hostname %[1]s
!
interface Loopback0
 ip address %[2]s %[16]s
!
interface %[3]s
 description core path 1 (%[5]s)
 ip address %[4]s 255.255.255.252
!
interface %[6]s
 description core path 2 (%[8]s)
 ip address %[7]s 255.255.255.252
!
interface %[1]s-lan
 description LAN
 ip address %[9]s 255.255.255.0
!
crypto isakmp policy 10
 encr aes 256
 hash sha256
 authentication pre-share
 group 19
crypto isakmp key SecretPassword12 address 0.0.0.0
crypto isakmp keepalive 10 periodic
!
crypto ipsec transform-set TRANSFORM esp-aes 256 esp-sha384-hmac
 mode transport
!
crypto ipsec profile TUNNEL
 set transform-set TRANSFORM
!
interface Tunnel0
 ip address %[10]s 255.255.255.252
 ip mtu 1400
 ip tcp adjust-mss 1360
 keepalive 10 3
 tunnel source Loopback0
 tunnel destination %[11]s
%[12]s!
ip route %[17]s %[13]s
ip route %[17]s %[14]s
ip route %[15]s Tunnel0
`, r.Name, r.Loopback, r.Core[0].Dev, r.Core[0].Addr, r.Core[0].CoreNS, r.Core[1].Dev, r.Core[1].Addr, r.Core[1].CoreNS,
		r.LAN, r.Tunnel, r.Peer, prot, r.Core[0].NextHop, r.Core[1].NextHop, r.PeerLAN, mask, peerRoute)
}

// IKEv2Block is issue 12's IKEv2 configuration (IOS FlexVPN style), which
// ConfigIKEv2 puts in place of the crypto isakmp statements.
const IKEv2Block = `crypto ikev2 proposal PROP
 encryption aes-cbc-256
 integrity sha256
 group 19
crypto ikev2 policy POL
 proposal PROP
crypto ikev2 keyring KEYS
 peer ANY
  address 0.0.0.0 0.0.0.0
  pre-shared-key SecretPassword12
crypto ikev2 profile IKEV2
 match identity remote address 0.0.0.0
 authentication remote pre-share
 authentication local pre-share
 keyring local KEYS
 dpd 10 3 periodic
`

// ConfigIKEv2 is the protected reference configuration negotiated with
// IKEv2: the profile TUNNEL says `set ikev2-profile IKEV2`.
func (r Router) ConfigIKEv2() string { return ToIKEv2(r.Config(true)) }

// ToIKEv2 turns a configuration with the reference crypto isakmp
// statements (from `crypto isakmp policy 10` to the transform set) and the
// profile TUNNEL into its IKEv2 equivalent: IKEv2Block in their place and
// `set ikev2-profile IKEV2` in the profile.
func ToIKEv2(c string) string {
	i, j := strings.Index(c, "crypto isakmp policy 10"), strings.Index(c, "crypto ipsec transform-set")
	c = c[:i] + IKEv2Block + "!\n" + c[j:]
	return strings.Replace(c, " set transform-set TRANSFORM\n", " set transform-set TRANSFORM\n set ikev2-profile IKEV2\n", 1)
}

// NAT addressing (Options.NAT): left sits behind a NAT, as a branch behind
// a consumer router does. Its Loopback0 (the tunnel source) is private,
// 10.99.0.1, and it reaches the NAT over two links (so the configuration
// keeps its two equal-cost underlay routes); the NAT namespace holds the
// core links left had, with the same addresses, and translates left's
// source to the public 192.0.2.1 that right's configuration already names
// as its tunnel destination. Right is unchanged and knows nothing of the
// NAT: IKE's NAT-D payloads tell both sides.
const (
	NATInside = "10.99.0.1"    // left's private Loopback0
	NATPublic = "192.0.2.1"    // the NAT's outside address for left
	natNode   = "nat"          // the NAT's namespace suffix
	natNet    = "10.99.0.0/16" // what the NAT translates
)

// NATRouters is the lab's addressing with Options.NAT (see NATInside).
func NATRouters() [2]Router {
	rs := Routers()
	rs[0].Loopback = NATInside
	rs[0].Core = [2]CoreLink{
		{Dev: "l-n1", Addr: "10.99.1.1", NextHop: "10.99.1.2", CoreNS: natNode, CoreDev: "n-l1"},
		{Dev: "l-n2", Addr: "10.99.1.5", NextHop: "10.99.1.6", CoreNS: natNode, CoreDev: "n-l2"},
	}
	return rs
}
