package config

import (
	"fmt"
	"net/netip"
	"slices"
)

// checkIKEv2 checks the IKEv2 and PKI sections as a whole: complete
// proposals, references between sections, and the files of trustpoints.
func (p *parser) checkIKEv2() {
	for _, pr := range p.cfg.IKEv2Proposals {
		p.checkProposal(pr)
	}
	for _, pol := range p.cfg.IKEv2Policies {
		p.checkV2Policy(pol)
	}
	for _, kr := range p.cfg.IKEv2Keyrings {
		for _, pe := range kr.Peers {
			p.checkKeyringPeer(kr, pe)
		}
	}
	for _, pr := range p.cfg.IKEv2Profiles {
		p.checkV2Profile(pr)
	}
	for _, tp := range p.cfg.Trustpoints {
		p.checkTrustpointFiles(tp)
	}
	var names []string
	for _, pr := range p.cfg.IKEv2Profiles {
		names = append(names, pr.Name)
	}
	for _, pr := range p.cfg.Profiles {
		if name := pr.IKEv2Profile; name != "" && p.v2.profiles[name] == nil {
			p.errorf(at(p.v2.ipsecRefs[pr], pr.Pos), "crypto ikev2 profile %q is not defined%s", name, hintOrDefine(name, names, "crypto ikev2 profile"))
		}
	}
}

// hintOrDefine finishes the message for an undefined name: the nearest
// defined one, or how to define it.
func hintOrDefine(name string, names []string, command string) string {
	if hint := didYouMean(name, names); hint != "" {
		return hint
	}
	return fmt.Sprintf("; define it with \"%s %s\"", command, name)
}

// checkProposal applies the rules IOS applies to a proposal: it must
// name encryption and a group; an AEAD cipher takes a prf and no
// integrity, a CBC one needs integrity (its prf defaults to that).
func (p *parser) checkProposal(pr *IKEv2Proposal) {
	m := p.v2.propMeta(pr)
	where := "crypto ikev2 proposal " + pr.Name
	aead := len(pr.Encryption) > 0 && pr.Encryption[0].AEAD
	if len(pr.Encryption) == 0 {
		p.errorf(pr.Pos, "%s has no \"encryption\"; add, for example, \"encryption aes-cbc-256\" or \"encryption aes-gcm-256\"", where)
	}
	if len(pr.Groups) == 0 {
		p.errorf(pr.Pos, "%s has no \"group\"; add, for example, \"group 19\"", where)
	}
	switch {
	case aead && len(pr.Integrity) > 0:
		p.errorf(at(m.integrity, pr.Pos), "%s: %s authenticates by itself and takes no \"integrity\"; remove it and give a \"prf\"", where, pr.Encryption[0])
	case aead && len(pr.PRF) == 0:
		p.errorf(pr.Pos, "%s has no \"prf\"; %s needs one, as in \"prf sha256\", since it has no integrity algorithm to take it from", where, pr.Encryption[0])
	case len(pr.Encryption) > 0 && !aead && len(pr.Integrity) == 0:
		p.errorf(pr.Pos, "%s has no \"integrity\"; %s needs one, as in \"integrity sha256\"", where, pr.Encryption[0])
	}
}

func (p *parser) checkV2Policy(pol *IKEv2Policy) {
	if len(pol.Proposals) == 0 {
		p.errorf(pol.Pos, "crypto ikev2 policy %s has no \"proposal\"; add \"proposal NAME\"", pol.Name)
		return
	}
	var names []string
	for _, pr := range p.cfg.IKEv2Proposals {
		names = append(names, pr.Name)
	}
	for _, w := range p.v2.policyRefs[pol] {
		if p.v2.proposals[w.text] == nil {
			p.errorf(w.pos, "crypto ikev2 proposal %q is not defined%s", w.text, hintOrDefine(w.text, names, "crypto ikev2 proposal"))
		}
	}
}

func (p *parser) checkKeyringPeer(kr *IKEv2Keyring, pe *IKEv2KeyringPeer) {
	if !pe.Address.IsValid() && pe.Identity.Kind == IDNone {
		p.errorf(pe.Pos, "keyring %s: peer %s has no \"address\" or \"identity\", so no peer can match it", kr.Name, pe.Name)
	}
	local, remote := pe.Keys()
	switch {
	case local == "" && remote == "":
		p.errorf(pe.Pos, "keyring %s: peer %s has no \"pre-shared-key\"", kr.Name, pe.Name)
	case local == "":
		p.errorf(pe.Pos, "keyring %s: peer %s has a remote key but no local one; add \"pre-shared-key local KEY\"", kr.Name, pe.Name)
	case remote == "":
		p.errorf(pe.Pos, "keyring %s: peer %s has a local key but no remote one; add \"pre-shared-key remote KEY\"", kr.Name, pe.Name)
	}
}

// checkV2Profile refuses an incomplete profile. IOS accepts one, marks it
// incomplete and never negotiates with it; gresec says so at check time
// instead of leaving a tunnel that silently never comes up.
func (p *parser) checkV2Profile(pr *IKEv2Profile) {
	m := p.v2.profMeta(pr)
	where := "crypto ikev2 profile " + pr.Name
	if len(pr.MatchRemote) == 0 {
		p.errorf(pr.Pos, "%s has no \"match identity remote\"; it would apply to no peer (add, for example, \"match identity remote address 0.0.0.0\")", where)
	}
	if pr.AuthLocal == 0 {
		p.errorf(pr.Pos, "%s has no \"authentication local\"", where)
	}
	if len(pr.AuthRemote) == 0 {
		p.errorf(pr.Pos, "%s has no \"authentication remote\"", where)
	}

	usesPSK := pr.AuthLocal == AuthPreShare || slices.Contains(pr.AuthRemote, AuthPreShare)
	if usesPSK && pr.Keyring == "" {
		w := m.authLocal
		if pr.AuthLocal != AuthPreShare {
			w = m.authRemote[AuthPreShare]
		}
		p.errorf(at(w, pr.Pos), "%s: pre-share needs a keyring; add \"keyring local NAME\"", where)
	}
	if pr.Keyring != "" && p.v2.keyrings[pr.Keyring] == nil {
		var names []string
		for _, kr := range p.cfg.IKEv2Keyrings {
			names = append(names, kr.Name)
		}
		p.errorf(at(m.keyring, pr.Pos), "crypto ikev2 keyring %q is not defined%s", pr.Keyring, hintOrDefine(pr.Keyring, names, "crypto ikev2 keyring"))
	}

	localSig := pr.AuthLocal == AuthRSASig || pr.AuthLocal == AuthECDSASig
	if pr.LocalIdentity.Kind == IDDN && !localSig {
		p.errorf(at(m.identity, pr.Pos), "%s: identity local dn is the subject of the router's certificate; it needs \"authentication local rsa-sig\" or \"ecdsa-sig\"", where)
	}
	if localSig && pr.SignTrustpoint == "" {
		p.errorf(at(m.authLocal, pr.Pos), "%s: authentication local %s signs with the router's certificate; add \"pki trustpoint NAME\"", where, pr.AuthLocal)
	}
	for _, meth := range pr.AuthRemote {
		if meth != AuthPreShare && len(pr.VerifyTrustpoints) == 0 {
			p.errorf(at(m.authRemote[meth], pr.Pos), "%s: authentication remote %s verifies the peer's certificate against a CA; add \"pki trustpoint NAME\"", where, meth)
		}
	}
	p.checkProfileTrustpoints(pr, localSig)
}

// checkProfileTrustpoints checks that the profile's trustpoints exist and
// have the files their use needs.
func (p *parser) checkProfileTrustpoints(pr *IKEv2Profile, localSig bool) {
	m := p.v2.profMeta(pr)
	var names []string
	for _, tp := range p.cfg.Trustpoints {
		names = append(names, tp.Name)
	}
	remoteSig := slices.ContainsFunc(pr.AuthRemote, func(a IKEv2AuthMethod) bool { return a != AuthPreShare })
	seen := map[string]bool{}
	for _, name := range append([]string{pr.SignTrustpoint}, pr.VerifyTrustpoints...) {
		if name == "" || seen[name] {
			continue
		}
		seen[name] = true
		pos := at(m.trustpoints[name], pr.Pos)
		tp := p.v2.trustpoints[name]
		if tp == nil {
			p.errorf(pos, "crypto pki trustpoint %q is not defined%s", name, hintOrDefine(name, names, "crypto pki trustpoint"))
			continue
		}
		if name == pr.SignTrustpoint && localSig {
			if tp.CertFile == "" {
				p.errorf(pos, "crypto ikev2 profile %s: trustpoint %s has no \"certificate file\", which authentication local %s sends", pr.Name, name, pr.AuthLocal)
			}
			if tp.KeyFile == "" {
				p.errorf(pos, "crypto ikev2 profile %s: trustpoint %s has no \"private-key file\", which authentication local %s signs with", pr.Name, name, pr.AuthLocal)
			}
		}
		if slices.Contains(pr.VerifyTrustpoints, name) && remoteSig && tp.CACertFile == "" {
			p.errorf(pos, "crypto ikev2 profile %s: trustpoint %s has no \"ca-certificate file\" to verify the peer's certificate with", pr.Name, name)
		}
	}
}

// checkTrustpointFiles asks the host, when Options allow it, whether the
// trustpoint's files can be read.
func (p *parser) checkTrustpointFiles(tp *PKITrustpoint) {
	if p.opts.FileReadable == nil {
		return
	}
	m := p.v2.tpMeta(tp)
	for _, f := range []struct {
		what, path string
		w          word
	}{
		{"ca-certificate file", tp.CACertFile, m.caCert},
		{"certificate file", tp.CertFile, m.cert},
		{"private-key file", tp.KeyFile, m.key},
	} {
		if f.path == "" {
			continue
		}
		if err := p.opts.FileReadable(f.path); err != nil {
			p.errorf(at(f.w, tp.Pos), "crypto pki trustpoint %s: %s: %v", tp.Name, f.what, err)
		}
	}
}

// checkIKEv2Protection checks what a tunnel protected by an IKEv2
// profile needs of it: a key for the tunnel's peer when it uses
// pre-shared keys, and a match for the identity the peer most likely
// sends, its address.
func (p *parser) checkIKEv2Protection(iface *Interface, pr *IKEv2Profile, pos Pos) {
	c := p.cfg
	switch src := p.sourceAddr(iface.Tunnel); {
	case len(c.IKEv2Policies) == 0 && c.IKEv2.NoDefaultPolicy:
		p.errorf(pos, "%s: no IKEv2 proposal is acceptable: there is no crypto ikev2 policy and \"no crypto ikev2 policy default\" removed IOS's default one", iface.Name)
	case src.IsValid() && len(c.IKEv2Policies) > 0 && c.IKEv2ProposalsFor(src) == nil:
		p.errorf(pos, "%s: no crypto ikev2 policy applies to the tunnel source %s; add \"match address local %s\" to one, or a policy without \"match address local\"",
			iface.Name, src, src)
	}
	dst := iface.Tunnel.Destination
	if !dst.IsValid() {
		return
	}
	usesPSK := pr.AuthLocal == AuthPreShare || slices.Contains(pr.AuthRemote, AuthPreShare)
	if kr := p.v2.keyrings[pr.Keyring]; usesPSK && kr != nil {
		byAddr := slices.ContainsFunc(kr.Peers, func(pe *IKEv2KeyringPeer) bool { return pe.Address.Contains(dst) })
		byID := slices.ContainsFunc(kr.Peers, func(pe *IKEv2KeyringPeer) bool { return pe.Identity.Kind != IDNone })
		if !byAddr && !byID {
			p.errorf(pos, "%s: no peer of crypto ikev2 keyring %s matches %s; add one with \"address %s\"",
				iface.Name, kr.Name, dst, peerString(netip.PrefixFrom(dst, dst.BitLen())))
		}
	}
	addrOnly := len(pr.MatchRemote) > 0 && !slices.ContainsFunc(pr.MatchRemote, func(m IKEv2IdentityMatch) bool { return m.Kind != MatchAddress })
	if addrOnly && !pr.MatchesRemote(IKEv2Identity{Kind: IDAddress, Address: dst}) {
		p.warnf(pos, "%s: crypto ikev2 profile %s matches no remote identity address %s, the identity the peer sends unless told otherwise; the peer at %s would fall under no profile",
			iface.Name, pr.Name, dst, dst)
	}
}
