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

// String returns the proposal keyword: aes-cbc-256, aes-gcm-128, ...
func (c IKEv2Cipher) String() string {
	for _, e := range ikev2Ciphers {
		if e.cipher == c {
			return e.word
		}
	}
	return fmt.Sprintf("IKEv2Cipher(%d, AEAD %v)", c.KeyBits, c.AEAD)
}

// IKEv2String returns the IKEv2 proposal keyword of h: sha1, sha256,
// sha384, sha512 (String gives the ISAKMP one, where SHA-1 is "sha").
func (h Hash) IKEv2String() string {
	for _, e := range ikev2Hashes {
		if e.hash == h {
			return e.word
		}
	}
	return fmt.Sprintf("Hash(%d)", int(h))
}

// String returns the authentication keyword: pre-share, rsa-sig, ecdsa-sig.
func (m IKEv2AuthMethod) String() string {
	switch m {
	case AuthPreShare:
		return "pre-share"
	case AuthRSASig:
		return "rsa-sig"
	case AuthECDSASig:
		return "ecdsa-sig"
	}
	return fmt.Sprintf("IKEv2AuthMethod(%d)", int(m))
}

// String returns the identity as written after "identity" (a keyring
// peer's) or "identity local": "address 192.0.2.1", "fqdn r1.example",
// "dn"; "" for IDNone.
func (id IKEv2Identity) String() string {
	switch id.Kind {
	case IDNone:
		return ""
	case IDAddress:
		return "address " + id.Address.String()
	case IDFQDN:
		return "fqdn " + id.Value
	case IDEmail:
		return "email " + id.Value
	case IDKeyID:
		return "key-id " + id.Value
	case IDDN:
		return "dn"
	}
	return fmt.Sprintf("IKEv2IDKind(%d)", int(id.Kind))
}

// String renders the match as written after "match identity remote".
func (m IKEv2IdentityMatch) String() string {
	switch m.Kind {
	case MatchAny:
		return "any"
	case MatchAddress:
		return "address " + peerString(m.Prefix)
	case MatchFQDN:
		return "fqdn " + m.Value
	case MatchFQDNDomain:
		return "fqdn domain " + m.Value
	case MatchEmail:
		return "email " + m.Value
	case MatchEmailDomain:
		return "email domain " + m.Value
	case MatchKeyID:
		return "key-id " + m.Value
	}
	return fmt.Sprintf("IKEv2MatchKind(%d)", int(m.Kind))
}
