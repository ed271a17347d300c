package ikev2

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"errors"
	"fmt"
	"hash"

	"github.com/gresec/gresec/internal/ikev2/wire"
)

// The algorithms of an IKE SA (RFC 7296 section 3.3.2): a PRF, and either
// AES-CBC with an HMAC integrity algorithm or AES-GCM with a 16-octet ICV
// (RFC 5282). Key lengths are the PRF's output size for SK_d, SK_pi and
// SK_pr (section 2.13), the HMAC's block-independent preferred key size for
// SK_a (RFC 4868 section 2.1.2), and the cipher's key plus, for GCM, a
// 4-octet salt for SK_e (RFC 5282 section 7.1).

// prf is a pseudorandom function of IKEv2: HMAC with SHA-1 or SHA-2.
type prf struct {
	id uint16 // wire.PRF*
	h  func() hash.Hash
}

func prfByID(id uint16) (prf, bool) {
	switch id {
	case wire.PRFHMACSHA1:
		return prf{id, sha1.New}, true
	case wire.PRFHMACSHA2_256:
		return prf{id, sha256.New}, true
	case wire.PRFHMACSHA2_384:
		return prf{id, sha512.New384}, true
	case wire.PRFHMACSHA2_512:
		return prf{id, sha512.New}, true
	}
	return prf{}, false
}

// size is the PRF's output length, also its preferred key length.
func (p prf) size() int { return p.h().Size() }

// sum returns prf(key, data...).
func (p prf) sum(key []byte, data ...[]byte) []byte {
	m := hmac.New(p.h, key)
	for _, d := range data {
		m.Write(d)
	}
	return m.Sum(nil)
}

// plus returns the first n octets of prf+(key, seed) (RFC 7296 section
// 2.13): T1 | T2 | ... with T1 = prf(K, S | 0x01) and Tn = prf(K, Tn-1 | S
// | n). The counter is one octet, so at most 255 blocks.
func (p prf) plus(key, seed []byte, n int) []byte {
	out := make([]byte, 0, n+p.size())
	var t []byte
	for i := 1; len(out) < n; i++ {
		if i > 255 {
			panic("ikev2: prf+ asked for more than 255 blocks")
		}
		t = p.sum(key, t, seed, []byte{byte(i)})
		out = append(out, t...)
	}
	return out[:n]
}

// integ is an integrity algorithm: HMAC truncated to icvLen octets.
type integ struct {
	id     uint16 // wire.Integ*
	h      func() hash.Hash
	keyLen int
	icvLen int
}

func integByID(id uint16) (integ, bool) {
	switch id {
	case wire.IntegHMACSHA1_96:
		return integ{id, sha1.New, 20, 12}, true
	case wire.IntegHMACSHA2_256:
		return integ{id, sha256.New, 32, 16}, true
	case wire.IntegHMACSHA2_384:
		return integ{id, sha512.New384, 48, 24}, true
	case wire.IntegHMACSHA2_512:
		return integ{id, sha512.New, 64, 32}, true
	}
	return integ{}, false
}

func (i integ) mac(key, data []byte) []byte {
	m := hmac.New(i.h, key)
	m.Write(data)
	return m.Sum(nil)[:i.icvLen]
}

// encr is an encryption algorithm of the SK payload.
type encr struct {
	id      uint16 // wire.EncrAESCBC or wire.EncrAESGCM16
	keyBits uint16
}

func (e encr) aead() bool { return e.id == wire.EncrAESGCM16 }

// keyLen is the length of SK_e: the AES key, and the salt for GCM.
func (e encr) keyLen() int {
	if e.aead() {
		return int(e.keyBits)/8 + 4
	}
	return int(e.keyBits) / 8
}

func (e encr) ivLen() int {
	if e.aead() {
		return 8
	}
	return aes.BlockSize
}

func (e encr) blockSize() int {
	if e.aead() {
		return 1
	}
	return aes.BlockSize
}

func (e encr) valid() bool {
	switch e.id {
	case wire.EncrAESCBC:
		return e.keyBits == 128 || e.keyBits == 192 || e.keyBits == 256
	case wire.EncrAESGCM16:
		return e.keyBits == 128 || e.keyBits == 256
	}
	return false
}

// suite is the negotiated algorithms of an IKE SA.
type suite struct {
	encr  encr
	integ integ // zero for an AEAD
	prf   prf
	group uint16
}

// icvLen is the length of the SK payload's checksum.
func (s suite) icvLen() int {
	if s.encr.aead() {
		return 16
	}
	return s.integ.icvLen
}

// keys are the keys of an IKE SA (RFC 7296 section 2.14).
type keys struct {
	d        []byte
	ai, ar   []byte
	ei, er   []byte
	pi, pr   []byte
	skeyseed []byte // kept only for the known-answer tests
}

// deriveKeys computes SKEYSEED = prf(Ni | Nr, g^ir) and {SK_d | SK_ai |
// SK_ar | SK_ei | SK_er | SK_pi | SK_pr} = prf+(SKEYSEED, Ni | Nr | SPIi |
// SPIr) for a new IKE SA (RFC 7296 section 2.14).
func deriveKeys(s suite, gir, ni, nr []byte, spiI, spiR [8]byte) keys {
	skeyseed := s.prf.sum(append(append([]byte(nil), ni...), nr...), gir)
	return expandKeys(s, skeyseed, ni, nr, spiI, spiR)
}

// rekeyKeys computes the keys of an IKE SA that replaces another through
// CREATE_CHILD_SA: SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr), with
// the old SA's PRF (RFC 7296 section 2.18), then the new SA's keys with its
// own algorithms.
func rekeyKeys(old prf, oldD []byte, s suite, gir, ni, nr []byte, spiI, spiR [8]byte) keys {
	skeyseed := old.sum(oldD, gir, ni, nr)
	return expandKeys(s, skeyseed, ni, nr, spiI, spiR)
}

func expandKeys(s suite, skeyseed, ni, nr []byte, spiI, spiR [8]byte) keys {
	seed := make([]byte, 0, len(ni)+len(nr)+16)
	seed = append(append(append(append(seed, ni...), nr...), spiI[:]...), spiR[:]...)
	pl, al, el := s.prf.size(), s.integ.keyLen, s.encr.keyLen()
	km := s.prf.plus(skeyseed, seed, 3*pl+2*al+2*el)
	var k keys
	k.skeyseed = skeyseed
	k.d, km = km[:pl], km[pl:]
	k.ai, km = km[:al], km[al:]
	k.ar, km = km[:al], km[al:]
	k.ei, km = km[:el], km[el:]
	k.er, km = km[:el], km[el:]
	k.pi, km = km[:pl], km[pl:]
	k.pr = km[:pl]
	return k
}

// childKeymat returns KEYMAT = prf+(SK_d, g^ir (new) | Ni | Nr) for a
// CHILD_SA (RFC 7296 section 2.17), n octets; gir is nil without PFS.
// The initiator-to-responder keys come first, encryption before integrity.
func childKeymat(p prf, d, gir, ni, nr []byte, n int) []byte {
	seed := make([]byte, 0, len(gir)+len(ni)+len(nr))
	seed = append(append(append(seed, gir...), ni...), nr...)
	return p.plus(d, seed, n)
}

// pskAuth returns the AUTH data of a pre-shared key (RFC 7296 section
// 2.15): prf(prf(Shared Secret, "Key Pad for IKEv2"), <SignedOctets>),
// where the signed octets are the sender's IKE_SA_INIT message, the peer's
// nonce and prf(SK_p, the sender's ID payload body).
func pskAuth(p prf, psk []byte, signed []byte) []byte {
	return p.sum(p.sum(psk, []byte("Key Pad for IKEv2")), signed)
}

// signedOctets is <InitiatorSignedOctets> or <ResponderSignedOctets>:
// RealMessage | NonceData | prf(SK_p, RestOfIDPayload).
func signedOctets(p prf, initMsg, peerNonce, skP, idBody []byte) []byte {
	out := make([]byte, 0, len(initMsg)+len(peerNonce)+p.size())
	out = append(append(out, initMsg...), peerNonce...)
	return append(out, p.sum(skP, idBody)...)
}

var errICV = errors.New("integrity check failed")

// protect is the SK payload's cryptography in one direction.
type protect struct {
	s       suite
	encKey  []byte
	authKey []byte
}

// seal fills in the parts of an encoded protected message whose
// ciphertext slot holds the padded plaintext: it encrypts in place with
// the IV already written, and computes the ICV.
func (c protect) seal(p wire.Protected) error {
	if c.s.encr.aead() {
		aead, err := gcm(c.encKey)
		if err != nil {
			return err
		}
		nonce := append(append(make([]byte, 0, 12), c.encKey[len(c.encKey)-4:]...), p.IV...)
		// The parts are capped slices of the message: seal into a new
		// buffer and copy ciphertext and tag into place.
		out := aead.Seal(nil, nonce, p.Ciphertext, p.Associated)
		if len(out) != len(p.Ciphertext)+len(p.ICV) {
			return errors.New("ikev2: GCM output length")
		}
		copy(p.ICV, out[copy(p.Ciphertext, out):])
		return nil
	}
	b, err := aes.NewCipher(c.encKey)
	if err != nil {
		return err
	}
	cipher.NewCBCEncrypter(b, p.IV).CryptBlocks(p.Ciphertext, p.Ciphertext)
	copy(p.ICV, c.s.integ.mac(c.authKey, p.Signed))
	return nil
}

// open authenticates and decrypts the parts of a received protected
// message, returning the plaintext (padding included). It does not modify
// the message.
func (c protect) open(p wire.Protected) ([]byte, error) {
	if c.s.encr.aead() {
		aead, err := gcm(c.encKey)
		if err != nil {
			return nil, err
		}
		nonce := append(append(make([]byte, 0, 12), c.encKey[len(c.encKey)-4:]...), p.IV...)
		ct := make([]byte, 0, len(p.Ciphertext)+len(p.ICV))
		ct = append(append(ct, p.Ciphertext...), p.ICV...)
		plain, err := aead.Open(ct[:0], nonce, ct, p.Associated)
		if err != nil {
			return nil, errICV
		}
		return plain, nil
	}
	if subtle.ConstantTimeCompare(c.s.integ.mac(c.authKey, p.Signed), p.ICV) != 1 {
		return nil, errICV
	}
	if len(p.Ciphertext)%aes.BlockSize != 0 || len(p.Ciphertext) == 0 {
		return nil, fmt.Errorf("ciphertext of %d octets is not a whole number of blocks", len(p.Ciphertext))
	}
	b, err := aes.NewCipher(c.encKey)
	if err != nil {
		return nil, err
	}
	plain := make([]byte, len(p.Ciphertext))
	cipher.NewCBCDecrypter(b, p.IV).CryptBlocks(plain, p.Ciphertext)
	return plain, nil
}

func gcm(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key[:len(key)-4])
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// String names the suite as `show crypto ikev2 sa` does: "AES-CBC,
// keysize: 256, PRF: SHA256, Hash: SHA256, DH Grp:19".
func (s suite) String() string {
	name := "AES-CBC"
	if s.encr.aead() {
		name = "AES-GCM"
	}
	hash := "None"
	if !s.encr.aead() {
		hash = s.integ.name()
	}
	return fmt.Sprintf("%s, keysize: %d, PRF: %s, Hash: %s, DH Grp:%d", name, s.encr.keyBits, s.prf.name(), hash, s.group)
}

func (p prf) name() string {
	return hashName(p.id, wire.PRFHMACSHA1, wire.PRFHMACSHA2_256, wire.PRFHMACSHA2_384, wire.PRFHMACSHA2_512)
}

func (i integ) name() string {
	return hashName(i.id, wire.IntegHMACSHA1_96, wire.IntegHMACSHA2_256, wire.IntegHMACSHA2_384, wire.IntegHMACSHA2_512)
}

// hashName names id, which is one of the four IDs for SHA-1, SHA-256,
// SHA-384 and SHA-512 of its transform type.
func hashName(id, sha1ID, sha256ID, sha384ID, sha512ID uint16) string {
	switch id {
	case sha1ID:
		return "SHA1"
	case sha256ID:
		return "SHA256"
	case sha384ID:
		return "SHA384"
	case sha512ID:
		return "SHA512"
	}
	return "None"
}

// wiresharkName is the encryption algorithm as Wireshark's
// ikev2_decryption_table names it.
func (e encr) wiresharkName() string {
	if e.aead() {
		return fmt.Sprintf("AES-GCM-%d with 16 octet ICV [RFC5282]", e.keyBits)
	}
	return fmt.Sprintf("AES-CBC-%d [RFC3602]", e.keyBits)
}

// wiresharkName is the integrity algorithm as Wireshark's
// ikev2_decryption_table names it.
func (i integ) wiresharkName() string {
	switch i.id {
	case wire.IntegHMACSHA1_96:
		return "HMAC_SHA1_96 [RFC2404]"
	case wire.IntegHMACSHA2_256:
		return "HMAC_SHA2_256_128 [RFC4868]"
	case wire.IntegHMACSHA2_384:
		return "HMAC_SHA2_384_192 [RFC4868]"
	case wire.IntegHMACSHA2_512:
		return "HMAC_SHA2_512_256 [RFC4868]"
	}
	return "NONE [RFC4306]"
}
