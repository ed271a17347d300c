package esp

import (
	"errors"
	"fmt"
)

// Cipher is an ESP encryption transform.
type Cipher uint8

// The encryption transforms, named as IOS shows them.
const (
	AES128CBC Cipher = iota + 1 // esp-aes: AES-CBC, RFC 3602
	AES192CBC                   // esp-192-aes
	AES256CBC                   // esp-256-aes
	AES128GCM                   // esp-gcm: AES-GCM with a 16-octet ICV, RFC 4106
	AES256GCM                   // esp-gcm 256
)

// Integrity is an ESP integrity transform: HMAC with the output truncated
// to half the hash size (RFC 2404, RFC 4868).
type Integrity uint8

// The integrity transforms. IntegrityNone is only valid with AES-GCM, which
// is a combined-mode cipher with its own ICV.
const (
	IntegrityNone Integrity = iota
	HMACSHA1                // esp-sha-hmac: HMAC-SHA-1-96, RFC 2404
	HMACSHA256              // esp-sha256-hmac: HMAC-SHA-256-128, RFC 4868
	HMACSHA384              // esp-sha384-hmac: HMAC-SHA-384-192, RFC 4868
	HMACSHA512              // esp-sha512-hmac: HMAC-SHA-512-256, RFC 4868
)

// Suite is the pair of transforms an SA uses, as a transform set names it.
// The zero Suite is invalid.
type Suite struct {
	Cipher    Cipher
	Integrity Integrity
}

// Suites returns every valid suite, strongest first within each cipher.
func Suites() []Suite {
	return []Suite{
		{AES128CBC, HMACSHA1}, {AES128CBC, HMACSHA256}, {AES128CBC, HMACSHA384}, {AES128CBC, HMACSHA512},
		{AES192CBC, HMACSHA1}, {AES192CBC, HMACSHA256}, {AES192CBC, HMACSHA384}, {AES192CBC, HMACSHA512},
		{AES256CBC, HMACSHA1}, {AES256CBC, HMACSHA256}, {AES256CBC, HMACSHA384}, {AES256CBC, HMACSHA512},
		{AES128GCM, IntegrityNone}, {AES256GCM, IntegrityNone},
	}
}

var errSuite = errors.New("esp: invalid suite")

// Validate reports whether s is usable: a known cipher, and an integrity
// transform exactly when the cipher is not combined-mode (ESP with
// encryption but no integrity is refused).
func (s Suite) Validate() error {
	switch {
	case s.Cipher < AES128CBC || s.Cipher > AES256GCM || s.Integrity > HMACSHA512:
		return fmt.Errorf("%w: cipher %d, integrity %d", errSuite, s.Cipher, s.Integrity)
	case s.Cipher.AEAD() && s.Integrity != IntegrityNone:
		return fmt.Errorf("%w: %s is combined-mode and takes no integrity transform", errSuite, s.Cipher)
	case !s.Cipher.AEAD() && s.Integrity == IntegrityNone:
		return fmt.Errorf("%w: %s needs an integrity transform", errSuite, s.Cipher)
	}
	return nil
}

// AEAD reports whether c is a combined-mode cipher (AES-GCM).
func (c Cipher) AEAD() bool { return c == AES128GCM || c == AES256GCM }

// KeyLen returns the length of c's keying material in bytes: the AES key,
// plus for AES-GCM the 4-byte salt that follows it (RFC 4106 section 8.1).
func (c Cipher) KeyLen() int {
	switch c {
	case AES128CBC:
		return 16
	case AES192CBC:
		return 24
	case AES256CBC:
		return 32
	case AES128GCM:
		return 16 + saltLen
	case AES256GCM:
		return 32 + saltLen
	}
	return 0
}

// IVLen returns the length of the explicit IV c carries in each packet.
func (c Cipher) IVLen() int {
	if c.AEAD() {
		return 8
	}
	return 16
}

// BlockSize returns the alignment c needs of payload + padding + trailer:
// the AES block for CBC, and ESP's own 4 bytes for GCM (RFC 4303 section
// 2.4).
func (c Cipher) BlockSize() int {
	if c.AEAD() {
		return 4
	}
	return 16
}

// String returns c as IOS shows it in a transform (`esp-256-aes`).
func (c Cipher) String() string {
	switch c {
	case AES128CBC:
		return "esp-aes"
	case AES192CBC:
		return "esp-192-aes"
	case AES256CBC:
		return "esp-256-aes"
	case AES128GCM:
		return "esp-gcm"
	case AES256GCM:
		return "esp-gcm 256"
	}
	return fmt.Sprintf("Cipher(%d)", uint8(c))
}

// WiresharkName returns c as Wireshark's esp_sa table names its encryption
// algorithm (the key length comes from the key).
func (c Cipher) WiresharkName() string {
	switch c {
	case AES128CBC, AES192CBC, AES256CBC:
		return "AES-CBC [RFC3602]"
	case AES128GCM, AES256GCM:
		return "AES-GCM with 16 octet ICV [RFC4106]"
	}
	return ""
}

// KeyLen returns the HMAC key length in bytes, the hash's output size.
func (i Integrity) KeyLen() int {
	switch i {
	case HMACSHA1:
		return 20
	case HMACSHA256:
		return 32
	case HMACSHA384:
		return 48
	case HMACSHA512:
		return 64
	}
	return 0
}

// ICVLen returns the length of the truncated HMAC output in bytes.
func (i Integrity) ICVLen() int {
	switch i {
	case HMACSHA1:
		return 12
	case HMACSHA256:
		return 16
	case HMACSHA384:
		return 24
	case HMACSHA512:
		return 32
	}
	return 0
}

// String returns i as IOS names it (`esp-sha384-hmac`); "" for none.
func (i Integrity) String() string {
	switch i {
	case IntegrityNone:
		return ""
	case HMACSHA1:
		return "esp-sha-hmac"
	case HMACSHA256:
		return "esp-sha256-hmac"
	case HMACSHA384:
		return "esp-sha384-hmac"
	case HMACSHA512:
		return "esp-sha512-hmac"
	}
	return fmt.Sprintf("Integrity(%d)", uint8(i))
}

// WiresharkName returns i as Wireshark's esp_sa table names its
// authentication algorithm.
func (i Integrity) WiresharkName() string {
	switch i {
	case IntegrityNone:
		return "NULL"
	case HMACSHA1:
		return "HMAC-SHA-1-96 [RFC2404]"
	case HMACSHA256:
		return "HMAC-SHA-256-128 [RFC4868]"
	case HMACSHA384:
		return "HMAC-SHA-384-192 [RFC4868]"
	case HMACSHA512:
		return "HMAC-SHA-512-256 [RFC4868]"
	}
	return ""
}

// String returns s as IOS shows a transform: `esp-256-aes esp-sha384-hmac`,
// `esp-gcm 256`.
func (s Suite) String() string {
	if s.Integrity == IntegrityNone {
		return s.Cipher.String()
	}
	return s.Cipher.String() + " " + s.Integrity.String()
}

// WiresharkEncryption is s.Cipher.WiresharkName.
func (s Suite) WiresharkEncryption() string { return s.Cipher.WiresharkName() }

// WiresharkAuthentication is s.Integrity.WiresharkName.
func (s Suite) WiresharkAuthentication() string { return s.Integrity.WiresharkName() }

// KeyLen returns the encryption keying material length in bytes, including
// the AES-GCM salt.
func (s Suite) KeyLen() int { return s.Cipher.KeyLen() }

// AuthKeyLen returns the integrity key length in bytes (0 for AES-GCM).
func (s Suite) AuthKeyLen() int { return s.Integrity.KeyLen() }

// IVLen returns the length of the explicit IV in each packet.
func (s Suite) IVLen() int { return s.Cipher.IVLen() }

// ICVLen returns the length of the Integrity Check Value.
func (s Suite) ICVLen() int {
	if s.Cipher.AEAD() {
		return gcmTagLen
	}
	return s.Integrity.ICVLen()
}

// BlockSize returns the alignment of payload + padding + trailer.
func (s Suite) BlockSize() int { return s.Cipher.BlockSize() }

// PadLen returns the number of padding bytes Seal adds to a payload of n
// bytes: the fewest that align payload, padding and the 2-byte trailer.
func (s Suite) PadLen(n int) int {
	bs := s.BlockSize()
	return (bs - (n+trailerLen)%bs) % bs
}

// Headroom returns the bytes Seal writes in front of the payload: the ESP
// header and the IV.
func (s Suite) Headroom() int { return HeaderLen + s.IVLen() }

// Tailroom returns the bytes Seal writes after a payload of n bytes:
// padding, pad length, next header and ICV.
func (s Suite) Tailroom(n int) int { return s.PadLen(n) + trailerLen + s.ICVLen() }

// Overhead returns the exact number of bytes ESP adds to a payload of n
// bytes: header 8 + IV + padding + 2 + ICV. For transport mode over GRE
// with esp-256-aes esp-sha384-hmac that is 8 + 16 + (0..15) + 2 + 24.
// Outer IP and, with NAT traversal, UDPEncapLen come on top.
func (s Suite) Overhead(n int) int { return s.Headroom() + s.Tailroom(n) }

// MaxOverhead returns the largest Overhead over all payload sizes.
func (s Suite) MaxOverhead() int {
	return s.Headroom() + s.BlockSize() - 1 + trailerLen + s.ICVLen()
}

// MaxPayload returns the largest payload whose ESP packet fits in room
// bytes (for example the underlay MTU less the outer IP header), or a
// negative number if not even an empty payload fits.
func (s Suite) MaxPayload(room int) int {
	bs := s.BlockSize()
	avail := room - s.Headroom() - s.ICVLen()
	if avail < 0 {
		return -1
	}
	return avail/bs*bs - trailerLen
}
