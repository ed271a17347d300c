package ikev2

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"slices"
	"time"

	"github.com/gresec/gresec/internal/config"
	"github.com/gresec/gresec/internal/ikev2/wire"
)

// Authentication with certificates (RFC 7296 sections 2.15 and 3.6-3.8):
// RSA and ECDSA signatures, as the classic methods (RSA with SHA-1, RFC
// 4754's ECDSA with a fixed hash) or RFC 7427's Digital Signature method
// when both ends announce SIGNATURE_HASH_ALGORITHMS; chains are checked
// against the trust point's CA certificates at the engine's time.

// Credentials are what a `crypto pki trustpoint` holds, loaded: this
// side's certificate chain (leaf first) and private key for signing, and
// the CA certificates that verify the peer.
type Credentials struct {
	Chain []*x509.Certificate
	Key   crypto.Signer
	CAs   []*x509.Certificate
}

func (c *Credentials) equal(o *Credentials) bool {
	if c == nil || o == nil {
		return c == o
	}
	same := func(a, b []*x509.Certificate) bool {
		return slices.EqualFunc(a, b, func(x, y *x509.Certificate) bool { return x.Equal(y) })
	}
	if !same(c.Chain, o.Chain) || !same(c.CAs, o.CAs) || (c.Key == nil) != (o.Key == nil) {
		return false
	}
	if c.Key == nil {
		return true
	}
	type equaler interface{ Equal(crypto.PublicKey) bool }
	e, ok := c.Key.Public().(equaler)
	return ok && e.Equal(o.Key.Public())
}

// The RFC 7427 AlgorithmIdentifiers gresec signs with and accepts (DER,
// as Appendix A of the RFC lists them).
var (
	algSHA256WithRSA   = []byte{0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00}
	algSHA384WithRSA   = []byte{0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c, 0x05, 0x00}
	algSHA512WithRSA   = []byte{0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d, 0x05, 0x00}
	algECDSAWithSHA256 = []byte{0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02}
	algECDSAWithSHA384 = []byte{0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03}
	algECDSAWithSHA512 = []byte{0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x04}
)

// sigAlg is one RFC 7427 signature algorithm.
type sigAlg struct {
	id   []byte
	hash crypto.Hash
	ec   bool
}

var sigAlgs = []sigAlg{
	{algSHA256WithRSA, crypto.SHA256, false}, {algSHA384WithRSA, crypto.SHA384, false}, {algSHA512WithRSA, crypto.SHA512, false},
	{algECDSAWithSHA256, crypto.SHA256, true}, {algECDSAWithSHA384, crypto.SHA384, true}, {algECDSAWithSHA512, crypto.SHA512, true},
}

func hashAlgOf(h crypto.Hash) wire.HashAlgorithm {
	switch h {
	case crypto.SHA256:
		return wire.HashSHA2_256
	case crypto.SHA384:
		return wire.HashSHA2_384
	case crypto.SHA512:
		return wire.HashSHA2_512
	}
	return wire.HashSHA1
}

// ourHashes are the hashes announced in SIGNATURE_HASH_ALGORITHMS.
var ourHashes = []wire.HashAlgorithm{wire.HashSHA2_256, wire.HashSHA2_384, wire.HashSHA2_512}

// ecHash is the hash RFC 4754 pairs with a curve, also the one gresec
// uses with RFC 7427 for that curve.
func ecHash(c elliptic.Curve) (crypto.Hash, wire.AuthMethod, int) {
	switch c {
	case elliptic.P384():
		return crypto.SHA384, wire.AuthECDSA384, 48
	case elliptic.P521():
		return crypto.SHA512, wire.AuthECDSA521, 66
	}
	return crypto.SHA256, wire.AuthECDSA256, 32
}

// sign returns the AUTH payload signing octets with key: RFC 7427 when
// the peer announced the hash, else the classic method of the key.
func sign(key crypto.Signer, rnd io.Reader, octets []byte, peerHashes []wire.HashAlgorithm) (*wire.Auth, error) {
	switch pub := key.Public().(type) {
	case *rsa.PublicKey:
		if slices.Contains(peerHashes, wire.HashSHA2_256) {
			sig, err := key.Sign(rnd, digest(crypto.SHA256, octets), crypto.SHA256)
			if err != nil {
				return nil, err
			}
			return wire.NewDigitalSignature(algSHA256WithRSA, sig)
		}
		sig, err := key.Sign(rnd, digest(crypto.SHA1, octets), crypto.SHA1)
		if err != nil {
			return nil, err
		}
		return &wire.Auth{Method: wire.AuthRSASig, Data: sig}, nil
	case *ecdsa.PublicKey:
		h, method, n := ecHash(pub.Curve)
		der, err := key.Sign(rnd, digest(h, octets), h)
		if err != nil {
			return nil, err
		}
		if slices.Contains(peerHashes, hashAlgOf(h)) {
			alg := map[crypto.Hash][]byte{crypto.SHA256: algECDSAWithSHA256, crypto.SHA384: algECDSAWithSHA384, crypto.SHA512: algECDSAWithSHA512}[h]
			return wire.NewDigitalSignature(alg, der)
		}
		raw, err := ecdsaRaw(der, n)
		if err != nil {
			return nil, err
		}
		return &wire.Auth{Method: method, Data: raw}, nil
	}
	return nil, fmt.Errorf("unsupported key type %T", key.Public())
}

func digest(h crypto.Hash, b []byte) []byte {
	x := h.New()
	x.Write(b)
	return x.Sum(nil)
}

type ecdsaSig struct{ R, S *big.Int }

// ecdsaRaw converts an ASN.1 ECDSA signature to RFC 4754's r | s.
func ecdsaRaw(der []byte, n int) ([]byte, error) {
	var s ecdsaSig
	if rest, err := asn1.Unmarshal(der, &s); err != nil || len(rest) > 0 {
		return nil, errors.New("malformed ECDSA signature")
	}
	out := make([]byte, 2*n)
	s.R.FillBytes(out[:n])
	s.S.FillBytes(out[n:])
	return out, nil
}

// verifySig checks an AUTH payload's signature of octets with pub, and
// that its method suits what the profile accepts from the peer.
func verifySig(pub crypto.PublicKey, auth *wire.Auth, octets []byte, accept []config.IKEv2AuthMethod) error {
	rsaOK, ecOK := slices.Contains(accept, config.AuthRSASig), slices.Contains(accept, config.AuthECDSASig)
	switch auth.Method {
	case wire.AuthRSASig:
		k, ok := pub.(*rsa.PublicKey)
		if !ok || !rsaOK {
			return errors.New("RSA signature not accepted, or the certificate has no RSA key")
		}
		return rsa.VerifyPKCS1v15(k, crypto.SHA1, digest(crypto.SHA1, octets), auth.Data)
	case wire.AuthECDSA256, wire.AuthECDSA384, wire.AuthECDSA521:
		k, ok := pub.(*ecdsa.PublicKey)
		if !ok || !ecOK {
			return errors.New("ECDSA signature not accepted, or the certificate has no ECDSA key")
		}
		h, method, n := ecHash(k.Curve)
		if method != auth.Method || len(auth.Data) != 2*n {
			return fmt.Errorf("%v does not suit the certificate's curve", auth.Method)
		}
		r, s := new(big.Int).SetBytes(auth.Data[:n]), new(big.Int).SetBytes(auth.Data[n:])
		if !ecdsa.Verify(k, digest(h, octets), r, s) {
			return errors.New("bad ECDSA signature")
		}
		return nil
	case wire.AuthDigitalSignature:
		algID, sig, err := auth.DigitalSignature()
		if err != nil {
			return err
		}
		i := slices.IndexFunc(sigAlgs, func(a sigAlg) bool { return bytes.Equal(a.id, algID) })
		if i < 0 {
			return errors.New("unsupported signature algorithm in the digital signature")
		}
		a := sigAlgs[i]
		if a.ec {
			k, ok := pub.(*ecdsa.PublicKey)
			if !ok || !ecOK {
				return errors.New("ECDSA signature not accepted, or the certificate has no ECDSA key")
			}
			if !ecdsa.VerifyASN1(k, digest(a.hash, octets), sig) {
				return errors.New("bad ECDSA signature")
			}
			return nil
		}
		k, ok := pub.(*rsa.PublicKey)
		if !ok || !rsaOK {
			return errors.New("RSA signature not accepted, or the certificate has no RSA key")
		}
		return rsa.VerifyPKCS1v15(k, a.hash, digest(a.hash, octets), sig)
	}
	return fmt.Errorf("authentication method %v is not supported", auth.Method)
}

// verifyChain parses the peer's CERT payloads (leaf first) and checks the
// chain against the CAs at now; it returns the leaf.
func verifyChain(certs []*wire.Cert, cas []*x509.Certificate, now time.Time) (*x509.Certificate, error) {
	var chain []*x509.Certificate
	for _, c := range certs {
		if c.Encoding != wire.CertX509Signature {
			continue
		}
		x, err := x509.ParseCertificate(c.Data)
		if err != nil {
			return nil, fmt.Errorf("peer certificate: %w", err)
		}
		chain = append(chain, x)
	}
	if len(chain) == 0 {
		return nil, errors.New("the peer sent no X.509 certificate")
	}
	if len(cas) == 0 {
		return nil, errors.New("no CA certificate to verify the peer with")
	}
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	for _, ca := range cas {
		roots.AddCert(ca)
	}
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	leaf := chain[0]
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		return nil, fmt.Errorf("peer certificate %q: %w", leaf.Subject, err)
	}
	return leaf, nil
}

// idBound reports whether the peer's identity belongs to its certificate:
// a DN must be the subject; an address, name or e-mail must be among the
// subject alternative names of that kind when the certificate has any.
func idBound(id *wire.ID, leaf *x509.Certificate) bool {
	switch id.Type {
	case wire.IDDERASN1DN:
		return bytes.Equal(id.Data, leaf.RawSubject)
	case wire.IDIPv4Addr, wire.IDIPv6Addr:
		a, ok := id.Addr()
		if !ok {
			return false
		}
		if len(leaf.IPAddresses) == 0 {
			return true
		}
		return slices.ContainsFunc(leaf.IPAddresses, func(ip net.IP) bool { return ip.Equal(net.IP(a.AsSlice())) })
	case wire.IDFQDN:
		return len(leaf.DNSNames) == 0 || slices.ContainsFunc(leaf.DNSNames, func(n string) bool { return equalFoldASCII(n, string(id.Data)) })
	case wire.IDRFC822Addr:
		return len(leaf.EmailAddresses) == 0 || slices.ContainsFunc(leaf.EmailAddresses, func(n string) bool { return equalFoldASCII(n, string(id.Data)) })
	}
	return false
}

func equalFoldASCII(a, b string) bool { return bytes.EqualFold([]byte(a), []byte(b)) }

// certReq returns a CERTREQ naming the CAs: the SHA-1 hashes of their
// public keys (RFC 7296 section 3.7).
func certReq(cas []*x509.Certificate) *wire.CertReq {
	r := &wire.CertReq{Encoding: wire.CertX509Signature}
	for _, ca := range cas {
		h := sha1.Sum(ca.RawSubjectPublicKeyInfo)
		r.Authorities = append(r.Authorities, h[:]...)
	}
	return r
}

// certPayloads returns our chain as CERT payloads.
func certPayloads(chain []*x509.Certificate) []wire.Payload {
	var out []wire.Payload
	for _, c := range chain {
		out = append(out, &wire.Cert{Encoding: wire.CertX509Signature, Data: c.Raw})
	}
	return out
}
