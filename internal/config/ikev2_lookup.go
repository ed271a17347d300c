package config

// What an IKEv2 engine asks of the configuration: which proposals to
// offer or accept, which profile a peer falls under, which keys it uses.

import (
	"net/netip"
	"slices"
	"strings"
	"time"
)

// IKEv2Proposal returns the crypto ikev2 proposal called name, or nil.
func (c *Config) IKEv2Proposal(name string) *IKEv2Proposal {
	return findNamed(c.IKEv2Proposals, name, func(p *IKEv2Proposal) string { return p.Name })
}

// IKEv2Keyring returns the crypto ikev2 keyring called name, or nil.
func (c *Config) IKEv2Keyring(name string) *IKEv2Keyring {
	return findNamed(c.IKEv2Keyrings, name, func(k *IKEv2Keyring) string { return k.Name })
}

// IKEv2Profile returns the crypto ikev2 profile called name, or nil.
func (c *Config) IKEv2Profile(name string) *IKEv2Profile {
	return findNamed(c.IKEv2Profiles, name, func(p *IKEv2Profile) string { return p.Name })
}

// Trustpoint returns the crypto pki trustpoint called name, or nil.
func (c *Config) Trustpoint(name string) *PKITrustpoint {
	return findNamed(c.Trustpoints, name, func(t *PKITrustpoint) string { return t.Name })
}

func findNamed[T any](list []*T, name string, nameOf func(*T) string) *T {
	for _, v := range list {
		if nameOf(v) == name {
			return v
		}
	}
	return nil
}

// DefaultIKEv2Proposals returns IOS's built-in "default" proposals, the
// ones its default policy offers when no crypto ikev2 policy is
// configured. They are those of IOS XE 16 and later, less group 5
// (1536-bit MODP, refused everywhere else in gresec):
//
//	default: aes-cbc-256, integrity and prf sha512 sha384, groups 19 14 21
//	default: aes-gcm-256, prf sha512 sha384, groups 19 14 21
//
// (Older IOS offered AES-CBC-128 to 256 with SHA-1, MD5 and groups 2 and 5;
// those are not taken over.) Each call returns new values.
func DefaultIKEv2Proposals() []*IKEv2Proposal {
	sha := []Hash{HashSHA512, HashSHA384}
	groups := []DHGroup{19, 14, 21}
	return []*IKEv2Proposal{
		{
			Name:       defaultIKEv2Name,
			Encryption: []IKEv2Cipher{{KeyBits: 256}},
			Integrity:  slices.Clone(sha),
			PRF:        slices.Clone(sha),
			Groups:     slices.Clone(groups),
		},
		{
			Name:       defaultIKEv2Name,
			Encryption: []IKEv2Cipher{{KeyBits: 256, AEAD: true}},
			PRF:        slices.Clone(sha),
			Groups:     slices.Clone(groups),
		},
	}
}

// IKEv2ProposalsFor returns the proposals, in preference order, for an
// IKE SA on the local address local. The policy is the first (in file
// order) whose `match address local` lists local, else the first without
// any `match address local`; its proposals are returned. Without any crypto
// ikev2 policy, IOS's default policy applies: DefaultIKEv2Proposals, unless
// `no crypto ikev2 policy default`. Nil means no IKE SA is acceptable.
func (c *Config) IKEv2ProposalsFor(local netip.Addr) []*IKEv2Proposal {
	if len(c.IKEv2Policies) == 0 {
		if c.IKEv2.NoDefaultPolicy {
			return nil
		}
		return DefaultIKEv2Proposals()
	}
	local = local.Unmap()
	var chosen *IKEv2Policy
	for _, pol := range c.IKEv2Policies {
		if slices.Contains(pol.LocalAddresses, local) {
			chosen = pol
			break
		}
		if len(pol.LocalAddresses) == 0 && chosen == nil {
			chosen = pol
		}
	}
	if chosen == nil {
		return nil
	}
	var out []*IKEv2Proposal
	for _, name := range chosen.Proposals {
		if pr := c.IKEv2Proposal(name); pr != nil {
			out = append(out, pr)
		}
	}
	return out
}

// Matches reports whether the remote identity id satisfies m. Names
// compare without regard to case; a domain matches itself and every name
// under it.
func (m IKEv2IdentityMatch) Matches(id IKEv2Identity) bool {
	switch m.Kind {
	case MatchAny:
		return id.Kind != IDNone
	case MatchAddress:
		return id.Kind == IDAddress && m.Prefix.Contains(id.Address.Unmap())
	case MatchFQDN:
		return id.Kind == IDFQDN && strings.EqualFold(id.Value, m.Value)
	case MatchFQDNDomain:
		return id.Kind == IDFQDN && inDomain(id.Value, m.Value)
	case MatchEmail:
		return id.Kind == IDEmail && strings.EqualFold(id.Value, m.Value)
	case MatchEmailDomain:
		at := strings.LastIndexByte(id.Value, '@')
		return id.Kind == IDEmail && at >= 0 && strings.EqualFold(id.Value[at+1:], m.Value)
	case MatchKeyID:
		return id.Kind == IDKeyID && id.Value == m.Value
	}
	return false
}

func inDomain(name, domain string) bool {
	name, domain = strings.ToLower(strings.TrimSuffix(name, ".")), strings.ToLower(strings.TrimSuffix(domain, "."))
	return name == domain || strings.HasSuffix(name, "."+domain)
}

// specificity ranks the matches one identity can satisfy: an exact name
// above a domain (longer first), an address by prefix length, any last.
func (m IKEv2IdentityMatch) specificity() int {
	switch m.Kind {
	case MatchAddress:
		return 1 + m.Prefix.Bits()
	case MatchFQDNDomain, MatchEmailDomain:
		return 1000 + len(m.Value)
	case MatchFQDN, MatchEmail, MatchKeyID:
		return 10000
	}
	return 0
}

// MatchesRemote reports whether the profile applies to a peer that
// identifies itself as id: whether any `match identity remote` matches.
func (pr *IKEv2Profile) MatchesRemote(id IKEv2Identity) bool {
	for _, m := range pr.MatchRemote {
		if m.Matches(id) {
			return true
		}
	}
	return false
}

// IKEv2ProfileFor returns the profile a responder uses for a peer that
// identifies itself as id: the one with the most specific matching `match
// identity remote` (see Matches), the first in file order among equals;
// nil when none matches.
func (c *Config) IKEv2ProfileFor(id IKEv2Identity) *IKEv2Profile {
	var best *IKEv2Profile
	bestScore := -1
	for _, pr := range c.IKEv2Profiles {
		for _, m := range pr.MatchRemote {
			if m.Matches(id) && m.specificity() > bestScore {
				best, bestScore = pr, m.specificity()
			}
		}
	}
	return best
}

// Keys returns the key this router authenticates with (local) and the
// one it expects of the peer (remote); "" when the peer has none for that
// direction.
func (pe *IKEv2KeyringPeer) Keys() (local, remote string) {
	local, remote = pe.PSK, pe.PSK
	if pe.LocalPSK != "" {
		local = pe.LocalPSK
	}
	if pe.RemotePSK != "" {
		remote = pe.RemotePSK
	}
	return local, remote
}

// IKEv2KeyFor returns the pre-shared keys for the peer at address peer
// under profile: from the profile's keyring, the peer entry whose address
// contains peer with the longest prefix (as KeyFor and IOS pick it), the
// first in file order among equals. ok is false when no entry matches; a
// matching entry may still lack a key for one direction ("").
func (c *Config) IKEv2KeyFor(profile *IKEv2Profile, peer netip.Addr) (local, remote string, ok bool) {
	kr := c.keyringOf(profile)
	if kr == nil {
		return "", "", false
	}
	peer = peer.Unmap()
	var best *IKEv2KeyringPeer
	for _, pe := range kr.Peers {
		if pe.Address.IsValid() && pe.Address.Contains(peer) && (best == nil || pe.Address.Bits() > best.Address.Bits()) {
			best = pe
		}
	}
	if best == nil {
		return "", "", false
	}
	local, remote = best.Keys()
	return local, remote, true
}

// IKEv2KeyForIdentity returns the pre-shared keys for the peer that
// identified itself as id under profile: from the profile's keyring, the
// first peer entry whose `identity` is id (names without regard to
// case). A responder tries it before IKEv2KeyFor, as IOS does.
func (c *Config) IKEv2KeyForIdentity(profile *IKEv2Profile, id IKEv2Identity) (local, remote string, ok bool) {
	kr := c.keyringOf(profile)
	if kr == nil || id.Kind == IDNone {
		return "", "", false
	}
	for _, pe := range kr.Peers {
		if sameIdentity(pe.Identity, id) {
			local, remote = pe.Keys()
			return local, remote, true
		}
	}
	return "", "", false
}

func sameIdentity(a, b IKEv2Identity) bool {
	switch {
	case a.Kind != b.Kind:
		return false
	case a.Kind == IDAddress:
		return a.Address.Unmap() == b.Address.Unmap()
	case a.Kind == IDFQDN || a.Kind == IDEmail:
		return strings.EqualFold(a.Value, b.Value)
	}
	return a.Value == b.Value
}

func (c *Config) keyringOf(profile *IKEv2Profile) *IKEv2Keyring {
	if profile == nil || profile.Keyring == "" {
		return nil
	}
	return c.IKEv2Keyring(profile.Keyring)
}

// IKEv2DPDFor returns the Dead Peer Detection of IKE SAs under profile:
// the profile's `dpd`, else the global `crypto ikev2 dpd`; nil means off.
func (c *Config) IKEv2DPDFor(profile *IKEv2Profile) *DPD {
	if profile != nil && profile.DPD != nil {
		return profile.DPD
	}
	return c.IKEv2.DPD
}

// IKEv2NATKeepaliveFor returns the NAT keepalive interval under profile:
// the profile's `nat keepalive`, else the global one; 0 means none.
func (c *Config) IKEv2NATKeepaliveFor(profile *IKEv2Profile) time.Duration {
	if profile != nil && profile.NATKeepalive != 0 {
		return profile.NATKeepalive
	}
	return c.IKEv2.NATKeepalive
}
