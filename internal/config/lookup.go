package config

import "net/netip"

// Interface returns the interface with canonical name name, or nil.
func (c *Config) Interface(name string) *Interface {
	for _, i := range c.Interfaces {
		if i.Name == name {
			return i
		}
	}
	return nil
}

// Profile returns the crypto ipsec profile called name, or nil.
func (c *Config) Profile(name string) *Profile {
	for _, p := range c.Profiles {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// TransformSet returns the transform set called name, or nil.
func (c *Config) TransformSet(name string) *TransformSet {
	for _, t := range c.TransformSets {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// KeyFor returns the pre-shared key for peer: the key whose address and
// mask contain peer with the longest mask, as IOS picks it.
func (c *Config) KeyFor(peer netip.Addr) (*ISAKMPKey, bool) {
	peer = peer.Unmap()
	var best *ISAKMPKey
	for _, k := range c.ISAKMPKeys {
		if k.Peer.Contains(peer) && (best == nil || k.Peer.Bits() > best.Peer.Bits()) {
			best = k
		}
	}
	return best, best != nil
}

// IPv6Enabled reports whether IPv6 runs on the interface: with `ipv6
// enable` or any IPv6 address, as on IOS.
func (i *Interface) IPv6Enabled() bool {
	return i.IPv6Enable || len(i.IPv6Addresses) > 0 || i.IPv6LinkLocal.IsValid()
}
