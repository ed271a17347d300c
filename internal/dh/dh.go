// Package dh is the Diffie-Hellman of both IKE versions: the MODP groups 14,
// 15 and 16 of RFC 3526 (generator 2), the ECP groups 19, 20 and 21 of
// RFC 5903, and Curve25519 (group 31, RFC 8031). Modular exponentiation is
// constant time (filippo.io/bigmod); the elliptic curves use crypto/ecdh.
//
// Encodings follow RFC 2409, RFC 5903 and RFC 8031: a MODP public value and
// shared secret are big-endian, left-padded with zeros to the length of the
// prime; an ECP public value is x | y (no 0x04 prefix, RFC 5903 section 7)
// and the shared secret is the x coordinate alone (RFC 5903 section 9); a
// Curve25519 public value and shared secret are 32 bytes (RFC 7748).
//
// Private values come from a reader the caller gives, so that the IKE
// engines run deterministically in tests. A Key is safe for concurrent use.
package dh

import (
	"crypto/ecdh"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"

	"filippo.io/bigmod"
)

// Group is a Diffie-Hellman group by its IANA number, the same in IKEv1
// (RFC 2409 Appendix A) and IKEv2 (RFC 7296 section 3.3.2, Transform Type 4).
type Group uint16

// The groups this package computes.
const (
	MODP2048   Group = 14
	MODP3072   Group = 15
	MODP4096   Group = 16
	ECP256     Group = 19
	ECP384     Group = 20
	ECP521     Group = 21
	Curve25519 Group = 31
)

// modpExponentLen is the private exponent size for the MODP groups: 512
// bits, well above twice the strength of the largest group (RFC 3526
// section 8 estimates about 150 bits for 4096-bit MODP).
const modpExponentLen = 64

// The RFC 3526 primes, in hexadecimal.
const (
	modp2048Hex = "" +
		"FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74" +
		"020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437" +
		"4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED" +
		"EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05" +
		"98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB" +
		"9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B" +
		"E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF695581718" +
		"3995497CEA956AE515D2261898FA051015728E5A8AACAA68FFFFFFFFFFFFFFFF"
	modp3072Hex = "" +
		"FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74" +
		"020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437" +
		"4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED" +
		"EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05" +
		"98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB" +
		"9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B" +
		"E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF695581718" +
		"3995497CEA956AE515D2261898FA051015728E5A8AAAC42DAD33170D04507A33" +
		"A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7" +
		"ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864" +
		"D87602733EC86A64521F2B18177B200CBBE117577A615D6C770988C0BAD946E2" +
		"08E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF"
	modp4096Hex = "" +
		"FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74" +
		"020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437" +
		"4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED" +
		"EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05" +
		"98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB" +
		"9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B" +
		"E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF695581718" +
		"3995497CEA956AE515D2261898FA051015728E5A8AAAC42DAD33170D04507A33" +
		"A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7" +
		"ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864" +
		"D87602733EC86A64521F2B18177B200CBBE117577A615D6C770988C0BAD946E2" +
		"08E24FA074E5AB3143DB5BFCE0FD108E4B82D120A92108011A723C12A787E6D7" +
		"88719A10BDBA5B2699C327186AF4E23C1A946834B6150BDA2583E9CA2AD44CE8" +
		"DBBBC2DB04DE8EF92E8EFC141FBECAA6287C59474E6BC05D99B2964FA090C3A2" +
		"233BA186515BE7ED1F612970CEE2D7AFB81BDD762170481CD0069127D5B05AA9" +
		"93B4EA988D8FDDC186FFB7DC90A6C08F4DF435C934063199FFFFFFFFFFFFFFFF"
)

// Errors of the key exchange. The IKE engines treat them as a malformed
// message from the peer.
var (
	ErrGroup     = errors.New("unsupported Diffie-Hellman group")
	ErrPublicKey = errors.New("invalid Diffie-Hellman public value")
)

// modpGroup is a MODP group: its prime modulus and generator 2.
type modpGroup struct {
	p    *bigmod.Modulus
	pm1  *bigmod.Nat // p-1, to reject the degenerate public value p-1
	size int         // bytes of the prime
}

var modpGroups = sync.OnceValue(func() map[Group]*modpGroup {
	m := make(map[Group]*modpGroup)
	for g, h := range map[Group]string{
		MODP2048: modp2048Hex,
		MODP3072: modp3072Hex,
		MODP4096: modp4096Hex,
	} {
		b, err := hex.DecodeString(h)
		if err != nil {
			panic("dh: bad MODP prime constant")
		}
		p, err := bigmod.NewModulus(b)
		if err != nil {
			panic("dh: bad MODP prime constant")
		}
		pm1 := p.Nat().SubOne(p)
		m[g] = &modpGroup{p: p, pm1: pm1, size: len(b)}
	}
	return m
})

// ecdhCurve is the crypto/ecdh curve of an elliptic group, nil for MODP.
func ecdhCurve(g Group) ecdh.Curve {
	switch g {
	case ECP256:
		return ecdh.P256()
	case ECP384:
		return ecdh.P384()
	case ECP521:
		return ecdh.P521()
	case Curve25519:
		return ecdh.X25519()
	}
	return nil
}

// scalarLen is the length of a private scalar of an elliptic group, and of
// one coordinate of its points (ECP) or of a point (Curve25519).
func scalarLen(g Group) int {
	switch g {
	case ECP256, Curve25519:
		return 32
	case ECP384:
		return 48
	case ECP521:
		return 66
	}
	return 0
}

// Supported reports whether the package computes group g.
func (g Group) Supported() bool {
	return modpGroups()[g] != nil || ecdhCurve(g) != nil
}

// PublicLen is the length of g's public values in a KE payload, 0 for a
// group the package does not compute.
func (g Group) PublicLen() int {
	if m := modpGroups()[g]; m != nil {
		return m.size
	}
	if g == Curve25519 {
		return 32
	}
	return 2 * scalarLen(g)
}

// A Key is one side's ephemeral Diffie-Hellman key.
type Key struct {
	group Group
	pub   []byte
	// One of the two is set.
	exp []byte // MODP private exponent
	ec  *ecdh.PrivateKey
}

// New generates a key pair for group g from random bytes read from r.
// Private values come from r (not from crypto/ecdh's own source) so that
// tests can run the engines deterministically.
func New(g Group, r io.Reader) (*Key, error) {
	if m := modpGroups()[g]; m != nil {
		exp := make([]byte, modpExponentLen)
		if _, err := io.ReadFull(r, exp); err != nil {
			return nil, err
		}
		exp[0] |= 0x80 // a full-size exponent
		gen := bigmod.NewNat().SetUint(2).ExpandFor(m.p)
		pub := bigmod.NewNat().Exp(gen, exp, m.p).Bytes(m.p)
		return &Key{group: g, pub: pub, exp: exp}, nil
	}
	c := ecdhCurve(g)
	if c == nil {
		return nil, fmt.Errorf("%w: %d", ErrGroup, g)
	}
	buf := make([]byte, scalarLen(g))
	for range 100 {
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		if g == ECP521 {
			buf[0] &= 0x01 // P-521 scalars are 521 bits
		}
		k, err := c.NewPrivateKey(buf)
		if err != nil {
			continue // zero or not below the order: draw again
		}
		return fromECDH(g, k), nil
	}
	return nil, errors.New("dh: random source yields no valid ECDH scalar")
}

// FromPrivate builds a key from a known private value (test vectors).
func FromPrivate(g Group, priv []byte) (*Key, error) {
	if m := modpGroups()[g]; m != nil {
		gen := bigmod.NewNat().SetUint(2).ExpandFor(m.p)
		pub := bigmod.NewNat().Exp(gen, priv, m.p).Bytes(m.p)
		return &Key{group: g, pub: pub, exp: priv}, nil
	}
	c := ecdhCurve(g)
	if c == nil {
		return nil, fmt.Errorf("%w: %d", ErrGroup, g)
	}
	k, err := c.NewPrivateKey(priv)
	if err != nil {
		return nil, err
	}
	return fromECDH(g, k), nil
}

func fromECDH(g Group, k *ecdh.PrivateKey) *Key {
	pub := k.PublicKey().Bytes()
	if g != Curve25519 {
		pub = pub[1:] // x | y without the uncompressed-point prefix
	}
	return &Key{group: g, pub: pub, ec: k}
}

// Group returns the key's group.
func (k *Key) Group() Group { return k.group }

// Public returns the public value as the KE payload carries it.
func (k *Key) Public() []byte { return k.pub }

// Shared returns g^xy from the peer's public value, after checking that the
// value is well formed: the group's exact length, and for MODP strictly
// between 1 and p-1 (which also rules out the small-subgroup values 0, 1
// and p-1), for ECP a point on the curve, for Curve25519 a point that does
// not yield the all-zero secret (RFC 8031 section 2.3).
func (k *Key) Shared(peer []byte) ([]byte, error) {
	if len(peer) != k.group.PublicLen() {
		return nil, fmt.Errorf("%w: %d bytes for group %d", ErrPublicKey, len(peer), k.group)
	}
	if m := modpGroups()[k.group]; m != nil {
		y, err := bigmod.NewNat().SetBytes(peer, m.p)
		if err != nil {
			return nil, fmt.Errorf("%w: not below the prime", ErrPublicKey)
		}
		if y.IsZero() == 1 || y.IsOne() == 1 || y.Equal(m.pm1) == 1 {
			return nil, fmt.Errorf("%w: degenerate value", ErrPublicKey)
		}
		s := bigmod.NewNat().Exp(y, k.exp, m.p)
		if s.IsOne() == 1 {
			return nil, fmt.Errorf("%w: small subgroup", ErrPublicKey)
		}
		return s.Bytes(m.p), nil
	}
	enc := peer
	if k.group != Curve25519 {
		enc = append([]byte{4}, peer...)
	}
	pub, err := k.ec.Curve().NewPublicKey(enc)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrPublicKey, err)
	}
	s, err := k.ec.ECDH(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrPublicKey, err)
	}
	return s, nil
}
