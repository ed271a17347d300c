package ike

import (
	"errors"
	"fmt"
	"time"

	"github.com/gresec/gresec/internal/config"
	"github.com/gresec/gresec/internal/dh"
	"github.com/gresec/gresec/internal/esp"
	"github.com/gresec/gresec/internal/isakmp"
)

// Proposals and their selection: phase 1 transforms from `crypto isakmp
// policy` (RFC 2409 Appendix A attributes) and Quick Mode transforms from
// transform sets (RFC 2407 section 4.5 attributes). The initiator offers
// everything configured in order of preference; the responder takes the
// first of the initiator's transforms that it also accepts, so the
// initiator's preference wins, as in IOS.

// Defaults when a lifetime is not configured or not proposed.
const (
	defaultP1Lifetime  = 86400 * time.Second // IOS `crypto isakmp policy` default
	defaultP2Lifetime  = 3600 * time.Second  // IOS default
	defaultP2LifeKB    = 4608000             // IOS default
	rfcP2Lifetime      = 28800 * time.Second // RFC 2407 section 4.5 when none is proposed
	minLifetime        = 10 * time.Second    // refuse silly short lifetimes from peers
	maxLifetimeSeconds = 1<<31 - 1
)

var errTransform = errors.New("unsupported transform")

// p1Policy is one phase 1 transform: AES-CBC with a key length, a hash
// (HMAC as prf), pre-shared key authentication, a Diffie-Hellman group and
// a lifetime.
type p1Policy struct {
	encBits  int
	hash     isakmp.HashAlgorithm
	group    isakmp.Group
	lifetime time.Duration
}

func p1FromConfig(p config.ISAKMPPolicy) (p1Policy, error) {
	h, ok := hashFromConfig(p.Hash)
	if !ok {
		return p1Policy{}, fmt.Errorf("policy %d: unsupported hash %d", p.Priority, p.Hash)
	}
	g := isakmp.Group(p.Group)
	if !v1Group(dh.Group(g)) {
		return p1Policy{}, fmt.Errorf("policy %d: unsupported group %d", p.Priority, p.Group)
	}
	switch p.EncryptionBits {
	case 128, 192, 256:
	default:
		return p1Policy{}, fmt.Errorf("policy %d: unsupported AES key length %d", p.Priority, p.EncryptionBits)
	}
	life := p.Lifetime
	if life <= 0 {
		life = defaultP1Lifetime
	}
	return p1Policy{encBits: p.EncryptionBits, hash: h, group: g, lifetime: life}, nil
}

// sameSuite reports whether p and q agree on everything but the lifetime.
func (p p1Policy) sameSuite(q p1Policy) bool {
	return p.encBits == q.encBits && p.hash == q.hash && p.group == q.group
}

func (p p1Policy) String() string {
	return fmt.Sprintf("aes-%d/%s/psk/group %d", p.encBits, hashName(p.hash), p.group)
}

// transform encodes p as transform number num of a KEY_IKE proposal.
func (p p1Policy) transform(num uint8) isakmp.Transform {
	return isakmp.Transform{
		Number: num,
		ID:     isakmp.TransformKeyIKE,
		Attributes: []isakmp.Attribute{
			isakmp.BasicAttribute(isakmp.AttrEncryptionAlgorithm, uint16(isakmp.EncrAESCBC)),
			isakmp.BasicAttribute(isakmp.AttrKeyLength, uint16(p.encBits)),
			isakmp.BasicAttribute(isakmp.AttrHashAlgorithm, uint16(p.hash)),
			isakmp.BasicAttribute(isakmp.AttrAuthMethod, uint16(isakmp.AuthPreSharedKey)),
			isakmp.BasicAttribute(isakmp.AttrGroupDescription, uint16(p.group)),
			isakmp.BasicAttribute(isakmp.AttrLifeType, uint16(isakmp.LifeSeconds)),
			isakmp.UintAttribute(isakmp.AttrLifeDuration, uint64(p.lifetime/time.Second)),
		},
	}
}

// parseP1Transform reads a phase 1 transform; any attribute or value gresec
// does not implement makes the whole transform unacceptable.
func parseP1Transform(t isakmp.Transform) (p1Policy, error) {
	if t.ID != isakmp.TransformKeyIKE {
		return p1Policy{}, fmt.Errorf("%w: transform ID %d", errTransform, t.ID)
	}
	var p p1Policy
	var haveEnc, haveAuth bool
	for _, a := range t.Attributes {
		v, err := a.Uint()
		if err != nil {
			return p1Policy{}, err
		}
		switch a.Type {
		case isakmp.AttrEncryptionAlgorithm:
			if isakmp.EncryptionAlgorithm(v) != isakmp.EncrAESCBC {
				return p1Policy{}, fmt.Errorf("%w: encryption algorithm %d", errTransform, v)
			}
			haveEnc = true
		case isakmp.AttrKeyLength:
			if v != 128 && v != 192 && v != 256 {
				return p1Policy{}, fmt.Errorf("%w: key length %d", errTransform, v)
			}
			p.encBits = int(v)
		case isakmp.AttrHashAlgorithm:
			if _, ok := hashByID(isakmp.HashAlgorithm(v)); !ok {
				return p1Policy{}, fmt.Errorf("%w: hash %d", errTransform, v)
			}
			p.hash = isakmp.HashAlgorithm(v)
		case isakmp.AttrAuthMethod:
			if isakmp.AuthMethod(v) != isakmp.AuthPreSharedKey {
				return p1Policy{}, fmt.Errorf("%w: authentication method %d", errTransform, v)
			}
			haveAuth = true
		case isakmp.AttrGroupDescription:
			if !v1Group(dh.Group(v)) {
				return p1Policy{}, fmt.Errorf("%w: group %d", errTransform, v)
			}
			p.group = isakmp.Group(v)
		case isakmp.AttrLifeType, isakmp.AttrLifeDuration:
			// Read as pairs below.
		default:
			return p1Policy{}, fmt.Errorf("%w: attribute %d", errTransform, a.Type)
		}
	}
	secs, _, err := isakmp.Lifetimes(t.Attributes, isakmp.AttrLifeType, isakmp.AttrLifeDuration)
	if err != nil {
		return p1Policy{}, err
	}
	switch {
	case !haveEnc || !haveAuth || p.hash == 0 || p.group == 0:
		return p1Policy{}, fmt.Errorf("%w: mandatory attribute missing", errTransform)
	case p.encBits == 0:
		p.encBits = 128 // RFC 3602: AES without key length is AES-128
	}
	if secs > maxLifetimeSeconds {
		secs = maxLifetimeSeconds
	}
	p.lifetime = time.Duration(secs) * time.Second
	return p, nil
}

// selectP1 picks the first transform of the initiator's SA payload that one
// of our policies accepts. It returns the proposal and transform to echo
// and the policy to use, its lifetime the lower of the two.
func selectP1(sa *isakmp.SA, ours []p1Policy) (isakmp.Proposal, p1Policy, bool) {
	for _, prop := range sa.Proposals {
		if prop.Protocol != isakmp.ProtoISAKMP {
			continue
		}
		for _, t := range prop.Transforms {
			theirs, err := parseP1Transform(t)
			if err != nil {
				continue
			}
			for _, p := range ours {
				if !p.sameSuite(theirs) {
					continue
				}
				chosen := p
				if theirs.lifetime > 0 && theirs.lifetime < chosen.lifetime {
					chosen.lifetime = max(theirs.lifetime, minLifetime)
				}
				echo := isakmp.Proposal{
					Number:     prop.Number,
					Protocol:   prop.Protocol,
					SPI:        prop.SPI,
					Transforms: []isakmp.Transform{t},
				}
				return echo, chosen, true
			}
		}
	}
	return isakmp.Proposal{}, p1Policy{}, false
}

// p2Offer is one Quick Mode transform: an ESP suite, an encapsulation mode
// and lifetimes, with PFS when group is not 0.
type p2Offer struct {
	suite    esp.Suite
	mode     Mode
	encap    isakmp.EncapsulationMode // as on the wire (UDP variants after NAT-T)
	group    isakmp.Group
	lifetime time.Duration
	lifeKB   uint64
}

// SuiteFromTransformSet maps a transform set to an ESP suite and mode; the
// daemon uses it too, so that what it shows is what IKE proposes.
func SuiteFromTransformSet(ts config.TransformSet) (esp.Suite, Mode, error) {
	var s esp.Suite
	switch {
	case ts.Cipher == config.ESPAESCBC && ts.KeyBits == 128:
		s.Cipher = esp.AES128CBC
	case ts.Cipher == config.ESPAESCBC && ts.KeyBits == 192:
		s.Cipher = esp.AES192CBC
	case ts.Cipher == config.ESPAESCBC && (ts.KeyBits == 256):
		s.Cipher = esp.AES256CBC
	case ts.Cipher == config.ESPAESGCM && ts.KeyBits == 128:
		s.Cipher = esp.AES128GCM
	case ts.Cipher == config.ESPAESGCM && ts.KeyBits == 256:
		s.Cipher = esp.AES256GCM
	case ts.Cipher == config.ESPAESCBC && ts.KeyBits == 0:
		s.Cipher = esp.AES128CBC // `esp-aes` alone is AES-128, as in IOS
	case ts.Cipher == config.ESPAESGCM && ts.KeyBits == 0:
		s.Cipher = esp.AES128GCM
	default:
		return esp.Suite{}, 0, fmt.Errorf("transform set %s: unsupported cipher", ts.Name)
	}
	switch ts.Integrity {
	case config.IntegrityNone:
	case config.IntegritySHA1:
		s.Integrity = esp.HMACSHA1
	case config.IntegritySHA256:
		s.Integrity = esp.HMACSHA256
	case config.IntegritySHA384:
		s.Integrity = esp.HMACSHA384
	case config.IntegritySHA512:
		s.Integrity = esp.HMACSHA512
	default:
		return esp.Suite{}, 0, fmt.Errorf("transform set %s: unsupported integrity", ts.Name)
	}
	if err := s.Validate(); err != nil {
		return esp.Suite{}, 0, fmt.Errorf("transform set %s: %w", ts.Name, err)
	}
	mode := ModeTunnel
	if ts.Mode == config.ModeTransport {
		mode = ModeTransport
	}
	return s, mode, nil
}

// encapMode is the encapsulation mode attribute for mode, UDP-encapsulated
// (RFC 3947 section 5.1) when udp.
func encapMode(mode Mode, udp bool) isakmp.EncapsulationMode {
	switch {
	case mode == ModeTransport && udp:
		return isakmp.EncapUDPTransport
	case mode == ModeTransport:
		return isakmp.EncapTransport
	case udp:
		return isakmp.EncapUDPTunnel
	}
	return isakmp.EncapTunnel
}

// modeOf interprets an encapsulation mode attribute, draft values included.
func modeOf(e isakmp.EncapsulationMode) (mode Mode, udp bool, ok bool) {
	switch e {
	case isakmp.EncapTunnel:
		return ModeTunnel, false, true
	case isakmp.EncapTransport:
		return ModeTransport, false, true
	case isakmp.EncapUDPTunnel, isakmp.EncapUDPTunnelDraft:
		return ModeTunnel, true, true
	case isakmp.EncapUDPTransport, isakmp.EncapUDPTransportDraft:
		return ModeTransport, true, true
	}
	return 0, false, false
}

func espTransformID(c esp.Cipher) (isakmp.TransformID, uint16) {
	switch c {
	case esp.AES128CBC:
		return isakmp.ESPAESCBC, 128
	case esp.AES192CBC:
		return isakmp.ESPAESCBC, 192
	case esp.AES256CBC:
		return isakmp.ESPAESCBC, 256
	case esp.AES128GCM:
		return isakmp.ESPAESGCM16, 128
	case esp.AES256GCM:
		return isakmp.ESPAESGCM16, 256
	}
	return 0, 0
}

// authAlgorithm maps an integrity transform to its IKEv1 attribute value
// (RFC 2407 section 4.5; RFC 4868 section 4 for SHA-2: 5, 6, 7).
func authAlgorithm(i esp.Integrity) isakmp.AuthAlgorithm {
	switch i {
	case esp.HMACSHA1:
		return isakmp.AuthAlgHMACSHA1
	case esp.HMACSHA256:
		return isakmp.AuthAlgHMACSHA256
	case esp.HMACSHA384:
		return isakmp.AuthAlgHMACSHA384
	case esp.HMACSHA512:
		return isakmp.AuthAlgHMACSHA512
	}
	return 0
}

// transform encodes o as transform number num of an ESP proposal.
func (o p2Offer) transform(num uint8) isakmp.Transform {
	id, bits := espTransformID(o.suite.Cipher)
	attrs := []isakmp.Attribute{
		isakmp.BasicAttribute(isakmp.IPsecAttrLifeType, uint16(isakmp.LifeSeconds)),
		isakmp.UintAttribute(isakmp.IPsecAttrLifeDuration, uint64(o.lifetime/time.Second)),
		isakmp.BasicAttribute(isakmp.IPsecAttrLifeType, uint16(isakmp.LifeKilobytes)),
		isakmp.UintAttribute(isakmp.IPsecAttrLifeDuration, o.lifeKB),
	}
	if o.group != 0 {
		attrs = append(attrs, isakmp.BasicAttribute(isakmp.IPsecAttrGroupDescription, uint16(o.group)))
	}
	attrs = append(attrs, isakmp.BasicAttribute(isakmp.IPsecAttrEncapsulationMode, uint16(o.encap)))
	if a := authAlgorithm(o.suite.Integrity); a != 0 {
		attrs = append(attrs, isakmp.BasicAttribute(isakmp.IPsecAttrAuthAlgorithm, uint16(a)))
	}
	attrs = append(attrs, isakmp.BasicAttribute(isakmp.IPsecAttrKeyLength, bits))
	return isakmp.Transform{Number: num, ID: id, Attributes: attrs}
}

// parseP2Transform reads an ESP transform. Lifetimes not proposed are 0.
func parseP2Transform(t isakmp.Transform) (p2Offer, error) {
	var o p2Offer
	var bits uint64
	var auth isakmp.AuthAlgorithm
	for _, a := range t.Attributes {
		v, err := a.Uint()
		if err != nil {
			return p2Offer{}, err
		}
		switch a.Type {
		case isakmp.IPsecAttrLifeType, isakmp.IPsecAttrLifeDuration:
		case isakmp.IPsecAttrGroupDescription:
			if !v1Group(dh.Group(v)) {
				return p2Offer{}, fmt.Errorf("%w: PFS group %d", errTransform, v)
			}
			o.group = isakmp.Group(v)
		case isakmp.IPsecAttrEncapsulationMode:
			if _, _, ok := modeOf(isakmp.EncapsulationMode(v)); !ok {
				return p2Offer{}, fmt.Errorf("%w: encapsulation mode %d", errTransform, v)
			}
			o.encap = isakmp.EncapsulationMode(v)
		case isakmp.IPsecAttrAuthAlgorithm:
			auth = isakmp.AuthAlgorithm(v)
		case isakmp.IPsecAttrKeyLength:
			bits = v
		default:
			return p2Offer{}, fmt.Errorf("%w: attribute %d", errTransform, a.Type)
		}
	}
	secs, kb, err := isakmp.Lifetimes(t.Attributes, isakmp.IPsecAttrLifeType, isakmp.IPsecAttrLifeDuration)
	if err != nil {
		return p2Offer{}, err
	}
	if secs > maxLifetimeSeconds {
		secs = maxLifetimeSeconds
	}
	o.lifetime = time.Duration(secs) * time.Second
	o.lifeKB = kb
	if o.encap == 0 {
		return p2Offer{}, fmt.Errorf("%w: no encapsulation mode", errTransform)
	}
	o.mode, _, _ = modeOf(o.encap)
	switch {
	case t.ID == isakmp.ESPAESCBC && bits == 128:
		o.suite.Cipher = esp.AES128CBC
	case t.ID == isakmp.ESPAESCBC && bits == 192:
		o.suite.Cipher = esp.AES192CBC
	case t.ID == isakmp.ESPAESCBC && bits == 256:
		o.suite.Cipher = esp.AES256CBC
	case t.ID == isakmp.ESPAESGCM16 && bits == 128:
		o.suite.Cipher = esp.AES128GCM
	case t.ID == isakmp.ESPAESGCM16 && bits == 256:
		o.suite.Cipher = esp.AES256GCM
	default:
		return p2Offer{}, fmt.Errorf("%w: ESP transform %d with key length %d", errTransform, t.ID, bits)
	}
	switch auth {
	case 0:
	case isakmp.AuthAlgHMACSHA1:
		o.suite.Integrity = esp.HMACSHA1
	case isakmp.AuthAlgHMACSHA256:
		o.suite.Integrity = esp.HMACSHA256
	case isakmp.AuthAlgHMACSHA384:
		o.suite.Integrity = esp.HMACSHA384
	case isakmp.AuthAlgHMACSHA512:
		o.suite.Integrity = esp.HMACSHA512
	default:
		return p2Offer{}, fmt.Errorf("%w: authentication algorithm %d", errTransform, auth)
	}
	if err := o.suite.Validate(); err != nil {
		return p2Offer{}, fmt.Errorf("%w: %v", errTransform, err)
	}
	return o, nil
}

// p2Choice is the responder's pick from a Quick Mode SA payload.
type p2Choice struct {
	offer    p2Offer
	proposal isakmp.Proposal // the initiator's proposal, with only the chosen transform
}

// selectP2 picks the first ESP transform of the initiator's offer that one
// of our transform sets accepts: same suite and mode, UDP encapsulation
// exactly when NAT traversal is in use, and PFS as configured (a responder
// without `set pfs` accepts the initiator's group). Proposals that combine
// ESP with another protocol (same proposal number) are skipped.
func selectP2(sa *isakmp.SA, ours []p2Offer, natt bool, pfs isakmp.Group) (p2Choice, bool) {
	count := make(map[uint8]int)
	for _, p := range sa.Proposals {
		count[p.Number]++
	}
	for _, prop := range sa.Proposals {
		if prop.Protocol != isakmp.ProtoESP || count[prop.Number] != 1 || len(prop.SPI) != 4 {
			continue
		}
		for _, t := range prop.Transforms {
			theirs, err := parseP2Transform(t)
			if err != nil {
				continue
			}
			_, udp, _ := modeOf(theirs.encap)
			if udp != natt {
				continue
			}
			if pfs != 0 && theirs.group != pfs {
				continue
			}
			for _, o := range ours {
				if o.suite != theirs.suite || o.mode != theirs.mode {
					continue
				}
				chosen := theirs
				chosen.lifetime = lowerLifetime(o.lifetime, theirs.lifetime)
				chosen.lifeKB = lowerKB(o.lifeKB, theirs.lifeKB)
				return p2Choice{
					offer: chosen,
					proposal: isakmp.Proposal{
						Number:     prop.Number,
						Protocol:   isakmp.ProtoESP,
						SPI:        prop.SPI,
						Transforms: []isakmp.Transform{t},
					},
				}, true
			}
		}
	}
	return p2Choice{}, false
}

// lowerLifetime is the lower of our lifetime and a proposed one (0: none
// proposed, which RFC 2407 says means 28800 seconds).
func lowerLifetime(ours, theirs time.Duration) time.Duration {
	if theirs == 0 {
		theirs = rfcP2Lifetime
	}
	return max(min(ours, theirs), minLifetime)
}

func lowerKB(ours, theirs uint64) uint64 {
	if theirs == 0 || ours < theirs {
		return ours
	}
	return theirs
}

// v1Group reports whether IKEv1 negotiates group g here: package dh also
// computes Curve25519, which RFC 8031 defines for IKEv2 only.
func v1Group(g dh.Group) bool { return g.Supported() && g != dh.Curve25519 }
