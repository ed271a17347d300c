package config

import (
	"errors"
	"io/fs"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

// The configurations of issue 12: the reference configuration over
// IKEv2 with pre-shared keys, and with ECDSA certificates. Both are in
// the formatter's canonical form, so they format back to themselves.
const (
	ikev2File     = "testdata/ikev2.conf"
	ikev2CertFile = "testdata/ikev2-cert.conf"
)

func TestIKEv2Config(t *testing.T) {
	src := readFile(t, ikev2File)
	c, diags := Parse(ikev2File, src, Options{})
	if len(diags) > 0 {
		t.Fatalf("diagnostics:\n%s", diags)
	}
	if got := c.Format(FormatOptions{}); got != string(src) {
		t.Errorf("Format =\n%s\nwant the file unchanged", got)
	}
	if len(c.IKEv2Proposals) != 1 || len(c.IKEv2Policies) != 1 || len(c.IKEv2Keyrings) != 1 || len(c.IKEv2Profiles) != 1 {
		t.Fatalf("sections: %d proposals, %d policies, %d keyrings, %d profiles",
			len(c.IKEv2Proposals), len(c.IKEv2Policies), len(c.IKEv2Keyrings), len(c.IKEv2Profiles))
	}
	prop := c.IKEv2Proposals[0]
	want := IKEv2Proposal{Name: "PROP", Encryption: []IKEv2Cipher{{KeyBits: 256}}, Integrity: []Hash{HashSHA256},
		PRF: []Hash{HashSHA256}, Groups: []DHGroup{19}, Pos: Pos{3, 1}}
	if !equalProposal(*prop, want) {
		t.Errorf("proposal = %+v, want %+v", *prop, want)
	}
	if pol := c.IKEv2Policies[0]; pol.Name != "POL" || !slices.Equal(pol.Proposals, []string{"PROP"}) || pol.LocalAddresses != nil || pol.Pos != (Pos{7, 1}) {
		t.Errorf("policy = %+v", pol)
	}
	kr := c.IKEv2Keyrings[0]
	if kr.Name != "KEYS" || len(kr.Peers) != 1 || kr.Pos != (Pos{9, 1}) {
		t.Fatalf("keyring = %+v", kr)
	}
	if pe := *kr.Peers[0]; pe != (IKEv2KeyringPeer{Name: "ANY", Address: netip.MustParsePrefix("0.0.0.0/0"), PSK: "SecretPassword12", Pos: Pos{10, 2}}) {
		t.Errorf("peer = %+v", pe)
	}
	pr := c.IKEv2Profiles[0]
	if pr.Name != "IKEV2" || !slices.Equal(pr.MatchRemote, []IKEv2IdentityMatch{{Kind: MatchAddress, Prefix: netip.MustParsePrefix("0.0.0.0/0")}}) ||
		pr.LocalIdentity != (IKEv2Identity{}) || pr.AuthLocal != AuthPreShare || !slices.Equal(pr.AuthRemote, []IKEv2AuthMethod{AuthPreShare}) ||
		pr.Keyring != "KEYS" || pr.SignTrustpoint != "" || pr.VerifyTrustpoints != nil || pr.Lifetime != 24*time.Hour || pr.NATKeepalive != 0 ||
		pr.DPD == nil || *pr.DPD != (DPD{Interval: 10 * time.Second, Retry: 3 * time.Second, Periodic: true}) {
		t.Errorf("profile = %+v", pr)
	}
	if c.IKEv2 != (IKEv2Settings{}) || c.Trustpoints != nil || c.ISAKMPPolicies != nil || c.ISAKMPKeys != nil {
		t.Errorf("IKEv2 %+v Trustpoints %v ISAKMP %v %v", c.IKEv2, c.Trustpoints, c.ISAKMPPolicies, c.ISAKMPKeys)
	}
	if ip := c.Profile("TUNNEL"); ip.IKEv2Profile != "IKEV2" || !slices.Equal(ip.TransformSets, []string{"TS"}) {
		t.Errorf("ipsec profile = %+v", ip)
	}

	// What the engine asks.
	if got := c.IKEv2ProposalsFor(netip.MustParseAddr("192.0.2.1")); len(got) != 1 || got[0] != prop {
		t.Errorf("IKEv2ProposalsFor = %v", got)
	}
	if got := c.IKEv2ProfileFor(IKEv2Identity{Kind: IDAddress, Address: netip.MustParseAddr("192.0.2.2")}); got != pr {
		t.Errorf("IKEv2ProfileFor(192.0.2.2) = %v", got)
	}
	if local, remote, ok := c.IKEv2KeyFor(pr, netip.MustParseAddr("192.0.2.2")); !ok || local != "SecretPassword12" || remote != "SecretPassword12" {
		t.Errorf("IKEv2KeyFor = %q, %q, %v", local, remote, ok)
	}
	if d := c.IKEv2DPDFor(pr); d != pr.DPD {
		t.Errorf("IKEv2DPDFor = %v", d)
	}
	masked := c.Format(FormatOptions{MaskKeys: true})
	if strings.Contains(masked, "SecretPassword12") || !strings.Contains(masked, "\n  pre-shared-key *****\n") {
		t.Errorf("masked Format =\n%s", masked)
	}
}

func equalProposal(a, b IKEv2Proposal) bool {
	return a.Name == b.Name && slices.Equal(a.Encryption, b.Encryption) && slices.Equal(a.Integrity, b.Integrity) &&
		slices.Equal(a.PRF, b.PRF) && slices.Equal(a.Groups, b.Groups) && a.Pos == b.Pos
}

func TestIKEv2CertConfig(t *testing.T) {
	src := readFile(t, ikev2CertFile)
	c, diags := Parse(ikev2CertFile, src, Options{})
	if len(diags) > 0 {
		t.Fatalf("diagnostics:\n%s", diags)
	}
	if got := c.Format(FormatOptions{}); got != string(src) {
		t.Errorf("Format =\n%s\nwant the file unchanged", got)
	}
	tp := c.Trustpoint("GRESEC-CA")
	if tp == nil || *tp != (PKITrustpoint{Name: "GRESEC-CA", CACertFile: "/etc/gresec/pki/ca.pem", CertFile: "/etc/gresec/pki/left.pem", KeyFile: "/etc/gresec/pki/left.key", Pos: Pos{3, 1}}) {
		t.Errorf("trustpoint = %+v", tp)
	}
	gcm, cbc := c.IKEv2Proposal("GCM"), c.IKEv2Proposal("CBC")
	if want := (IKEv2Proposal{Name: "GCM", Encryption: []IKEv2Cipher{{256, true}, {128, true}}, PRF: []Hash{HashSHA384, HashSHA256},
		Groups: []DHGroup{19, 20, 31}, Pos: Pos{8, 1}}); gcm == nil || !equalProposal(*gcm, want) {
		t.Errorf("GCM = %+v", gcm)
	}
	if want := (IKEv2Proposal{Name: "CBC", Encryption: []IKEv2Cipher{{256, false}}, Integrity: []Hash{HashSHA512, HashSHA384},
		PRF: []Hash{HashSHA512, HashSHA384}, Groups: []DHGroup{21, 14}, Pos: Pos{12, 1}}); cbc == nil || !equalProposal(*cbc, want) {
		t.Errorf("CBC = %+v", cbc)
	}
	local := netip.MustParseAddr("192.0.2.1")
	if got := c.IKEv2ProposalsFor(local); !slices.Equal(got, []*IKEv2Proposal{gcm, cbc}) {
		t.Errorf("IKEv2ProposalsFor(%s) = %v", local, got)
	}
	if got := c.IKEv2ProposalsFor(netip.MustParseAddr("198.51.100.1")); got != nil {
		t.Errorf("a policy that matches another local address applies: %v", got)
	}
	pr := c.IKEv2Profile("CERT")
	want := IKEv2Profile{
		Name:        "CERT",
		Description: "peers with certificates of GRESEC-CA",
		MatchRemote: []IKEv2IdentityMatch{
			{Kind: MatchFQDNDomain, Value: "vpn.example.net"},
			{Kind: MatchAddress, Prefix: netip.MustParsePrefix("192.0.2.0/24")},
		},
		LocalIdentity:     IKEv2Identity{Kind: IDFQDN, Value: "left.vpn.example.net"},
		AuthLocal:         AuthECDSASig,
		AuthRemote:        []IKEv2AuthMethod{AuthECDSASig},
		SignTrustpoint:    "GRESEC-CA",
		VerifyTrustpoints: []string{"GRESEC-CA"},
		DPD:               &DPD{Interval: 30 * time.Second, Retry: 5 * time.Second},
		Lifetime:          8 * time.Hour,
		NATKeepalive:      20 * time.Second,
		Pos:               Pos{20, 1},
	}
	if pr == nil || pr.Name != want.Name || pr.Description != want.Description || !slices.Equal(pr.MatchRemote, want.MatchRemote) ||
		pr.LocalIdentity != want.LocalIdentity || pr.AuthLocal != want.AuthLocal || !slices.Equal(pr.AuthRemote, want.AuthRemote) ||
		pr.Keyring != "" || pr.SignTrustpoint != want.SignTrustpoint || !slices.Equal(pr.VerifyTrustpoints, want.VerifyTrustpoints) ||
		*pr.DPD != *want.DPD || pr.Lifetime != want.Lifetime || pr.NATKeepalive != want.NATKeepalive || pr.Pos != want.Pos {
		t.Errorf("profile = %+v\nwant %+v", pr, want)
	}
	wantGlobal := IKEv2Settings{NATKeepalive: 20 * time.Second, DPD: &DPD{Interval: time.Minute, Retry: 10 * time.Second},
		CookieChallenge: 100, MaxInNegotiationSA: 500, Fragmentation: true, FragmentationMTU: 1280}
	g := c.IKEv2
	if g.DPD == nil || *g.DPD != *wantGlobal.DPD {
		t.Errorf("global DPD = %v", g.DPD)
	}
	g.DPD, wantGlobal.DPD = nil, nil
	if g != wantGlobal {
		t.Errorf("IKEv2 = %+v, want %+v", g, wantGlobal)
	}
	if ip := c.Profile("TUNNEL"); ip.IKEv2Profile != "CERT" || ip.PFS != 19 {
		t.Errorf("ipsec profile = %+v", ip)
	}
	if c.IKEv2DPDFor(pr) != pr.DPD || c.IKEv2DPDFor(nil) != c.IKEv2.DPD || c.IKEv2NATKeepaliveFor(nil) != 20*time.Second {
		t.Error("per-profile settings")
	}
	for _, id := range []IKEv2Identity{
		{Kind: IDFQDN, Value: "right.vpn.example.net"},
		{Kind: IDFQDN, Value: "VPN.example.NET."},
		{Kind: IDAddress, Address: netip.MustParseAddr("192.0.2.2")},
		{Kind: IDAddress, Address: netip.MustParseAddr("::ffff:192.0.2.2")},
	} {
		if !pr.MatchesRemote(id) || c.IKEv2ProfileFor(id) != pr {
			t.Errorf("%v does not match profile CERT", id)
		}
	}
	for _, id := range []IKEv2Identity{
		{Kind: IDFQDN, Value: "evilvpn.example.net"},
		{Kind: IDFQDN, Value: "example.net"},
		{Kind: IDAddress, Address: netip.MustParseAddr("192.0.3.2")},
		{Kind: IDEmail, Value: "a@vpn.example.net"},
		{},
	} {
		if pr.MatchesRemote(id) || c.IKEv2ProfileFor(id) != nil {
			t.Errorf("%v matches profile CERT", id)
		}
	}
}

// Snippets to build IKEv2 statements on: a complete proposal (lines
// 1-4), keyring (lines 1-4) and profile using that keyring (lines 1-5).
const (
	v2Proposal = "crypto ikev2 proposal P\n encryption aes-cbc-256\n integrity sha256\n group 19\n"
	v2Keyring  = "crypto ikev2 keyring K\n peer A\n  address 192.0.2.2\n  pre-shared-key SecretPassword12\n"
	v2Profile  = "crypto ikev2 profile PR\n match identity remote any\n authentication local pre-share\n authentication remote pre-share\n keyring local K\n"
)

// TestIKEv2Statements has one case per IKEv2 and PKI statement (and its
// negation), each checking the typed value it produces.
func TestIKEv2Statements(t *testing.T) {
	prop := func(c *Config) *IKEv2Proposal { return c.IKEv2Proposals[0] }
	peer := func(c *Config) *IKEv2KeyringPeer { return c.IKEv2Keyrings[0].Peers[0] }
	prof := func(c *Config) *IKEv2Profile { return c.IKEv2Profile("PR") }
	cert := "crypto pki trustpoint TP\n ca-certificate file /ca.pem\n certificate file /me.pem\n private-key file /me.key\n" +
		"crypto pki trustpoint CA2\n ca-certificate file /ca2.pem\n"
	sigProfile := cert + "crypto ikev2 profile PR\n match identity remote any\n authentication local ecdsa-sig\n authentication remote rsa-sig\n"
	tests := []struct {
		name  string
		src   string
		check func(c *Config) bool
	}{
		{"proposal", v2Proposal, func(c *Config) bool {
			return equalProposal(*prop(c), IKEv2Proposal{Name: "P", Encryption: []IKEv2Cipher{{256, false}}, Integrity: []Hash{HashSHA256},
				PRF: []Hash{HashSHA256}, Groups: []DHGroup{19}, Pos: Pos{1, 1}})
		}},
		{"encryption several", "crypto ikev2 proposal P\n encryption aes-cbc-128 aes-cbc-192\n encryption aes-cbc-256\n integrity sha1\n group 14", func(c *Config) bool {
			return slices.Equal(prop(c).Encryption, []IKEv2Cipher{{128, false}, {192, false}, {256, false}})
		}},
		{"encryption abbreviated", "crypto ikev2 proposal P\n encr aes-cbc-2\n integ sha5\n gr 20", func(c *Config) bool {
			return slices.Equal(prop(c).Encryption, []IKEv2Cipher{{256, false}}) && slices.Equal(prop(c).Integrity, []Hash{HashSHA512})
		}},
		{"no encryption one", v2Proposal + " encryption aes-cbc-128\n no encryption aes-cbc-256", func(c *Config) bool {
			return slices.Equal(prop(c).Encryption, []IKEv2Cipher{{128, false}})
		}},
		{"no encryption all", v2Proposal + " no encryption\n encryption aes-gcm-256\n no integrity\n prf sha384", func(c *Config) bool {
			return slices.Equal(prop(c).Encryption, []IKEv2Cipher{{256, true}}) && prop(c).Integrity == nil && slices.Equal(prop(c).PRF, []Hash{HashSHA384})
		}},
		{"gcm", "crypto ikev2 proposal P\n encryption aes-gcm-128 aes-gcm-256\n prf sha512 sha1\n group 31", func(c *Config) bool {
			p := prop(c)
			return slices.Equal(p.Encryption, []IKEv2Cipher{{128, true}, {256, true}}) && p.Integrity == nil &&
				slices.Equal(p.PRF, []Hash{HashSHA512, HashSHA1}) && slices.Equal(p.Groups, []DHGroup{31})
		}},
		{"integrity several", "crypto ikev2 proposal P\n encryption aes-cbc-256\n integrity sha512 sha384\n integrity sha256 sha1\n group 19", func(c *Config) bool {
			return slices.Equal(prop(c).Integrity, []Hash{HashSHA512, HashSHA384, HashSHA256, HashSHA1}) && slices.Equal(prop(c).PRF, prop(c).Integrity)
		}},
		{"no integrity one", v2Proposal + " integrity sha1\n no integrity sha256", func(c *Config) bool {
			return slices.Equal(prop(c).Integrity, []Hash{HashSHA1}) && slices.Equal(prop(c).PRF, []Hash{HashSHA1})
		}},
		{"prf differs from integrity", v2Proposal + " prf sha512", func(c *Config) bool {
			return slices.Equal(prop(c).Integrity, []Hash{HashSHA256}) && slices.Equal(prop(c).PRF, []Hash{HashSHA512})
		}},
		{"no prf", v2Proposal + " prf sha512\n no prf", func(c *Config) bool { return slices.Equal(prop(c).PRF, []Hash{HashSHA256}) }},
		{"groups", "crypto ikev2 proposal P\n encryption aes-cbc-256\n integrity sha256\n group 21 20\n group 19 16 15 14 31", func(c *Config) bool {
			return slices.Equal(prop(c).Groups, []DHGroup{21, 20, 19, 16, 15, 14, 31})
		}},
		{"no group", v2Proposal + " group 14\n no group 19", func(c *Config) bool { return slices.Equal(prop(c).Groups, []DHGroup{14}) }},
		{"proposal re-entered", v2Proposal + "crypto ikev2 proposal P\n group 20", func(c *Config) bool {
			return len(c.IKEv2Proposals) == 1 && slices.Equal(prop(c).Groups, []DHGroup{19, 20})
		}},
		{"no proposal", v2Proposal + "no crypto ikev2 proposal P", func(c *Config) bool { return c.IKEv2Proposals == nil }},

		{"policy", v2Proposal + "crypto ikev2 proposal Q\n encryption aes-gcm-256\n prf sha256\n group 19\ncrypto ikev2 policy POL\n proposal Q\n proposal P", func(c *Config) bool {
			return slices.Equal(c.IKEv2Policies[0].Proposals, []string{"Q", "P"})
		}},
		{"policy proposals on one line", v2Proposal + "crypto ikev2 proposal Q\n encryption aes-gcm-256\n prf sha256\n group 19\ncrypto ikev2 policy POL\n proposal P Q", func(c *Config) bool {
			return slices.Equal(c.IKEv2Policies[0].Proposals, []string{"P", "Q"})
		}},
		{"no policy proposal", v2Proposal + "crypto ikev2 policy POL\n proposal P\n proposal X\n no proposal X", func(c *Config) bool {
			return slices.Equal(c.IKEv2Policies[0].Proposals, []string{"P"})
		}},
		{"match address local", v2Proposal + "crypto ikev2 policy POL\n proposal P\n match address local 192.0.2.1\n match address local 2001:db8::1", func(c *Config) bool {
			return slices.Equal(c.IKEv2Policies[0].LocalAddresses, []netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::1")})
		}},
		{"no match address local", v2Proposal + "crypto ikev2 policy POL\n proposal P\n match address local 192.0.2.1\n no match address local", func(c *Config) bool {
			return c.IKEv2Policies[0].LocalAddresses == nil
		}},
		{"no policy", v2Proposal + "crypto ikev2 policy POL\n proposal P\nno crypto ikev2 policy POL", func(c *Config) bool { return c.IKEv2Policies == nil }},
		{"no default policy", "no crypto ikev2 policy default", func(c *Config) bool { return c.IKEv2.NoDefaultPolicy }},
		{"no default proposal", "no crypto ikev2 proposal default", func(c *Config) bool { return c.IKEv2.NoDefaultPolicy }},

		{"keyring", v2Keyring, func(c *Config) bool {
			return *peer(c) == IKEv2KeyringPeer{Name: "A", Address: netip.MustParsePrefix("192.0.2.2/32"), PSK: "SecretPassword12", Pos: Pos{2, 2}}
		}},
		{"address mask", v2Keyring + "  address 10.1.0.0 255.255.0.0", func(c *Config) bool { return peer(c).Address == netip.MustParsePrefix("10.1.0.0/16") }},
		{"address wildcard", v2Keyring + "  address 0.0.0.0", func(c *Config) bool { return peer(c).Address == netip.MustParsePrefix("0.0.0.0/0") }},
		{"address ipv6", v2Keyring + "  address ipv6 2001:db8::/32", func(c *Config) bool { return peer(c).Address == netip.MustParsePrefix("2001:db8::/32") }},
		{"address ipv6 IOS style", v2Keyring + "  address 2001:db8::2/128", func(c *Config) bool { return peer(c).Address == netip.MustParsePrefix("2001:db8::2/128") }},
		{"identity fqdn", v2Keyring + "  no address\n  identity fqdn right.example.net", func(c *Config) bool {
			return !peer(c).Address.IsValid() && peer(c).Identity == IKEv2Identity{Kind: IDFQDN, Value: "right.example.net"}
		}},
		{"identity address", v2Keyring + "  identity address 2001:db8::2", func(c *Config) bool {
			return peer(c).Identity == IKEv2Identity{Kind: IDAddress, Address: netip.MustParseAddr("2001:db8::2")}
		}},
		{"identity email", v2Keyring + "  identity email vpn@example.net", func(c *Config) bool {
			return peer(c).Identity == IKEv2Identity{Kind: IDEmail, Value: "vpn@example.net"}
		}},
		{"identity key-id", v2Keyring + "  identity key-id 0x1234", func(c *Config) bool { return peer(c).Identity == IKEv2Identity{Kind: IDKeyID, Value: "0x1234"} }},
		{"no identity", v2Keyring + "  identity key-id x\n  no identity", func(c *Config) bool { return peer(c).Identity == IKEv2Identity{} }},
		{"asymmetric keys", v2Keyring + "  no pre-shared-key\n  pre-shared-key local LocalPassword123\n  pre-shared-key remote RemotePassword12", func(c *Config) bool {
			l, r := peer(c).Keys()
			return peer(c).PSK == "" && l == "LocalPassword123" && r == "RemotePassword12"
		}},
		{"local key overrides", v2Keyring + "  pre-shared-key local LocalPassword123", func(c *Config) bool {
			l, r := peer(c).Keys()
			return peer(c).PSK == "SecretPassword12" && l == "LocalPassword123" && r == "SecretPassword12"
		}},
		{"key literally local", v2Keyring + "  pre-shared-key 0 local", func(c *Config) bool { return peer(c).PSK == "local" }},
		{"key type 0", v2Keyring + "  pre-shared-key local 0 LocalPassword123", func(c *Config) bool { return peer(c).LocalPSK == "LocalPassword123" }},
		{"no local key", v2Keyring + "  pre-shared-key local LocalPassword123\n  no pre-shared-key local", func(c *Config) bool {
			return peer(c).LocalPSK == "" && peer(c).PSK == "SecretPassword12"
		}},
		{"hostname description", v2Keyring + "  hostname right.example.net\n  description the right  router", func(c *Config) bool {
			return peer(c).Hostname == "right.example.net" && peer(c).Description == "the right  router"
		}},
		{"no hostname description", v2Keyring + "  hostname r\n  description d\n  no hostname\n  no description", func(c *Config) bool {
			return peer(c).Hostname == "" && peer(c).Description == ""
		}},
		{"two peers", v2Keyring + " peer B\n  address 192.0.2.3\n  pre-shared-key OtherPassword1234", func(c *Config) bool {
			ps := c.IKEv2Keyrings[0].Peers
			return len(ps) == 2 && ps[1].Name == "B" && ps[1].PSK == "OtherPassword1234" && ps[0].PSK == "SecretPassword12"
		}},
		{"peer re-entered", v2Keyring + " peer A\n  identity fqdn a.example", func(c *Config) bool {
			return len(c.IKEv2Keyrings[0].Peers) == 1 && peer(c).PSK != "" && peer(c).Identity.Kind == IDFQDN
		}},
		{"no peer", v2Keyring + " peer B\n  address 192.0.2.3\n  pre-shared-key OtherPassword1234\n no peer A", func(c *Config) bool {
			return len(c.IKEv2Keyrings[0].Peers) == 1 && peer(c).Name == "B"
		}},
		{"exit leaves the peer", "crypto ikev2 keyring K\n peer A\n  address 192.0.2.2\n  pre-shared-key SecretPassword12\n  exit\n peer B\n  address 192.0.2.3\n  pre-shared-key SecretPassword12", func(c *Config) bool {
			return len(c.IKEv2Keyrings[0].Peers) == 2
		}},
		{"deeper indentation", "crypto ikev2 keyring K\n    peer A\n\t\t\taddress 192.0.2.2\n        pre-shared-key SecretPassword12", func(c *Config) bool {
			return peer(c).Address.IsValid() && peer(c).PSK != ""
		}},
		{"no keyring", v2Keyring + "no crypto ikev2 keyring K", func(c *Config) bool { return c.IKEv2Keyrings == nil }},

		{"profile", v2Keyring + v2Profile, func(c *Config) bool {
			p := prof(c)
			return slices.Equal(p.MatchRemote, []IKEv2IdentityMatch{{Kind: MatchAny}}) && p.AuthLocal == AuthPreShare &&
				slices.Equal(p.AuthRemote, []IKEv2AuthMethod{AuthPreShare}) && p.Keyring == "K" && p.Lifetime == 24*time.Hour &&
				p.DPD == nil && p.NATKeepalive == 0 && p.LocalIdentity.Kind == IDNone && p.Pos == Pos{5, 1}
		}},
		{"match identity remote", v2Keyring + v2Profile + " match identity remote address 192.0.2.0 255.255.255.0\n match identity remote address ipv6 2001:db8::/32\n" +
			" match identity remote address 2001:db9::/32\n match identity remote fqdn r.example\n match identity remote fqdn domain example.net\n" +
			" match identity remote email a@example\n match identity remote email domain example.org\n match identity remote key-id K1\n match identity remote address 192.0.2.9", func(c *Config) bool {
			return slices.Equal(prof(c).MatchRemote, []IKEv2IdentityMatch{
				{Kind: MatchAny},
				{Kind: MatchAddress, Prefix: netip.MustParsePrefix("192.0.2.0/24")},
				{Kind: MatchAddress, Prefix: netip.MustParsePrefix("2001:db8::/32")},
				{Kind: MatchAddress, Prefix: netip.MustParsePrefix("2001:db9::/32")},
				{Kind: MatchFQDN, Value: "r.example"},
				{Kind: MatchFQDNDomain, Value: "example.net"},
				{Kind: MatchEmail, Value: "a@example"},
				{Kind: MatchEmailDomain, Value: "example.org"},
				{Kind: MatchKeyID, Value: "K1"},
				{Kind: MatchAddress, Prefix: netip.MustParsePrefix("192.0.2.9/32")},
			})
		}},
		{"no match identity remote", v2Keyring + v2Profile + " match identity remote fqdn r.example\n no match identity remote any", func(c *Config) bool {
			return slices.Equal(prof(c).MatchRemote, []IKEv2IdentityMatch{{Kind: MatchFQDN, Value: "r.example"}})
		}},
		{"identity local", v2Keyring + v2Profile + " identity local fqdn left.example", func(c *Config) bool {
			return prof(c).LocalIdentity == IKEv2Identity{Kind: IDFQDN, Value: "left.example"}
		}},
		{"identity local address", v2Keyring + v2Profile + " identity local address 192.0.2.1", func(c *Config) bool {
			return prof(c).LocalIdentity == IKEv2Identity{Kind: IDAddress, Address: netip.MustParseAddr("192.0.2.1")}
		}},
		{"identity local dn", sigProfile + " identity local dn\n pki trustpoint TP", func(c *Config) bool { return prof(c).LocalIdentity.Kind == IDDN }},
		{"no identity local", v2Keyring + v2Profile + " identity local email a@b.c\n no identity local", func(c *Config) bool { return prof(c).LocalIdentity.Kind == IDNone }},
		{"signatures", sigProfile + " pki trustpoint TP", func(c *Config) bool {
			p := prof(c)
			return p.AuthLocal == AuthECDSASig && slices.Equal(p.AuthRemote, []IKEv2AuthMethod{AuthRSASig}) && p.SignTrustpoint == "TP" &&
				slices.Equal(p.VerifyTrustpoints, []string{"TP"}) && p.Keyring == ""
		}},
		{"several remote methods", v2Keyring + sigProfile + " authentication remote pre-share\n authentication remote ecdsa-sig\n pki trustpoint TP\n keyring local K", func(c *Config) bool {
			return slices.Equal(prof(c).AuthRemote, []IKEv2AuthMethod{AuthRSASig, AuthPreShare, AuthECDSASig})
		}},
		{"no authentication remote one", sigProfile + " authentication remote ecdsa-sig\n no authentication remote rsa-sig\n pki trustpoint TP", func(c *Config) bool {
			return slices.Equal(prof(c).AuthRemote, []IKEv2AuthMethod{AuthECDSASig})
		}},
		{"authentication local replaced", v2Keyring + v2Profile + " authentication local rsa-sig\n authentication local pre-share", func(c *Config) bool {
			return prof(c).AuthLocal == AuthPreShare
		}},
		{"trustpoints sign and verify", sigProfile + " pki trustpoint TP sign\n pki trustpoint CA2 verify\n pki trustpoint TP verify", func(c *Config) bool {
			return prof(c).SignTrustpoint == "TP" && slices.Equal(prof(c).VerifyTrustpoints, []string{"CA2", "TP"})
		}},
		{"no pki trustpoint verify", sigProfile + " pki trustpoint TP\n pki trustpoint CA2 verify\n no pki trustpoint TP verify", func(c *Config) bool {
			return prof(c).SignTrustpoint == "TP" && slices.Equal(prof(c).VerifyTrustpoints, []string{"CA2"})
		}},
		{"dpd", v2Keyring + v2Profile + " dpd 3600 60 on-demand", func(c *Config) bool {
			return *prof(c).DPD == DPD{Interval: time.Hour, Retry: time.Minute}
		}},
		{"no dpd", v2Keyring + v2Profile + " dpd 10 2 periodic\n no dpd", func(c *Config) bool { return prof(c).DPD == nil }},
		{"lifetime", v2Keyring + v2Profile + " lifetime 120", func(c *Config) bool { return prof(c).Lifetime == 2*time.Minute }},
		{"no lifetime", v2Keyring + v2Profile + " lifetime 86399\n no lifetime", func(c *Config) bool { return prof(c).Lifetime == 24*time.Hour }},
		{"nat keepalive", v2Keyring + v2Profile + " nat keepalive 3600", func(c *Config) bool {
			return prof(c).NATKeepalive == time.Hour && c.IKEv2NATKeepaliveFor(prof(c)) == time.Hour
		}},
		{"no nat keepalive", v2Keyring + v2Profile + " nat keepalive 30\n no nat keepalive", func(c *Config) bool { return prof(c).NATKeepalive == 0 }},
		{"description", v2Keyring + v2Profile + " description to  the hub", func(c *Config) bool { return prof(c).Description == "to  the hub" }},
		{"no profile", v2Keyring + v2Profile + "no crypto ikev2 profile PR", func(c *Config) bool { return c.IKEv2Profiles == nil }},

		{"global nat keepalive", "crypto ikev2 nat keepalive 5", func(c *Config) bool { return c.IKEv2.NATKeepalive == 5*time.Second }},
		{"no global nat keepalive", "crypto ikev2 nat keepalive 5\nno crypto ikev2 nat keepalive", func(c *Config) bool { return c.IKEv2.NATKeepalive == 0 }},
		{"global dpd", "crypto ikev2 dpd 10 2 periodic", func(c *Config) bool {
			return *c.IKEv2.DPD == DPD{Interval: 10 * time.Second, Retry: 2 * time.Second, Periodic: true}
		}},
		{"no global dpd", "crypto ikev2 dpd 10 2 periodic\nno crypto ikev2 dpd", func(c *Config) bool { return c.IKEv2.DPD == nil }},
		{"cookie-challenge", "crypto ikev2 cookie-challenge 1000", func(c *Config) bool { return c.IKEv2.CookieChallenge == 1000 }},
		{"no cookie-challenge", "crypto ikev2 cookie-challenge 1\nno crypto ikev2 cookie-challenge", func(c *Config) bool { return c.IKEv2.CookieChallenge == 0 }},
		{"limits", "crypto ikev2 limit max-in-negotiation-sa 99999\ncrypto ikev2 limit max-sa 1", func(c *Config) bool {
			return c.IKEv2.MaxInNegotiationSA == 99999 && c.IKEv2.MaxSA == 1
		}},
		{"no limits", "crypto ikev2 limit max-in-negotiation-sa 9\ncrypto ikev2 limit max-sa 9\nno crypto ikev2 limit max-in-negotiation-sa\nno crypto ikev2 limit max-sa", func(c *Config) bool {
			return c.IKEv2.MaxInNegotiationSA == 0 && c.IKEv2.MaxSA == 0
		}},
		{"fragmentation", "crypto ikev2 fragmentation", func(c *Config) bool { return c.IKEv2.Fragmentation && c.IKEv2.FragmentationMTU == 0 }},
		{"fragmentation mtu", "crypto ikev2 fragmentation mtu 68", func(c *Config) bool { return c.IKEv2.Fragmentation && c.IKEv2.FragmentationMTU == 68 }},
		{"no fragmentation", "crypto ikev2 fragmentation mtu 1500\nno crypto ikev2 fragmentation", func(c *Config) bool { return c.IKEv2.Fragmentation == false && c.IKEv2.FragmentationMTU == 0 }},

		{"trustpoint", cert, func(c *Config) bool {
			return *c.Trustpoints[0] == PKITrustpoint{Name: "TP", CACertFile: "/ca.pem", CertFile: "/me.pem", KeyFile: "/me.key", Pos: Pos{1, 1}}
		}},
		{"trustpoint ignored IOS lines", "crypto pki trustpoint TP\n revocation-check none\n no enrollment\n no subject-name\n no revocation-check", func(c *Config) bool { return len(c.Trustpoints) == 1 }},
		{"no trustpoint files", cert + "crypto pki trustpoint TP\n no ca-certificate file\n no certificate file\n no private-key file", func(c *Config) bool {
			return *c.Trustpoints[0] == PKITrustpoint{Name: "TP", Pos: Pos{1, 1}}
		}},
		{"no trustpoint", cert + "no crypto pki trustpoint TP", func(c *Config) bool { return len(c.Trustpoints) == 1 && c.Trustpoints[0].Name == "CA2" }},

		{"set ikev2-profile", v2Keyring + v2Profile + "crypto ipsec profile T\n set ikev2-profile PR", func(c *Config) bool { return c.Profile("T").IKEv2Profile == "PR" }},
		{"no set ikev2-profile", v2Keyring + v2Profile + "crypto ipsec profile T\n set ikev2-profile PR\n no set ikev2-profile", func(c *Config) bool {
			return c.Profile("T").IKEv2Profile == ""
		}},
		{"ikev1 profile needs no ikev2", "crypto ipsec profile T", func(c *Config) bool { return c.Profile("T").IKEv2Profile == "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustParse(t, tt.src)
			if !tt.check(c) {
				t.Errorf("unexpected result for:\n%s", tt.src)
			}
			checkRoundTrip(t, c)
		})
	}
}

// TestIKEv2Errors has one case per class of IKEv2 and PKI error, each
// with the exact position and the part of the message that matters.
func TestIKEv2Errors(t *testing.T) {
	// A tunnel protected over IKEv2 (lines 1-14 with v2Keyring and v2Profile).
	protected := v2Keyring + v2Profile + "crypto ipsec transform-set T esp-gcm 256\ncrypto ipsec profile TUNNEL\n set transform-set T\n set ikev2-profile PR\n" +
		"interface Tunnel0\n tunnel source 192.0.2.1\n tunnel destination 192.0.2.2\n tunnel protection ipsec profile TUNNEL\n"
	sig := "crypto ikev2 profile S\n match identity remote any\n"
	tests := []struct {
		name string
		src  string
		pos  string // LINE:COL
		msg  string
	}{
		// Proposals.
		{"encryption unknown", "crypto ikev2 proposal P\n encryption aes-cbc-512", "2:13", `invalid argument "aes-cbc-512" to "encryption"; did you mean "aes-cbc-128"?`},
		{"encryption ambiguous", "crypto ikev2 proposal P\n encryption aes", "2:13", `ambiguous argument "aes" to "encryption": could be "aes-cbc-128", "aes-cbc-192", "aes-cbc-256", "aes-gcm-128" or "aes-gcm-256"`},
		{"encryption missing", "crypto ikev2 proposal P\n encryption", "2:2", `incomplete command: "encryption" needs one or more of "aes-cbc-128"`},
		{"encryption 3des", "crypto ikev2 proposal P\n encryption 3des", "2:13", "encryption 3des is refused: its 64-bit block is open to Sweet32"},
		{"encryption des", "crypto ikev2 proposal P\n encryption des", "2:13", "encryption des is refused: a 56-bit key"},
		{"gcm and cbc on a line", "crypto ikev2 proposal P\n encryption aes-cbc-256 aes-gcm-128", "2:25", "aes-gcm-128 cannot be in one proposal with aes-cbc-256: an AEAD cipher takes no integrity algorithm and CBC needs one; put them in two proposals"},
		{"gcm and cbc on two lines", "crypto ikev2 proposal P\n encryption aes-gcm-256\n encryption aes-cbc-128", "3:13", "aes-cbc-128 cannot be in one proposal with aes-gcm-256"},
		{"listed twice", "crypto ikev2 proposal P\n group 19 14 19", "2:14", "19 is listed twice"},
		{"integrity md5", "crypto ikev2 proposal P\n integrity md5", "2:12", "integrity md5 is refused: MD5 collisions are practical"},
		{"prf md5", "crypto ikev2 proposal P\n prf md5", "2:6", "prf md5 is refused"},
		{"integrity typo", "crypto ikev2 proposal P\n integrity sha265", "2:12", `did you mean "sha256"?`},
		{"integrity sha", "crypto ikev2 proposal P\n integrity sha", "2:12", `ambiguous argument "sha" to "integrity"`},
		{"group 1", "crypto ikev2 proposal P\n group 1", "2:8", "group 1 is a 768-bit MODP group, broken"},
		{"group 2", "crypto ikev2 proposal P\n group 19 2", "2:11", "group 2 is a 1024-bit MODP group, breakable today"},
		{"group 5", "crypto ikev2 proposal P\n group 5", "2:8", "group 5 is a 1536-bit MODP group"},
		{"group 24", "crypto ikev2 proposal P\n group 24", "2:8", "deprecated by RFC 8247"},
		{"group 17", "crypto ikev2 proposal P\n group 17", "2:8", "DH group 17 is not supported; use 14, 15, 16, 19, 20, 21 or 31"},
		{"group word", "crypto ikev2 proposal P\n group ecp256", "2:8", `invalid DH group "ecp256": want a number 1-1000`},
		{"group 31 not for ikev1", "crypto isakmp policy 1\n group 31", "2:8", "DH group 31 is not supported; use 14, 15, 16, 19, 20 or 21"},
		{"no encryption", "crypto ikev2 proposal P\n integrity sha256\n group 19", "1:1", `crypto ikev2 proposal P has no "encryption"`},
		{"no group", "crypto ikev2 proposal P\n encryption aes-cbc-256\n integrity sha256", "1:1", `crypto ikev2 proposal P has no "group"; add, for example, "group 19"`},
		{"gcm with integrity", "crypto ikev2 proposal P\n encryption aes-gcm-256\n integrity sha256\n prf sha256\n group 19", "3:12", `crypto ikev2 proposal P: aes-gcm-256 authenticates by itself and takes no "integrity"`},
		{"gcm without prf", "crypto ikev2 proposal P\n encryption aes-gcm-256\n group 19", "1:1", `crypto ikev2 proposal P has no "prf"; aes-gcm-256 needs one`},
		{"cbc without integrity", "crypto ikev2 proposal P\n encryption aes-cbc-256\n prf sha256\n group 19", "1:1", `crypto ikev2 proposal P has no "integrity"; aes-cbc-256 needs one`},
		{"proposal default", "crypto ikev2 proposal default", "1:23", `"default" is IOS's built-in proposal`},
		{"proposal name too long", "crypto ikev2 proposal " + strings.Repeat("p", 65), "1:23", "proposal name too long (at most 64 characters)"},
		{"proposal without name", "crypto ikev2 proposal", "1:14", `incomplete command: "crypto ikev2 proposal" needs a name`},

		// Policies.
		{"undefined proposal", v2Proposal + "crypto ikev2 policy POL\n proposal Q", "6:11", `crypto ikev2 proposal "Q" is not defined; define it with "crypto ikev2 proposal Q"`},
		{"proposal typo", v2Proposal + "crypto ikev2 proposal PROP2\n encryption aes-gcm-256\n prf sha256\n group 19\ncrypto ikev2 policy POL\n proposal PRP2", "10:11", `crypto ikev2 proposal "PRP2" is not defined; did you mean "PROP2"?`},
		{"removed proposal", v2Proposal + "crypto ikev2 policy POL\n proposal P\nno crypto ikev2 proposal P", "6:11", `crypto ikev2 proposal "P" is not defined`},
		{"policy without proposal", "crypto ikev2 policy POL", "1:1", `crypto ikev2 policy POL has no "proposal"`},
		{"policy default", "crypto ikev2 policy default", "1:21", `"default" is IOS's built-in policy`},
		{"match address local", v2Proposal + "crypto ikev2 policy POL\n proposal P\n match address local 192.0.2.256", "7:22", `invalid IPv4 address "192.0.2.256"`},
		{"match fvrf", v2Proposal + "crypto ikev2 policy POL\n proposal P\n match fvrf any", "7:8", "front-door VRFs are not supported"},

		// Keyrings.
		{"peer without address", "crypto ikev2 keyring K\n peer A\n  pre-shared-key SecretPassword12", "2:2", `keyring K: peer A has no "address" or "identity", so no peer can match it`},
		{"peer without key", "crypto ikev2 keyring K\n peer A\n  address 192.0.2.2", "2:2", `keyring K: peer A has no "pre-shared-key"`},
		{"peer with local key only", "crypto ikev2 keyring K\n peer A\n  address 192.0.2.2\n  pre-shared-key local SecretPassword12", "2:2", `keyring K: peer A has a local key but no remote one; add "pre-shared-key remote KEY"`},
		{"peer with remote key only", "crypto ikev2 keyring K\n peer A\n  address 192.0.2.2\n  pre-shared-key remote SecretPassword12", "2:2", `has a remote key but no local one`},
		{"peer address host bits", v2Keyring + "  address 10.0.0.1 255.0.0.0", "5:11", "peer 10.0.0.1 has host bits set for mask 255.0.0.0; did you mean 10.0.0.0?"},
		{"peer address multicast", v2Keyring + "  address 224.0.0.1", "5:11", "invalid peer address 224.0.0.1: it is a multicast address"},
		{"peer address ipv6 without length", v2Keyring + "  address 2001:db8::1", "5:11", `"2001:db8::1" needs a prefix length, as in 2001:db8::1/128`},
		{"peer address ipv6 host bits", v2Keyring + "  address ipv6 2001:db8::1/32", "5:16", "peer 2001:db8::1/32 has host bits set; did you mean 2001:db8::/32?"},
		{"peer address cidr", v2Keyring + "  address 10.0.0.0/8", "5:11", `prefix length notation "10.0.0.0/8" is not accepted here; write the mask: "10.0.0.0 255.0.0.0"`},
		{"identity address", v2Keyring + "  identity address 1.2.3", "5:20", `invalid IPv4 address "1.2.3"`},
		{"identity fqdn address", v2Keyring + "  identity fqdn 192.0.2.1", "5:17", `"192.0.2.1" is an address, not a domain name; use "address"`},
		{"identity fqdn email", v2Keyring + "  identity fqdn vpn@example.net", "5:17", `"vpn@example.net" is an email address, not a domain name; use "email"`},
		{"identity email", v2Keyring + "  identity email example.net", "5:18", `invalid email address "example.net": want NAME@DOMAIN`},
		{"identity dn not in keyring", v2Keyring + "  identity dn", "5:12", `invalid argument "dn" to "identity"`},
		{"identity missing value", v2Keyring + "  identity fqdn", "5:3", `incomplete command: "identity" needs the fqdn`},
		{"key type 6", v2Keyring + "  pre-shared-key 6 abcdefabcdefabcdef", "5:18", "type 6 (encrypted) keys need the IOS master key"},
		{"key direction without key", v2Keyring + "  pre-shared-key local", "5:3", `incomplete command: "pre-shared-key local" needs a key`},
		{"key too long", v2Keyring + "  pre-shared-key " + strings.Repeat("k", 129), "5:18", "key too long (129 characters; at most 128)"},
		{"peer outside a keyring", "crypto ikev2 profile PR\n peer A", "2:2", `"peer" is a sub-command of "crypto ikev2 keyring" sections, not of "crypto ikev2 profile PR"`},

		// Indentation of the three levels.
		{"peer line not indented", "crypto ikev2 keyring K\npeer A", "2:1", `"peer" is a sub-command of "crypto ikev2 keyring K"; indent it`},
		{"peer statement not indented", "crypto ikev2 keyring K\n peer A\naddress 192.0.2.2", "3:1", `"address" is a sub-command of "peer A"; indent it`},
		{"peer statement too shallow", "crypto ikev2 keyring K\n peer A\n address 192.0.2.2", "3:2", `"address" is a sub-command of "peer A"; indent it deeper than the line "peer A"`},
		{"second peer too deep", v2Keyring + "  peer B", "5:3", `"peer" is a sub-command of "crypto ikev2 keyring K", not of "peer A"; indent it as deep as the line "peer A"`},
		{"peer statement without peer", "crypto ikev2 keyring K\n  address 192.0.2.2", "2:3", `"address" is a sub-command of "crypto ikev2 keyring peer" sections, not of "crypto ikev2 keyring K"`},
		{"peer statement after exit", v2Keyring + "  exit\n  address 192.0.2.3", "6:3", `"address" is a sub-command of "crypto ikev2 keyring peer" sections`},

		// Profiles.
		{"profile without match", "crypto ikev2 profile X", "1:1", `crypto ikev2 profile X has no "match identity remote"; it would apply to no peer`},
		{"profile without local auth", "crypto ikev2 profile X", "1:1", `crypto ikev2 profile X has no "authentication local"`},
		{"profile without remote auth", "crypto ikev2 profile X", "1:1", `crypto ikev2 profile X has no "authentication remote"`},
		{"pre-share without keyring", "crypto ikev2 profile X\n match identity remote any\n authentication local pre-share\n authentication remote pre-share", "3:23", `crypto ikev2 profile X: pre-share needs a keyring; add "keyring local NAME"`},
		{"remote pre-share without keyring", cert() + sig + " authentication local ecdsa-sig\n authentication remote pre-share\n pki trustpoint TP", "8:24", "pre-share needs a keyring"},
		{"undefined keyring", v2Keyring + v2Profile + "crypto ikev2 profile PR\n keyring local KEYS", "11:16", `crypto ikev2 keyring "KEYS" is not defined; define it with "crypto ikev2 keyring KEYS"`},
		{"keyring typo", strings.ReplaceAll(v2Keyring+v2Profile, " K\n", " KEYS\n") + "crypto ikev2 profile PR\n keyring local KEYZ", "11:16", `crypto ikev2 keyring "KEYZ" is not defined; did you mean "KEYS"?`},
		{"keyring aaa", v2Keyring + v2Profile + " keyring aaa LIST", "10:10", "AAA keyrings are not supported"},
		{"signature without trustpoint", sig + " authentication local rsa-sig\n authentication remote rsa-sig", "3:23", `crypto ikev2 profile S: authentication local rsa-sig signs with the router's certificate; add "pki trustpoint NAME"`},
		{"verify without trustpoint", cert() + sig + " authentication local ecdsa-sig\n authentication remote ecdsa-sig\n pki trustpoint TP sign", "8:24", `authentication remote ecdsa-sig verifies the peer's certificate against a CA; add "pki trustpoint NAME"`},
		{"undefined trustpoint", cert() + sig + " authentication local ecdsa-sig\n authentication remote ecdsa-sig\n pki trustpoint TQ", "9:17", `crypto pki trustpoint "TQ" is not defined; define it with "crypto pki trustpoint TQ"`},
		{"trustpoint without certificate", "crypto pki trustpoint TP\n ca-certificate file /ca.pem\n" + sig + " authentication local ecdsa-sig\n authentication remote ecdsa-sig\n pki trustpoint TP", "7:17", `crypto ikev2 profile S: trustpoint TP has no "certificate file", which authentication local ecdsa-sig sends`},
		{"trustpoint without key", "crypto pki trustpoint TP\n ca-certificate file /ca.pem\n certificate file /me.pem\n" + sig + " authentication local ecdsa-sig\n authentication remote ecdsa-sig\n pki trustpoint TP", "8:17", `trustpoint TP has no "private-key file"`},
		{"trustpoint without ca", "crypto pki trustpoint TP\n certificate file /me.pem\n private-key file /me.key\n" + sig + " authentication local ecdsa-sig\n authentication remote ecdsa-sig\n pki trustpoint TP", "8:17", `trustpoint TP has no "ca-certificate file" to verify the peer's certificate with`},
		{"identity local dn with pre-share", v2Keyring + v2Profile + " identity local dn", "10:17", `identity local dn is the subject of the router's certificate; it needs "authentication local rsa-sig" or "ecdsa-sig"`},
		{"eap", v2Keyring + v2Profile + " authentication remote eap", "10:24", "EAP authentication is not supported"},
		{"inline key", v2Keyring + v2Profile + " authentication local pre-share key abc", "10:33", `keys in the profile are not supported; put the key in a "crypto ikev2 keyring"`},
		{"match certificate", v2Keyring + v2Profile + " match certificate MAP", "10:8", "certificate maps are not supported"},
		{"match address host bits", v2Keyring + v2Profile + " match identity remote address 10.0.0.1 255.0.0.0", "10:32", "peer 10.0.0.1 has host bits set"},
		{"match fqdn email", v2Keyring + v2Profile + " match identity remote fqdn a@b", "10:29", `"a@b" is an email address, not a domain name`},
		{"match email", v2Keyring + v2Profile + " match identity remote email nobody", "10:30", `invalid email address "nobody"`},
		{"match kind", v2Keyring + v2Profile + " match identity remote hostname x", "10:24", `invalid argument "hostname" to "match identity remote"`},
		{"profile dpd interval", v2Keyring + v2Profile + " dpd 5 2 periodic", "10:6", "DPD interval seconds 5 out of range 10-3600"},
		{"profile dpd retry", v2Keyring + v2Profile + " dpd 10 61 periodic", "10:9", "retry seconds 61 out of range 2-60"},
		{"profile dpd mode", v2Keyring + v2Profile + " dpd 10 2", "10:2", `incomplete command: "dpd" needs one of "periodic" or "on-demand"`},
		{"profile lifetime", v2Keyring + v2Profile + " lifetime 86401", "10:11", "lifetime seconds 86401 out of range 120-86400"},
		{"profile nat keepalive", v2Keyring + v2Profile + " nat keepalive 4", "10:16", "NAT keepalive seconds 4 out of range 5-3600"},
		{"trustpoint use", cert() + sig + " pki trustpoint TP both", "7:20", `invalid argument "both" to "pki trustpoint"; want "sign" or "verify"`},

		// Global statements.
		{"nat keepalive", "crypto ikev2 nat keepalive 3601", "1:28", "NAT keepalive seconds 3601 out of range 5-3600"},
		{"dpd", "crypto ikev2 dpd 10 1 periodic", "1:21", "retry seconds 1 out of range 2-60"},
		{"dpd mode", "crypto ikev2 dpd 10 2 always", "1:23", `invalid argument "always" to "crypto ikev2 dpd"`},
		{"cookie-challenge", "crypto ikev2 cookie-challenge 1001", "1:31", "half-open SAs 1001 out of range 1-1000"},
		{"max-in-negotiation-sa", "crypto ikev2 limit max-in-negotiation-sa 0", "1:42", "SA limit 0 out of range 1-99999"},
		{"max-in-negotiation-sa direction", "crypto ikev2 limit max-in-negotiation-sa 10 incoming", "1:45", "limits per direction are not supported"},
		{"max-sa", "crypto ikev2 limit max-sa 100000", "1:27", "SA limit 100000 out of range 1-99999"},
		{"fragmentation mtu", "crypto ikev2 fragmentation mtu 1501", "1:32", "fragmentation MTU 1501 out of range 68-1500"},
		{"fragmentation bare number", "crypto ikev2 fragmentation 1400", "1:28", `invalid argument "1400" to "crypto ikev2 fragmentation"; want "mtu"`},
		{"unknown ikev2 command", "crypto ikev2 keyrng K", "1:14", `unknown command "crypto ikev2 keyrng"; did you mean "crypto ikev2 keyring"?`},

		// PKI.
		{"relative path", "crypto pki trustpoint TP\n ca-certificate file ca.pem", "2:22", `"ca.pem" is not an absolute path; give the file's whole path, starting with /`},
		{"path with spaces", "crypto pki trustpoint TP\n private-key file /etc/my key.pem", "2:27", `unexpected argument "key.pem" to "private-key file"`},
		{"certificate chain", "crypto pki certificate chain TP", "1:12", "certificates in the configuration are not supported"},
		{"revocation-check", "crypto pki trustpoint TP\n revocation-check sometimes", "2:19", `invalid argument "sometimes" to "revocation-check"`},

		// References from IPsec profiles and tunnels.
		{"undefined ikev2 profile", protected + "no crypto ikev2 profile PR", "13:20", `crypto ikev2 profile "PR" is not defined; define it with "crypto ikev2 profile PR"`},
		{"ikev2 profile typo", strings.ReplaceAll(protected, " PR\n", " SPOKES\n") + "crypto ipsec profile TUNNEL\n set ikev2-profile SPOKE", "19:20", `crypto ikev2 profile "SPOKE" is not defined; did you mean "SPOKES"?`},
		{"no policy for the tunnel source", v2Proposal + "crypto ikev2 policy POL\n match address local 192.0.2.9\n proposal P\n" + protected, "24:34",
			`Tunnel0: no crypto ikev2 policy applies to the tunnel source 192.0.2.1; add "match address local 192.0.2.1" to one, or a policy without "match address local"`},
		{"no default policy for the tunnel", "no crypto ikev2 policy default\n" + protected, "18:34", `Tunnel0: no IKEv2 proposal is acceptable`},
		{"no keyring peer for the tunnel", strings.Replace(protected, "address 192.0.2.2", "address 192.0.2.3", 1), "17:34", `Tunnel0: no peer of crypto ikev2 keyring K matches 192.0.2.2; add one with "address 192.0.2.2"`},
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

// cert is a trustpoint with every file (lines 1-4).
func cert() string {
	return "crypto pki trustpoint TP\n ca-certificate file /ca.pem\n certificate file /me.pem\n private-key file /me.key\n"
}

func TestIKEv2Warnings(t *testing.T) {
	protected := v2Keyring + v2Profile + "crypto ipsec transform-set T esp-gcm 256\ncrypto ipsec profile TUNNEL\n set transform-set T\n set ikev2-profile PR\n" +
		"interface Tunnel0\n tunnel source 192.0.2.1\n tunnel destination 192.0.2.2\n tunnel protection ipsec profile TUNNEL\n"
	tests := []struct {
		name string
		src  string
		pos  string
		msg  string
	}{
		{"short key", "crypto ikev2 keyring K\n peer A\n  address 192.0.2.2\n  pre-shared-key Secret123", "4:18",
			"pre-shared key of 9 characters is short: an attacker who can answer as the peer can guess it offline"},
		{"duplicate algorithm", v2Proposal + " encryption aes-cbc-256", "5:13", "aes-cbc-256 is already listed by an earlier line; ignored"},
		{"no removes nothing", v2Proposal + " no group 14", "5:11", "nothing to remove: group 14 is not configured"},
		{"no proposal removes nothing", "no crypto ikev2 proposal X", "1:26", "nothing to remove: crypto ikev2 proposal X is not configured"},
		{"no peer removes nothing", v2Keyring + " no peer B", "5:10", "nothing to remove: peer B in keyring K is not configured"},
		{"duplicate match", v2Keyring + v2Profile + " match identity remote any", "10:24", `duplicate of an earlier "match identity remote any"; ignored`},
		{"no match removes nothing", v2Keyring + v2Profile + " no match identity remote fqdn x.example", "10:32", "nothing to remove: match identity remote fqdn x.example is not configured"},
		{"enrollment", "crypto pki trustpoint TP\n enrollment terminal", "2:2", `"enrollment" is ignored: gresec does not enroll`},
		{"subject-name", "crypto pki trustpoint TP\n subject-name CN=left", "2:2", `"subject-name" is ignored`},
		{"revocation-check crl", "crypto pki trustpoint TP\n revocation-check crl none", "2:19", "revocation-check crl is ignored: gresec does not check revocation in this release"},
		{"match misses the tunnel peer", strings.Replace(protected, "match identity remote any", "match identity remote address 198.51.100.0 255.255.255.0", 1), "17:34",
			"Tunnel0: crypto ikev2 profile PR matches no remote identity address 192.0.2.2"},
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

func TestIKEv2KeyFor(t *testing.T) {
	c := mustParse(t, `crypto ikev2 keyring K
 peer ANY
  address 0.0.0.0 0.0.0.0
  pre-shared-key WildcardPassword1
 peer NET
  address 192.0.2.0 255.255.255.0
  pre-shared-key local NetLocalPassword1
  pre-shared-key remote NetRemotePassword
 peer HOST
  address 192.0.2.2
  pre-shared-key HostPassword12345
 peer V6
  address ipv6 2001:db8::/32
  pre-shared-key IPv6Password12345
 peer BYNAME
  identity fqdn right.example.net
  pre-shared-key NamedPassword1234
crypto ikev2 profile PR
 match identity remote any
 authentication local pre-share
 authentication remote pre-share
 keyring local K
crypto ikev2 profile NOKEYS
 match identity remote fqdn x.example
 authentication local pre-share
 authentication remote pre-share
 keyring local K
`)
	pr := c.IKEv2Profile("PR")
	tests := []struct {
		peer          string
		local, remote string
		ok            bool
	}{
		{"192.0.2.2", "HostPassword12345", "HostPassword12345", true},
		{"::ffff:192.0.2.2", "HostPassword12345", "HostPassword12345", true},
		{"192.0.2.3", "NetLocalPassword1", "NetRemotePassword", true},
		{"198.51.100.1", "WildcardPassword1", "WildcardPassword1", true},
		{"2001:db8::2", "IPv6Password12345", "IPv6Password12345", true},
		{"2001:db9::2", "", "", false},
	}
	for _, tt := range tests {
		local, remote, ok := c.IKEv2KeyFor(pr, netip.MustParseAddr(tt.peer))
		if local != tt.local || remote != tt.remote || ok != tt.ok {
			t.Errorf("IKEv2KeyFor(%s) = %q, %q, %v; want %q, %q, %v", tt.peer, local, remote, ok, tt.local, tt.remote, tt.ok)
		}
	}
	if _, _, ok := c.IKEv2KeyFor(nil, netip.MustParseAddr("192.0.2.2")); ok {
		t.Error("IKEv2KeyFor(nil profile) found a key")
	}
	if local, _, ok := c.IKEv2KeyForIdentity(pr, IKEv2Identity{Kind: IDFQDN, Value: "Right.Example.NET"}); !ok || local != "NamedPassword1234" {
		t.Errorf("IKEv2KeyForIdentity(fqdn) = %q, %v", local, ok)
	}
	for _, id := range []IKEv2Identity{{Kind: IDEmail, Value: "right.example.net"}, {Kind: IDAddress, Address: netip.MustParseAddr("192.0.2.2")}, {}} {
		if _, _, ok := c.IKEv2KeyForIdentity(pr, id); ok {
			t.Errorf("IKEv2KeyForIdentity(%v) found a key", id)
		}
	}
	// The most specific match chooses the profile.
	if got := c.IKEv2ProfileFor(IKEv2Identity{Kind: IDFQDN, Value: "x.example"}); got != c.IKEv2Profile("NOKEYS") {
		t.Errorf("IKEv2ProfileFor(x.example) = %v", got)
	}
	if got := c.IKEv2ProfileFor(IKEv2Identity{Kind: IDFQDN, Value: "y.example"}); got != pr {
		t.Errorf("IKEv2ProfileFor(y.example) = %v", got)
	}
}

func TestIKEv2IdentityMatch(t *testing.T) {
	addr := func(s string) IKEv2Identity { return IKEv2Identity{Kind: IDAddress, Address: netip.MustParseAddr(s)} }
	fqdn := func(s string) IKEv2Identity { return IKEv2Identity{Kind: IDFQDN, Value: s} }
	email := func(s string) IKEv2Identity { return IKEv2Identity{Kind: IDEmail, Value: s} }
	tests := []struct {
		m    IKEv2IdentityMatch
		id   IKEv2Identity
		want bool
	}{
		{IKEv2IdentityMatch{Kind: MatchAny}, fqdn("a"), true},
		{IKEv2IdentityMatch{Kind: MatchAny}, IKEv2Identity{}, false},
		{IKEv2IdentityMatch{Kind: MatchAddress, Prefix: netip.MustParsePrefix("0.0.0.0/0")}, addr("203.0.113.9"), true},
		{IKEv2IdentityMatch{Kind: MatchAddress, Prefix: netip.MustParsePrefix("0.0.0.0/0")}, addr("2001:db8::1"), false},
		{IKEv2IdentityMatch{Kind: MatchAddress, Prefix: netip.MustParsePrefix("2001:db8::/32")}, addr("2001:db8::1"), true},
		{IKEv2IdentityMatch{Kind: MatchAddress, Prefix: netip.MustParsePrefix("192.0.2.0/24")}, fqdn("192.0.2.1"), false},
		{IKEv2IdentityMatch{Kind: MatchFQDN, Value: "r.example"}, fqdn("R.Example"), true},
		{IKEv2IdentityMatch{Kind: MatchFQDN, Value: "r.example"}, fqdn("x.r.example"), false},
		{IKEv2IdentityMatch{Kind: MatchFQDNDomain, Value: "example"}, fqdn("r.example"), true},
		{IKEv2IdentityMatch{Kind: MatchFQDNDomain, Value: "example"}, fqdn("badexample"), false},
		{IKEv2IdentityMatch{Kind: MatchEmail, Value: "a@example"}, email("A@example"), true},
		{IKEv2IdentityMatch{Kind: MatchEmailDomain, Value: "example"}, email("a@example"), true},
		{IKEv2IdentityMatch{Kind: MatchEmailDomain, Value: "example"}, email("a@sub.example"), false},
		{IKEv2IdentityMatch{Kind: MatchEmailDomain, Value: "example"}, fqdn("example"), false},
		{IKEv2IdentityMatch{Kind: MatchKeyID, Value: "K1"}, IKEv2Identity{Kind: IDKeyID, Value: "K1"}, true},
		{IKEv2IdentityMatch{Kind: MatchKeyID, Value: "K1"}, IKEv2Identity{Kind: IDKeyID, Value: "k1"}, false},
	}
	for _, tt := range tests {
		if got := tt.m.Matches(tt.id); got != tt.want {
			t.Errorf("%v .Matches(%+v) = %v, want %v", tt.m, tt.id, got, tt.want)
		}
	}
}

func TestIKEv2ProposalsFor(t *testing.T) {
	// Without a policy, IOS's default proposals.
	c := mustParse(t, "")
	def := c.IKEv2ProposalsFor(netip.MustParseAddr("192.0.2.1"))
	if len(def) != 2 || !equalProposal(*def[0], IKEv2Proposal{Name: "default", Encryption: []IKEv2Cipher{{256, false}},
		Integrity: []Hash{HashSHA512, HashSHA384}, PRF: []Hash{HashSHA512, HashSHA384}, Groups: []DHGroup{19, 14, 21}}) ||
		!slices.Equal(def[1].Encryption, []IKEv2Cipher{{256, true}}) || def[1].Integrity != nil {
		t.Errorf("default proposals = %+v %+v", def[0], def[1])
	}
	def[0].Groups[0] = 1 // each call returns new values
	if DefaultIKEv2Proposals()[0].Groups[0] != 19 {
		t.Error("DefaultIKEv2Proposals shares its slices")
	}
	if got := mustParse(t, "no crypto ikev2 policy default").IKEv2ProposalsFor(netip.MustParseAddr("192.0.2.1")); got != nil {
		t.Errorf("without the default policy: %v", got)
	}

	// A policy for one local address wins over a catch-all one, wherever it is.
	c = mustParse(t, v2Proposal+"crypto ikev2 proposal Q\n encryption aes-gcm-256\n prf sha256\n group 19\n"+
		"crypto ikev2 policy ALL\n proposal P\ncrypto ikev2 policy ONE\n match address local 192.0.2.1\n proposal Q\n proposal P")
	p, q := c.IKEv2Proposal("P"), c.IKEv2Proposal("Q")
	if got := c.IKEv2ProposalsFor(netip.MustParseAddr("192.0.2.1")); !slices.Equal(got, []*IKEv2Proposal{q, p}) {
		t.Errorf("for 192.0.2.1: %v", got)
	}
	if got := c.IKEv2ProposalsFor(netip.MustParseAddr("::ffff:192.0.2.1")); !slices.Equal(got, []*IKEv2Proposal{q, p}) {
		t.Errorf("for ::ffff:192.0.2.1: %v", got)
	}
	if got := c.IKEv2ProposalsFor(netip.MustParseAddr("2001:db8::1")); !slices.Equal(got, []*IKEv2Proposal{p}) {
		t.Errorf("for 2001:db8::1: %v", got)
	}
}

func TestTrustpointFiles(t *testing.T) {
	src := cert() + "crypto pki trustpoint EMPTY\n"
	var asked []string
	readable := func(path string) error {
		asked = append(asked, path)
		if path == "/me.key" {
			return &fs.PathError{Op: "open", Path: path, Err: fs.ErrNotExist}
		}
		return nil
	}
	c, diags := Parse("t.conf", []byte(src), Options{FileReadable: readable})
	if c != nil || len(diags) != 1 || diags[0].Error() != "t.conf:4:19: crypto pki trustpoint TP: private-key file: open /me.key: file does not exist" {
		t.Errorf("diagnostics:\n%s", diags)
	}
	if !slices.Equal(asked, []string{"/ca.pem", "/me.pem", "/me.key"}) {
		t.Errorf("asked for %v", asked)
	}
	// Without the hook, Parse touches no file.
	if _, diags := Parse("t.conf", []byte(src), Options{}); len(diags) != 0 {
		t.Errorf("diagnostics without FileReadable:\n%s", diags)
	}
	if _, diags := Parse("t.conf", []byte(src), Options{FileReadable: func(string) error { return errors.New("boom") }}); len(diags) != 3 {
		t.Errorf("diagnostics:\n%s", diags)
	}
}

// TestIKEv2FormatQuoting checks that values the formatter must write
// specially parse back to themselves.
func TestIKEv2FormatQuoting(t *testing.T) {
	for _, src := range []string{
		"crypto ikev2 keyring K\n peer A\n  address 192.0.2.2\n  pre-shared-key 0 local",
		"crypto ikev2 keyring K\n peer A\n  address 192.0.2.2\n  pre-shared-key 0 REMOTE\n  pre-shared-key local local",
		"crypto ikev2 keyring K\n peer A\n  address 2001:db8::2/128\n  identity address ::ffff:192.0.2.1\n  pre-shared-key 0",
		cert() + "crypto pki trustpoint CA\n ca-certificate file /ca2.pem\ncrypto ikev2 profile S\n match identity remote any\n authentication local ecdsa-sig\n authentication remote ecdsa-sig\n" +
			" pki trustpoint CA verify\n pki trustpoint TP sign\n pki trustpoint TP verify",
	} {
		c, diags := Parse("t.conf", []byte(src), Options{})
		if c == nil {
			t.Fatalf("Parse:\n%s\nsource:\n%s", diags, src)
		}
		checkRoundTrip(t, c)
	}
}
