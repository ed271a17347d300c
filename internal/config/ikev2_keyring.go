package config

// `crypto ikev2 keyring NAME` and its `peer NAME` sub-sections: the one
// place with three levels of indentation.
//
//	crypto ikev2 keyring KEYS
//	 peer ANY
//	  address 0.0.0.0 0.0.0.0
//	  pre-shared-key SecretPassword12

import (
	"net/netip"
	"slices"
	"strings"
)

// ikev2KeyringContext is the mode of a `crypto ikev2 keyring` section.
var ikev2KeyringContext = context{
	name: "crypto ikev2 keyring",
	commands: []*command{
		{name: "peer", run: (*parser).keyringPeer},
	},
}

// ikev2PeerContext is the mode of a keyring's `peer NAME` sub-section.
var ikev2PeerContext = context{
	name: "crypto ikev2 keyring peer",
	commands: []*command{
		{name: "address", run: (*parser).peerAddress},
		{name: "identity", run: (*parser).peerIdentity},
		{name: "pre-shared-key", run: (*parser).peerPSK},
		{name: "hostname", run: (*parser).peerHostname},
		{name: "description", run: (*parser).peerDescription},
	},
}

func (p *parser) ikev2Keyring(s *stmt) {
	detached := &section{ctx: &ikev2KeyringContext, header: "crypto ikev2 keyring", keyring: &IKEv2Keyring{}}
	name, w, attached, ok := s.sectionName("keyring")
	if !ok {
		return
	}
	existing := p.v2.keyrings[name]
	if s.neg {
		if existing == nil {
			s.warnf(w, "%s", describeRemoval("crypto ikev2 keyring "+name))
			return
		}
		p.cfg.IKEv2Keyrings = slices.DeleteFunc(p.cfg.IKEv2Keyrings, func(o *IKEv2Keyring) bool { return o == existing })
		delete(p.v2.keyrings, name)
		return
	}
	if !attached {
		p.sec = detached
		return
	}
	if existing == nil {
		existing = &IKEv2Keyring{Name: name, Pos: s.line.words[0].pos}
		p.cfg.IKEv2Keyrings = append(p.cfg.IKEv2Keyrings, existing)
		p.v2.keyrings[name] = existing
	}
	p.sec = &section{ctx: &ikev2KeyringContext, header: "crypto ikev2 keyring " + name, keyring: existing}
}

func (p *parser) keyringPeer(s *stmt) {
	kr := s.sec.keyring
	w, ok := s.arg(0, "a peer name")
	if !ok {
		return
	}
	s.end(1)
	name := w.text
	i := slices.IndexFunc(kr.Peers, func(o *IKEv2KeyringPeer) bool { return o.Name == name })
	if s.neg {
		if i < 0 {
			s.warnf(w, "%s", describeRemoval("peer "+name+" in keyring "+kr.Name))
			return
		}
		kr.Peers = slices.Delete(kr.Peers, i, i+1)
		return
	}
	var peer *IKEv2KeyringPeer
	switch {
	case len(name) > maxNameLength:
		s.errorf(w, "peer name too long (at most %d characters)", maxNameLength)
		peer = &IKEv2KeyringPeer{} // detached
	case i >= 0:
		peer = kr.Peers[i] // continued, as on IOS
	default:
		peer = &IKEv2KeyringPeer{Name: name, Pos: s.line.words[0].pos}
		kr.Peers = append(kr.Peers, peer)
	}
	p.sec = s.sec.enter(s.line, &section{ctx: &ikev2PeerContext, header: "peer " + name, peer: peer})
}

// peerPrefix reads the peer after "address" from argument i: `IP [MASK]`,
// `ipv6 PREFIX/LENGTH` (as crypto isakmp key writes it) or `PREFIX/LENGTH`
// (as IOS writes IPv6 in IKEv2 sections). It returns the argument after it.
func (s *stmt) peerPrefix(i int) (netip.Prefix, word, int, bool) {
	w, ok := s.arg(i, "an IPv4 address [MASK] or \"ipv6 PREFIX/LENGTH\"")
	if !ok {
		return netip.Prefix{}, w, i, false
	}
	var pfx netip.Prefix
	next := i + 1
	switch _, res, _ := matchKeyword(w.text, []string{"ipv6"}); {
	case res == matched:
		if w, ok = s.arg(next, "an IPv6 PREFIX/LENGTH (::/0 for any peer)"); !ok {
			return netip.Prefix{}, w, next, false
		}
		next++
		pfx, ok = s.ipv6Peer(w)
	case strings.Contains(w.text, ":"):
		pfx, ok = s.ipv6Peer(w)
	default:
		pfx, next, ok = s.ipv4Peer(w, next)
	}
	if !ok {
		return netip.Prefix{}, w, next, false
	}
	if pfx.IsSingleIP() {
		if msg := hostAddressProblem(pfx.Addr()); msg != "" {
			s.errorf(w, "invalid peer address %s: %s", pfx.Addr(), msg)
			return netip.Prefix{}, w, next, false
		}
	}
	return pfx, w, next, true
}

func (p *parser) peerAddress(s *stmt) {
	peer := s.sec.peer
	if s.neg {
		peer.Address = netip.Prefix{}
		return
	}
	if pfx, _, next, ok := s.peerPrefix(0); ok && s.end(next) {
		peer.Address = pfx
	}
}

// identity reads an identity from argument i to the end of the line:
// `address A`, `fqdn NAME`, `email ADDRESS`, `key-id ID`, and with dn
// also `dn` (the local identity from the certificate).
func (s *stmt) identity(i int, dn bool) (IKEv2Identity, bool) {
	kinds := []string{"address", "fqdn", "email", "key-id"}
	if dn {
		kinds = append(kinds, "dn")
	}
	kind, ok := s.choice(i, kinds...)
	if !ok {
		return IKEv2Identity{}, false
	}
	if kind == "dn" {
		return IKEv2Identity{Kind: IDDN}, s.end(i + 1)
	}
	w, ok := s.arg(i+1, "the "+kind)
	if !ok || !s.end(i+2) {
		return IKEv2Identity{}, false
	}
	switch kind {
	case "address":
		a, ok := s.parseAddr(w)
		return IKEv2Identity{Kind: IDAddress, Address: a}, ok
	case "fqdn":
		return IKEv2Identity{Kind: IDFQDN, Value: w.text}, s.checkFQDN(w)
	case "email":
		return IKEv2Identity{Kind: IDEmail, Value: w.text}, s.checkEmail(w)
	}
	return IKEv2Identity{Kind: IDKeyID, Value: w.text}, true
}

// checkFQDN refuses what cannot be a domain name: IKE compares FQDN
// identities as strings, so a slip here fails only at negotiation.
func (s *stmt) checkFQDN(w word) bool {
	switch {
	case strings.Contains(w.text, "@"):
		s.errorf(w, "%q is an email address, not a domain name; use \"email\"", w.text)
		return false
	case len(w.text) > 253:
		s.errorf(w, "domain name too long (%d characters; at most 253)", len(w.text))
		return false
	case isAddr(w.text):
		s.errorf(w, "%q is an address, not a domain name; use \"address\"", w.text)
		return false
	}
	return true
}

func (s *stmt) checkEmail(w word) bool {
	if at := strings.IndexByte(w.text, '@'); at <= 0 || at == len(w.text)-1 {
		s.errorf(w, "invalid email address %q: want NAME@DOMAIN", w.text)
		return false
	}
	return true
}

func (p *parser) peerIdentity(s *stmt) {
	peer := s.sec.peer
	if s.neg {
		peer.Identity = IKEv2Identity{}
		return
	}
	if id, ok := s.identity(0, false); ok {
		peer.Identity = id
	}
}

// peerPSK is `pre-shared-key [local|remote] [0|6] KEY`.
func (p *parser) peerPSK(s *stmt) {
	peer := s.sec.peer
	i := 0
	dir := ""
	// A direction is one only when a key still follows it, so that a key
	// that is literally "local" stays possible.
	if s.has(1) || s.neg && s.has(0) {
		if j, res, _ := matchKeyword(s.args[0].text, []string{"local", "remote"}); res == matched {
			dir, i = []string{"local", "remote"}[j], 1
		}
	} else if s.has(0) && (strings.EqualFold(s.args[0].text, "local") || strings.EqualFold(s.args[0].text, "remote")) {
		s.errorf(s.kw, "incomplete command: \"pre-shared-key %s\" needs a key", strings.ToLower(s.args[0].text))
		return
	}
	target := map[string]*string{"": &peer.PSK, "local": &peer.LocalPSK, "remote": &peer.RemotePSK}[dir]
	if s.neg {
		if dir == "" {
			peer.PSK, peer.LocalPSK, peer.RemotePSK = "", "", ""
		}
		*target = ""
		return
	}
	if s.has(i+1) && (s.args[i].text == "0" || s.args[i].text == "6") {
		if s.args[i].text == "6" {
			s.errorf(s.args[i], "type 6 (encrypted) keys need the IOS master key, which gresec does not have; write the key in clear text")
			return
		}
		i++
	}
	w, ok := s.arg(i, "a key")
	if !ok || !s.end(i+1) {
		return
	}
	if !s.checkPSK(w) {
		return
	}
	*target = w.text
}

// checkPSK applies the length rules of crypto isakmp key to a key.
func (s *stmt) checkPSK(w word) bool {
	if len(w.text) > maxKeyLength {
		s.errorf(w, "key too long (%d characters; at most %d)", len(w.text), maxKeyLength)
		return false
	}
	if len(w.text) < minGoodKeyLength {
		// The initiator's AUTH payload is keyed with the PSK and goes to
		// whoever answers: an active attacker can test guesses offline.
		s.warnf(w, "pre-shared key of %d characters is short: an attacker who can answer as the peer can guess it offline; use at least %d random characters",
			len(w.text), minGoodKeyLength)
	}
	return true
}

func (p *parser) peerHostname(s *stmt) {
	peer := s.sec.peer
	if s.neg {
		peer.Hostname = ""
		return
	}
	w, ok := s.arg(0, "a host name")
	if ok && s.end(1) && s.checkFQDN(w) {
		peer.Hostname = w.text
	}
}

func (p *parser) peerDescription(s *stmt) {
	if d, ok := s.descriptionText(); ok {
		s.sec.peer.Description = d
	}
}

func isAddr(text string) bool {
	_, err := netip.ParseAddr(text)
	return err == nil
}
