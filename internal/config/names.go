package config

import "fmt"

// String methods give each enumerated value its IOS configuration keyword,
// the spelling `show running-config` and the other show views use.

func (k InterfaceKind) String() string {
	switch k {
	case Physical:
		return "physical"
	case Loopback:
		return "loopback"
	case Tunnel:
		return "tunnel"
	}
	return fmt.Sprintf("InterfaceKind(%d)", int(k))
}

func (m TunnelMode) String() string {
	switch m {
	case ModeGREIP:
		return "gre ip"
	case ModeGREIPv6:
		return "gre ipv6"
	}
	return fmt.Sprintf("TunnelMode(%d)", int(m))
}

// String returns the ISAKMP policy keyword: sha, sha256, sha384, sha512.
func (h Hash) String() string {
	for _, e := range hashes {
		if e.hash == h {
			return e.word
		}
	}
	return fmt.Sprintf("Hash(%d)", int(h))
}

// String returns the transform keyword: esp-aes or esp-gcm.
func (c ESPCipher) String() string {
	switch c {
	case ESPAESCBC:
		return "esp-aes"
	case ESPAESGCM:
		return "esp-gcm"
	}
	return fmt.Sprintf("ESPCipher(%d)", int(c))
}

// String returns the transform keyword, e.g. esp-sha256-hmac, or "" for
// IntegrityNone (GCM), which has no keyword.
func (i ESPIntegrity) String() string {
	if i == IntegrityNone {
		return ""
	}
	for word, v := range integrityTransforms {
		if v == i {
			return word
		}
	}
	return fmt.Sprintf("ESPIntegrity(%d)", int(i))
}

// String returns the `mode` keyword: tunnel or transport.
func (m ESPMode) String() string {
	switch m {
	case ModeTunnel:
		return "tunnel"
	case ModeTransport:
		return "transport"
	}
	return fmt.Sprintf("ESPMode(%d)", int(m))
}
