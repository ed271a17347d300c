package config

// The IPsec (phase 2) statements: transform sets, profiles and the
// anti-replay window.

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

func (p *parser) cryptoMap(s *stmt) {
	s.errorf(s.kw, "crypto maps are not supported; protect the GRE tunnel with \"tunnel protection ipsec profile NAME\" under its interface")
}

func (p *parser) replayWindow(s *stmt) {
	if s.neg {
		p.cfg.ReplayWindow = defaultReplayWindow
		return
	}
	w, ok := s.arg(0, "a window size (64, 128, 256, 512 or 1024)")
	if !ok || !s.end(1) {
		return
	}
	switch w.text {
	case "64", "128", "256", "512", "1024":
		n, _ := s.parseNumber(w, "window size", 64, 1024)
		p.cfg.ReplayWindow = int(n)
	default:
		s.errorf(w, "invalid window size %q; want 64, 128, 256, 512 or 1024", w.text)
	}
}

func (p *parser) replayDisable(s *stmt) {
	if s.neg {
		return // anti-replay is on, which is what "no ... disable" asks for
	}
	s.errorf(s.kw, "anti-replay cannot be disabled: it is what stops an attacker from re-injecting captured ESP packets; raise \"window-size\" if packets arrive far out of order")
}

func (p *parser) globalSALifetime(s *stmt) {
	s.errorf(s.kw, "global SA lifetimes are not supported; set them per profile with \"set security-association lifetime\"")
}

// transforms are the transform names IOS accepts; the unsupported ones are
// listed so they can be refused with a reason instead of "unknown".
var transforms = []string{
	"esp-aes", "esp-gcm",
	"esp-sha-hmac", "esp-sha256-hmac", "esp-sha384-hmac", "esp-sha512-hmac",
	"esp-des", "esp-3des", "esp-null", "esp-seal", "esp-gmac", "esp-md5-hmac",
	"ah-md5-hmac", "ah-sha-hmac", "ah-sha256-hmac", "ah-sha384-hmac", "ah-sha512-hmac",
	"comp-lzs",
}

var integrityTransforms = map[string]ESPIntegrity{
	"esp-sha-hmac":    IntegritySHA1,
	"esp-sha256-hmac": IntegritySHA256,
	"esp-sha384-hmac": IntegritySHA384,
	"esp-sha512-hmac": IntegritySHA512,
}

var refusedTransforms = map[string]string{
	"esp-des":      "esp-des is refused: a 56-bit key is brute-forced in hours; use esp-gcm 256 or esp-aes 256",
	"esp-3des":     "esp-3des is refused: its 64-bit block is open to Sweet32 and RFC 8221 deprecates it; use esp-gcm 256 or esp-aes 256",
	"esp-null":     "esp-null is refused: it does not encrypt at all; use esp-gcm 256 or esp-aes 256",
	"esp-seal":     "esp-seal is refused: SEAL is obsolete; use esp-gcm 256 or esp-aes 256",
	"esp-gmac":     "esp-gmac is refused: it authenticates but does not encrypt; use esp-gcm",
	"esp-md5-hmac": "esp-md5-hmac is refused: RFC 8221 marks HMAC-MD5 MUST NOT; use esp-sha256-hmac or better",
	"comp-lzs":     "comp-lzs is not supported: compression before encryption leaks plaintext through packet sizes",
}

func (p *parser) transformSet(s *stmt) {
	nameWord, ok := s.arg(0, "a name and transforms (e.g. esp-aes 256 esp-sha256-hmac)")
	if !ok {
		return
	}
	name := nameWord.text
	existing := p.tsets[name]
	if s.neg {
		if existing == nil {
			s.warnf(nameWord, "%s", describeRemoval("crypto ipsec transform-set "+name))
			return
		}
		p.cfg.TransformSets = slices.DeleteFunc(p.cfg.TransformSets, func(t *TransformSet) bool { return t == existing })
		delete(p.tsets, name)
		return
	}
	ts := &TransformSet{Name: name, Mode: ModeTunnel, Pos: s.line.words[0].pos}
	header := "crypto ipsec transform-set " + name
	p.sec = &section{ctx: &transformSetContext, header: header, tset: ts}
	valid := p.parseTransforms(s, ts)
	if len(name) > maxNameLength {
		s.errorf(nameWord, "transform-set name too long (at most %d characters)", maxNameLength)
		return
	}
	if existing != nil {
		s.errorf(nameWord, "duplicate crypto ipsec transform-set %q (first at line %d)", name, existing.Pos.Line)
		return
	}
	if !valid {
		p.invalidTS[name] = true
		return
	}
	p.cfg.TransformSets = append(p.cfg.TransformSets, ts)
	p.tsets[name] = ts
}

// parseTransforms reads the transforms after the name, in any order as IOS
// allows, and checks that they make a safe combination.
func (p *parser) parseTransforms(s *stmt, ts *TransformSet) bool {
	if _, ok := s.arg(1, "transforms (e.g. esp-aes 256 esp-sha256-hmac)"); !ok {
		return false
	}
	var cipherWord, integrityWord word
	for j := 1; j < len(s.args); j++ {
		w := s.args[j]
		t, ok := s.matchChoice(w, transforms)
		if !ok {
			return false
		}
		if reason, refused := refusedTransforms[t]; refused {
			s.errorf(w, "%s", reason)
			return false
		}
		if strings.HasPrefix(t, "ah-") {
			s.errorf(w, "%s is not supported: AH does not encrypt and does not cross NAT; use an ESP integrity transform with esp-aes, or esp-gcm", t)
			return false
		}
		if integ, ok := integrityTransforms[t]; ok {
			if ts.Integrity != IntegrityNone {
				s.errorf(w, "more than one integrity transform (%q already given)", integrityWord.text)
				return false
			}
			ts.Integrity, integrityWord = integ, w
			continue
		}
		if ts.Cipher != 0 {
			s.errorf(w, "more than one encryption transform (%q already given)", cipherWord.text)
			return false
		}
		cipherWord = w
		sizes := []uint64{128, 192, 256}
		ts.Cipher = ESPAESCBC
		if t == "esp-gcm" {
			sizes = []uint64{128, 256}
			ts.Cipher = ESPAESGCM
		}
		ts.KeyBits = 128
		if j+1 < len(s.args) && isDigits(s.args[j+1].text) {
			bits, ok := s.keyBits(j+1, sizes...)
			if !ok {
				return false
			}
			ts.KeyBits = int(bits)
			j++
		}
	}
	switch {
	case ts.Cipher == 0:
		s.errorf(integrityWord, "transform-set %s has no encryption transform; add esp-aes or esp-gcm", ts.Name)
		return false
	case ts.Cipher == ESPAESCBC && ts.Integrity == IntegrityNone:
		s.errorf(cipherWord, "esp-aes without an integrity transform is refused: unauthenticated CBC can be tampered with and decrypted by padding oracles; add esp-sha256-hmac or use esp-gcm")
		return false
	case ts.Cipher == ESPAESGCM && ts.Integrity != IntegrityNone:
		s.errorf(integrityWord, "esp-gcm authenticates by itself and takes no integrity transform; remove %s", integrityWord.text)
		return false
	}
	return true
}

func (p *parser) transformMode(s *stmt) {
	ts := s.sec.tset
	if s.neg {
		ts.Mode = ModeTunnel
		return
	}
	m, ok := s.choice(0, "transport", "tunnel")
	if !ok || !s.end(1) {
		return
	}
	ts.Mode = ModeTunnel
	if m == "transport" {
		ts.Mode = ModeTransport
	}
}

func (p *parser) ipsecProfile(s *stmt) {
	w, ok := s.arg(0, "a profile name")
	if !ok {
		return
	}
	s.end(1)
	name := w.text
	existing := p.profiles[name]
	if s.neg {
		if existing == nil {
			s.warnf(w, "%s", describeRemoval("crypto ipsec profile "+name))
			return
		}
		p.cfg.Profiles = slices.DeleteFunc(p.cfg.Profiles, func(pr *Profile) bool { return pr == existing })
		delete(p.profiles, name)
		delete(p.tsRefs, existing)
		delete(p.v2.ipsecRefs, existing)
		return
	}
	if len(name) > maxNameLength {
		s.errorf(w, "profile name too long (at most %d characters)", maxNameLength)
		existing = &Profile{} // detached
	}
	if existing == nil {
		existing = &Profile{
			Name:              name,
			LifetimeSeconds:   defaultSALifetime,
			LifetimeKilobytes: defaultSAKilobytes,
			Pos:               s.line.words[0].pos,
		}
		p.cfg.Profiles = append(p.cfg.Profiles, existing)
		p.profiles[name] = existing
	}
	// Re-entering a profile continues it, as on IOS.
	p.sec = &section{ctx: &profileContext, header: "crypto ipsec profile " + name, profile: existing}
}

func (p *parser) profileTransformSets(s *stmt) {
	pr := s.sec.profile
	if s.neg {
		pr.TransformSets = nil
		delete(p.tsRefs, pr)
		return
	}
	if _, ok := s.arg(0, "one to six transform-set names"); !ok {
		return
	}
	if len(s.args) > maxProfileSets {
		s.errorf(s.args[maxProfileSets], "at most %d transform sets per profile", maxProfileSets)
		return
	}
	var names []string
	for _, w := range s.args {
		if slices.Contains(names, w.text) {
			s.errorf(w, "transform set %q is listed twice", w.text)
			return
		}
		names = append(names, w.text)
	}
	pr.TransformSets = names
	p.tsRefs[pr] = s.args
}

func (p *parser) profilePFS(s *stmt) {
	pr := s.sec.profile
	if s.neg {
		pr.PFS = 0
		return
	}
	// IOS takes a bare "set pfs" as group 1; gresec will not guess.
	w, ok := s.arg(0, "a group (group14, group15, group16, group19, group20 or group21); IOS's implicit group1 is too weak")
	if !ok || !s.end(1) {
		return
	}
	lower := strings.ToLower(w.text)
	num, isGroup := strings.CutPrefix(lower, "group")
	if !isGroup || !isDigits(num) || len(num) > 4 {
		if isDigits(lower) && len(lower) <= 4 {
			s.errorf(w, "invalid PFS group %q; write \"group%s\"", w.text, w.text)
		} else {
			s.errorf(w, "invalid PFS group %q; want group14, group15, group16, group19, group20 or group21", w.text)
		}
		return
	}
	n, _ := strconv.ParseUint(num, 10, 64) // at most 4 digits: cannot fail
	if msg := groupProblem(n); msg != "" {
		s.errorf(w, "%s", msg)
		return
	}
	pr.PFS = DHGroup(n)
}

func (p *parser) profileLifetimeSeconds(s *stmt) {
	pr := s.sec.profile
	if s.neg {
		pr.LifetimeSeconds = defaultSALifetime
		return
	}
	if n, ok := s.number(0, "lifetime seconds", 120, 86400); ok && s.end(1) {
		pr.LifetimeSeconds = time.Duration(n) * time.Second
	}
}

func (p *parser) profileLifetimeKilobytes(s *stmt) {
	pr := s.sec.profile
	if s.neg {
		pr.LifetimeKilobytes = defaultSAKilobytes
		return
	}
	if s.has(0) && strings.EqualFold(s.args[0].text, "disable") {
		s.errorf(s.args[0], "volume lifetimes cannot be disabled: the counter must not wrap under one key; set a larger value (at most 4294967295)")
		return
	}
	if n, ok := s.number(0, "lifetime kilobytes", 2560, 4294967295); ok && s.end(1) {
		pr.LifetimeKilobytes = n
	}
}

// profileIKEv2 is `set ikev2-profile NAME`: the profile's SAs are
// negotiated with IKEv2. Without it they are negotiated with IKEv1.
func (p *parser) profileIKEv2(s *stmt) {
	pr := s.sec.profile
	if s.neg {
		pr.IKEv2Profile = ""
		delete(p.v2.ipsecRefs, pr)
		return
	}
	if w, ok := s.arg(0, "an IKEv2 profile name"); ok && s.end(1) {
		pr.IKEv2Profile = w.text
		p.v2.ipsecRefs[pr] = w
	}
}
