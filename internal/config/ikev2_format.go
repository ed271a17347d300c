package config

import (
	"fmt"
	"slices"
	"strings"
)

// formatPKI prints the trustpoints, which IOS puts first of the crypto
// sections.
func (c *Config) formatPKI(f *formatter) {
	for _, tp := range c.Trustpoints {
		f.line("crypto pki trustpoint %s", tp.Name)
		if tp.CACertFile != "" {
			f.line(" ca-certificate file %s", tp.CACertFile)
		}
		if tp.CertFile != "" {
			f.line(" certificate file %s", tp.CertFile)
		}
		if tp.KeyFile != "" {
			f.line(" private-key file %s", tp.KeyFile)
		}
		f.sep()
	}
}

// formatIKEv2 prints the crypto ikev2 sections in the order IOS does,
// as one block.
func (c *Config) formatIKEv2(f *formatter, opts FormatOptions) {
	for _, pr := range c.IKEv2Proposals {
		f.line("crypto ikev2 proposal %s", pr.Name)
		f.line(" encryption %s", joinStrings(pr.Encryption, IKEv2Cipher.String))
		if len(pr.Integrity) > 0 {
			f.line(" integrity %s", joinStrings(pr.Integrity, Hash.IKEv2String))
		}
		// Without a prf line the integrity algorithms serve as PRFs.
		if len(pr.PRF) > 0 && !slices.Equal(pr.PRF, pr.Integrity) {
			f.line(" prf %s", joinStrings(pr.PRF, Hash.IKEv2String))
		}
		if len(pr.Groups) > 0 {
			f.line(" group %s", joinStrings(pr.Groups, func(g DHGroup) string { return fmt.Sprint(int(g)) }))
		}
	}
	for _, pol := range c.IKEv2Policies {
		f.line("crypto ikev2 policy %s", pol.Name)
		for _, a := range pol.LocalAddresses {
			f.line(" match address local %s", a)
		}
		for _, name := range pol.Proposals {
			f.line(" proposal %s", name)
		}
	}
	for _, kr := range c.IKEv2Keyrings {
		f.line("crypto ikev2 keyring %s", kr.Name)
		for _, pe := range kr.Peers {
			formatKeyringPeer(f, pe, opts)
		}
	}
	for _, pr := range c.IKEv2Profiles {
		formatIKEv2Profile(f, pr)
	}
	g := c.IKEv2
	if g.NATKeepalive != 0 {
		f.line("crypto ikev2 nat keepalive %d", seconds(g.NATKeepalive))
	}
	if g.DPD != nil {
		f.line("crypto ikev2 dpd %s", dpdString(g.DPD))
	}
	if g.CookieChallenge != 0 {
		f.line("crypto ikev2 cookie-challenge %d", g.CookieChallenge)
	}
	if g.MaxInNegotiationSA != 0 {
		f.line("crypto ikev2 limit max-in-negotiation-sa %d", g.MaxInNegotiationSA)
	}
	if g.MaxSA != 0 {
		f.line("crypto ikev2 limit max-sa %d", g.MaxSA)
	}
	switch {
	case g.Fragmentation && g.FragmentationMTU != 0:
		f.line("crypto ikev2 fragmentation mtu %d", g.FragmentationMTU)
	case g.Fragmentation:
		f.line("crypto ikev2 fragmentation")
	}
	if g.NoDefaultPolicy {
		f.line("no crypto ikev2 policy default")
	}
	if len(c.IKEv2Proposals)+len(c.IKEv2Policies)+len(c.IKEv2Keyrings)+len(c.IKEv2Profiles) > 0 || g != (IKEv2Settings{}) {
		f.sep()
	}
}

func formatKeyringPeer(f *formatter, pe *IKEv2KeyringPeer, opts FormatOptions) {
	f.line(" peer %s", pe.Name)
	if pe.Description != "" {
		f.line("  description %s", pe.Description)
	}
	if pe.Hostname != "" {
		f.line("  hostname %s", pe.Hostname)
	}
	if a := pe.Address; a.IsValid() {
		if a.Addr().Is4() && a.Bits() != 32 {
			// IOS writes the mask even for the wildcard here.
			f.line("  address %s %s", a.Addr(), maskString(a.Bits()))
		} else {
			f.line("  address %s", peerString(a))
		}
	}
	if pe.Identity.Kind != IDNone {
		f.line("  identity %s", pe.Identity)
	}
	mask := func(k string) string {
		switch {
		case opts.MaskKeys:
			return "*****"
		case strings.EqualFold(k, "local") || strings.EqualFold(k, "remote"):
			return "0 " + k // alone, the word would be read as a direction
		}
		return k
	}
	if pe.PSK != "" {
		f.line("  pre-shared-key %s", mask(pe.PSK))
	}
	if pe.LocalPSK != "" {
		f.line("  pre-shared-key local %s", mask(pe.LocalPSK))
	}
	if pe.RemotePSK != "" {
		f.line("  pre-shared-key remote %s", mask(pe.RemotePSK))
	}
}

func formatIKEv2Profile(f *formatter, pr *IKEv2Profile) {
	f.line("crypto ikev2 profile %s", pr.Name)
	if pr.Description != "" {
		f.line(" description %s", pr.Description)
	}
	for _, m := range pr.MatchRemote {
		f.line(" match identity remote %s", m)
	}
	if pr.LocalIdentity.Kind != IDNone {
		f.line(" identity local %s", pr.LocalIdentity)
	}
	for _, a := range pr.AuthRemote {
		f.line(" authentication remote %s", a)
	}
	if pr.AuthLocal != 0 {
		f.line(" authentication local %s", pr.AuthLocal)
	}
	if pr.Keyring != "" {
		f.line(" keyring local %s", pr.Keyring)
	}
	// In the order that parses back to the same lists: a sign-only
	// trustpoint first, then the verify ones, one used for both plain.
	if pr.SignTrustpoint != "" && !slices.Contains(pr.VerifyTrustpoints, pr.SignTrustpoint) {
		f.line(" pki trustpoint %s sign", pr.SignTrustpoint)
	}
	for _, name := range pr.VerifyTrustpoints {
		if name == pr.SignTrustpoint {
			f.line(" pki trustpoint %s", name)
		} else {
			f.line(" pki trustpoint %s verify", name)
		}
	}
	if pr.Lifetime != defaultIKEv2Lifetime {
		f.line(" lifetime %d", seconds(pr.Lifetime))
	}
	if pr.DPD != nil {
		f.line(" dpd %s", dpdString(pr.DPD))
	}
	if pr.NATKeepalive != 0 {
		f.line(" nat keepalive %d", seconds(pr.NATKeepalive))
	}
}

// dpdString renders an IKEv2 DPD as IOS wants it: all three values.
func dpdString(d *DPD) string {
	mode := "on-demand"
	if d.Periodic {
		mode = "periodic"
	}
	return fmt.Sprintf("%d %d %s", seconds(d.Interval), seconds(d.Retry), mode)
}

func joinStrings[T any](list []T, str func(T) string) string {
	out := make([]string, len(list))
	for i, v := range list {
		out[i] = str(v)
	}
	return strings.Join(out, " ")
}
