package config

// `crypto ikev2 profile NAME`: which peers it applies to, how both sides
// authenticate, and the IKE SA's timers.

import (
	"slices"
	"time"
)

// ikev2ProfileContext is the mode of a `crypto ikev2 profile` section.
var ikev2ProfileContext = context{
	name: "crypto ikev2 profile",
	commands: []*command{
		{name: "match", sub: []*command{
			{name: "identity", sub: []*command{
				{name: "remote", run: (*parser).v2ProfileMatch},
			}},
			{name: "certificate", run: (*parser).refuseCertificateMap, hidden: true},
			{name: "fvrf", run: (*parser).refuseFVRF, hidden: true},
		}},
		{name: "identity", sub: []*command{
			{name: "local", run: (*parser).v2ProfileIdentity},
		}},
		{name: "authentication", sub: []*command{
			{name: "local", run: (*parser).v2ProfileAuthLocal},
			{name: "remote", run: (*parser).v2ProfileAuthRemote},
		}},
		{name: "keyring", sub: []*command{
			{name: "local", run: (*parser).v2ProfileKeyring},
			{name: "aaa", run: (*parser).refuseAAAKeyring, hidden: true},
		}},
		{name: "pki", sub: []*command{
			{name: "trustpoint", run: (*parser).v2ProfileTrustpoint},
		}},
		{name: "dpd", run: (*parser).v2ProfileDPD},
		{name: "lifetime", run: (*parser).v2ProfileLifetime},
		{name: "nat", sub: []*command{
			{name: "keepalive", run: (*parser).v2ProfileNATKeepalive},
		}},
		{name: "description", run: (*parser).v2ProfileDescription},
	},
}

// v2ProfileMeta records where a profile's statements were written.
type v2ProfileMeta struct {
	authLocal, keyring, identity word
	authRemote                   map[IKEv2AuthMethod]word
	trustpoints                  map[string]word
}

func (st *ikev2State) profMeta(pr *IKEv2Profile) *v2ProfileMeta {
	m := st.profileMeta[pr]
	if m == nil {
		m = &v2ProfileMeta{authRemote: map[IKEv2AuthMethod]word{}, trustpoints: map[string]word{}}
		st.profileMeta[pr] = m
	}
	return m
}

func (p *parser) ikev2Profile(s *stmt) {
	detached := &section{ctx: &ikev2ProfileContext, header: "crypto ikev2 profile", v2profile: &IKEv2Profile{}}
	name, w, attached, ok := s.sectionName("profile")
	if !ok {
		return
	}
	existing := p.v2.profiles[name]
	if s.neg {
		if existing == nil {
			s.warnf(w, "%s", describeRemoval("crypto ikev2 profile "+name))
			return
		}
		p.cfg.IKEv2Profiles = slices.DeleteFunc(p.cfg.IKEv2Profiles, func(o *IKEv2Profile) bool { return o == existing })
		delete(p.v2.profiles, name)
		delete(p.v2.profileMeta, existing)
		return
	}
	if !attached {
		p.sec = detached
		return
	}
	if existing == nil {
		existing = &IKEv2Profile{Name: name, Lifetime: defaultIKEv2Lifetime, Pos: s.line.words[0].pos}
		p.cfg.IKEv2Profiles = append(p.cfg.IKEv2Profiles, existing)
		p.v2.profiles[name] = existing
	}
	p.sec = &section{ctx: &ikev2ProfileContext, header: "crypto ikev2 profile " + name, v2profile: existing}
}

// v2ProfileMatch is `match identity remote (address IP [MASK] | address
// ipv6 PREFIX | fqdn [domain] NAME | email [domain] NAME | key-id ID |
// any)`. Lines add up, as on IOS; `no` removes one, or all without
// arguments.
func (p *parser) v2ProfileMatch(s *stmt) {
	pr := s.sec.v2profile
	if s.neg && !s.has(0) {
		pr.MatchRemote = nil
		return
	}
	kind, ok := s.choice(0, "address", "fqdn", "email", "key-id", "any")
	if !ok {
		return
	}
	var m IKEv2IdentityMatch
	var w word // the value, where duplicates are reported
	switch kind {
	case "any":
		if !s.end(1) {
			return
		}
		m, w = IKEv2IdentityMatch{Kind: MatchAny}, s.args[0]
	case "address":
		pfx, pw, next, ok := s.peerPrefix(1)
		if !ok || !s.end(next) {
			return
		}
		m, w = IKEv2IdentityMatch{Kind: MatchAddress, Prefix: pfx}, pw
	case "key-id":
		if w, ok = s.arg(1, "a key ID"); !ok || !s.end(2) {
			return
		}
		m = IKEv2IdentityMatch{Kind: MatchKeyID, Value: w.text}
	default: // fqdn, email
		i := 1
		domain := false
		if s.has(2) {
			if _, res, _ := matchKeyword(s.args[1].text, []string{"domain"}); res == matched {
				domain, i = true, 2
			}
		}
		if w, ok = s.arg(i, "a name, or \"domain NAME\""); !ok || !s.end(i+1) {
			return
		}
		switch {
		case kind == "email" && domain:
			m, ok = IKEv2IdentityMatch{Kind: MatchEmailDomain, Value: w.text}, s.checkFQDN(w)
		case kind == "email":
			m, ok = IKEv2IdentityMatch{Kind: MatchEmail, Value: w.text}, s.checkEmail(w)
		case domain:
			m, ok = IKEv2IdentityMatch{Kind: MatchFQDNDomain, Value: w.text}, s.checkFQDN(w)
		default:
			m, ok = IKEv2IdentityMatch{Kind: MatchFQDN, Value: w.text}, s.checkFQDN(w)
		}
		if !ok {
			return
		}
	}
	i := slices.Index(pr.MatchRemote, m)
	switch {
	case s.neg && i < 0:
		s.warnf(w, "%s", describeRemoval("match identity remote "+m.String()))
	case s.neg:
		pr.MatchRemote = slices.Delete(pr.MatchRemote, i, i+1)
	case i >= 0:
		s.warnf(w, "duplicate of an earlier \"match identity remote %s\"; ignored", m)
	default:
		pr.MatchRemote = append(pr.MatchRemote, m)
	}
}

func (p *parser) refuseCertificateMap(s *stmt) {
	if !s.neg {
		s.errorf(s.kw, "certificate maps are not supported; use \"match identity remote\" with the identity the peer's certificate carries")
	}
}

func (p *parser) refuseAAAKeyring(s *stmt) {
	if !s.neg {
		s.errorf(s.kw, "AAA keyrings are not supported; use \"keyring local NAME\"")
	}
}

func (p *parser) v2ProfileIdentity(s *stmt) {
	pr := s.sec.v2profile
	if s.neg {
		pr.LocalIdentity = IKEv2Identity{}
		return
	}
	if id, ok := s.identity(0, true); ok {
		pr.LocalIdentity = id
		p.v2.profMeta(pr).identity = s.args[0]
	}
}

// authMethod reads argument 0 as an authentication method.
func (s *stmt) authMethod() (IKEv2AuthMethod, bool) {
	m, ok := s.choice(0, "pre-share", "rsa-sig", "ecdsa-sig", "eap")
	if !ok {
		return 0, false
	}
	if m == "eap" {
		s.errorf(s.args[0], "EAP authentication is not supported; use pre-share, rsa-sig or ecdsa-sig")
		return 0, false
	}
	if m == "pre-share" && s.has(1) {
		if _, res, _ := matchKeyword(s.args[1].text, []string{"key"}); res == matched {
			s.errorf(s.args[1], "keys in the profile are not supported; put the key in a \"crypto ikev2 keyring\" and add \"keyring local NAME\"")
			return 0, false
		}
	}
	if !s.end(1) {
		return 0, false
	}
	return map[string]IKEv2AuthMethod{"pre-share": AuthPreShare, "rsa-sig": AuthRSASig, "ecdsa-sig": AuthECDSASig}[m], true
}

func (p *parser) v2ProfileAuthLocal(s *stmt) {
	pr := s.sec.v2profile
	if s.neg {
		pr.AuthLocal = 0
		return
	}
	// One local method, as on IOS: a second line replaces the first.
	if m, ok := s.authMethod(); ok {
		pr.AuthLocal = m
		p.v2.profMeta(pr).authLocal = s.args[0]
	}
}

func (p *parser) v2ProfileAuthRemote(s *stmt) {
	pr := s.sec.v2profile
	if s.neg && !s.has(0) {
		pr.AuthRemote = nil
		return
	}
	m, ok := s.authMethod()
	if !ok {
		return
	}
	i := slices.Index(pr.AuthRemote, m)
	switch {
	case s.neg && i < 0:
		s.warnf(s.args[0], "%s", describeRemoval("authentication remote "+m.String()))
	case s.neg:
		pr.AuthRemote = slices.Delete(pr.AuthRemote, i, i+1)
	case i >= 0:
		s.warnf(s.args[0], "duplicate of an earlier \"authentication remote %s\"; ignored", m)
	default:
		pr.AuthRemote = append(pr.AuthRemote, m)
		p.v2.profMeta(pr).authRemote[m] = s.args[0]
	}
}

func (p *parser) v2ProfileKeyring(s *stmt) {
	pr := s.sec.v2profile
	if s.neg {
		pr.Keyring = ""
		return
	}
	if w, ok := s.arg(0, "a keyring name"); ok && s.end(1) {
		pr.Keyring = w.text
		p.v2.profMeta(pr).keyring = w
	}
}

// v2ProfileTrustpoint is `pki trustpoint NAME [sign|verify]`; without
// sign or verify the trustpoint serves both, as on IOS.
func (p *parser) v2ProfileTrustpoint(s *stmt) {
	pr := s.sec.v2profile
	if s.neg && !s.has(0) {
		pr.SignTrustpoint, pr.VerifyTrustpoints = "", nil
		return
	}
	w, ok := s.arg(0, "a trustpoint name")
	if !ok {
		return
	}
	sign, verify := true, true
	if s.has(1) {
		use, ok := s.choice(1, "sign", "verify")
		if !ok {
			return
		}
		sign, verify = use == "sign", use == "verify"
	}
	if !s.end(2) {
		return
	}
	name := w.text
	if s.neg {
		found := false
		if sign && pr.SignTrustpoint == name {
			pr.SignTrustpoint, found = "", true
		}
		if i := slices.Index(pr.VerifyTrustpoints, name); verify && i >= 0 {
			pr.VerifyTrustpoints, found = slices.Delete(pr.VerifyTrustpoints, i, i+1), true
		}
		if !found {
			s.warnf(w, "%s", describeRemoval("pki trustpoint "+name))
		}
		return
	}
	if sign {
		pr.SignTrustpoint = name // one certificate to sign with
	}
	if verify && !slices.Contains(pr.VerifyTrustpoints, name) {
		pr.VerifyTrustpoints = append(pr.VerifyTrustpoints, name)
	}
	p.v2.profMeta(pr).trustpoints[name] = w
}

func (p *parser) v2ProfileDPD(s *stmt) {
	pr := s.sec.v2profile
	if s.neg {
		pr.DPD = nil
		return
	}
	if d, ok := s.ikev2DPD(); ok {
		pr.DPD = d
	}
}

func (p *parser) v2ProfileLifetime(s *stmt) {
	pr := s.sec.v2profile
	if s.neg {
		pr.Lifetime = defaultIKEv2Lifetime
		return
	}
	if n, ok := s.number(0, "lifetime seconds", 120, 86400); ok && s.end(1) {
		pr.Lifetime = time.Duration(n) * time.Second
	}
}

func (p *parser) v2ProfileNATKeepalive(s *stmt) {
	pr := s.sec.v2profile
	if s.neg {
		pr.NATKeepalive = 0
		return
	}
	if n, ok := s.number(0, "NAT keepalive seconds", 5, 3600); ok && s.end(1) {
		pr.NATKeepalive = time.Duration(n) * time.Second
	}
}

func (p *parser) v2ProfileDescription(s *stmt) {
	if d, ok := s.descriptionText(); ok {
		s.sec.v2profile.Description = d
	}
}
