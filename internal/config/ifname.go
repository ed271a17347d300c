package config

import (
	"fmt"
	"strconv"
	"strings"
)

// Interface names follow IOS for the interfaces gresec creates (any
// abbreviation of at least two letters, any case, number attached or as a
// separate word: "tu0", "Tunnel 0") and Linux for the rest: a physical
// interface is named exactly as the kernel names it.

// maxIfName is the longest Linux interface name (IFNAMSIZ-1). TunnelN and
// LoopbackN numbers are limited so that the canonical name is also a valid
// Linux name (IOS would accept up to 2147483647), which lets the data
// plane name its TUN devices after them.
const maxIfName = 15

// virtualKinds are the interface types an abbreviation can expand to.
var virtualKinds = []struct {
	word string // lower case
	name string // canonical spelling
	kind InterfaceKind
}{
	{"tunnel", "Tunnel", Tunnel},
	{"loopback", "Loopback", Loopback},
	{"null", "Null", -1}, // recognised only to refuse it clearly
}

// ParseInterfaceName returns the canonical name and kind of a one-word
// interface name: "tu0" is Tunnel0, "Lo0" is Loopback0, "eth0" is the
// physical eth0. It is the same rule the parser applies, for the CLI.
func ParseInterfaceName(s string) (name string, kind InterfaceKind, err error) {
	return resolveIfName(s, "")
}

// virtualPrefix reports which virtual type an alphabetic word abbreviates.
// One letter is never enough: "l0" or "t1" could well be Linux names.
func virtualPrefix(alpha string) (idx int, ok bool) {
	if len(alpha) < 2 {
		return 0, false
	}
	lower := strings.ToLower(alpha)
	for i, v := range virtualKinds {
		if strings.HasPrefix(v.word, lower) {
			return i, true
		}
	}
	return 0, false
}

// splitAlpha splits "Tunnel0" into "Tunnel" and "0".
func splitAlpha(s string) (alpha, rest string) {
	i := 0
	for i < len(s) && (s[i] >= 'a' && s[i] <= 'z' || s[i] >= 'A' && s[i] <= 'Z') {
		i++
	}
	return s[:i], s[i:]
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// joinable reports whether s is an interface type alone ("Tunnel", "lo")
// that takes its number from the next word, as in "interface Tunnel 0".
func joinable(s string) bool {
	alpha, rest := splitAlpha(s)
	_, ok := virtualPrefix(alpha)
	return ok && rest == ""
}

// resolveIfName resolves a name; number is the separate number word of
// "Tunnel 0" or "".
func resolveIfName(s, number string) (string, InterfaceKind, error) {
	alpha, rest := splitAlpha(s)
	if number != "" {
		rest = number
	}
	if i, ok := virtualPrefix(alpha); ok {
		v := virtualKinds[i]
		switch {
		case rest == "" && strings.EqualFold(alpha, v.word):
			return "", 0, fmt.Errorf("interface %q needs a number, as in %s0", s, v.name)
		case rest == "":
			// "lo" alone is the Linux loopback, not Loopback0.
		case isDigits(rest):
			limit := uint64(1)
			for range maxIfName - len(v.name) {
				limit *= 10
			}
			n, err := strconv.ParseUint(rest, 10, 64)
			if err != nil || n >= limit {
				return "", 0, fmt.Errorf("%s number %s out of range 0-%d", v.name, rest, limit-1)
			}
			if v.kind < 0 {
				return "", 0, fmt.Errorf("%s interfaces (discard routes) are not supported", v.name)
			}
			return v.name + strconv.FormatUint(n, 10), v.kind, nil
		case rest[0] >= '0' && rest[0] <= '9':
			return "", 0, fmt.Errorf("invalid interface name %q: %s interfaces are %s followed by a number (no subinterfaces)", s+number, v.name, v.name)
		}
	}
	if err := checkLinuxName(s); err != nil {
		return "", 0, err
	}
	return s, Physical, nil
}

// checkLinuxName applies the kernel's dev_valid_name rules, so a name that
// passes here can be looked up on the host.
func checkLinuxName(s string) error {
	switch {
	case s == "." || s == "..":
		return fmt.Errorf("invalid interface name %q", s)
	case strings.ContainsAny(s, "/:"):
		return fmt.Errorf("invalid interface name %q: Linux interface names cannot contain '/' or ':'; name the Linux interface (e.g. eth0), not the IOS one", s)
	case len(s) > maxIfName:
		return fmt.Errorf("invalid interface name %q: Linux interface names are at most %d bytes", s, maxIfName)
	case strings.Trim(s, "0123456789.") == "":
		return fmt.Errorf("invalid interface name %q: it looks like an address", s)
	}
	return nil
}
