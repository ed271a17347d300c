package show

import (
	"bytes"
	"strings"
	"testing"

	"github.com/gresec/gresec/internal/api"
)

// TestCryptoViewsRenderSelectors: the API carries selectors and PFS as
// values; the views write them in IOS's layouts, whose field orders
// differ (ipsec sa: addr/mask/prot/port; crypto socket: addr/mask/port/prot).
func TestCryptoViewsRenderSelectors(t *testing.T) {
	var b bytes.Buffer
	IPsecSAs(&b, api.IPsecSAs{Tunnels: []api.IPsecTunnel{{
		Interface: "Tunnel0", LocalIdent: api.HostGRE("192.0.2.1"), RemoteIdent: api.HostGRE("192.0.2.2"), PFSGroup: 14,
	}}})
	Sockets(&b, api.CryptoSockets{Sockets: []api.CryptoSocket{{
		Interface: "Tunnel0", LocalIdent: api.HostGRE("192.0.2.1"), RemoteIdent: api.HostGRE("192.0.2.2"),
	}}})
	CryptoMaps(&b, api.CryptoMaps{Maps: []api.CryptoMap{{
		Tag: "Tunnel0-head-0", ACL: api.HostGRE("192.0.2.1"), ACLDest: api.HostGRE("192.0.2.2"),
	}}})
	out := b.String()
	for _, want := range []string{
		"   local  ident (addr/mask/prot/port): (192.0.2.1/255.255.255.255/47/0)\n",
		"   remote ident (addr/mask/prot/port): (192.0.2.2/255.255.255.255/47/0)\n",
		"     PFS (Y/N): Y, DH group: group14\n",
		"       Local Ident  (addr/mask/port/prot): (192.0.2.1/255.255.255.255/0/47)\n",
		"       Remote Ident (addr/mask/port/prot): (192.0.2.2/255.255.255.255/0/47)\n",
		"            access-list  permit gre host 192.0.2.1 host 192.0.2.2\n",
		"        PFS (Y/N): N\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
}

func TestIPv6Views(t *testing.T) {
	var b strings.Builder
	IPv6Brief(&b, api.Interfaces{Interfaces: []api.Interface{
		{Name: "Tunnel0", Status: "up", LineProtocol: "up", IPv6Enabled: true, IPv6Addresses: []string{"fe80::1/64", "2001:db8:ff::1/64"}},
		{Name: "eth0", Status: "administratively down", LineProtocol: "down"},
	}})
	want := "Tunnel0                [up/up]\n    FE80::1\n    2001:DB8:FF::1\n" +
		"eth0                   [administratively down/down]\n    unassigned\n"
	if b.String() != want {
		t.Errorf("show ipv6 interface brief:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	IPv6Routes(&b, api.RouteTable{Routes: []api.Route{
		{Code: "S", Prefix: "2001:db8:2::/48", Distance: 1, Nexthops: []api.Nexthop{{Interface: "Tunnel0"}}},
		{Code: "L", Prefix: "2001:db8:ff::1/128", Receive: true, Nexthops: []api.Nexthop{{Interface: "Tunnel0"}}},
		{Code: "S", Prefix: "::/0", Distance: 1, Nexthops: []api.Nexthop{{Gateway: "2001:db8:0:1::2", Interface: "eth0"}}},
	}})
	for _, line := range []string{
		"IPv6 Routing Table - default - 3 entries",
		"S   2001:DB8:2::/48 [1/0]\n     via Tunnel0, directly connected\n",
		"L   2001:DB8:FF::1/128 [0/0]\n     via Tunnel0, receive\n",
		"S   ::/0 [1/0]\n     via 2001:DB8:0:1::2, eth0\n",
	} {
		if !strings.Contains(b.String(), line) {
			t.Errorf("show ipv6 route lacks %q:\n%s", line, b.String())
		}
	}
}

// TestISAKMPSAsIPv6: SAs with IPv6 peers go in IOS's IPv6 section, one
// address a line; IPv4 ones stay in their columns.
func TestISAKMPSAsIPv6(t *testing.T) {
	sas := api.ISAKMPSAs{SAs: []api.ISAKMPSA{
		{Dst: "192.0.2.2", Src: "192.0.2.1", State: "QM_IDLE", ConnID: 1, Status: "ACTIVE", Local: "192.0.2.1", Remote: "192.0.2.2"},
		{Dst: "2001:db8:ffff::2", Src: "2001:db8:ffff::1", State: "QM_IDLE", ConnID: 2, Status: "ACTIVE",
			Local: "2001:db8:ffff::1", Remote: "2001:db8:ffff::2", Cipher: "aes", KeyBits: 256, Hash: "sha256", Auth: "psk", Group: 19, DPD: true},
	}}
	var b strings.Builder
	ISAKMPSAs(&b, sas)
	for _, want := range []string{
		"IPv4 Crypto ISAKMP SA\n",
		"192.0.2.2       192.0.2.1       QM_IDLE              1 ACTIVE\n",
		"IPv6 Crypto ISAKMP SA\n\n dst: 2001:DB8:FFFF::2\n src: 2001:DB8:FFFF::1\n state: QM_IDLE        conn-id:      2 status: ACTIVE\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("show crypto isakmp sa lacks %q:\n%s", want, b.String())
		}
	}
	b.Reset()
	ISAKMPSAsDetail(&b, sas)
	if !strings.Contains(b.String(), "IPv6 Crypto ISAKMP SA\n") || !strings.Contains(b.String(), "      Local 2001:DB8:FFFF::1\n      Remote 2001:DB8:FFFF::2\n") {
		t.Errorf("show crypto isakmp sa detail:\n%s", b.String())
	}
}
