package config

// The ISAKMP (IKE phase 1) statements: policies, pre-shared keys, Dead
// Peer Detection and NAT traversal.

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// groupProblem says why DH group g is refused, or "" when it is accepted.
func groupProblem(g uint64) string {
	switch g {
	case 14, 15, 16, 19, 20, 21:
		return ""
	case 1:
		return "group 1 is a 768-bit MODP group, broken; use group 14 or 19-21"
	case 2:
		return "group 2 is a 1024-bit MODP group, breakable today; use group 14 or 19-21"
	case 5:
		return "group 5 is a 1536-bit MODP group, below the 2048-bit minimum; use group 14 or 19-21"
	case 22, 23, 24:
		return fmt.Sprintf("group %d has a small prime-order subgroup (RFC 5114) and is deprecated by RFC 8247; use group 14 or 19-21", g)
	}
	return fmt.Sprintf("DH group %d is not supported; use 14, 15, 16, 19, 20 or 21", g)
}

func (p *parser) isakmpPolicy(s *stmt) {
	// A bad header still opens a detached section, so that its lines are
	// checked rather than reported as outside any section.
	detached := &section{ctx: &policyContext, header: "crypto isakmp policy", policy: newPolicy(0, Pos{})}
	n, ok := s.number(0, "policy priority", 1, 10000)
	if !ok {
		if !s.neg {
			p.sec = detached
		}
		return
	}
	s.end(1)
	prio := int(n)
	existing := p.policies[prio]
	if s.neg {
		if existing == nil {
			s.warnf(s.args[0], "%s", describeRemoval(fmt.Sprintf("crypto isakmp policy %d", prio)))
			return
		}
		p.cfg.ISAKMPPolicies = slices.DeleteFunc(p.cfg.ISAKMPPolicies, func(pol *ISAKMPPolicy) bool { return pol == existing })
		delete(p.policies, prio)
		return
	}
	header := fmt.Sprintf("crypto isakmp policy %d", prio)
	if existing != nil {
		// IOS would merge the two sections; in a file that is almost always
		// a copy-paste slip that silently loses one policy.
		s.errorf(s.args[0], "duplicate crypto isakmp policy %d (first at line %d); give each policy its own priority",
			prio, existing.Pos.Line)
		detached.header = header
		p.sec = detached
		return
	}
	pol := newPolicy(prio, s.line.words[0].pos)
	p.cfg.ISAKMPPolicies = append(p.cfg.ISAKMPPolicies, pol)
	p.policies[prio] = pol
	p.sec = &section{ctx: &policyContext, header: header, policy: pol}
}

func newPolicy(prio int, pos Pos) *ISAKMPPolicy {
	return &ISAKMPPolicy{
		Priority:       prio,
		EncryptionBits: defaultPolicyBits,
		Hash:           defaultPolicyHash,
		Group:          defaultPolicyGroup,
		Lifetime:       defaultPolicyLifetime,
		Pos:            pos,
	}
}

func (p *parser) policyEncryption(s *stmt) {
	pol := s.sec.policy
	if s.neg {
		pol.EncryptionBits = defaultPolicyBits
		return
	}
	alg, ok := s.choice(0, "aes", "des", "3des")
	if !ok {
		return
	}
	switch alg {
	case "des":
		s.errorf(s.args[0], "encryption des is refused: a 56-bit key is brute-forced in hours; use aes 256")
		return
	case "3des":
		s.errorf(s.args[0], "encryption 3des is refused: its 64-bit block is open to Sweet32 and RFC 8247 deprecates it; use aes 256")
		return
	}
	bits := uint64(defaultPolicyBits)
	if s.has(1) {
		if bits, ok = s.keyBits(1, 128, 192, 256); !ok {
			return
		}
	}
	if s.end(2) {
		pol.EncryptionBits = int(bits)
	}
}

// keyBits reads argument i as one of the allowed AES key sizes.
func (s *stmt) keyBits(i int, allowed ...uint64) (uint64, bool) {
	w := s.args[i]
	var sizes []string
	for _, a := range allowed {
		if fmt.Sprint(a) == w.text {
			return a, true
		}
		sizes = append(sizes, fmt.Sprint(a))
	}
	s.errorf(w, "invalid key size %q for %q; want %s", w.text, s.path, strings.Join(sizes, ", "))
	return 0, false
}

var hashes = []struct {
	word string
	hash Hash
}{
	{"sha", HashSHA1},
	{"sha256", HashSHA256},
	{"sha384", HashSHA384},
	{"sha512", HashSHA512},
}

func (p *parser) policyHash(s *stmt) {
	pol := s.sec.policy
	if s.neg {
		pol.Hash = defaultPolicyHash
		return
	}
	words := []string{"md5"}
	for _, h := range hashes {
		words = append(words, h.word)
	}
	alg, ok := s.choice(0, words...)
	if !ok || !s.end(1) {
		return
	}
	if alg == "md5" {
		s.errorf(s.args[0], "hash md5 is refused: MD5 collisions are practical and RFC 8247 forbids it; use sha256 or better")
		return
	}
	for _, h := range hashes {
		if h.word == alg {
			pol.Hash = h.hash
		}
	}
}

func (p *parser) policyAuthentication(s *stmt) {
	if s.neg {
		return // pre-share is the default and the only method
	}
	m, ok := s.choice(0, "pre-share", "rsa-sig", "rsa-encr", "ecdsa-sig")
	if !ok || !s.end(1) {
		return
	}
	switch m {
	case "rsa-encr":
		s.errorf(s.args[0], "authentication rsa-encr is refused: RSA-encrypted nonces are obsolete (no IKEv2 equivalent, rarely interoperable); use pre-share")
	case "rsa-sig", "ecdsa-sig":
		s.errorf(s.args[0], "authentication %s needs certificates, which this release does not support; use pre-share", m)
	}
}

func (p *parser) policyGroup(s *stmt) {
	pol := s.sec.policy
	if s.neg {
		pol.Group = defaultPolicyGroup
		return
	}
	g, ok := s.number(0, "DH group", 1, 1000)
	if !ok || !s.end(1) {
		return
	}
	if msg := groupProblem(g); msg != "" {
		s.errorf(s.args[0], "%s", msg)
		return
	}
	pol.Group = DHGroup(g)
}

func (p *parser) policyLifetime(s *stmt) {
	pol := s.sec.policy
	if s.neg {
		pol.Lifetime = defaultPolicyLifetime
		return
	}
	if n, ok := s.number(0, "lifetime seconds", 60, 86400); ok && s.end(1) {
		pol.Lifetime = time.Duration(n) * time.Second
	}
}

func (p *parser) isakmpKey(s *stmt) {
	// IOS: key [0|6] KEY address (IP [MASK] | ipv6 PREFIX/LENGTH) [no-xauth].
	// The type digit is only a type when a key still follows it, so a key
	// that is literally "0" (key 0 address ...) stays possible.
	i := 0
	if s.has(3) && (s.args[0].text == "0" || s.args[0].text == "6") {
		if _, res, _ := matchKeyword(s.args[2].text, []string{"address", "hostname"}); res == matched {
			if s.args[0].text == "6" {
				s.errorf(s.args[0], "type 6 (encrypted) keys need the IOS master key, which gresec does not have; write the key in clear text")
				return
			}
			i = 1
		}
	}
	keyWord, ok := s.arg(i, "a key and \"address IP\"")
	if !ok {
		return
	}
	by, ok := s.choice(i+1, "address", "hostname", "ipv6")
	if !ok {
		return
	}
	switch by {
	case "hostname":
		s.errorf(s.args[i+1], "keys by hostname are not supported; give the peer's address")
		return
	case "ipv6":
		s.errorf(s.args[i+1], "write IPv6 peers as \"address ipv6 PREFIX/LENGTH\"")
		return
	}
	addrWord, ok := s.arg(i+2, "an IPv4 address or \"ipv6 PREFIX/LENGTH\"")
	if !ok {
		return
	}
	var peer netip.Prefix
	next := i + 3
	if _, res, _ := matchKeyword(addrWord.text, []string{"ipv6"}); res == matched {
		if addrWord, ok = s.arg(next, "an IPv6 PREFIX/LENGTH (::/0 for any peer)"); !ok {
			return
		}
		if peer, ok = s.ipv6Peer(addrWord); !ok {
			return
		}
		next++
	} else if peer, next, ok = s.ipv4Peer(addrWord, next); !ok {
		return
	}
	if s.has(next) {
		// no-xauth is what gresec does anyway: it has no XAUTH.
		if _, res, _ := matchKeyword(s.args[next].text, []string{"no-xauth"}); res == matched {
			next++
		}
	}
	if !s.end(next) {
		return
	}
	if peer.IsSingleIP() {
		if msg := hostAddressProblem(peer.Addr()); msg != "" {
			s.errorf(addrWord, "invalid peer address %s: %s", peer.Addr(), msg)
			return
		}
	}
	existing := p.keys[peer]
	if s.neg {
		if existing == nil {
			s.warnf(addrWord, "%s", describeRemoval("a crypto isakmp key for "+peerString(peer)))
			return
		}
		p.cfg.ISAKMPKeys = slices.DeleteFunc(p.cfg.ISAKMPKeys, func(k *ISAKMPKey) bool { return k == existing })
		delete(p.keys, peer)
		return
	}
	key := keyWord.text
	if len(key) > maxKeyLength {
		s.errorf(keyWord, "key too long (%d characters; at most %d)", len(key), maxKeyLength)
		return
	}
	if len(key) < minGoodKeyLength {
		// Main Mode with pre-shared keys lets an active attacker who
		// answers as the peer test guesses offline (the HASH is keyed
		// with the PSK): length is what keeps that out of reach.
		s.warnf(keyWord, "pre-shared key of %d characters is short: an attacker who can answer as the peer can guess it offline; use at least %d random characters",
			len(key), minGoodKeyLength)
	}
	k := ISAKMPKey{Key: key, Peer: peer, Pos: s.line.words[0].pos}
	if existing != nil {
		s.warnf(addrWord, "replaces the key for %s at line %d", peerString(peer), existing.Pos.Line)
		*existing = k
		return
	}
	p.cfg.ISAKMPKeys = append(p.cfg.ISAKMPKeys, &k)
	p.keys[peer] = &k
}

// ipv4Peer reads `IP [MASK]` from w on and returns the argument after it.
func (s *stmt) ipv4Peer(w word, next int) (netip.Prefix, int, bool) {
	if strings.Contains(w.text, ":") {
		s.errorf(w, "%q is not an IPv4 address; write IPv6 peers as \"address ipv6 PREFIX/LENGTH\"", w.text)
		return netip.Prefix{}, next, false
	}
	addr, ok := s.parseIPv4(w)
	if !ok {
		return netip.Prefix{}, next, false
	}
	bits := 32
	if addr.IsUnspecified() {
		bits = 0 // "address 0.0.0.0" alone is the wildcard, as on IOS
	}
	if s.has(next) && looksNumeric(s.args[next].text) {
		if bits, ok = s.mask(next); !ok {
			return netip.Prefix{}, next, false
		}
		next++
	}
	peer := netip.PrefixFrom(addr, bits)
	if peer.Masked() != peer {
		s.errorf(w, "peer %s has host bits set for mask %s; did you mean %s?", addr, maskString(bits), peer.Masked().Addr())
		return netip.Prefix{}, next, false
	}
	return peer, next, true
}

// ipv6Peer reads `PREFIX/LENGTH` after "address ipv6"; IOS wants the
// length even for one peer (/128).
func (s *stmt) ipv6Peer(w word) (netip.Prefix, bool) {
	peer, ok := s.parseIPv6Prefix(w, 128)
	if !ok {
		return netip.Prefix{}, false
	}
	if peer.Masked() != peer {
		s.errorf(w, "peer %s has host bits set; did you mean %s?", peer, peer.Masked())
		return netip.Prefix{}, false
	}
	return peer, true
}

// peerString renders a key's peer as written after "address".
func peerString(peer netip.Prefix) string {
	if peer.Addr().Is6() {
		return "ipv6 " + peer.String()
	}
	switch peer.Bits() {
	case 32:
		return peer.Addr().String()
	case 0:
		if peer.Addr().IsUnspecified() {
			return "0.0.0.0"
		}
	}
	return peer.Addr().String() + " " + maskString(peer.Bits())
}

func (p *parser) isakmpKeepalive(s *stmt) {
	if s.neg {
		p.cfg.DPD = nil
		return
	}
	n, ok := s.number(0, "keepalive seconds", 10, 3600)
	if !ok {
		return
	}
	dpd := &DPD{Interval: time.Duration(n) * time.Second, Retry: defaultDPDRetry}
	next := 1
	if s.has(next) && isDigits(s.args[next].text) {
		r, ok := s.number(next, "retry seconds", 2, 60)
		if !ok {
			return
		}
		dpd.Retry = time.Duration(r) * time.Second
		next++
	}
	if s.has(next) {
		mode, ok := s.choice(next, "periodic", "on-demand")
		if !ok {
			return
		}
		dpd.Periodic = mode == "periodic"
		next++
	}
	if s.end(next) {
		p.cfg.DPD = dpd
	}
}

func (p *parser) natKeepalive(s *stmt) {
	if s.neg {
		p.cfg.NATKeepalive = 0
		return
	}
	if n, ok := s.number(0, "NAT keepalive seconds", 5, 3600); ok && s.end(1) {
		p.cfg.NATKeepalive = time.Duration(n) * time.Second
	}
}

func (p *parser) natForceEncap(s *stmt) {
	if s.end(0) {
		p.cfg.ForceUDPEncap = !s.neg
	}
}
