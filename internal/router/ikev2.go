package router

import (
	"fmt"
	"slices"

	"github.com/gresec/gresec/internal/config"
	"github.com/gresec/gresec/internal/dh"
	"github.com/gresec/gresec/internal/ike"
	"github.com/gresec/gresec/internal/ikev2"
	"github.com/gresec/gresec/internal/ikev2/wire"
)

// IKEv2: a tunnel whose `crypto ipsec profile` says `set ikev2-profile`
// is negotiated by the IKEv2 engine, the others by IKEv1's. Both share the
// IKE sockets; a datagram goes to the engine of its IKE major version.

func (r *Router) ikev2Config(cfg *config.Config) ikev2.Config {
	return ikev2.Config{
		NATKeepalive:     cfg.IKEv2.NATKeepalive,
		CookieThreshold:  cfg.IKEv2.CookieChallenge,
		MaxInNegotiation: cfg.IKEv2.MaxInNegotiationSA,
		ForceUDPEncap:    cfg.ForceUDPEncap,
		FragmentMTU:      cfg.IKEv2.FragmentationMTU,
		KeyLog:           r.opts.KeyLog != "",
	}
}

// protectV2 is what the IKEv2 engine must negotiate for a tunnel: base
// (what IKEv1 would protect) under the IKEv2 profile name.
func (r *Router) protectV2(base ike.Protect, name string) (ikev2.Protect, error) {
	cfg := r.cfg
	p2 := cfg.IKEv2Profile(name)
	if p2 == nil {
		return ikev2.Protect{}, fmt.Errorf("%s: no crypto ikev2 profile %s", base.Name, name)
	}
	props := cfg.IKEv2ProposalsFor(base.Local)
	if len(props) == 0 {
		return ikev2.Protect{}, fmt.Errorf("%s: no crypto ikev2 policy applies to local address %s", base.Name, base.Local)
	}
	pr := ikev2.Profile{
		Name: name, LocalID: p2.LocalIdentity, RemoteID: p2.MatchRemote,
		DPD: cfg.IKEv2DPDFor(p2), Lifetime: p2.Lifetime, AuthLocal: p2.AuthLocal, AuthRemote: p2.AuthRemote,
		NATKeepalive: p2.NATKeepalive,
	}
	if p2.AuthLocal == config.AuthPreShare || slices.Contains(p2.AuthRemote, config.AuthPreShare) {
		local, remote, ok := cfg.IKEv2KeyFor(p2, base.Remote)
		if !ok {
			return ikev2.Protect{}, fmt.Errorf("%s: keyring %s of ikev2 profile %s has no key for peer %s", base.Name, p2.Keyring, name, base.Remote)
		}
		pr.PSKLocal, pr.PSKRemote = local, remote
	}
	if p2.AuthLocal != config.AuthPreShare || len(p2.AuthRemote) > 0 && !slices.Equal(p2.AuthRemote, []config.IKEv2AuthMethod{config.AuthPreShare}) {
		creds, err := r.credentials(p2)
		if err != nil {
			return ikev2.Protect{}, fmt.Errorf("%s: %w", base.Name, err)
		}
		pr.Creds = creds
	}
	for _, p := range props {
		pr.Proposals = append(pr.Proposals, v2Proposal(p))
	}
	return ikev2.Protect{Protect: base, Profile: pr}, nil
}

// v2Proposal converts a `crypto ikev2 proposal`.
func v2Proposal(p *config.IKEv2Proposal) ikev2.Proposal {
	var out ikev2.Proposal
	for _, c := range p.Encryption {
		id := wire.EncrAESCBC
		if c.AEAD {
			id = wire.EncrAESGCM16
		}
		out.Encryption = append(out.Encryption, ikev2.Encryption{ID: id, KeyBits: uint16(c.KeyBits)})
	}
	hashID := func(h config.Hash, sha1, sha256, sha384, sha512 uint16) uint16 {
		return map[config.Hash]uint16{config.HashSHA1: sha1, config.HashSHA256: sha256, config.HashSHA384: sha384, config.HashSHA512: sha512}[h]
	}
	if len(p.Encryption) > 0 && !p.Encryption[0].AEAD {
		for _, h := range p.Integrity {
			out.Integrity = append(out.Integrity, hashID(h, wire.IntegHMACSHA1_96, wire.IntegHMACSHA2_256, wire.IntegHMACSHA2_384, wire.IntegHMACSHA2_512))
		}
	}
	for _, h := range p.PRF {
		out.PRF = append(out.PRF, hashID(h, wire.PRFHMACSHA1, wire.PRFHMACSHA2_256, wire.PRFHMACSHA2_384, wire.PRFHMACSHA2_512))
	}
	for _, g := range p.Groups {
		out.Groups = append(out.Groups, dh.Group(g))
	}
	return out
}

// ikeMajor returns the IKE major version of a datagram from port 500 or
// 4500 (after the non-ESP marker), 0 for ESP, keepalives and runts.
func ikeMajor(d ike.Datagram) int {
	data, ok := d.Message()
	if !ok || len(data) < wire.HeaderLen {
		return 0
	}
	return int(data[17] >> 4)
}
