package config

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"net/netip"
	"strconv"
	"strings"
)

// Argument readers. Each reports its own error (with the word's position)
// and returns ok=false, so handlers read as a list of steps that stop at the
// first bad argument of a line; other lines are still parsed.

func (s *stmt) errorf(w word, format string, args ...any) {
	s.p.errorf(w.pos, format, args...)
}

func (s *stmt) warnf(w word, format string, args ...any) {
	s.p.warnf(w.pos, format, args...)
}

// has reports whether argument i is present.
func (s *stmt) has(i int) bool { return i < len(s.args) }

// arg returns argument i, or reports that the command needs what.
func (s *stmt) arg(i int, what string) (word, bool) {
	if i < len(s.args) {
		return s.args[i], true
	}
	s.errorf(s.kw, "incomplete command: %q needs %s", s.path, what)
	return word{}, false
}

// end reports an error when there are arguments from i on.
func (s *stmt) end(i int) bool {
	if i < len(s.args) {
		s.errorf(s.args[i], "unexpected argument %q to %q", s.args[i].text, s.path)
		return false
	}
	return true
}

// rest returns the text of the line from argument i to its end, spaces
// included, for free text such as descriptions.
func (s *stmt) rest(i int) string {
	return s.line.text[s.args[i].off:]
}

// looksNumeric reports whether w is meant as an address or number rather
// than a name: IOS users never start interface names with a digit.
func looksNumeric(w string) bool {
	return w != "" && strings.Trim(w, "0123456789.") == ""
}

// looksLikeAddr reports whether w is meant as an address of either family
// rather than an interface name: Linux names cannot contain ':'.
func looksLikeAddr(w string) bool {
	return looksNumeric(w) || strings.Contains(w, ":")
}

// parseAddr reads w as an address of either family; a ':' makes it IPv6.
func (s *stmt) parseAddr(w word) (netip.Addr, bool) {
	if strings.Contains(w.text, ":") {
		return s.parseIPv6(w)
	}
	return s.parseIPv4(w)
}

// parseIPv6 reads w as an IPv6 address without a prefix length or zone.
func (s *stmt) parseIPv6(w word) (netip.Addr, bool) {
	a, err := netip.ParseAddr(w.text)
	switch {
	case err == nil && a.Is6() && a.Zone() != "":
		s.errorf(w, "zone %q in %q is not accepted; write the address without it", "%"+a.Zone(), w.text)
	case err == nil && a.Is6():
		return a, true
	case err == nil:
		s.errorf(w, "%q is not an IPv6 address", w.text)
	case strings.Contains(w.text, "/"):
		s.errorf(w, "%q is a prefix; want an IPv6 address without a prefix length", w.text)
	default:
		s.errorf(w, "invalid IPv6 address %q", w.text)
	}
	return netip.Addr{}, false
}

// parseIPv6Prefix reads w as PREFIX/LENGTH. Host bits are kept: an
// interface address has them, a route's prefix must not (the caller says).
// usualBits is the length to suggest when w has none.
func (s *stmt) parseIPv6Prefix(w word, usualBits int) (netip.Prefix, bool) {
	pfx, err := netip.ParsePrefix(w.text)
	switch {
	case err == nil && pfx.Addr().Is6():
		return pfx, true
	case err == nil:
		s.errorf(w, "%q is not an IPv6 prefix", w.text)
	case !strings.Contains(w.text, "/"):
		if a, err := netip.ParseAddr(w.text); err == nil && a.Is6() && a.Zone() == "" {
			s.errorf(w, "%q needs a prefix length, as in %s/%d", w.text, a, usualBits)
			return netip.Prefix{}, false
		}
		s.errorf(w, "invalid IPv6 prefix %q: want PREFIX/LENGTH", w.text)
	default:
		s.errorf(w, "invalid IPv6 prefix %q: want PREFIX/LENGTH", w.text)
	}
	return netip.Prefix{}, false
}

// ipv4 reads argument i as a dotted-quad IPv4 address.
func (s *stmt) ipv4(i int, what string) (netip.Addr, bool) {
	w, ok := s.arg(i, what)
	if !ok {
		return netip.Addr{}, false
	}
	return s.parseIPv4(w)
}

func (s *stmt) parseIPv4(w word) (netip.Addr, bool) {
	a, err := netip.ParseAddr(w.text)
	switch {
	case err == nil && a.Is4():
		return a, true
	case err == nil:
		s.errorf(w, "%q is not an IPv4 address", w.text)
	case strings.Contains(w.text, "/"):
		if pfx, err := netip.ParsePrefix(w.text); err == nil && pfx.Addr().Is4() {
			m := maskString(pfx.Bits())
			s.errorf(w, "prefix length notation %q is not accepted here; write the mask: \"%s %s\"", w.text, pfx.Addr(), m)
			return netip.Addr{}, false
		}
		s.errorf(w, "invalid IPv4 address %q", w.text)
	default:
		s.errorf(w, "invalid IPv4 address %q", w.text)
	}
	return netip.Addr{}, false
}

// mask reads argument i as a dotted-quad network mask and returns its
// length. Wildcard (inverse) masks and gaps are refused.
func (s *stmt) mask(i int) (int, bool) {
	w, ok := s.arg(i, "a mask (e.g. 255.255.255.0)")
	if !ok {
		return 0, false
	}
	a, err := netip.ParseAddr(w.text)
	if err != nil || !a.Is4() {
		s.errorf(w, "invalid mask %q", w.text)
		return 0, false
	}
	b := a.As4()
	v := binary.BigEndian.Uint32(b[:])
	if inv := ^v; inv&(inv+1) != 0 {
		s.errorf(w, "mask %s is not contiguous", w.text)
		return 0, false
	}
	return bits.OnesCount32(v), true
}

// maskString renders a prefix length as a dotted-quad mask.
func maskString(n int) string {
	var b [4]byte
	// Go defines a shift by 32 as 0, which is exactly mask 0.0.0.0.
	binary.BigEndian.PutUint32(b[:], ^uint32(0)<<(32-n))
	return netip.AddrFrom4(b).String()
}

// number reads argument i as a decimal integer in [lo, hi].
func (s *stmt) number(i int, what string, lo, hi uint64) (uint64, bool) {
	w, ok := s.arg(i, fmt.Sprintf("%s (%d-%d)", what, lo, hi))
	if !ok {
		return 0, false
	}
	return s.parseNumber(w, what, lo, hi)
}

func (s *stmt) parseNumber(w word, what string, lo, hi uint64) (uint64, bool) {
	if !isDigits(w.text) {
		s.errorf(w, "invalid %s %q: want a number %d-%d", what, w.text, lo, hi)
		return 0, false
	}
	n, err := strconv.ParseUint(w.text, 10, 64)
	if err != nil || n < lo || n > hi {
		s.errorf(w, "%s %s out of range %d-%d", what, w.text, lo, hi)
		return 0, false
	}
	return n, true
}

// choice reads argument i as one of the keywords in choices (IOS prefix
// rules) and returns the canonical keyword.
func (s *stmt) choice(i int, choices ...string) (string, bool) {
	w, ok := s.arg(i, "one of "+quoteList(choices))
	if !ok {
		return "", false
	}
	return s.matchChoice(w, choices)
}

func (s *stmt) matchChoice(w word, choices []string) (string, bool) {
	idx, res, could := matchKeyword(w.text, choices)
	switch res {
	case matched:
		return choices[idx], true
	case ambiguous:
		s.errorf(w, "ambiguous argument %q to %q: could be %s", w.text, s.path, quoteList(could))
	default:
		msg := fmt.Sprintf("invalid argument %q to %q", w.text, s.path)
		if sug := suggest(w.text, choices); sug != "" {
			msg += fmt.Sprintf("; did you mean %q?", sug)
		} else {
			msg += "; want " + quoteList(choices)
		}
		s.errorf(w, "%s", msg)
	}
	return "", false
}

// ifname reads an interface name at argument i: one word ("Tunnel0") or
// two ("Tunnel 0"). next is the index of the argument after the name.
func (s *stmt) ifname(i int) (name string, kind InterfaceKind, next int, ok bool) {
	w, ok := s.arg(i, "an interface name")
	if !ok {
		return "", 0, i, false
	}
	number := ""
	next = i + 1
	if joinable(w.text) && s.has(i+1) && isDigits(s.args[i+1].text) {
		number = s.args[i+1].text
		next = i + 2
	}
	name, kind, err := resolveIfName(w.text, number)
	if err != nil {
		s.errorf(w, "%v", err)
		return "", 0, next, false
	}
	return name, kind, next, true
}
