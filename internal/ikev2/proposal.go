package ikev2

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/gresec/gresec/internal/dh"
	"github.com/gresec/gresec/internal/esp"
	"github.com/gresec/gresec/internal/ike"
	"github.com/gresec/gresec/internal/ikev2/wire"
)

// Proposals (RFC 7296 section 3.3). An IKE SA proposal of ours holds every
// algorithm its `crypto ikev2 proposal` lists, and the peer may pick any
// combination; a CHILD_SA offer holds one proposal per transform set. As a
// responder gresec takes, in its own order of preference, the first
// combination the peer offers.

// check validates a proposal of the configuration.
func (p Proposal) check() error {
	if len(p.Encryption) == 0 || len(p.Groups) == 0 {
		return errors.New("a proposal needs encryption and a group")
	}
	aead := p.Encryption[0].ID == wire.EncrAESGCM16
	for _, en := range p.Encryption {
		if !(encr{en.ID, en.KeyBits}).valid() {
			return fmt.Errorf("encryption %d/%d bits is not supported", en.ID, en.KeyBits)
		}
		if (en.ID == wire.EncrAESGCM16) != aead {
			return errors.New("a proposal cannot mix AEAD and non-AEAD encryption")
		}
	}
	if aead && len(p.Integrity) > 0 {
		return errors.New("an AEAD proposal takes no integrity")
	}
	if !aead && len(p.Integrity) == 0 {
		return errors.New("a proposal with AES-CBC needs integrity")
	}
	for _, i := range p.Integrity {
		if _, ok := integByID(i); !ok {
			return fmt.Errorf("integrity %d is not supported", i)
		}
	}
	if len(p.prfs()) == 0 {
		return errors.New("a proposal needs a PRF")
	}
	for _, f := range p.prfs() {
		if _, ok := prfByID(f); !ok {
			return fmt.Errorf("prf %d is not supported", f)
		}
	}
	for _, g := range p.Groups {
		if !g.Supported() {
			return fmt.Errorf("group %d is not supported", g)
		}
	}
	return nil
}

// prfs returns the proposal's PRFs: as configured, or as IOS does without
// `prf`, those of its integrity algorithms.
func (p Proposal) prfs() []uint16 {
	if len(p.PRF) > 0 {
		return p.PRF
	}
	var out []uint16
	for _, i := range p.Integrity {
		switch i {
		case wire.IntegHMACSHA1_96:
			out = append(out, wire.PRFHMACSHA1)
		case wire.IntegHMACSHA2_256:
			out = append(out, wire.PRFHMACSHA2_256)
		case wire.IntegHMACSHA2_384:
			out = append(out, wire.PRFHMACSHA2_384)
		case wire.IntegHMACSHA2_512:
			out = append(out, wire.PRFHMACSHA2_512)
		}
	}
	return out
}

// ikeOffer returns our IKE SA proposals, the first group of each first
// among its groups when group is 0, else group first (after an
// INVALID_KE_PAYLOAD). spi is empty in IKE_SA_INIT and 8 octets in a
// rekey.
func ikeOffer(props []Proposal, spi []byte, group dh.Group) []wire.Proposal {
	var out []wire.Proposal
	for i, p := range props {
		wp := wire.Proposal{Number: uint8(i + 1), Protocol: wire.ProtoIKE, SPI: spi}
		for _, en := range p.Encryption {
			wp.Transforms = append(wp.Transforms, wire.Encr(en.ID, en.KeyBits))
		}
		for _, f := range p.prfs() {
			wp.Transforms = append(wp.Transforms, wire.PRF(f))
		}
		for _, in := range p.Integrity {
			wp.Transforms = append(wp.Transforms, wire.Integ(in))
		}
		groups := p.Groups
		if group != 0 && slices.Contains(groups, group) {
			groups = append([]dh.Group{group}, slices.DeleteFunc(slices.Clone(groups), func(g dh.Group) bool { return g == group })...)
		}
		for _, g := range groups {
			wp.Transforms = append(wp.Transforms, wire.DH(wire.Group(g)))
		}
		out = append(out, wp)
	}
	return out
}

// firstGroup is the group of the KE payload we send first: that of our
// first proposal.
func firstGroup(props []Proposal) dh.Group { return props[0].Groups[0] }

// transformsOf returns the transforms of type t in p.
func transformsOf(p wire.Proposal, t wire.TransformType) []wire.Transform {
	var out []wire.Transform
	for _, x := range p.Transforms {
		if x.Type == t {
			out = append(out, x)
		}
	}
	return out
}

// knownTypes reports whether every transform of p is of a type RFC 7296
// defines; a proposal with another is refused (section 3.3.6).
func knownTypes(p wire.Proposal) bool {
	for _, x := range p.Transforms {
		if x.Type < wire.TransformEncr || x.Type > wire.TransformESN {
			return false
		}
	}
	return true
}

// hasEncr reports whether ts offers encr en: its ID and key length (a
// missing Key Length attribute matches no AES transform, which needs it).
func hasEncr(ts []wire.Transform, en encr) bool {
	for _, t := range ts {
		if bits, ok := t.KeyLength(); t.ID == en.id && ok && bits == en.keyBits {
			return true
		}
	}
	return false
}

func hasID(ts []wire.Transform, id uint16) bool {
	return slices.ContainsFunc(ts, func(t wire.Transform) bool { return t.ID == id && len(t.Attributes) == 0 })
}

// chooseIKE picks, as responder, the IKE SA algorithms from the peer's
// proposals: for each of our proposals in order, the first of the peer's
// that offers a combination of its algorithms. It returns the suite and
// the proposal to answer with (one transform of each type, with the
// peer's number and spi).
func chooseIKE(ours []Proposal, theirs []wire.Proposal, spi []byte) (suite, wire.Proposal, bool) {
	for _, op := range ours {
		for _, tp := range theirs {
			if tp.Protocol != wire.ProtoIKE || !knownTypes(tp) {
				continue
			}
			s, ok := pickIKE(op, tp)
			if !ok {
				continue
			}
			return s, s.proposal(tp.Number, spi), true
		}
	}
	return suite{}, wire.Proposal{}, false
}

func pickIKE(op Proposal, tp wire.Proposal) (suite, bool) {
	var s suite
	encrs, prfs := transformsOf(tp, wire.TransformEncr), transformsOf(tp, wire.TransformPRF)
	integs, groups := transformsOf(tp, wire.TransformInteg), transformsOf(tp, wire.TransformDH)
	found := false
	for _, en := range op.Encryption {
		if e := (encr{en.ID, en.KeyBits}); hasEncr(encrs, e) {
			s.encr, found = e, true
			break
		}
	}
	if !found {
		return suite{}, false
	}
	found = false
	for _, f := range op.prfs() {
		if hasID(prfs, f) {
			s.prf, found = mustPRF(f), true
			break
		}
	}
	if !found {
		return suite{}, false
	}
	if s.encr.aead() {
		// An AEAD proposal has no integrity, or only NONE.
		for _, t := range integs {
			if t.ID != wire.IntegNone {
				return suite{}, false
			}
		}
	} else {
		found = false
		for _, in := range op.Integrity {
			if hasID(integs, in) {
				s.integ, _ = integByID(in)
				found = true
				break
			}
		}
		if !found {
			return suite{}, false
		}
	}
	found = false
	for _, g := range op.Groups {
		if hasID(groups, uint16(g)) {
			s.group, found = uint16(g), true
			break
		}
	}
	return s, found
}

func mustPRF(id uint16) prf {
	p, ok := prfByID(id)
	if !ok {
		panic(fmt.Sprintf("ikev2: prf %d", id))
	}
	return p
}

// proposal returns s as a responder's single-transform proposal.
func (s suite) proposal(number uint8, spi []byte) wire.Proposal {
	p := wire.Proposal{Number: number, Protocol: wire.ProtoIKE, SPI: spi}
	p.Transforms = append(p.Transforms, wire.Encr(s.encr.id, s.encr.keyBits), wire.PRF(s.prf.id))
	if !s.encr.aead() {
		p.Transforms = append(p.Transforms, wire.Integ(s.integ.id))
	}
	p.Transforms = append(p.Transforms, wire.DH(wire.Group(s.group)))
	return p
}

// acceptIKE checks, as initiator, the responder's chosen proposal: one
// proposal, one transform of each type, all of them offered by us.
func acceptIKE(offered []wire.Proposal, sa *wire.SA) (suite, error) {
	if len(sa.Proposals) != 1 {
		return suite{}, fmt.Errorf("responder chose %d proposals", len(sa.Proposals))
	}
	ch := sa.Proposals[0]
	i := slices.IndexFunc(offered, func(p wire.Proposal) bool { return p.Number == ch.Number })
	if ch.Protocol != wire.ProtoIKE || i < 0 {
		return suite{}, fmt.Errorf("responder chose proposal %d, which we did not offer", ch.Number)
	}
	var s suite
	counts := map[wire.TransformType]int{}
	for _, t := range ch.Transforms {
		counts[t.Type]++
		if !slices.ContainsFunc(offered[i].Transforms, func(o wire.Transform) bool { return o.String() == t.String() }) {
			return suite{}, fmt.Errorf("responder chose %v, which we did not offer", t)
		}
		switch t.Type {
		case wire.TransformEncr:
			bits, _ := t.KeyLength()
			s.encr = encr{t.ID, bits}
		case wire.TransformPRF:
			s.prf = mustPRF(t.ID)
		case wire.TransformInteg:
			if t.ID != wire.IntegNone {
				s.integ, _ = integByID(t.ID)
			}
		case wire.TransformDH:
			s.group = t.ID
		default:
			return suite{}, fmt.Errorf("responder chose transform %v for the IKE SA", t)
		}
	}
	if counts[wire.TransformEncr] != 1 || counts[wire.TransformPRF] != 1 || counts[wire.TransformDH] != 1 ||
		counts[wire.TransformInteg] > 1 || (!s.encr.aead() && s.integ.id == 0) {
		return suite{}, errors.New("responder's proposal does not hold exactly one transform of each type")
	}
	return s, nil
}

// childOffer is one CHILD_SA proposal of ours: a transform set's suite.
type childOffer struct {
	suite esp.Suite
	mode  ike.Mode
}

// childOffers returns a tunnel's transform sets as ESP proposals.
func childOffers(p Protect) []childOffer {
	var out []childOffer
	for _, ts := range p.TransformSets {
		s, m, err := ike.SuiteFromTransformSet(ts)
		if err == nil {
			out = append(out, childOffer{s, m})
		}
	}
	return out
}

// The ESP transforms as IKEv2 names them (RFC 7296 section 3.3.2, RFC
// 4868, RFC 5282): one table both ways.
type espCipherID struct {
	c    esp.Cipher
	id   uint16
	bits uint16
}

type espIntegID struct {
	i  esp.Integrity
	id uint16
}

var (
	espCiphers = []espCipherID{
		{esp.AES128CBC, wire.EncrAESCBC, 128}, {esp.AES192CBC, wire.EncrAESCBC, 192}, {esp.AES256CBC, wire.EncrAESCBC, 256},
		{esp.AES128GCM, wire.EncrAESGCM16, 128}, {esp.AES256GCM, wire.EncrAESGCM16, 256},
	}
	espIntegs = []espIntegID{
		{esp.IntegrityNone, wire.IntegNone}, {esp.HMACSHA1, wire.IntegHMACSHA1_96}, {esp.HMACSHA256, wire.IntegHMACSHA2_256},
		{esp.HMACSHA384, wire.IntegHMACSHA2_384}, {esp.HMACSHA512, wire.IntegHMACSHA2_512},
	}
)

// espEncr and espInteg map a suite to IKEv2 transforms.
func espEncr(s esp.Suite) wire.Transform {
	for _, x := range espCiphers {
		if x.c == s.Cipher {
			return wire.Encr(x.id, x.bits)
		}
	}
	panic("ikev2: unknown ESP cipher")
}

func espInteg(i esp.Integrity) uint16 {
	for _, x := range espIntegs {
		if x.i == i {
			return x.id
		}
	}
	return wire.IntegNone
}

// childProposals returns the ESP proposals for offers with our inbound
// SPI, and the PFS group when pfs is set.
func childProposals(offers []childOffer, spi uint32, pfs dh.Group) []wire.Proposal {
	var spiB [4]byte
	binary.BigEndian.PutUint32(spiB[:], spi)
	var out []wire.Proposal
	for i, o := range offers {
		p := wire.Proposal{Number: uint8(i + 1), Protocol: wire.ProtoESP, SPI: spiB[:]}
		p.Transforms = append(p.Transforms, espEncr(o.suite))
		if !o.suite.Cipher.AEAD() {
			p.Transforms = append(p.Transforms, wire.Integ(espInteg(o.suite.Integrity)))
		}
		if pfs != 0 {
			p.Transforms = append(p.Transforms, wire.DH(wire.Group(pfs)))
		}
		p.Transforms = append(p.Transforms, wire.ESN(wire.ESNNo))
		out = append(out, p)
	}
	return out
}

// childSuiteOf returns the suite a single-choice ESP proposal names, its
// DH group (0 for none) and SPI, or ok false if it names more than one
// choice of a type or an algorithm gresec does not have.
func childSuiteOf(p wire.Proposal) (s esp.Suite, group dh.Group, spi uint32, ok bool) {
	if p.Protocol != wire.ProtoESP || len(p.SPI) != 4 || !knownTypes(p) {
		return esp.Suite{}, 0, 0, false
	}
	spi = binary.BigEndian.Uint32(p.SPI)
	counts := map[wire.TransformType]int{}
	for _, t := range p.Transforms {
		counts[t.Type]++
		switch t.Type {
		case wire.TransformEncr:
			bits, _ := t.KeyLength()
			i := slices.IndexFunc(espCiphers, func(x espCipherID) bool { return x.id == t.ID && x.bits == bits })
			if i < 0 {
				return esp.Suite{}, 0, 0, false
			}
			s.Cipher = espCiphers[i].c
		case wire.TransformInteg:
			i := slices.IndexFunc(espIntegs, func(x espIntegID) bool { return x.id == t.ID })
			if i < 0 {
				return esp.Suite{}, 0, 0, false
			}
			s.Integrity = espIntegs[i].i
		case wire.TransformDH:
			if t.ID != 0 {
				group = dh.Group(t.ID)
			}
		case wire.TransformESN:
			if t.ID != wire.ESNNo {
				return esp.Suite{}, 0, 0, false
			}
		default:
			return esp.Suite{}, 0, 0, false
		}
	}
	for _, n := range counts {
		if n > 1 {
			return esp.Suite{}, 0, 0, false
		}
	}
	return s, group, spi, s.Validate() == nil
}

// chooseChild picks, as responder, an ESP proposal: for each of our
// transform sets in order, the first of the peer's proposals that offers
// it (with our PFS group when we want PFS; a group we did not ask for is
// accepted as IOS does when the peer wants PFS). It returns the offer, the
// peer's proposal (reduced to the chosen transforms), the peer's inbound
// SPI and the DH group.
//
// In IKE_AUTH (inAuth) there is no key exchange: groups are ignored.
func chooseChild(offers []childOffer, pfs dh.Group, theirs []wire.Proposal, inAuth bool) (childOffer, wire.Proposal, uint32, dh.Group, bool) {
	for _, o := range offers {
		for _, tp := range theirs {
			if tp.Protocol != wire.ProtoESP || len(tp.SPI) != 4 || !knownTypes(tp) {
				continue
			}
			if !hasEncr(transformsOf(tp, wire.TransformEncr), encrOfESP(o.suite)) {
				continue
			}
			integs := transformsOf(tp, wire.TransformInteg)
			if o.suite.Cipher.AEAD() {
				if slices.ContainsFunc(integs, func(t wire.Transform) bool { return t.ID != wire.IntegNone }) {
					continue
				}
			} else if !hasID(integs, espInteg(o.suite.Integrity)) {
				continue
			}
			esns := transformsOf(tp, wire.TransformESN)
			if len(esns) > 0 && !hasID(esns, wire.ESNNo) {
				continue
			}
			groups := transformsOf(tp, wire.TransformDH)
			var g dh.Group
			switch {
			case inAuth:
			case pfs != 0 && hasID(groups, uint16(pfs)):
				g = pfs
			case pfs != 0:
				continue
			default:
				// No PFS wanted: take none if offered, else the peer's first
				// group we compute.
				if len(groups) > 0 && !hasID(groups, 0) {
					for _, t := range groups {
						if dh.Group(t.ID).Supported() {
							g = dh.Group(t.ID)
							break
						}
					}
					if g == 0 {
						continue
					}
				}
			}
			spi := binary.BigEndian.Uint32(tp.SPI)
			chosen := wire.Proposal{Number: tp.Number, Protocol: wire.ProtoESP}
			chosen.Transforms = append(chosen.Transforms, espEncr(o.suite))
			if !o.suite.Cipher.AEAD() {
				chosen.Transforms = append(chosen.Transforms, wire.Integ(espInteg(o.suite.Integrity)))
			}
			if g != 0 {
				chosen.Transforms = append(chosen.Transforms, wire.DH(wire.Group(g)))
			}
			chosen.Transforms = append(chosen.Transforms, wire.ESN(wire.ESNNo))
			return o, chosen, spi, g, true
		}
	}
	return childOffer{}, wire.Proposal{}, 0, 0, false
}

func encrOfESP(s esp.Suite) encr {
	t := espEncr(s)
	bits, _ := t.KeyLength()
	return encr{t.ID, bits}
}

// pfsGroup is a tunnel's PFS group.
func pfsGroup(p Protect) dh.Group { return dh.Group(p.PFS) }
