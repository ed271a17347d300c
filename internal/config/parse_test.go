package config

import (
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// mustParse parses src and fails the test on any diagnostic, warnings
// included (the snippets are meant to be clean), but the advice about
// short pre-shared keys (the tests' keys are short on purpose; TestWarnings
// covers that advice).
func mustParse(t *testing.T, src string) *Config {
	t.Helper()
	c, diags := Parse("t.conf", []byte(src), Options{})
	diags = slices.DeleteFunc(diags, func(d Diagnostic) bool {
		return d.Severity == Warning && strings.HasPrefix(d.Msg, "pre-shared key of ")
	})
	if len(diags) > 0 || c == nil {
		t.Fatalf("Parse:\n%s\nsource:\n%s", diags, src)
	}
	return c
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestReferenceConfig(t *testing.T) {
	c, diags := Parse("reference.conf", readFile(t, "testdata/reference.conf"), Options{
		InterfaceExists: func(string) bool { return false }, // no physical interfaces referenced
	})
	if len(diags) > 0 {
		t.Fatalf("diagnostics:\n%s", diags)
	}
	if c.Hostname != "left" {
		t.Errorf("Hostname = %q", c.Hostname)
	}
	if len(c.Interfaces) != 2 {
		t.Fatalf("%d interfaces, want 2", len(c.Interfaces))
	}
	lo, tu := c.Interfaces[0], c.Interfaces[1]
	if lo.Name != "Loopback0" || lo.Kind != Loopback || lo.Address != netip.MustParsePrefix("192.0.2.1/32") || lo.Tunnel != nil {
		t.Errorf("Loopback0 = %+v", lo)
	}
	if lo.Pos != (Pos{3, 1}) {
		t.Errorf("Loopback0 Pos = %v", lo.Pos)
	}
	if tu.Name != "Tunnel0" || tu.Kind != Tunnel || tu.Shutdown || tu.Address != netip.MustParsePrefix("10.255.0.1/30") {
		t.Errorf("Tunnel0 = %+v", tu)
	}
	want := TunnelConfig{
		IPMTU:             1400,
		AdjustMSS:         1360,
		SourceInterface:   "Loopback0",
		Destination:       netip.MustParseAddr("192.0.2.2"),
		Mode:              ModeGREIP,
		ProtectionProfile: "TUNNEL",
		Keepalive:         &Keepalive{Period: 10 * time.Second, Retries: 3},
		RecursionHoldDown: 60 * time.Second,
	}
	if got := *tu.Tunnel; got.IPMTU != want.IPMTU || got.AdjustMSS != want.AdjustMSS ||
		got.SourceInterface != want.SourceInterface || got.SourceAddr.IsValid() ||
		got.Destination != want.Destination || got.Mode != want.Mode || got.HasKey ||
		got.Sequence || got.Checksum || got.ProtectionProfile != want.ProtectionProfile ||
		*got.Keepalive != *want.Keepalive || got.RouteVia != nil || got.RecursionHoldDown != want.RecursionHoldDown {
		t.Errorf("Tunnel0.Tunnel = %+v, want %+v", got, want)
	}

	if len(c.ISAKMPPolicies) != 1 {
		t.Fatalf("%d policies", len(c.ISAKMPPolicies))
	}
	pol := *c.ISAKMPPolicies[0]
	if (pol != ISAKMPPolicy{Priority: 10, EncryptionBits: 256, Hash: HashSHA256, Group: 19, Lifetime: 86400 * time.Second, Pos: Pos{6, 1}}) {
		t.Errorf("policy = %+v", pol)
	}
	if len(c.ISAKMPKeys) != 1 || c.ISAKMPKeys[0].Key != "SecretPassword12" || c.ISAKMPKeys[0].Peer != netip.MustParsePrefix("0.0.0.0/0") {
		t.Errorf("keys = %+v", c.ISAKMPKeys)
	}
	if c.DPD == nil || *c.DPD != (DPD{Interval: 10 * time.Second, Retry: 2 * time.Second, Periodic: true}) {
		t.Errorf("DPD = %+v", c.DPD)
	}
	if c.NATKeepalive != 0 || c.ForceUDPEncap || c.ReplayWindow != 64 {
		t.Errorf("NATKeepalive %v ForceUDPEncap %v ReplayWindow %d", c.NATKeepalive, c.ForceUDPEncap, c.ReplayWindow)
	}
	if len(c.TransformSets) != 1 || *c.TransformSets[0] != (TransformSet{Name: "TRANSFORM", Cipher: ESPAESCBC, KeyBits: 256, Integrity: IntegritySHA384, Mode: ModeTransport, Pos: Pos{14, 1}}) {
		t.Errorf("transform sets = %+v", c.TransformSets[0])
	}
	if len(c.Profiles) != 1 {
		t.Fatalf("%d profiles", len(c.Profiles))
	}
	pr := c.Profiles[0]
	if pr.Name != "TUNNEL" || len(pr.TransformSets) != 1 || pr.TransformSets[0] != "TRANSFORM" || pr.PFS != 0 ||
		pr.LifetimeSeconds != time.Hour || pr.LifetimeKilobytes != 4608000 {
		t.Errorf("profile = %+v", pr)
	}
	wantRoutes := []StaticRoute{
		{Prefix: netip.MustParsePrefix("192.0.2.2/32"), NextHop: netip.MustParseAddr("198.51.100.254"), Distance: 1, Pos: Pos{29, 1}},
		{Prefix: netip.MustParsePrefix("10.2.0.0/16"), Interface: "Tunnel0", Distance: 1, Pos: Pos{30, 1}},
	}
	if len(c.Routes) != len(wantRoutes) {
		t.Fatalf("routes = %+v", c.Routes)
	}
	for i, r := range c.Routes {
		if *r != wantRoutes[i] {
			t.Errorf("route %d = %+v, want %+v", i, *r, wantRoutes[i])
		}
	}
	if k, ok := c.KeyFor(netip.MustParseAddr("192.0.2.2")); !ok || k.Key != "SecretPassword12" {
		t.Errorf("KeyFor(192.0.2.2) = %v, %v", k, ok)
	}
}

// TestStatements has one case per statement of the catalogue (and its
// negation), each checking the typed value it produces.
func TestStatements(t *testing.T) {
	const tunnel = "interface Loopback0\n ip address 192.0.2.1 255.255.255.255\ninterface Tunnel0\n tunnel source Loopback0\n tunnel destination 192.0.2.2\n"
	tun := func(c *Config) *TunnelConfig { return c.Interface("Tunnel0").Tunnel }
	tests := []struct {
		name  string
		src   string
		check func(c *Config) bool
	}{
		{"hostname", "hostname r1", func(c *Config) bool { return c.Hostname == "r1" }},
		{"no hostname", "hostname r1\nno hostname", func(c *Config) bool { return c.Hostname == "" }},

		{"policy defaults", "crypto isakmp policy 5", func(c *Config) bool {
			return *c.ISAKMPPolicies[0] == ISAKMPPolicy{Priority: 5, EncryptionBits: 128, Hash: HashSHA1, Group: 14, Lifetime: 86400 * time.Second, Pos: Pos{1, 1}}
		}},
		{"encr aes", "crypto isakmp policy 5\n encr aes 256\n encr aes", func(c *Config) bool { return c.ISAKMPPolicies[0].EncryptionBits == 128 }},
		{"encryption aes 192", "crypto isakmp policy 5\n encryption aes 192", func(c *Config) bool { return c.ISAKMPPolicies[0].EncryptionBits == 192 }},
		{"no encr", "crypto isakmp policy 5\n encr aes 256\n no encr", func(c *Config) bool { return c.ISAKMPPolicies[0].EncryptionBits == 128 }},
		{"hash sha", "crypto isakmp policy 5\n hash sha512\n hash sha", func(c *Config) bool { return c.ISAKMPPolicies[0].Hash == HashSHA1 }},
		{"hash sha384", "crypto isakmp policy 5\n hash sha384", func(c *Config) bool { return c.ISAKMPPolicies[0].Hash == HashSHA384 }},
		{"no hash", "crypto isakmp policy 5\n hash sha384\n no hash", func(c *Config) bool { return c.ISAKMPPolicies[0].Hash == HashSHA1 }},
		{"authentication", "crypto isakmp policy 5\n authentication pre-share\n no authentication", func(c *Config) bool { return len(c.ISAKMPPolicies) == 1 }},
		{"group 19", "crypto isakmp policy 5\n group 19", func(c *Config) bool { return c.ISAKMPPolicies[0].Group == 19 }},
		{"group 16", "crypto isakmp policy 5\n group 16", func(c *Config) bool { return c.ISAKMPPolicies[0].Group == 16 }},
		{"no group", "crypto isakmp policy 5\n group 21\n no group", func(c *Config) bool { return c.ISAKMPPolicies[0].Group == 14 }},
		{"lifetime", "crypto isakmp policy 5\n lifetime 60", func(c *Config) bool { return c.ISAKMPPolicies[0].Lifetime == time.Minute }},
		{"no lifetime", "crypto isakmp policy 5\n lifetime 60\n no lifetime", func(c *Config) bool { return c.ISAKMPPolicies[0].Lifetime == 24*time.Hour }},
		{"policies sorted", "crypto isakmp policy 30\ncrypto isakmp policy 10\ncrypto isakmp policy 20", func(c *Config) bool {
			return c.ISAKMPPolicies[0].Priority == 10 && c.ISAKMPPolicies[1].Priority == 20 && c.ISAKMPPolicies[2].Priority == 30
		}},
		{"no policy", "crypto isakmp policy 30\ncrypto isakmp policy 10\nno crypto isakmp policy 30", func(c *Config) bool {
			return len(c.ISAKMPPolicies) == 1 && c.ISAKMPPolicies[0].Priority == 10
		}},

		{"key host", "crypto isakmp key abc address 192.0.2.2", func(c *Config) bool {
			return c.ISAKMPKeys[0].Key == "abc" && c.ISAKMPKeys[0].Peer == netip.MustParsePrefix("192.0.2.2/32")
		}},
		{"key wildcard", "crypto isakmp key abc address 0.0.0.0", func(c *Config) bool { return c.ISAKMPKeys[0].Peer.Bits() == 0 }},
		{"key wildcard mask", "crypto isakmp key abc address 0.0.0.0 0.0.0.0", func(c *Config) bool { return c.ISAKMPKeys[0].Peer.Bits() == 0 }},
		{"key subnet", "crypto isakmp key abc address 10.1.0.0 255.255.0.0", func(c *Config) bool {
			return c.ISAKMPKeys[0].Peer == netip.MustParsePrefix("10.1.0.0/16")
		}},
		{"key type 0", "crypto isakmp key 0 abc address 192.0.2.2", func(c *Config) bool { return c.ISAKMPKeys[0].Key == "abc" }},
		{"key literally 0", "crypto isakmp key 0 address 192.0.2.2", func(c *Config) bool { return c.ISAKMPKeys[0].Key == "0" }},
		{"key no-xauth", "crypto isakmp key abc address 192.0.2.2 no-xauth", func(c *Config) bool { return c.ISAKMPKeys[0].Key == "abc" }},
		{"no key", "crypto isakmp key abc address 192.0.2.2\ncrypto isakmp key def address 0.0.0.0\nno crypto isakmp key abc address 192.0.2.2", func(c *Config) bool {
			return len(c.ISAKMPKeys) == 1 && c.ISAKMPKeys[0].Key == "def"
		}},

		{"dpd defaults", "crypto isakmp keepalive 10", func(c *Config) bool {
			return *c.DPD == DPD{Interval: 10 * time.Second, Retry: 2 * time.Second}
		}},
		{"dpd full", "crypto isakmp keepalive 3600 60 periodic", func(c *Config) bool {
			return *c.DPD == DPD{Interval: time.Hour, Retry: time.Minute, Periodic: true}
		}},
		{"dpd on-demand", "crypto isakmp keepalive 20 on-demand", func(c *Config) bool { return !c.DPD.Periodic && c.DPD.Interval == 20*time.Second }},
		{"no dpd", "crypto isakmp keepalive 20\nno crypto isakmp keepalive", func(c *Config) bool { return c.DPD == nil }},
		{"nat keepalive", "crypto isakmp nat keepalive 5", func(c *Config) bool { return c.NATKeepalive == 5*time.Second }},
		{"no nat keepalive", "crypto isakmp nat keepalive 5\nno crypto isakmp nat keepalive", func(c *Config) bool { return c.NATKeepalive == 0 }},
		{"force-encap", "crypto isakmp nat force-encap", func(c *Config) bool { return c.ForceUDPEncap }},
		{"no force-encap", "crypto isakmp nat force-encap\nno crypto isakmp nat force-encap", func(c *Config) bool { return !c.ForceUDPEncap }},

		{"transform-set aes default bits", "crypto ipsec transform-set T esp-aes esp-sha-hmac", func(c *Config) bool {
			return *c.TransformSets[0] == TransformSet{Name: "T", Cipher: ESPAESCBC, KeyBits: 128, Integrity: IntegritySHA1, Mode: ModeTunnel, Pos: Pos{1, 1}}
		}},
		{"transform-set any order", "crypto ipsec transform-set T esp-sha512-hmac esp-aes 192", func(c *Config) bool {
			ts := c.TransformSets[0]
			return ts.Cipher == ESPAESCBC && ts.KeyBits == 192 && ts.Integrity == IntegritySHA512
		}},
		{"transform-set sha256", "crypto ipsec transform-set T esp-aes 256 esp-sha256-hmac", func(c *Config) bool {
			return c.TransformSets[0].Integrity == IntegritySHA256 && c.TransformSets[0].KeyBits == 256
		}},
		{"transform-set gcm", "crypto ipsec transform-set T esp-gcm", func(c *Config) bool {
			ts := c.TransformSets[0]
			return ts.Cipher == ESPAESGCM && ts.KeyBits == 128 && ts.Integrity == IntegrityNone
		}},
		{"transform-set gcm 256", "crypto ipsec transform-set T esp-gcm 256", func(c *Config) bool { return c.TransformSets[0].KeyBits == 256 }},
		{"mode transport", "crypto ipsec transform-set T esp-gcm\n mode transport", func(c *Config) bool { return c.TransformSets[0].Mode == ModeTransport }},
		{"mode tunnel", "crypto ipsec transform-set T esp-gcm\n mode transport\n mode tunnel", func(c *Config) bool { return c.TransformSets[0].Mode == ModeTunnel }},
		{"no mode", "crypto ipsec transform-set T esp-gcm\n mode transport\n no mode", func(c *Config) bool { return c.TransformSets[0].Mode == ModeTunnel }},
		{"no transform-set", "crypto ipsec transform-set T esp-gcm\nno crypto ipsec transform-set T", func(c *Config) bool { return c.TransformSets == nil }},

		{"profile defaults", "crypto ipsec profile P", func(c *Config) bool {
			p := c.Profiles[0]
			return p.Name == "P" && p.TransformSets == nil && p.PFS == 0 && p.LifetimeSeconds == time.Hour && p.LifetimeKilobytes == 4608000
		}},
		{"set transform-set", "crypto ipsec transform-set A esp-gcm\ncrypto ipsec transform-set B esp-gcm 256\ncrypto ipsec profile P\n set transform-set B A", func(c *Config) bool {
			ts := c.Profiles[0].TransformSets
			return len(ts) == 2 && ts[0] == "B" && ts[1] == "A"
		}},
		{"no set transform-set", "crypto ipsec transform-set A esp-gcm\ncrypto ipsec profile P\n set transform-set A\n no set transform-set", func(c *Config) bool {
			return c.Profiles[0].TransformSets == nil
		}},
		{"set pfs", "crypto ipsec profile P\n set pfs group21", func(c *Config) bool { return c.Profiles[0].PFS == 21 }},
		{"set pfs group15", "crypto ipsec profile P\n set pfs GROUP15", func(c *Config) bool { return c.Profiles[0].PFS == 15 }},
		{"no set pfs", "crypto ipsec profile P\n set pfs group14\n no set pfs", func(c *Config) bool { return c.Profiles[0].PFS == 0 }},
		{"lifetime seconds", "crypto ipsec profile P\n set security-association lifetime seconds 120", func(c *Config) bool {
			return c.Profiles[0].LifetimeSeconds == 2*time.Minute
		}},
		{"lifetime kilobytes", "crypto ipsec profile P\n set security-association lifetime kilobytes 4294967295", func(c *Config) bool {
			return c.Profiles[0].LifetimeKilobytes == 4294967295
		}},
		{"no lifetimes", "crypto ipsec profile P\n set security-association lifetime seconds 120\n set security-association lifetime kilobytes 2560\n no set security-association lifetime seconds\n no set security-association lifetime kilobytes", func(c *Config) bool {
			return c.Profiles[0].LifetimeSeconds == time.Hour && c.Profiles[0].LifetimeKilobytes == 4608000
		}},
		{"profile re-entered", "crypto ipsec profile P\n set pfs group19\ncrypto ipsec profile P\n set security-association lifetime seconds 600", func(c *Config) bool {
			return len(c.Profiles) == 1 && c.Profiles[0].PFS == 19 && c.Profiles[0].LifetimeSeconds == 10*time.Minute
		}},
		{"no profile", "crypto ipsec profile P\nno crypto ipsec profile P", func(c *Config) bool { return c.Profiles == nil }},

		{"replay window", "crypto ipsec security-association replay window-size 512", func(c *Config) bool { return c.ReplayWindow == 512 }},
		{"no replay window", "crypto ipsec security-association replay window-size 512\nno crypto ipsec security-association replay window-size", func(c *Config) bool {
			return c.ReplayWindow == 64
		}},
		{"no replay disable", "no crypto ipsec security-association replay disable", func(c *Config) bool { return c.ReplayWindow == 64 }},

		{"route next hop", "ip route 10.0.0.0 255.0.0.0 192.0.2.254", func(c *Config) bool {
			return *c.Routes[0] == StaticRoute{Prefix: netip.MustParsePrefix("10.0.0.0/8"), NextHop: netip.MustParseAddr("192.0.2.254"), Distance: 1, Pos: Pos{1, 1}}
		}},
		{"route next hop distance", "ip route 10.0.0.0 255.0.0.0 192.0.2.254 250", func(c *Config) bool { return c.Routes[0].Distance == 250 }},
		{"route interface", "interface Tunnel0\n shutdown\nip route 10.0.0.0 255.0.0.0 Tunnel0", func(c *Config) bool {
			return c.Routes[0].Interface == "Tunnel0" && !c.Routes[0].NextHop.IsValid()
		}},
		{"route interface next hop distance", "ip route 10.0.0.0 255.0.0.0 eth0 192.0.2.254 5", func(c *Config) bool {
			r := c.Routes[0]
			return r.Interface == "eth0" && r.NextHop == netip.MustParseAddr("192.0.2.254") && r.Distance == 5
		}},
		{"route interface distance", "interface Tunnel0\n shutdown\nip route 10.0.0.0 255.0.0.0 Tunnel0 7", func(c *Config) bool {
			return c.Routes[0].Interface == "Tunnel0" && c.Routes[0].Distance == 7
		}},
		{"route default", "ip route 0.0.0.0 0.0.0.0 192.0.2.254", func(c *Config) bool { return c.Routes[0].Prefix.Bits() == 0 }},
		{"ecmp", "ip route 10.0.0.0 255.0.0.0 192.0.2.254\nip route 10.0.0.0 255.0.0.0 192.0.2.253", func(c *Config) bool { return len(c.Routes) == 2 }},
		{"floating static", "ip route 10.0.0.0 255.0.0.0 192.0.2.254\nip route 10.0.0.0 255.0.0.0 192.0.2.253 200", func(c *Config) bool {
			return len(c.Routes) == 2 && c.Routes[1].Distance == 200
		}},
		{"no ip route", "ip route 10.0.0.0 255.0.0.0 192.0.2.254\nip route 10.0.0.0 255.0.0.0 192.0.2.253\nno ip route 10.0.0.0 255.0.0.0 192.0.2.254", func(c *Config) bool {
			return len(c.Routes) == 1 && c.Routes[0].NextHop == netip.MustParseAddr("192.0.2.253")
		}},
		{"no ip route prefix", "ip route 10.0.0.0 255.0.0.0 192.0.2.254\nip route 10.0.0.0 255.0.0.0 192.0.2.253\nno ip route 10.0.0.0 255.0.0.0", func(c *Config) bool {
			return c.Routes == nil
		}},

		{"physical interface", "interface veth-l\n ip address 198.51.100.1 255.255.255.0", func(c *Config) bool {
			i := c.Interfaces[0]
			return i.Name == "veth-l" && i.Kind == Physical && i.Tunnel == nil && i.Address == netip.MustParsePrefix("198.51.100.1/24")
		}},
		{"linux lo is physical", "interface lo", func(c *Config) bool { return c.Interfaces[0].Name == "lo" && c.Interfaces[0].Kind == Physical }},
		{"loopback", "interface Loopback7\n ip address 10.0.0.0 255.255.255.0", func(c *Config) bool {
			i := c.Interfaces[0]
			return i.Kind == Loopback && i.Name == "Loopback7" && i.Address == netip.MustParsePrefix("10.0.0.0/24")
		}},
		{"no ip address", "interface eth0\n ip address 198.51.100.1 255.255.255.0\n no ip address", func(c *Config) bool { return !c.Interfaces[0].Address.IsValid() }},
		{"slash 31", "interface eth0\n ip address 198.51.100.0 255.255.255.254", func(c *Config) bool { return c.Interfaces[0].Address.Bits() == 31 }},
		{"description", "interface eth0\n description  to  core1 !x  ", func(c *Config) bool { return c.Interfaces[0].Description == "to  core1 !x" }},
		{"no description", "interface eth0\n description x\n no description", func(c *Config) bool { return c.Interfaces[0].Description == "" }},
		{"shutdown", "interface eth0\n shutdown", func(c *Config) bool { return c.Interfaces[0].Shutdown }},
		{"no shutdown", "interface eth0\n shutdown\n no shutdown", func(c *Config) bool { return !c.Interfaces[0].Shutdown }},
		{"interface re-entered", "interface eth0\n description a\ninterface eth0\n shutdown", func(c *Config) bool {
			return len(c.Interfaces) == 1 && c.Interfaces[0].Description == "a" && c.Interfaces[0].Shutdown
		}},
		{"no interface", "interface Loopback1\ninterface eth0\nno interface Loopback1", func(c *Config) bool {
			return len(c.Interfaces) == 1 && c.Interfaces[0].Name == "eth0"
		}},

		{"tunnel defaults", tunnel, func(c *Config) bool {
			t := tun(c)
			return t.IPMTU == 0 && t.AdjustMSS == 0 && t.Mode == ModeGREIP && !t.HasKey && t.Keepalive == nil && t.RouteVia == nil && t.RecursionHoldDown == time.Minute
		}},
		{"ip mtu", tunnel + " ip mtu 576", func(c *Config) bool { return tun(c).IPMTU == 576 }},
		{"no ip mtu", tunnel + " ip mtu 9000\n no ip mtu", func(c *Config) bool { return tun(c).IPMTU == 0 }},
		{"adjust-mss", tunnel + " ip tcp adjust-mss 1460", func(c *Config) bool { return tun(c).AdjustMSS == 1460 }},
		{"no adjust-mss", tunnel + " ip tcp adjust-mss 500\n no ip tcp adjust-mss", func(c *Config) bool { return tun(c).AdjustMSS == 0 }},
		{"tunnel source ip", "interface Tunnel0\n tunnel source 192.0.2.1\n tunnel destination 192.0.2.2", func(c *Config) bool {
			return tun(c).SourceAddr == netip.MustParseAddr("192.0.2.1") && tun(c).SourceInterface == ""
		}},
		{"tunnel source replaced", tunnel + " tunnel source 192.0.2.1\n tunnel source Loopback0", func(c *Config) bool {
			return !tun(c).SourceAddr.IsValid() && tun(c).SourceInterface == "Loopback0"
		}},
		{"tunnel source physical", "interface Tunnel0\n tunnel source eth0\n tunnel destination 192.0.2.2", func(c *Config) bool { return tun(c).SourceInterface == "eth0" }},
		{"tunnel mode gre ip", tunnel + " tunnel mode gre ip", func(c *Config) bool { return tun(c).Mode == ModeGREIP }},
		{"tunnel key", tunnel + " tunnel key 4294967295", func(c *Config) bool { return tun(c).HasKey && tun(c).Key == 4294967295 }},
		{"tunnel key 0", tunnel + " tunnel key 0", func(c *Config) bool { return tun(c).HasKey && tun(c).Key == 0 }},
		{"no tunnel key", tunnel + " tunnel key 7\n no tunnel key", func(c *Config) bool { return !tun(c).HasKey }},
		{"sequence", tunnel + " tunnel sequence-datagrams", func(c *Config) bool { return tun(c).Sequence }},
		{"no sequence", tunnel + " tunnel sequence-datagrams\n no tunnel sequence-datagrams", func(c *Config) bool { return !tun(c).Sequence }},
		{"checksum", tunnel + " tunnel checksum", func(c *Config) bool { return tun(c).Checksum }},
		{"no checksum", tunnel + " tunnel checksum\n no tunnel checksum", func(c *Config) bool { return !tun(c).Checksum }},
		{"protection", "crypto isakmp policy 1\ncrypto isakmp key k address 192.0.2.2\ncrypto ipsec transform-set T esp-gcm\ncrypto ipsec profile P\n set transform-set T\n" + tunnel + " tunnel protection ipsec profile P", func(c *Config) bool {
			return tun(c).ProtectionProfile == "P"
		}},
		{"no protection", tunnel + " tunnel protection ipsec profile P\n no tunnel protection ipsec profile", func(c *Config) bool { return tun(c).ProtectionProfile == "" }},
		{"keepalive defaults", tunnel + " keepalive", func(c *Config) bool { return *tun(c).Keepalive == Keepalive{10 * time.Second, 3} }},
		{"keepalive period", tunnel + " keepalive 5", func(c *Config) bool { return *tun(c).Keepalive == Keepalive{5 * time.Second, 3} }},
		{"keepalive both", tunnel + " keepalive 32767 255", func(c *Config) bool { return *tun(c).Keepalive == Keepalive{32767 * time.Second, 255} }},
		{"no keepalive", tunnel + " keepalive\n no keepalive", func(c *Config) bool { return tun(c).Keepalive == nil }},
		{"route-via mandatory", tunnel + " tunnel route-via eth0 mandatory", func(c *Config) bool { return *tun(c).RouteVia == RouteVia{"eth0", true} }},
		{"route-via preferred", tunnel + " tunnel route-via eth1 preferred", func(c *Config) bool { return *tun(c).RouteVia == RouteVia{"eth1", false} }},
		{"no route-via", tunnel + " tunnel route-via eth1 preferred\n no tunnel route-via", func(c *Config) bool { return tun(c).RouteVia == nil }},
		{"hold-down", tunnel + " tunnel recursion hold-down 3600", func(c *Config) bool { return tun(c).RecursionHoldDown == time.Hour }},
		{"hold-down 0", tunnel + " tunnel recursion hold-down 0", func(c *Config) bool { return tun(c).RecursionHoldDown == 0 }},
		{"no hold-down", tunnel + " tunnel recursion hold-down 5\n no tunnel recursion hold-down", func(c *Config) bool { return tun(c).RecursionHoldDown == time.Minute }},
		{"no tunnel destination", tunnel + " shutdown\n no tunnel destination", func(c *Config) bool { return !tun(c).Destination.IsValid() }},
		{"no tunnel source", tunnel + " shutdown\n no tunnel source", func(c *Config) bool { return tun(c).SourceInterface == "" }},
		{"shut tunnel needs nothing", "interface Tunnel9\n shutdown", func(c *Config) bool { return c.Interfaces[0].Tunnel != nil }},

		{"exit leaves section", "interface eth0\n exit\nhostname r", func(c *Config) bool { return c.Hostname == "r" }},
		{"comments and blanks", "! top\n\n   ! indented comment\ninterface eth0\n!\n shutdown\n", func(c *Config) bool { return c.Interfaces[0].Shutdown }},
		{"crlf", "hostname r1\r\ninterface eth0\r\n shutdown\r\n", func(c *Config) bool { return c.Hostname == "r1" && c.Interfaces[0].Shutdown }},
		{"tabs", "interface eth0\n\tshutdown\n\tdescription\ta\tb", func(c *Config) bool { return c.Interfaces[0].Description == "a\tb" }},
		{"end stops", "hostname r1\nend", func(c *Config) bool { return c.Hostname == "r1" }},
		{"byte order mark", "\uFEFFhostname r1", func(c *Config) bool { return c.Hostname == "r1" }},
		{"empty file", "", func(c *Config) bool { return c.Interfaces == nil && c.ReplayWindow == 64 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustParse(t, tt.src)
			if !tt.check(c) {
				t.Errorf("unexpected result; formatted:\n%s", c.Format(FormatOptions{}))
			}
		})
	}
}

func TestAbbreviations(t *testing.T) {
	src := strings.Join([]string{
		"host r1",
		"int lo 0",
		" ip add 192.0.2.1 255.255.255.255",
		"INT TU0",
		" tun sou LOOPBACK0",
		" tun dest 192.0.2.2",
		" tun k 5",
		" ip tcp adj 1360",
		" kee",
		" sh",
		" desc Abbreviated",
		"cry isa pol 10",
		" enc aes 256",
		" ha sha2",
		" auth pre",
		" gr 19",
		"cry isa key secret add 0.0.0.0",
		"cry isa keep 10 peri",
		"cry ips trans T esp-a 256 esp-sha384",
		" mo trans",
		"cry ips prof P",
		" set trans T",
		" set p group19",
		"ip ro 10.0.0.0 255.0.0.0 tunnel 0",
	}, "\n")
	c := mustParse(t, src)
	lo, tu := c.Interface("Loopback0"), c.Interface("Tunnel0")
	if c.Hostname != "r1" || lo == nil || tu == nil {
		t.Fatalf("got %s", c.Format(FormatOptions{}))
	}
	tc := tu.Tunnel
	if tc.SourceInterface != "Loopback0" || !tc.HasKey || tc.Key != 5 || tc.AdjustMSS != 1360 || tc.Keepalive == nil || !tu.Shutdown || tu.Description != "Abbreviated" {
		t.Errorf("Tunnel0 = %+v %+v", tu, tc)
	}
	pol := c.ISAKMPPolicies[0]
	if pol.EncryptionBits != 256 || pol.Hash != HashSHA256 || pol.Group != 19 {
		t.Errorf("policy = %+v", pol)
	}
	if !c.DPD.Periodic || c.TransformSets[0].Integrity != IntegritySHA384 || c.TransformSets[0].Mode != ModeTransport || c.Profiles[0].PFS != 19 {
		t.Errorf("crypto = %s", c.Format(FormatOptions{}))
	}
	if c.Routes[0].Interface != "Tunnel0" {
		t.Errorf("route = %+v", c.Routes[0])
	}
}

func TestInterfaceNames(t *testing.T) {
	tests := []struct {
		in   string
		name string
		kind InterfaceKind
		err  string
	}{
		{"Tunnel0", "Tunnel0", Tunnel, ""},
		{"tunnel0", "Tunnel0", Tunnel, ""},
		{"Tunnel 0", "Tunnel0", Tunnel, ""},
		{"Tu0", "Tunnel0", Tunnel, ""},
		{"tun0", "Tunnel0", Tunnel, ""},
		{"TUNNEL007", "Tunnel7", Tunnel, ""},
		{"tu 12", "Tunnel12", Tunnel, ""},
		{"Loopback0", "Loopback0", Loopback, ""},
		{"lo0", "Loopback0", Loopback, ""},
		{"Lo 0", "Loopback0", Loopback, ""},
		{"loop3", "Loopback3", Loopback, ""},
		{"lo", "lo", Physical, ""},
		{"eth0", "eth0", Physical, ""},
		{"veth-l", "veth-l", Physical, ""},
		{"ens3", "ens3", Physical, ""},
		{"tunl0", "tunl0", Physical, ""},
		{"t0", "t0", Physical, ""},
		{"tunnel-uplink", "tunnel-uplink", Physical, ""},
		{"Eth0", "Eth0", Physical, ""},
		{"Tunnel", "", 0, `interface "Tunnel" needs a number`},
		{"loopback", "", 0, `interface "loopback" needs a number`},
		{"Tunnel0.1", "", 0, "no subinterfaces"},
		{"Tunnel999999999", "Tunnel999999999", Tunnel, ""},
		{"Tunnel1000000000", "", 0, "Tunnel number 1000000000 out of range 0-999999999"},
		{"Loopback10000000", "", 0, "Loopback number 10000000 out of range 0-9999999"},
		{"Tunnel99999999999999999999999", "", 0, "out of range"},
		{"Null0", "", 0, "not supported"},
		{"GigabitEthernet0/0", "", 0, "cannot contain '/'"},
		{"a-very-long-name0", "", 0, "at most 15 bytes"},
		{"..", "", 0, "invalid interface name"},
		{"10.0.0.1", "", 0, "looks like an address"},
	}
	for _, tt := range tests {
		src := "interface " + tt.in + "\n shutdown\n"
		c, diags := Parse("t.conf", []byte(src), Options{})
		if tt.err != "" {
			if len(diags) != 1 || !strings.Contains(diags[0].Msg, tt.err) || diags[0].Pos != (Pos{1, 11}) {
				t.Errorf("%q: diags %v, want one error at 1:11 containing %q", tt.in, diags, tt.err)
			}
			continue
		}
		if len(diags) > 0 {
			t.Errorf("%q: %v", tt.in, diags)
			continue
		}
		if i := c.Interfaces[0]; i.Name != tt.name || i.Kind != tt.kind || (i.Kind == Tunnel) != (i.Tunnel != nil) {
			t.Errorf("%q: got %s %v, want %s %v", tt.in, i.Name, i.Kind, tt.name, tt.kind)
		}
		if !strings.Contains(tt.in, " ") {
			name, kind, err := ParseInterfaceName(tt.in)
			if err != nil || name != tt.name || kind != tt.kind {
				t.Errorf("ParseInterfaceName(%q) = %q, %v, %v", tt.in, name, kind, err)
			}
		}
	}
}

func TestKeyFor(t *testing.T) {
	c := mustParse(t, strings.Join([]string{
		"crypto isakmp key any address 0.0.0.0",
		"crypto isakmp key host address 10.1.2.3",
		"crypto isakmp key net address 10.1.0.0 255.255.0.0",
		"crypto isakmp key wide address 10.0.0.0 255.0.0.0",
	}, "\n"))
	for peer, want := range map[string]string{
		"10.1.2.3":         "host",
		"10.1.2.4":         "net",
		"10.2.0.1":         "wide",
		"192.0.2.9":        "any",
		"::ffff:10.1.2.3":  "host",
		"::ffff:192.0.2.1": "any",
	} {
		k, ok := c.KeyFor(netip.MustParseAddr(peer))
		if !ok || k.Key != want {
			t.Errorf("KeyFor(%s) = %v, %v; want %s", peer, k, ok, want)
		}
	}
	c = mustParse(t, "crypto isakmp key host address 10.1.2.3")
	if k, ok := c.KeyFor(netip.MustParseAddr("10.1.2.4")); ok {
		t.Errorf("KeyFor without a match = %v", k)
	}
}

func TestDiagnosticFormat(t *testing.T) {
	d := Diagnostic{File: "r.conf", Pos: Pos{3, 7}, Severity: Error, Msg: "boom"}
	if d.Error() != "r.conf:3:7: boom" {
		t.Errorf("error = %q", d.Error())
	}
	d.Severity = Warning
	if d.Error() != "r.conf:3:7: warning: boom" {
		t.Errorf("warning = %q", d.Error())
	}
	ds := Diagnostics{d}
	if ds.HasErrors() || ds.Err() != nil || len(ds.Warnings()) != 1 {
		t.Errorf("warnings only: HasErrors %v Err %v", ds.HasErrors(), ds.Err())
	}
	ds = append(ds, Diagnostic{File: "r.conf", Pos: Pos{1, 1}, Msg: "bad"})
	if !ds.HasErrors() || ds.Err() == nil || ds.Err().Error() != "r.conf:1:1: bad" || len(ds.Errors()) != 1 {
		t.Errorf("with an error: HasErrors %v Err %v", ds.HasErrors(), ds.Err())
	}
}

func TestLookupsAndNames(t *testing.T) {
	c, _ := Parse("r.conf", readFile(t, "testdata/reference.conf"), Options{})
	if c.Interface("Tunnel0") == nil || c.Interface("Tunnel9") != nil ||
		c.Profile("TUNNEL") == nil || c.Profile("tunnel") != nil ||
		c.TransformSet("TRANSFORM") == nil || c.TransformSet("X") != nil {
		t.Error("lookups by name")
	}
	for got, want := range map[fmt.Stringer]string{
		Physical: "physical", Loopback: "loopback", Tunnel: "tunnel",
		ModeGREIP: "gre ip",
		HashSHA1:  "sha", HashSHA256: "sha256", HashSHA384: "sha384", HashSHA512: "sha512",
		ESPAESCBC: "esp-aes", ESPAESGCM: "esp-gcm",
		IntegrityNone: "", IntegritySHA1: "esp-sha-hmac", IntegritySHA256: "esp-sha256-hmac",
		IntegritySHA384: "esp-sha384-hmac", IntegritySHA512: "esp-sha512-hmac",
		ModeTunnel: "tunnel", ModeTransport: "transport",
		Error: "error", Warning: "warning",
		Hash(0): "Hash(0)", ESPCipher(9): "ESPCipher(9)",
	} {
		if got.String() != want {
			t.Errorf("%#v.String() = %q, want %q", got, got.String(), want)
		}
	}
}

func TestHostnameAndAddresses(t *testing.T) {
	for _, h := range []string{"r", "edge-1", "A1"} {
		mustParse(t, "hostname "+h)
	}
	for src, want := range map[string]string{
		"hostname r_1":                                          "use only letters, digits and hyphens",
		"hostname r-":                                           "must not end with a hyphen",
		"hostname " + strings.Repeat("a", 64):                   "at most 63 characters",
		"interface eth0\n ip address 0.1.2.3 255.0.0.0":         "0.0.0.0/8 is not a host address",
		"interface eth0\n ip address 239.1.1.1 255.0.0.0":       "multicast",
		"interface eth0\n ip address 250.1.1.1 255.0.0.0":       "240.0.0.0/4 is reserved",
		"interface eth0\n ip address 255.255.255.255 255.0.0.0": "limited broadcast",
		"interface Tunnel0\n tunnel source 0.0.0.0":             "invalid tunnel source 0.0.0.0",
		"interface Tunnel0\n tunnel destination 127.0.0.1":      "invalid tunnel destination 127.0.0.1",
		"crypto isakmp key k address 0.0.0.0 255.255.255.255":   "invalid peer address 0.0.0.0",
	} {
		_, diags := Parse("t.conf", []byte(src), Options{})
		if !strings.Contains(diags.String(), want) {
			t.Errorf("%q: want %q in:\n%s", src, want, diags)
		}
	}
}
