package config

import "net/netip"

// prefixMap is a longest-prefix-match table of IPv4 prefixes: one exact map
// per prefix length, searched from /32 down, so a lookup costs at most 33
// map probes however many prefixes the file has.
type prefixMap[V any] struct {
	byLen [33]map[netip.Addr]V
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
	for bits := 32; bits >= 0; bits-- {
		if m.byLen[bits] == nil {
			continue
		}
		p, err := a.Prefix(bits)
		if err != nil {
			break // not IPv4
		}
		if v, ok := m.byLen[bits][p.Addr()]; ok {
			return p, v, true
		}
	}
	var zero V
	return netip.Prefix{}, zero, false
}
