package config

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

// The configurations of issue 13, complete around the snippets it gives.
const (
	overlayFile  = "testdata/ipv6-overlay.conf"
	underlayFile = "testdata/ipv6-underlay.conf"
)

func TestIPv6OverlayConfig(t *testing.T) {
	c, diags := Parse(overlayFile, readFile(t, overlayFile), Options{})
	if len(diags) > 0 {
		t.Fatalf("diagnostics:\n%s", diags)
	}
	if !c.IPv6UnicastRouting {
		t.Error("IPv6UnicastRouting = false")
	}
	tu := c.Interface("Tunnel0")
	if want := []IPv6Address{{Prefix: netip.MustParsePrefix("2001:db8:ff::1/64")}}; !equalIPv6(tu.IPv6Addresses, want) {
		t.Errorf("Tunnel0 IPv6Addresses = %v", tu.IPv6Addresses)
	}
	if tc := tu.Tunnel; tc.Mode != ModeGREIP || tc.IPv6MTU != 1400 || tc.IPv6AdjustMSS != 1340 || tc.IPMTU != 1400 || tc.AdjustMSS != 1360 {
		t.Errorf("Tunnel0.Tunnel = %+v", tc)
	}
	if !tu.IPv6Enabled() || tu.IPv6Enable || c.Interface("Loopback0").IPv6Enabled() {
		t.Error("IPv6Enabled")
	}
	last := c.Routes[len(c.Routes)-1]
	if *last != (StaticRoute{Prefix: netip.MustParsePrefix("2001:db8:2::/48"), Interface: "Tunnel0", Distance: 1, Pos: Pos{37, 1}}) {
		t.Errorf("last route = %+v", *last)
	}
}

func TestIPv6UnderlayConfig(t *testing.T) {
	c, diags := Parse(underlayFile, readFile(t, underlayFile), Options{})
	if len(diags) > 0 {
		t.Fatalf("diagnostics:\n%s", diags)
	}
	lo, tu := c.Interface("Loopback0"), c.Interface("Tunnel0")
	if lo.Address.IsValid() || !equalIPv6(lo.IPv6Addresses, []IPv6Address{{Prefix: netip.MustParsePrefix("2001:db8:ffff::1/128")}}) {
		t.Errorf("Loopback0 = %+v", lo)
	}
	if tc := tu.Tunnel; tc.Mode != ModeGREIPv6 || tc.SourceInterface != "Loopback0" || tc.Destination != netip.MustParseAddr("2001:db8:ffff::2") || tc.ProtectionProfile != "TUNNEL" {
		t.Errorf("Tunnel0.Tunnel = %+v", tc)
	}
	if tu.Address != netip.MustParsePrefix("10.255.0.1/30") || len(tu.IPv6Addresses) != 1 {
		t.Errorf("Tunnel0 addresses = %v %v", tu.Address, tu.IPv6Addresses)
	}
	if len(c.ISAKMPKeys) != 1 || c.ISAKMPKeys[0].Peer != netip.MustParsePrefix("::/0") || c.ISAKMPKeys[0].Key != "SecretPassword12" {
		t.Errorf("keys = %+v", c.ISAKMPKeys[0])
	}
	if k, ok := c.KeyFor(netip.MustParseAddr("2001:db8:ffff::2")); !ok || k.Key != "SecretPassword12" {
		t.Errorf("KeyFor(2001:db8:ffff::2) = %v, %v", k, ok)
	}
	if _, ok := c.KeyFor(netip.MustParseAddr("192.0.2.2")); ok {
		t.Error("an IPv6 wildcard key matches an IPv4 peer")
	}
	// IPv4 routes first, then IPv6, each in file order.
	want := []StaticRoute{
		{Prefix: netip.MustParsePrefix("10.2.0.0/16"), Interface: "Tunnel0", Distance: 1, Pos: Pos{32, 1}},
		{Prefix: netip.MustParsePrefix("2001:db8:ffff::2/128"), NextHop: netip.MustParseAddr("2001:db8:0:1::2"), Distance: 1, Pos: Pos{31, 1}},
		{Prefix: netip.MustParsePrefix("2001:db8:2::/48"), Interface: "Tunnel0", Distance: 1, Pos: Pos{33, 1}},
	}
	if len(c.Routes) != len(want) {
		t.Fatalf("routes = %v", c.Routes)
	}
	for i, r := range c.Routes {
		if *r != want[i] {
			t.Errorf("route %d = %+v, want %+v", i, *r, want[i])
		}
	}
}

func equalIPv6(a, b []IPv6Address) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestIPv6Statements has one case per IPv6 statement and negation.
func TestIPv6Statements(t *testing.T) {
	// A tunnel over IPv6 to build on (lines 1-5).
	const tunnel6 = "interface Loopback0\n ipv6 address 2001:db8:ffff::1/128\ninterface Tunnel0\n tunnel source Loopback0\n tunnel destination 2001:db8:ffff::2\n tunnel mode gre ipv6\n"
	const tunnel4 = "interface Loopback0\n ip address 192.0.2.1 255.255.255.255\ninterface Tunnel0\n tunnel source Loopback0\n tunnel destination 192.0.2.2\n"
	pfx := netip.MustParsePrefix
	addr := netip.MustParseAddr
	iface := func(c *Config, name string) *Interface { return c.Interface(name) }
	tun := func(c *Config) *TunnelConfig { return c.Interface("Tunnel0").Tunnel }
	tests := []struct {
		name  string
		src   string
		check func(c *Config) bool
	}{
		{"unicast-routing", "ipv6 unicast-routing", func(c *Config) bool { return c.IPv6UnicastRouting }},
		{"no unicast-routing", "ipv6 unicast-routing\nno ipv6 unicast-routing", func(c *Config) bool { return !c.IPv6UnicastRouting }},

		{"address", "interface eth0\n ipv6 address 2001:DB8:1::1/64", func(c *Config) bool {
			return equalIPv6(iface(c, "eth0").IPv6Addresses, []IPv6Address{{Prefix: pfx("2001:db8:1::1/64")}})
		}},
		{"several addresses", "interface eth0\n ipv6 address 2001:db8:1::1/64\n ipv6 address 2001:db8:1::2/64\n ipv6 address fd00::1/48", func(c *Config) bool {
			return equalIPv6(iface(c, "eth0").IPv6Addresses, []IPv6Address{{Prefix: pfx("2001:db8:1::1/64")}, {Prefix: pfx("2001:db8:1::2/64")}, {Prefix: pfx("fd00::1/48")}})
		}},
		{"slash 127", "interface eth0\n ipv6 address 2001:db8:1::/127", func(c *Config) bool { return iface(c, "eth0").IPv6Addresses[0].Prefix.Bits() == 127 }},
		{"loopback subnet address", "interface Loopback1\n ipv6 address 2001:db8:7::/64", func(c *Config) bool { return len(iface(c, "Loopback1").IPv6Addresses) == 1 }},
		{"eui-64 on physical", "interface eth0\n ipv6 address 2001:db8:1::/64 eui-64", func(c *Config) bool {
			return equalIPv6(iface(c, "eth0").IPv6Addresses, []IPv6Address{{Prefix: pfx("2001:db8:1::/64"), EUI64: true}})
		}},
		{"eui-64 shorter prefix", "interface eth0\n ipv6 address 2001:db8:0:5::/48 EUI-64", func(c *Config) bool {
			return iface(c, "eth0").IPv6Addresses[0] == IPv6Address{Prefix: pfx("2001:db8:0:5::/48"), EUI64: true}
		}},
		{"eui-64 beside static", "interface eth0\n ipv6 address 2001:db8:1::/64 eui-64\n ipv6 address 2001:db8:1::1/64", func(c *Config) bool {
			return len(iface(c, "eth0").IPv6Addresses) == 2
		}},
		{"link-local", "interface Tunnel0\n shutdown\n ipv6 address FE80::1 link-local", func(c *Config) bool {
			i := iface(c, "Tunnel0")
			return i.IPv6LinkLocal == addr("fe80::1") && i.IPv6Addresses == nil && i.IPv6Enabled()
		}},
		{"link-local replaced", "interface eth0\n ipv6 address fe80::1 link-local\n ipv6 address fe80::2 link-local", func(c *Config) bool {
			return iface(c, "eth0").IPv6LinkLocal == addr("fe80::2")
		}},
		{"same link-local on two interfaces", "interface eth0\n ipv6 address fe80::1 link-local\ninterface eth1\n ipv6 address fe80::1 link-local", func(c *Config) bool {
			return iface(c, "eth1").IPv6LinkLocal == addr("fe80::1")
		}},
		{"no link-local", "interface eth0\n ipv6 address fe80::1 link-local\n no ipv6 address fe80::1 link-local", func(c *Config) bool {
			return !iface(c, "eth0").IPv6LinkLocal.IsValid()
		}},
		{"enable", "interface eth0\n ipv6 enable", func(c *Config) bool { return iface(c, "eth0").IPv6Enable && iface(c, "eth0").IPv6Enabled() }},
		{"no enable", "interface eth0\n ipv6 enable\n no ipv6 enable", func(c *Config) bool { return !iface(c, "eth0").IPv6Enabled() }},
		{"no ipv6 address", "interface eth0\n ipv6 address 2001:db8:1::1/64\n ipv6 address fe80::1 link-local\n ipv6 address 2001:db8:2::/64 eui-64\n no ipv6 address", func(c *Config) bool {
			i := iface(c, "eth0")
			return i.IPv6Addresses == nil && !i.IPv6LinkLocal.IsValid() && !i.IPv6Enabled()
		}},
		{"no ipv6 address one", "interface eth0\n ipv6 address 2001:db8:1::1/64\n ipv6 address 2001:db8:1::2/64\n no ipv6 address 2001:db8:1::1/64", func(c *Config) bool {
			return equalIPv6(iface(c, "eth0").IPv6Addresses, []IPv6Address{{Prefix: pfx("2001:db8:1::2/64")}})
		}},
		{"no ipv6 address eui-64", "interface eth0\n ipv6 address 2001:db8:1::/64 eui-64\n no ipv6 address 2001:db8:1::/64 eui-64", func(c *Config) bool {
			return iface(c, "eth0").IPv6Addresses == nil
		}},
		{"address again after removal", "interface eth0\n ipv6 address 2001:db8:1::1/64\n no ipv6 address\n ipv6 address 2001:db8:1::1/48", func(c *Config) bool {
			return iface(c, "eth0").IPv6Addresses[0].Prefix == pfx("2001:db8:1::1/48")
		}},
		{"no ipv6 address autoconfig", "interface eth0\n no ipv6 address autoconfig", func(c *Config) bool { return iface(c, "eth0").IPv6Addresses == nil }},
		{"ipv4 and ipv6", "interface eth0\n ip address 198.51.100.1 255.255.255.0\n ipv6 address 2001:db8:1::1/64", func(c *Config) bool {
			i := iface(c, "eth0")
			return i.Address == pfx("198.51.100.1/24") && len(i.IPv6Addresses) == 1
		}},

		{"ipv6 mtu", tunnel4 + " ipv6 mtu 1280", func(c *Config) bool { return tun(c).IPv6MTU == 1280 }},
		{"ipv6 mtu max", tunnel4 + " ipv6 mtu 9000", func(c *Config) bool { return tun(c).IPv6MTU == 9000 }},
		{"no ipv6 mtu", tunnel4 + " ipv6 mtu 1400\n no ipv6 mtu", func(c *Config) bool { return tun(c).IPv6MTU == 0 }},
		{"ipv6 mtu equal to ip mtu", tunnel4 + " ip mtu 1400\n ipv6 mtu 1400", func(c *Config) bool { return tun(c).IPv6MTU == 1400 }},
		{"ipv6 adjust-mss", tunnel4 + " ipv6 tcp adjust-mss 1440", func(c *Config) bool { return tun(c).IPv6AdjustMSS == 1440 }},
		{"no ipv6 adjust-mss", tunnel4 + " ipv6 tcp adjust-mss 500\n no ipv6 tcp adjust-mss", func(c *Config) bool { return tun(c).IPv6AdjustMSS == 0 }},

		{"tunnel mode gre ipv6", tunnel6, func(c *Config) bool { return tun(c).Mode == ModeGREIPv6 }},
		{"mode before destination", "interface Loopback0\n ipv6 address 2001:db8:ffff::1/128\ninterface Tunnel0\n tunnel mode gre ipv6\n tunnel source Loopback0\n tunnel destination 2001:db8:ffff::2", func(c *Config) bool {
			return tun(c).Mode == ModeGREIPv6
		}},
		{"no tunnel mode", tunnel4 + " tunnel mode gre ipv6\n no tunnel mode", func(c *Config) bool { return tun(c).Mode == ModeGREIP }},
		{"tunnel mode gre ip after ipv6", tunnel4 + " tunnel mode gre ipv6\n tunnel mode gre ip", func(c *Config) bool { return tun(c).Mode == ModeGREIP }},
		{"tunnel source ipv6 address", "interface Tunnel0\n tunnel mode gre ipv6\n tunnel source 2001:db8:ffff::1\n tunnel destination 2001:DB8:FFFF::2", func(c *Config) bool {
			return tun(c).SourceAddr == addr("2001:db8:ffff::1") && tun(c).SourceInterface == "" && tun(c).Destination == addr("2001:db8:ffff::2")
		}},
		{"tunnel source physical for gre ipv6", "interface Tunnel0\n tunnel mode gre ipv6\n tunnel source eth0\n tunnel destination 2001:db8:ffff::2", func(c *Config) bool {
			return tun(c).SourceInterface == "eth0"
		}},
		{"dual-stack tunnel over ipv6", tunnel6 + " ip address 10.255.0.1 255.255.255.252\n ipv6 address 2001:db8:ff::1/64\n ipv6 address fe80::1 link-local", func(c *Config) bool {
			i := iface(c, "Tunnel0")
			return i.Address.IsValid() && len(i.IPv6Addresses) == 1 && i.IPv6LinkLocal.IsValid()
		}},

		{"route next hop", "ipv6 route 2001:db8:2::/48 2001:db8:0:1::2", func(c *Config) bool {
			return *c.Routes[0] == StaticRoute{Prefix: pfx("2001:db8:2::/48"), NextHop: addr("2001:db8:0:1::2"), Distance: 1, Pos: Pos{1, 1}}
		}},
		{"route next hop distance", "ipv6 route 2001:db8:2::/48 2001:db8:0:1::2 250", func(c *Config) bool { return c.Routes[0].Distance == 250 }},
		{"route interface", "interface Tunnel0\n shutdown\nipv6 unicast-routing\nipv6 route 2001:db8:2::/48 Tunnel0", func(c *Config) bool {
			return c.Routes[0].Interface == "Tunnel0" && !c.Routes[0].NextHop.IsValid()
		}},
		{"route interface distance", "interface Tunnel0\n shutdown\nipv6 unicast-routing\nipv6 route 2001:db8:2::/48 tu0 7", func(c *Config) bool {
			return c.Routes[0].Interface == "Tunnel0" && c.Routes[0].Distance == 7
		}},
		{"route interface link-local", "ipv6 route 2001:db8:2::/48 eth0 FE80::2", func(c *Config) bool {
			r := c.Routes[0]
			return r.Interface == "eth0" && r.NextHop == addr("fe80::2") && r.Distance == 1
		}},
		{"route interface next hop distance", "ipv6 route 2001:db8:2::/48 eth0 2001:db8:0:1::2 5", func(c *Config) bool {
			r := c.Routes[0]
			return r.Interface == "eth0" && r.NextHop == addr("2001:db8:0:1::2") && r.Distance == 5
		}},
		{"route default", "ipv6 route ::/0 2001:db8:0:1::2", func(c *Config) bool { return c.Routes[0].Prefix == pfx("::/0") }},
		{"ecmp", "ipv6 route 2001:db8:2::/48 2001:db8:0:1::2\nipv6 route 2001:db8:2::/48 2001:db8:0:1::3", func(c *Config) bool { return len(c.Routes) == 2 }},
		{"floating static", "ipv6 route 2001:db8:2::/48 2001:db8:0:1::2\nipv6 route 2001:db8:2::/48 2001:db8:0:1::3 200", func(c *Config) bool {
			return len(c.Routes) == 2 && c.Routes[1].Distance == 200
		}},
		{"no ipv6 route", "ipv6 route 2001:db8:2::/48 2001:db8:0:1::2\nipv6 route 2001:db8:2::/48 2001:db8:0:1::3\nno ipv6 route 2001:db8:2::/48 2001:db8:0:1::2", func(c *Config) bool {
			return len(c.Routes) == 1 && c.Routes[0].NextHop == addr("2001:db8:0:1::3")
		}},
		{"no ipv6 route prefix", "ipv6 route 2001:db8:2::/48 2001:db8:0:1::2\nipv6 route 2001:db8:2::/48 eth0 fe80::1\nip route 10.0.0.0 255.0.0.0 192.0.2.1\nno ipv6 route 2001:db8:2::/48", func(c *Config) bool {
			return len(c.Routes) == 1 && c.Routes[0].Prefix.Addr().Is4()
		}},
		{"families sorted", "ipv6 route 2001:db8:2::/48 2001:db8:0:1::2\nip route 10.0.0.0 255.0.0.0 192.0.2.1\nipv6 route 2001:db8:3::/48 2001:db8:0:1::2\nip route 10.1.0.0 255.255.0.0 192.0.2.1", func(c *Config) bool {
			return c.Routes[0].Prefix == pfx("10.0.0.0/8") && c.Routes[1].Prefix == pfx("10.1.0.0/16") &&
				c.Routes[2].Prefix == pfx("2001:db8:2::/48") && c.Routes[3].Prefix == pfx("2001:db8:3::/48") && c.Routes[2].Pos.Line == 1
		}},
		{"same prefix text both families", "ip route 0.0.0.0 0.0.0.0 192.0.2.1\nipv6 route ::/0 2001:db8::1", func(c *Config) bool { return len(c.Routes) == 2 }},

		{"key ipv6 wildcard", "crypto isakmp key abc address ipv6 ::/0", func(c *Config) bool { return c.ISAKMPKeys[0].Peer == pfx("::/0") }},
		{"key ipv6 host", "crypto isakmp key abc address ipv6 2001:DB8::2/128 no-xauth", func(c *Config) bool { return c.ISAKMPKeys[0].Peer == pfx("2001:db8::2/128") }},
		{"key ipv6 type 0", "crypto isakmp key 0 abc address ipv6 2001:db8::/32", func(c *Config) bool {
			return c.ISAKMPKeys[0].Key == "abc" && c.ISAKMPKeys[0].Peer == pfx("2001:db8::/32")
		}},
		{"key literally 0 ipv6", "crypto isakmp key 0 address ipv6 ::/0", func(c *Config) bool { return c.ISAKMPKeys[0].Key == "0" }},
		{"keys both families", "crypto isakmp key a address 0.0.0.0\ncrypto isakmp key b address ipv6 ::/0", func(c *Config) bool { return len(c.ISAKMPKeys) == 2 }},
		{"no key ipv6", "crypto isakmp key a address ipv6 ::/0\ncrypto isakmp key b address 0.0.0.0\nno crypto isakmp key a address ipv6 ::/0", func(c *Config) bool {
			return len(c.ISAKMPKeys) == 1 && c.ISAKMPKeys[0].Key == "b"
		}},
		{"protected gre ipv6", "crypto isakmp policy 1\ncrypto isakmp key k address ipv6 2001:db8:ffff::/48\ncrypto ipsec transform-set T esp-gcm\ncrypto ipsec profile P\n set transform-set T\n" + tunnel6 + " tunnel protection ipsec profile P", func(c *Config) bool {
			return tun(c).ProtectionProfile == "P"
		}},
		{"two gre ipv6 tunnels told apart by key", tunnel6 + " tunnel key 1\ninterface Tunnel1\n tunnel mode gre ipv6\n tunnel source 2001:db8:ffff::1\n tunnel destination 2001:db8:ffff::2\n tunnel key 2", func(c *Config) bool {
			return len(c.Interfaces) == 3
		}},

		{"abbreviations", "ipv6 uni\nint eth0\n ipv6 add 2001:db8:1::/64 eui\n ipv6 en\nint tu0\n tun mode gre ipv6\n tun sou 2001:db8:1::1\n tun dest 2001:db8:ffff::2\n ipv6 mt 1400\n ipv6 tcp adj 1300\nipv6 ro 2001:db8:2::/48 tu0", func(c *Config) bool {
			e, tu := iface(c, "eth0"), tun(c)
			return c.IPv6UnicastRouting && e.IPv6Addresses[0].EUI64 && e.IPv6Enable && tu.Mode == ModeGREIPv6 && tu.IPv6MTU == 1400 && tu.IPv6AdjustMSS == 1300 && c.Routes[0].Interface == "Tunnel0"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustParse(t, tt.src)
			if !tt.check(c) {
				t.Errorf("unexpected result; formatted:\n%s", c.Format(FormatOptions{}))
			}
			checkRoundTrip(t, c)
		})
	}
}

func TestIPv6Errors(t *testing.T) {
	// A protected tunnel over IPv6 (lines 1-12).
	const base6 = `crypto isakmp policy 10
crypto isakmp key secret address ipv6 2001:db8:ffff::2/128
crypto ipsec transform-set TRANSFORM esp-gcm 256
crypto ipsec profile TUNNEL
 set transform-set TRANSFORM
interface Loopback0
 ipv6 address 2001:db8:ffff::1/128
interface Tunnel0
 tunnel mode gre ipv6
 tunnel source Loopback0
 tunnel destination 2001:db8:ffff::2
 tunnel protection ipsec profile TUNNEL
`
	mustParse(t, base6)
	tests := []struct {
		name string
		src  string
		pos  string // LINE:COL
		msg  string
	}{
		// ipv6 address.
		{"address without length", "interface eth0\n ipv6 address 2001:db8::1", "2:15", `"2001:db8::1" needs a prefix length, as in 2001:db8::1/64`},
		{"address ipv4", "interface eth0\n ipv6 address 10.0.0.1/8", "2:15", `"10.0.0.1/8" is not an IPv6 prefix`},
		{"address invalid", "interface eth0\n ipv6 address 2001:db8::zz/64", "2:15", `invalid IPv6 prefix "2001:db8::zz/64": want PREFIX/LENGTH`},
		{"address missing", "interface eth0\n ipv6 address", "2:7", `incomplete command: "ipv6 address" needs PREFIX/LENGTH or a link-local address`},
		{"address multicast", "interface eth0\n ipv6 address ff02::1/64", "2:15", "invalid interface address ff02::1: it is a multicast address"},
		{"address loopback", "interface Loopback0\n ipv6 address ::1/128", "2:15", "invalid interface address ::1: ::1 is reserved for the host's own loopback"},
		{"address unspecified", "interface eth0\n ipv6 address ::/64", "2:15", "invalid interface address ::: :: is the unspecified address"},
		{"address ipv4-mapped", "interface eth0\n ipv6 address ::ffff:192.0.2.1/120", "2:15", "IPv4-mapped addresses"},
		{"link-local without keyword", "interface eth0\n ipv6 address fe80::1/64", "2:15", `fe80::1 is a link-local address; write "ipv6 address fe80::1 link-local"`},
		{"link-local keyword on global", "interface eth0\n ipv6 address 2001:db8::1 link-local", "2:15", `2001:db8::1 is not a link-local address (FE80::/10); for a global address write "ipv6 address 2001:db8::1/LENGTH"`},
		{"link-local with length", "interface eth0\n ipv6 address fe80::1/64 link-local", "2:15", `"fe80::1/64" is a prefix; want an IPv6 address without a prefix length`},
		{"link-local zone", "interface eth0\n ipv6 address fe80::1%eth0 link-local", "2:15", `zone "%eth0" in "fe80::1%eth0" is not accepted; write the address without it`},
		{"eui-64 on tunnel", "interface Tunnel0\n shutdown\n ipv6 address 2001:db8:1::/64 eui-64", "3:31", `eui-64 needs a MAC address, and Tunnel0, a tunnel interface, has none; write the whole address, as in "ipv6 address 2001:db8:1::1/64"`},
		{"eui-64 on loopback", "interface Loopback0\n ipv6 address 2001:db8:1::/64 eui-64", "2:31", "Loopback0, a loopback interface, has none"},
		{"eui-64 too long", "interface eth0\n ipv6 address 2001:db8:1::/96 eui-64", "2:15", "the prefix length must be 64 or less, not 96"},
		{"eui-64 with identifier", "interface eth0\n ipv6 address 2001:db8:1::5/64 eui-64", "2:15", `2001:db8:1::5/64 already has an interface identifier; write 2001:db8:1::/64 eui-64, or drop "eui-64"`},
		{"subnet-router anycast", "interface Tunnel0\n shutdown\n ipv6 address 2001:db8:ff::/64", "3:15", "2001:db8:ff:: is the subnet-router anycast address of 2001:db8:ff::/64; give a host address, as in 2001:db8:ff::1/64"},
		{"anycast keyword", "interface eth0\n ipv6 address 2001:db8::1/64 anycast", "2:30", "anycast addresses are not supported"},
		{"cga keyword", "interface eth0\n ipv6 address 2001:db8::1/64 cga", "2:30", "cga addresses are not supported"},
		{"unknown keyword", "interface eth0\n ipv6 address 2001:db8::/64 eiu-64", "2:29", `invalid argument "eiu-64" to "ipv6 address"; did you mean "eui-64"?`},
		{"extra argument", "interface eth0\n ipv6 address 2001:db8::/64 eui-64 now", "2:36", `unexpected argument "now" to "ipv6 address"`},
		{"autoconfig", "interface eth0\n ipv6 address autoconfig", "2:15", `"ipv6 address autoconfig" is not supported; configure a static address`},
		{"dhcp", "interface eth0\n ipv6 address dhcp", "2:15", `"ipv6 address dhcp" is not supported`},
		{"one address two lengths", "interface eth0\n ipv6 address 2001:db8::1/64\n ipv6 address 2001:db8::1/48", "3:15", `2001:db8::1 is already an address of eth0, as 2001:db8::1/64 (line 2); remove that one first with "no ipv6 address 2001:db8::1/64"`},
		{"overlap", "interface eth0\n ipv6 address 2001:db8:1::1/64\ninterface eth1\n ipv6 address 2001:db8:1::2/64", "4:15", "eth1: 2001:db8:1::2/64 overlaps eth0's 2001:db8:1::1/64"},
		{"overlap loopback in tunnel", "interface Tunnel0\n shutdown\n ipv6 address 2001:db8:ff::1/64\ninterface Loopback0\n ipv6 address 2001:db8:ff::9/128", "5:15", "Loopback0: 2001:db8:ff::9/128 overlaps Tunnel0's 2001:db8:ff::1/64"},
		{"overlap eui-64", "interface eth0\n ipv6 address 2001:db8:1::/64 eui-64\ninterface eth1\n ipv6 address 2001:db8:1::/64 eui-64", "4:15", "eth1: 2001:db8:1::/64 overlaps eth0's 2001:db8:1::/64"},
		// The second address of eth1 is checked against eth0 too, past
		// eth1's first address on the stack.
		{"overlap past own address", "interface eth0\n ipv6 address 2001:db8::1/32\ninterface eth1\n ipv6 address 2001:db8:1::1/64\n ipv6 address 2001:db8:1::2/64", "5:15", "eth1: 2001:db8:1::2/64 overlaps eth0's 2001:db8::1/32"},
		{"ipv6 address global", "ipv6 address 2001:db8::1/64", "1:1", `"ipv6 address" is a sub-command of "interface" sections; indent it under one`},

		// ipv6 mtu and adjust-mss.
		{"ipv6 mtu range", "interface Tunnel0\n shutdown\n ipv6 mtu 1279", "3:11", "IPv6 MTU 1279 out of range 1280-9000"},
		{"ipv6 mtu on loopback", "interface Loopback0\n ipv6 mtu 1400", "2:7", `"ipv6 mtu" applies only to Tunnel interfaces; Loopback0 is a loopback interface`},
		{"ipv6 adjust-mss range", "interface Tunnel0\n shutdown\n ipv6 tcp adjust-mss 1441", "3:22", "MSS 1441 out of range 500-1440"},
		{"ipv6 adjust-mss on physical", "interface eth0\n ipv6 tcp adjust-mss 1400", "2:7", `"ipv6 tcp" applies only to Tunnel interfaces`},

		// Tunnel endpoints and mode.
		{"ipv4 destination with gre ipv6", "interface Tunnel0\n tunnel mode gre ipv6\n tunnel source 2001:db8::1\n tunnel destination 192.0.2.2", "4:21",
			`Tunnel0: tunnel destination 192.0.2.2 is an IPv4 address, but tunnel mode gre ipv6 runs over IPv6; give an IPv6 address or remove "tunnel mode gre ipv6"`},
		{"ipv6 source with gre ip", "interface Tunnel0\n tunnel source 2001:db8::1\n tunnel destination 192.0.2.2", "2:16",
			`Tunnel0: tunnel source 2001:db8::1 is an IPv6 address, but tunnel mode gre ip (the default) runs over IPv4; add "tunnel mode gre ipv6"`},
		{"ipv4 source with gre ipv6", "interface Tunnel0\n tunnel mode gre ipv6\n tunnel source 192.0.2.1\n tunnel destination 2001:db8::2", "3:16",
			"Tunnel0: tunnel source 192.0.2.1 is an IPv4 address, but tunnel mode gre ipv6 runs over IPv6"},
		{"gre ipv6 removed", base6 + " no tunnel mode", "11:21", "tunnel destination 2001:db8:ffff::2 is an IPv6 address, but tunnel mode gre ip (the default)"},
		{"destination link-local", "interface Tunnel0\n tunnel mode gre ipv6\n tunnel source 2001:db8::1\n tunnel destination fe80::2", "4:21",
			"invalid tunnel destination fe80::2: a link-local address cannot be a tunnel endpoint; use a global address"},
		{"source link-local", "interface Tunnel0\n tunnel source fe80::1", "2:16", "invalid tunnel source fe80::1: a link-local address cannot be a tunnel endpoint"},
		{"destination multicast", "interface Tunnel0\n tunnel destination ff02::1", "2:21", "invalid tunnel destination ff02::1: it is a multicast address"},
		{"destination invalid", "interface Tunnel0\n tunnel destination 2001:db8::g", "2:21", `invalid IPv6 address "2001:db8::g"`},
		{"destination prefix", "interface Tunnel0\n tunnel destination 2001:db8::2/128", "2:21", `"2001:db8::2/128" is a prefix; want an IPv6 address without a prefix length`},
		{"destination own address", strings.Replace(base6, "destination 2001:db8:ffff::2", "destination 2001:db8:ffff::1", 1), "11:21", "Tunnel0: tunnel destination 2001:db8:ffff::1 is the tunnel source address"},
		{"destination other own address", base6 + "interface eth0\n ipv6 address 2001:db8:0:1::1/64\ninterface Tunnel1\n tunnel mode gre ipv6\n tunnel source Loopback0\n tunnel destination 2001:db8:0:1::1",
			"18:21", "Tunnel1: tunnel destination 2001:db8:0:1::1 is an address of this router (eth0)"},
		{"demux", base6 + "interface Tunnel1\n tunnel mode gre ipv6\n tunnel source 2001:db8:ffff::1\n tunnel destination 2001:db8:ffff::2", "16:21",
			"Tunnel1 has the same source, destination and key as Tunnel0"},
		{"no key for ipv6 peer", strings.Replace(base6, "address ipv6 2001:db8:ffff::2/128", "address 0.0.0.0", 1), "12:34",
			`Tunnel0: no crypto isakmp key matches peer 2001:db8:ffff::2; add "crypto isakmp key KEY address ipv6 2001:db8:ffff::2/128"`},
		{"mode ipv6ip", "interface Tunnel0\n tunnel mode ipv6ip", "2:14", `tunnel mode ipv6ip is not supported; use "tunnel mode gre ip", which carries IPv6 too`},

		// ipv6 route.
		{"route ipv4 prefix", "ipv6 route 10.0.0.0/8 2001:db8::1", "1:12", `"10.0.0.0/8" is not an IPv6 prefix; IPv4 routes are "ip route PREFIX MASK ..."`},
		{"route ipv4 address", "ipv6 route 10.0.0.0 255.0.0.0 192.0.2.1", "1:12", `"10.0.0.0" is not an IPv6 prefix`},
		{"route without length", "ipv6 route 2001:db8:: 2001:db8::1", "1:12", `"2001:db8::" needs a prefix length, as in 2001:db8::/64`},
		{"route not an address", "ipv6 route default 2001:db8::1", "1:12", `invalid IPv6 prefix "default": want PREFIX/LENGTH`},
		{"route host bits", "ipv6 route 2001:db8::1/48 2001:db8:0:1::2", "1:12", "prefix 2001:db8::1/48 has host bits set; did you mean 2001:db8::/48?"},
		{"route link-local without interface", "ipv6 route 2001:db8:2::/48 fe80::2", "1:28", `link-local next hop fe80::2 needs an interface, as in "ipv6 route 2001:db8:2::/48 INTERFACE fe80::2"`},
		{"route ipv4 next hop", "ipv6 route 2001:db8:2::/48 192.0.2.1", "1:28", `"192.0.2.1" is not an IPv6 address`},
		{"route interface ipv4 next hop", "ipv6 route 2001:db8:2::/48 eth0 192.0.2.1", "1:33", `"192.0.2.1" is not an IPv6 address`},
		{"route next hop zone", "ipv6 route 2001:db8:2::/48 fe80::2%eth0", "1:28", `zone in "fe80::2%eth0" is not accepted; name the interface before the next hop, as in "ipv6 route 2001:db8:2::/48 eth0 fe80::2"`},
		{"route interface next hop zone", "ipv6 route 2001:db8:2::/48 eth0 fe80::2%eth1", "1:33", `zone in "fe80::2%eth1" is not accepted: the interface before the next hop already says where it is`},
		{"destination zone", "interface Tunnel0\n tunnel destination fe80::2%eth0", "2:21", `zone "%eth0" in "fe80::2%eth0" is not accepted`},
		{"route multicast next hop", "ipv6 route 2001:db8:2::/48 ff02::2", "1:28", "invalid next hop ff02::2: it is a multicast address"},
		{"route unspecified next hop", "ipv6 route 2001:db8:2::/48 eth0 ::", "1:33", "invalid next hop ::: :: is the unspecified address"},
		{"route distance", "ipv6 route 2001:db8:2::/48 2001:db8::1 0", "1:40", "distance 0 out of range 1-255"},
		{"route missing next hop", "ipv6 route 2001:db8:2::/48", "1:6", `incomplete command: "ipv6 route" needs a next hop or an interface`},
		{"route missing tunnel", "ipv6 unicast-routing\nipv6 route 2001:db8:2::/48 Tunnel5", "2:28", "ipv6 route 2001:db8:2::/48: interface Tunnel5 is not configured"},
		{"route null", "ipv6 route 2001:db8:2::/48 Null0", "1:28", "Null interfaces (discard routes) are not supported"},
		{"ip route ipv6 next hop", "ip route 10.0.0.0 255.0.0.0 2001:db8::1", "1:29", `"2001:db8::1" is not an IPv4 address`},
		{"ip route interface ipv6 next hop", "ip route 10.0.0.0 255.0.0.0 eth0 2001:db8::1", "1:34", `"2001:db8::1" is not an IPv4 address`},
		{"route indented", "interface eth0\n ipv6 route ::/0 2001:db8::1", "2:2", `"ipv6 route" is a global command; it cannot be indented under "interface eth0"`},
		{"unicast-routing argument", "ipv6 unicast-routing now", "1:22", `unexpected argument "now" to "ipv6 unicast-routing"`},

		// crypto isakmp key for IPv6 peers.
		{"key ipv6 without length", "crypto isakmp key abc address ipv6 2001:db8::2", "1:36", `"2001:db8::2" needs a prefix length, as in 2001:db8::2/128`},
		{"key ipv6 host bits", "crypto isakmp key abc address ipv6 2001:db8::2/32", "1:36", "peer 2001:db8::2/32 has host bits set; did you mean 2001:db8::/32?"},
		{"key ipv6 ipv4 prefix", "crypto isakmp key abc address ipv6 10.0.0.0/8", "1:36", `"10.0.0.0/8" is not an IPv6 prefix`},
		{"key ipv6 missing", "crypto isakmp key abc address ipv6", "1:15", `incomplete command: "crypto isakmp key" needs an IPv6 PREFIX/LENGTH (::/0 for any peer)`},
		{"key ipv6 multicast", "crypto isakmp key abc address ipv6 ff02::1/128", "1:36", "invalid peer address ff02::1: it is a multicast address"},
		{"key ipv6 address without keyword", "crypto isakmp key abc address 2001:db8::2", "1:31", `"2001:db8::2" is not an IPv4 address; write IPv6 peers as "address ipv6 PREFIX/LENGTH"`},
		{"key by ipv6", "crypto isakmp key abc ipv6 ::/0", "1:23", `write IPv6 peers as "address ipv6 PREFIX/LENGTH"`},
		{"key ipv6 extra", "crypto isakmp key abc address ipv6 ::/0 ::/0", "1:41", `unexpected argument "::/0" to "crypto isakmp key"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, diags := Parse("t.conf", []byte(tt.src), Options{})
			if c != nil {
				t.Errorf("got a Config despite errors")
			}
			if !hasDiag(diags, Error, tt.pos, tt.msg) {
				t.Errorf("want error t.conf:%s: ...%s...; got:\n%s", tt.pos, tt.msg, diags)
			}
		})
	}
}

func TestIPv6Warnings(t *testing.T) {
	tests := []struct {
		name string
		src  string
		pos  string
		msg  string
	}{
		{"no unicast-routing, route into tunnel", "interface Tunnel0\n shutdown\nipv6 route 2001:db8:2::/48 Tunnel0\nipv6 route 2001:db8:3::/48 Tunnel0", "3:1",
			`ipv6 route 2001:db8:2::/48 through Tunnel0 without "ipv6 unicast-routing": as on IOS, this router then forwards no IPv6, so only its own traffic uses the route; add "ipv6 unicast-routing"`},
		{"no unicast-routing, next hop in tunnel", "interface Tunnel0\n shutdown\n ipv6 address 2001:db8:ff::1/64\nipv6 route 2001:db8:2::/48 2001:db8:ff::2 5", "4:1",
			"ipv6 route 2001:db8:2::/48 through Tunnel0 without"},
		{"ipv6 mtu above ip mtu", "interface Tunnel0\n shutdown\n ip mtu 1400\n ipv6 mtu 1450", "4:11",
			"Tunnel0: ipv6 mtu 1450 is larger than ip mtu 1400, though the tunnel adds the same overhead to IPv4 and IPv6; IPv6 packets get at most 1400"},
		{"ip mtu below ipv6 minimum", "interface Tunnel0\n shutdown\n ip mtu 1200\n ipv6 enable", "3:9",
			"Tunnel0: ip mtu 1200 is below 1280, the smallest MTU IPv6 allows (RFC 8200): IPv6 will not run on this tunnel"},
		{"loopback source without ipv6", "interface Loopback0\ninterface Tunnel0\n tunnel mode gre ipv6\n tunnel source Loopback0\n tunnel destination 2001:db8::2", "4:16",
			"Tunnel0: tunnel source Loopback0 has no ipv6 address; the tunnel stays down until it has one"},
		{"loopback source with only ipv4", "interface Loopback0\n ip address 192.0.2.1 255.255.255.255\ninterface Tunnel0\n tunnel mode gre ipv6\n tunnel source Loopback0\n tunnel destination 2001:db8::2", "5:16",
			"Tunnel0: tunnel source Loopback0 has no ipv6 address, only an IPv4 one, and tunnel mode gre ipv6 runs over IPv6"},
		{"loopback source with only ipv6", "interface Loopback0\n ipv6 address 2001:db8::1/128\ninterface Tunnel0\n tunnel source Loopback0\n tunnel destination 192.0.2.2", "4:16",
			`Tunnel0: tunnel source Loopback0 has no ip address, only IPv6 ones, and tunnel mode gre ip runs over IPv4; the tunnel stays down until it has one (or add "tunnel mode gre ipv6")`},
		{"recursion advice", "ipv6 route 2001:db8:ffff::/48 2001:db8:0:1::2\ninterface Tunnel0\n tunnel mode gre ipv6\n tunnel source 2001:db8:0:1::1\n tunnel destination 2001:db8:ffff::2", "5:21",
			`Tunnel0: destination 2001:db8:ffff::2 is reached only through 2001:db8:ffff::/48 (less specific than /128); a route learned over the tunnel could make it recursive: add "ipv6 route 2001:db8:ffff::2/128 2001:db8:0:1::2"`},
		{"recursion advice link-local", "ipv6 route ::/0 eth0 fe80::1\ninterface Tunnel0\n tunnel mode gre ipv6\n tunnel source 2001:db8:0:1::1\n tunnel destination 2001:db8:ffff::2", "5:21",
			`add "ipv6 route 2001:db8:ffff::2/128 eth0 fe80::1"`},
		{"recursive through itself", "interface Tunnel0\n ipv6 address 2001:db8:ff::1/64\n tunnel mode gre ipv6\n tunnel source 2001:db8:0:1::1\n tunnel destination 2001:db8:ff::2", "5:21",
			"routed through Tunnel0 itself (2001:db8:ff::/64): recursive routing"},
		{"duplicate address", "interface eth0\n ipv6 address 2001:db8::1/64\n ipv6 address 2001:DB8::1/64", "3:15", "duplicate of the ipv6 address at line 2; ignored"},
		{"no address removes nothing", "interface eth0\n no ipv6 address 2001:db8::1/64", "2:18", "nothing to remove: ipv6 address 2001:db8::1/64 on eth0 is not configured"},
		{"no address wrong length", "interface eth0\n ipv6 address 2001:db8::1/64\n no ipv6 address 2001:db8::1/48", "3:18", "nothing to remove: ipv6 address 2001:db8::1/48"},
		{"no link-local removes nothing", "interface eth0\n ipv6 address fe80::1 link-local\n no ipv6 address fe80::2 link-local", "3:18", "nothing to remove: link-local address fe80::2 on eth0 is not configured"},
		{"duplicate route", "ipv6 route ::/0 2001:db8::1\nipv6 route ::/0 2001:db8::1", "2:1", "duplicate of the route at line 1; ignored"},
		{"distance changed", "ipv6 route ::/0 2001:db8::1\nipv6 route ::/0 2001:db8::1 9", "2:1", "changes the distance of the route at line 1 from 1 to 9"},
		{"no route removes nothing", "no ipv6 route ::/0 2001:db8::1", "1:15", "nothing to remove"},
		{"key replaced", "crypto isakmp key a address ipv6 ::/0\ncrypto isakmp key b address ipv6 ::/0", "2:34", "replaces the key for ipv6 ::/0 at line 1"},
		{"no key removes nothing", "no crypto isakmp key a address ipv6 ::/0", "1:37", "nothing to remove: a crypto isakmp key for ipv6 ::/0 is not configured"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, diags := Parse("t.conf", []byte(tt.src), Options{})
			if c == nil {
				t.Fatalf("no Config; diagnostics:\n%s", diags)
			}
			if !hasDiag(diags, Warning, tt.pos, tt.msg) {
				t.Errorf("want warning t.conf:%s: ...%s...; got:\n%s", tt.pos, tt.msg, diags)
			}
		})
	}
}

// TestUnicastRoutingWarning checks when the missing `ipv6 unicast-routing`
// is worth a word: routes into a tunnel, not the underlay route that only
// carries the router's own GRE packets, and only once.
func TestUnicastRoutingWarning(t *testing.T) {
	src := string(readFile(t, underlayFile))
	without := strings.Replace(src, "ipv6 unicast-routing\n", "", 1)
	_, diags := Parse("t.conf", []byte(without), Options{})
	if len(diags) != 1 || !strings.Contains(diags[0].Msg, "ipv6 route 2001:db8:2::/48 through Tunnel0 without") {
		t.Errorf("want one warning, for the route into the tunnel; got:\n%s", diags)
	}
	underlayOnly := strings.Replace(without, "ipv6 route 2001:db8:2::/48 Tunnel0\n", "", 1)
	if _, diags := Parse("t.conf", []byte(underlayOnly), Options{}); len(diags) != 0 {
		t.Errorf("the underlay route needs no forwarding; got:\n%s", diags)
	}
	twice := "interface Tunnel0\n shutdown\nipv6 route 2001:db8:2::/48 Tunnel0\nipv6 route 2001:db8:3::/48 Tunnel0\n"
	if _, diags := Parse("t.conf", []byte(twice), Options{}); len(diags) != 1 {
		t.Errorf("want the advice once; got:\n%s", diags)
	}
}

func TestFormatIPv6(t *testing.T) {
	c, _ := Parse(underlayFile, readFile(t, underlayFile), Options{})
	want := `hostname left
!
ipv6 unicast-routing
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
interface Loopback0
 no ip address
 ipv6 address 2001:db8:ffff::1/128
!
interface Tunnel0
 ip address 10.255.0.1 255.255.255.252
 ipv6 address 2001:db8:ff::1/64
 tunnel source Loopback0
 tunnel destination 2001:db8:ffff::2
 tunnel mode gre ipv6
 tunnel protection ipsec profile TUNNEL
!
ip route 10.2.0.0 255.255.0.0 Tunnel0
ipv6 route 2001:db8:ffff::2/128 2001:db8:0:1::2
ipv6 route 2001:db8:2::/48 Tunnel0
!
end
`
	if got := c.Format(FormatOptions{}); got != want {
		t.Errorf("Format =\n%s\nwant\n%s", got, want)
	}
	masked := c.Format(FormatOptions{MaskKeys: true})
	if strings.Contains(masked, "SecretPassword12") || !strings.Contains(masked, "crypto isakmp key ***** address ipv6 ::/0\n") {
		t.Errorf("masked Format =\n%s", masked)
	}

	c = mustParse(t, "interface eth0\n ipv6 enable\n ipv6 address 2001:db8:1::/64 eui-64\n ipv6 address FE80::1 link-local\n ipv6 address 2001:db8:2::1/64\n shutdown\n"+
		"interface Tunnel0\n shutdown\n ipv6 tcp adjust-mss 1300\n ipv6 mtu 1300\n"+
		"ipv6 route 2001:db8:9::/48 eth0 fe80::9 3\n")
	want = `interface eth0
 no ip address
 ipv6 address fe80::1 link-local
 ipv6 address 2001:db8:1::/64 eui-64
 ipv6 address 2001:db8:2::1/64
 ipv6 enable
 shutdown
!
interface Tunnel0
 no ip address
 ipv6 mtu 1300
 ipv6 tcp adjust-mss 1300
 shutdown
!
ipv6 route 2001:db8:9::/48 eth0 fe80::9 3
!
end
`
	if got := c.Format(FormatOptions{}); got != want {
		t.Errorf("Format =\n%s\nwant\n%s", got, want)
	}
}

func TestIPv6RoundTrip(t *testing.T) {
	for _, file := range []string{overlayFile, underlayFile} {
		t.Run(file, func(t *testing.T) {
			c, diags := Parse(file, readFile(t, file), Options{})
			if len(diags) > 0 {
				t.Fatalf("diagnostics:\n%s", diags)
			}
			text := checkRoundTrip(t, c)
			again, _ := Parse(file, []byte(text), Options{})
			if again.Format(FormatOptions{}) != text {
				t.Errorf("Format is not idempotent")
			}
		})
	}
}

func TestKeyForIPv6(t *testing.T) {
	c := mustParse(t, strings.Join([]string{
		"crypto isakmp key any4 address 0.0.0.0",
		"crypto isakmp key any6 address ipv6 ::/0",
		"crypto isakmp key net address ipv6 2001:db8::/32",
		"crypto isakmp key host address ipv6 2001:db8::2/128",
	}, "\n"))
	for peer, want := range map[string]string{
		"2001:db8::2":    "host",
		"2001:db8::3":    "net",
		"2001:db9::1":    "any6",
		"192.0.2.1":      "any4",
		"::ffff:1.2.3.4": "any4",
	} {
		k, ok := c.KeyFor(netip.MustParseAddr(peer))
		if !ok || k.Key != want {
			t.Errorf("KeyFor(%s) = %v, %v; want %s", peer, k, ok, want)
		}
	}
}

func TestTunnelModeNames(t *testing.T) {
	if ModeGREIPv6.String() != "gre ipv6" || ModeGREIP.String() != "gre ip" || TunnelMode(7).String() != "TunnelMode(7)" {
		t.Error("TunnelMode.String")
	}
	c := mustParse(t, "interface Tunnel0\n tunnel mode gre ipv6\n tunnel source 2001:db8::1\n tunnel destination 2001:db8::2\n keepalive 5 2\n tunnel recursion hold-down 1")
	if tc := c.Interface("Tunnel0").Tunnel; *tc.Keepalive != (Keepalive{5 * time.Second, 2}) || tc.RecursionHoldDown != time.Second {
		t.Errorf("tunnel = %+v", tc)
	}
}
