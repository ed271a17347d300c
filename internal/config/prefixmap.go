package config

import "net/netip"

// prefixMap is a longest-prefix-match table of IPv4 and IPv6 prefixes: one
// exact map per prefix length, searched from the longest down, so a lookup
// costs at most 33 (IPv4) or 129 (IPv6) map probes however many prefixes
// the file has. The families never meet: an IPv4 and an IPv6 Addr are
// different keys.
type prefixMap[V any] struct {
	byLen [129]map[netip.Addr]V
}

func (m *prefixMap[V]) set(p netip.Prefix, v V) {
	p = p.Masked()
	if m.byLen[p.Bits()] == nil {
		m.byLen[p.Bits()] = map[netip.Addr]V{}
	}
	m.byLen[p.Bits()][p.Addr()] = v
}

func (m *prefixMap[V]) get(p netip.Prefix) (V, bool) {
	p = p.Masked()
	v, ok := m.byLen[p.Bits()][p.Addr()]
	return v, ok
}

// lookup returns the value of the longest prefix containing a.
func (m *prefixMap[V]) lookup(a netip.Addr) (netip.Prefix, V, bool) {
	for bits := a.BitLen(); bits >= 0; bits-- {
		if m.byLen[bits] == nil {
			continue
		}
		p, err := a.Prefix(bits)
		if err != nil {
			break
		}
		if v, ok := m.byLen[bits][p.Addr()]; ok {
			return p, v, true
		}
	}
	var zero V
	return netip.Prefix{}, zero, false
}
