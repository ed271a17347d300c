package wire

import (
	"encoding/hex"
	"strings"
)

// Wire-format test vectors, written by hand from the layouts of RFC 7296
// section 3, RFC 7383 section 2.5 and RFC 7427 section 3 and Appendix A.
// Each line is one field; "#" starts a comment. Offsets (decimal) are noted
// where tests patch bytes.

// ikeSAInit is an IKE_SA_INIT request: one IKE proposal with a Key Length
// attribute, a (short) KE, a nonce, NAT detection, fragmentation and
// signature hash notifies, an unknown non-critical payload that a receiver
// skips, and a vendor ID.
var ikeSAInit = wire(`
# IKE header (RFC 7296 3.1)
0123456789abcdef   # 0   SPIi
0000000000000000   # 8   SPIr: 0 in the first message
21                 # 16  next payload: SA
20                 # 17  version 2.0
22                 # 18  exchange: IKE_SA_INIT
08                 # 19  flags: Initiator
00000000           # 20  message ID 0
000000da           # 24  length: 218
# SA payload (3.3)
22 00 0030         # 28  next: KE, not critical, length 48
00 00 002c         # 32  proposal (3.3.1): last, length 44
01 01 00 04        # 36  #1, IKE, SPI size 0, 4 transforms
03 00 000c         # 40  transform (3.3.2): more, length 12
01 00 000c         # 44  ENCR, AES-CBC
800e 0100          # 48  attribute (3.3.5): Key Length (TV), 256
03 00 0008         # 52  transform: more, length 8
03 00 000c         # 56  INTEG, HMAC-SHA-256-128
03 00 0008         # 60  transform: more, length 8
02 00 0005         # 64  PRF, HMAC-SHA-256
00 00 0008         # 68  transform: last, length 8
04 00 0013         # 72  D-H, group 19
# KE payload (3.4)
28 00 0010         # 76  next: Nonce, length 16
0013 0000          # 80  group 19, reserved
0011223344556677   # 84  key exchange data (short, not a real point)
# Nonce payload (3.9)
29 00 0014         # 92  next: Notify, length 20
000102030405060708090a0b0c0d0e0f  # 96  16 octets
# Notify payloads (3.10)
29 00 001c         # 112 next: Notify, length 28
00 00 4004         # 116 protocol 0, SPI size 0, NAT_DETECTION_SOURCE_IP
a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4  # 120 SHA-1 digest
29 00 001c         # 140 next: Notify, length 28
00 00 4005         # 144 NAT_DETECTION_DESTINATION_IP
c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4  # 148
29 00 0008         # 168 next: Notify, length 8
00 00 402e         # 172 IKEV2_FRAGMENTATION_SUPPORTED (RFC 7383)
c8 00 000e         # 176 next: type 200, length 14
00 00 402f         # 180 SIGNATURE_HASH_ALGORITHMS (RFC 7427)
0002 0003 0004     # 184 SHA2-256, SHA2-384, SHA2-512
# an unknown payload, not critical (3.2)
2b 00 0008         # 190 next: Vendor ID, C=0, length 8
deadbeef           # 194
# Vendor ID payload (3.12)
00 00 0014         # 198 next: none, length 20
677265736563206b6579206578636821  # 202 "gresec key exch!"
                   # 218 end
`)

// authPlain is the inner payload chain of an IKE_AUTH request (first
// payload IDi), as it is before padding and encryption: identities of two
// types, a certificate and a request for one, a digital signature AUTH
// (RFC 7427), a configuration request, an ESP proposal with an SPI, IPv4
// and IPv6 traffic selectors, and two status notifies.
var authPlain = wire(`
# IDi (3.5)
25 00 0016         # 0   next: CERT, length 22
02 000000          # 4   ID_FQDN, reserved
6772657365632e6578616d706c65  # 8  "gresec.example"
# CERT (3.6)
26 00 000b         # 22  next: CERTREQ, length 11
04                 # 26  X.509 Certificate - Signature
308201000a0b       # 27  (the start of a DER certificate, cut short)
# CERTREQ (3.7)
24 00 0019         # 33  next: IDr, length 25
04                 # 37  X.509 Certificate - Signature
1112131415161718191a1b1c1d1e1f2021222324  # 38  SHA-1 of a CA's public key
# IDr
27 00 0018         # 58  next: AUTH, length 24
05 000000          # 62  ID_IPV6_ADDR
20010db8000000000000000000000002  # 66  2001:db8::2
# AUTH (3.8), Digital Signature (RFC 7427 section 3)
2f 00 001d         # 82  next: CP, length 29
0e 000000          # 86  method 14, reserved
0c                 # 90  ASN.1 length 12
300a06082a8648ce3d040302  # 91  ecdsa-with-SHA256 (RFC 7427 A.3.1)
5349474e41545552   # 103 signature value (8 octets, not a real one)
# CP (3.15)
21 00 001a         # 111 next: SA, length 26
01 000000          # 115 CFG_REQUEST, reserved
0001 0000          # 119 INTERNAL_IP4_ADDRESS, empty: asked for
000a 0000          # 123 INTERNAL_IP6_DNS, empty
0007 0006 677265736563  # 127 APPLICATION_VERSION "gresec"
# SA: ESP
2c 00 0024         # 137 next: TSi, length 36
00 00 0020         # 141 proposal: last, length 32
01 03 04 02        # 145 #1, ESP, SPI size 4, 2 transforms
cafe0001           # 149 SPI
03 00 000c         # 153 transform: more, length 12
01 00 0014         # 157 ENCR, AES-GCM with a 16-octet ICV
800e 0100          # 161 Key Length 256
00 00 0008         # 165 transform: last, length 8
05 00 0000         # 169 ESN: no
# TSi (3.13)
2d 00 0040         # 173 next: TSr, length 64
02 000000          # 177 2 selectors, reserved
07 2f 0010         # 181 TS_IPV4_ADDR_RANGE, GRE, length 16
0000 ffff          # 185 any port
c0000201 c0000201  # 189 192.0.2.1 to 192.0.2.1
08 00 0028         # 197 TS_IPV6_ADDR_RANGE, any protocol, length 40
0000 ffff          # 201 any port
20010db8000000000000000000000000  # 205 2001:db8:: to
20010db800000000000000000000ffff  # 221 2001:db8::ffff
# TSr
29 00 0018         # 237 next: Notify, length 24
01 000000          # 241 1 selector
07 11 0010         # 245 TS_IPV4_ADDR_RANGE, UDP, length 16
01f4 01f4          # 249 port 500 only
c6336400 c63364ff  # 253 198.51.100.0 to 198.51.100.255
# Notify
29 00 0008         # 261 next: Notify, length 8
00 00 4007         # 265 USE_TRANSPORT_MODE
00 00 0008         # 269 next: none, length 8
00 00 4000         # 273 INITIAL_CONTACT
                   # 277 end
`)

// infoPlain is the inner payload chain of INFORMATIONAL and
// CREATE_CHILD_SA messages (first payload D): deletes of two ESP SAs and of
// the IKE SA, notifies with an SPI and with data, and an EAP payload.
var infoPlain = wire(`
# Delete (3.11)
2a 00 0010         # 0   next: Delete, length 16
03 04 0002         # 4   ESP, SPI size 4, 2 SPIs
cafe0001 cafe0002  # 8
29 00 0008         # 16  next: Notify, length 8
01 00 0000         # 20  IKE, SPI size 0, no SPIs
# Notify
29 00 000c         # 24  next: Notify, length 12
03 04 4009         # 28  ESP, SPI size 4, REKEY_SA
cafe0001           # 32  the SPI of the CHILD_SA to rekey
29 00 0010         # 36  next: Notify, length 16
00 00 4006         # 40  COOKIE
0102030405060708   # 44
30 00 000a         # 52  next: EAP, length 10
00 00 0011         # 56  INVALID_KE_PAYLOAD
0013               # 60  group 19 wanted
# EAP (3.16)
00 00 000d         # 62  next: none, length 13
02 01 0009 01 67726573  # 66 EAP Response, id 1, length 9, Identity "gres"
                   # 75  end
`)

// skMessage is an IKE_AUTH request protected by an SK payload (3.14) with a
// 16-octet IV and a 16-octet ICV; its inner chain starts with IDi.
var skMessage = wire(`
0123456789abcdef fedcba9876543210  # 0  SPIs
2e 20 23 08        # 16  next: SK, version 2.0, IKE_AUTH, Initiator
00000001           # 20  message ID 1
00000060           # 24  length: 96
23 00 0044         # 28  next: IDi (the first inner payload), length 68
00112233445566778899aabbccddeeff  # 32  IV
0000000000000000000000000000000000000000000000000000000000000000  # 48  ciphertext
ffeeddccbbaa99887766554433221100  # 80  ICV
                   # 96  end
`)

// skfMessage is the first of two fragments of an IKE_AUTH request (RFC
// 7383 section 2.5): an SKF payload with a 16-octet IV and ICV.
var skfMessage = wire(`
0123456789abcdef fedcba9876543210  # 0  SPIs
35 20 23 08        # 16  next: SKF, version 2.0, IKE_AUTH, Initiator
00000001           # 20  message ID 1
00000054           # 24  length: 84
23 00 0038         # 28  next: IDi (first fragment only), length 56
0001 0002          # 32  fragment 1 of 2
00112233445566778899aabbccddeeff  # 36  IV
00000000000000000000000000000000  # 52  encrypted content
ffeeddccbbaa99887766554433221100  # 68  ICV
                   # 84  end
`)

// wire decodes the hex in s, ignoring white space and "#" comments.
func wire(s string) []byte {
	var h strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		h.WriteString(strings.Join(strings.Fields(line), ""))
	}
	b, err := hex.DecodeString(h.String())
	if err != nil {
		panic(err)
	}
	return b
}
