package isakmp

import (
	"encoding/hex"
	"strings"
)

// Wire-format test vectors, written by hand from the layouts of RFC 2408
// sections 3.1-3.16, RFC 2407 section 4.6, RFC 3947 and RFC 3706, shaped
// after what strongSwan and Cisco IOS send. Each line is one field; "#"
// starts a comment. Offsets (decimal) are noted where tests patch bytes.

// mainMode1 is a strongSwan-style Main Mode message 1: one ISAKMP proposal
// with one AES-256/SHA2-256/PSK/group 19 transform, a 24 h lifetime that
// needs a variable (TLV) attribute, and vendor IDs for strongSwan, RFC 3947
// NAT-T and DPD.
var mainMode1 = wire(`
# ISAKMP header (RFC 2408 3.1)
c0ffee0011223344   # 0   initiator cookie
0000000000000000   # 8   responder cookie: 0 in message 1
01                 # 16  next payload: SA
10                 # 17  version 1.0
02                 # 18  exchange: Identity Protection (Main Mode)
00                 # 19  flags: none
00000000           # 20  message ID: 0 in phase 1
00000094           # 24  length: 148
# SA payload (RFC 2408 3.4, RFC 2407 4.6.1)
0d 00 003c         # 28  next: vendor ID, reserved, length 60
00000001           # 32  DOI: IPsec
00000001           # 36  situation: SIT_IDENTITY_ONLY
# proposal substructure (RFC 2408 3.5)
00 00 0030         # 40  next: none (last proposal), length 48
01                 # 44  proposal #1
01                 # 45  protocol: PROTO_ISAKMP
00                 # 46  SPI size 0
01                 # 47  1 transform
# transform substructure (RFC 2408 3.6)
00 00 0028         # 48  next: none (last transform), length 40
01                 # 52  transform #1
01                 # 53  transform ID: KEY_IKE
0000               # 54  reserved
# phase 1 attributes (RFC 2409 Appendix A); 0x8000 marks basic (TV)
8001 0007          # 56  encryption algorithm: AES-CBC
800e 0100          # 60  key length: 256
8002 0004          # 64  hash algorithm: SHA2-256
8004 0013          # 68  group description: 19 (256-bit ECP)
8003 0001          # 72  authentication method: pre-shared key
800b 0001          # 76  life type: seconds
000c 0004 00015180 # 80  life duration, variable, 4 bytes: 86400
# vendor ID payloads (RFC 2408 3.16)
0d 00 0014         # 88  next: vendor ID, length 20
882fe56d6fd20dbc2251613b2ebe5beb  # MD5("strongSwan")
0d 00 0014         # 108
4a131c81070358455c5728f20e95452f  # MD5("RFC 3947"): NAT-T
00 00 0014         # 128 next: none
afcad71368a1f1c96b8696fc77570100  # RFC 3706 DPD, version 1.0
                   # 148 end
`)

// mainMode1IOS is an IOS-style Main Mode message 1: two transforms (two
// isakmp policies) in one proposal, and the NAT-T vendor IDs of RFC 3947 and
// its drafts that IOS sends alongside DPD.
var mainMode1IOS = wire(`
0123456789abcdef 0000000000000000  # cookies
01 10 02 00 00000000               # next SA, version 1.0, Main Mode, no flags, message ID 0
000000d0                           # length 208
# SA
0d 00 0064                         # 28  next vendor ID, length 100
00000001 00000001                  # DOI IPsec, SIT_IDENTITY_ONLY
00 00 0058                         # 40  proposal: last, length 88
01 01 00 02                        # #1, ISAKMP, no SPI, 2 transforms
03 00 0028                         # 48  transform: more follow, length 40
01 01 0000                         # #1, KEY_IKE
8001 0007                          # AES-CBC
800e 0100                          # key length 256
8002 0005                          # SHA2-384
8003 0001                          # pre-shared key
8004 000e                          # group 14 (2048-bit MODP)
800b 0001                          # life type seconds
000c 0004 00015180                 # life duration 86400
00 00 0028                         # 88  transform: last, length 40
02 01 0000                         # #2, KEY_IKE
8001 0007                          # AES-CBC
800e 0080                          # key length 128
8002 0002                          # SHA1
8003 0001                          # pre-shared key
8004 0005                          # group 5 (1536-bit MODP)
800b 0001                          # life type seconds
000c 0004 00015180                 # life duration 86400
# vendor IDs
0d 00 0014 4a131c81070358455c5728f20e95452f  # 128 RFC 3947
0d 00 0014 7d9419a65310ca6f2c179d9215529d56  # 148 draft-ietf-ipsec-nat-t-ike-03
0d 00 0014 90cb80913ebb696e086381b5ec427b1f  # 168 draft-ietf-ipsec-nat-t-ike-02\n
00 00 0014 afcad71368a1f1c96b8696fc77570100  # 188 DPD
                                             # 208 end
`)

// mainMode3 is Main Mode message 3 from the initiator: the group 19 public
// value, its nonce and two RFC 3947 NAT-D hashes (SHA2-256, the negotiated
// hash).
var mainMode3 = wire(`
c0ffee0011223344 5566778899aabbcc  # cookies
04 10 02 00 00000000               # next KE, version 1.0, Main Mode, no flags, message ID 0
000000cc                           # length 204
# KE payload (RFC 2408 3.7): group 19 public value x || y, 64 bytes
0a 00 0044                         # 28  next nonce, length 68
6b17d1f2e12c4247f8bce6e563a440f2 77037d812deb33a0f4a13945d898c296
4fe342e2fe1a7f9b8ee7eb4a7c0f9e16 2bce33576b315ececbb6406837bf51f5
# nonce payload (RFC 2408 3.13), 32 bytes
14 00 0024                         # 96  next NAT-D, length 36
9a1f0e2d3c4b5a69788796a5b4c3d2e1 f00112233445566778899aabbccddeef
# NAT-D payloads (RFC 3947 3.2): HASH(CKY-I | CKY-R | IP | port)
14 00 0024                         # 132 next NAT-D, length 36
3d5a0e1c9b8f7e6d5c4b3a2918070605 0403020100f0e0d0c0b0a09080706050
00 00 0024                         # 168 last, length 36
a0a1a2a3a4a5a6a7a8a9aaabacadaeaf b0b1b2b3b4b5b6b7b8b9babbbcbdbebf
                                   # 204 end
`)

// quickMode1Plain is the decrypted body of a Quick Mode message 1 (RFC 2409
// section 5.5: HASH(1), SA, Ni, IDci, IDcr), as the initiator of a GRE
// transport-mode tunnel sends it: ESP AES-CBC-256 with HMAC-SHA2-384, or
// AES-GCM-16-256, lifetimes in seconds and kilobytes, and protocol 47 in
// both IDs. It ends in 4 bytes of CBC padding.
var quickMode1Plain = wire(`
# HASH(1) (RFC 2408 3.11): prf(SKEYID_a, M-ID | SA | Ni | IDci | IDcr)
01 00 0024                         # 0   next SA, length 36
00112233445566778899aabbccddeeff 102132435465768798a9bacbdcedfe0f
# SA payload
0a 00 0064                         # 36  next nonce, length 100
00000001 00000001                  # 40  DOI IPsec, SIT_IDENTITY_ONLY
# proposal 1
02 00 0034                         # 48  next proposal, length 52
01                                 # 52  proposal #1
03                                 # 53  protocol: PROTO_IPSEC_ESP
04                                 # 54  SPI size 4
01                                 # 55  1 transform
cafe0001                           # 56  SPI
00 00 0028                         # 60  transform: last, length 40
01                                 # 64  transform #1
0c                                 # 65  ESP_AES (AES-CBC), RFC 3602
0000                               # 66  reserved
# IPsec DOI attributes (RFC 2407 4.5)
8006 0100                          # 68  key length 256
8005 0006                          # 72  authentication algorithm: HMAC-SHA2-384 (RFC 4868)
8004 0002                          # 76  encapsulation mode: transport
8001 0001                          # 80  SA life type: seconds
8002 0e10                          # 84  SA life duration: 3600
8001 0002                          # 88  SA life type: kilobytes
0002 0004 00465000                 # 92  SA life duration, variable: 4608000
# proposal 2
00 00 0024                         # 100 next none, length 36
02 03 04 01                        # 104 proposal #2, ESP, SPI size 4, 1 transform
cafe0001                           # 108 SPI
00 00 0018                         # 112 transform: last, length 24
01 14 0000                         # 116 #1, ESP_AES-GCM with 16-byte ICV (RFC 4106)
8006 0100                          # 120 key length 256
8004 0002                          # 124 transport
8001 0001                          # 128 life type seconds
8002 0e10                          # 132 life duration 3600
# nonce payload, 24 bytes
05 00 001c                         # 136 next ID, length 28
0f1e2d3c4b5a69788796a5b4c3d2e1f0 0011223344556677
# ID payloads (RFC 2407 4.6.2)
05 00 000c                         # 164 next ID, length 12
01                                 # 168 ID_IPV4_ADDR
2f                                 # 169 protocol 47 (GRE)
0000                               # 170 port 0
c0000201                           # 172 192.0.2.1
00 00 000c                         # 176 last, length 12
01 2f 0000 c6336402                # 180 ID_IPV4_ADDR, GRE, port 0, 198.51.100.2
                                   # 188 end of payloads
00000003                           # 188 CBC padding to 192
`)

// quickModeEncrypted is a Quick Mode message as it travels: header with the
// E flag and 32 bytes of ciphertext.
var quickModeEncrypted = wire(`
c0ffee0011223344 5566778899aabbcc  # cookies
08                                 # next payload: HASH (inside the ciphertext)
10 20                              # version 1.0, Quick Mode
01                                 # flags: E
1badcafe                           # message ID
0000003c                           # length 60
5fd1b2a3c4e5f60718293a4b5c6d7e8f 90a1b2c3d4e5f60718293a4b5c6d7e8f  # ciphertext
`)

// dpdPlain is the decrypted body of an Informational exchange carrying a
// DPD R-U-THERE (RFC 3706 section 5), padded to 80 bytes.
var dpdPlain = wire(`
0b 00 0024                         # 0   HASH(1), next notification, length 36
8899aabbccddeeff0011223344556677 8899aabbccddeeff0011223344556677
00 00 0020                         # 36  notification: last, length 32
00000001                           # 40  DOI IPsec
01                                 # 44  protocol: ISAKMP
10                                 # 45  SPI size 16
8d28                               # 46  R-U-THERE (36136)
c0ffee0011223344 5566778899aabbcc  # 48  SPI: CKY-I | CKY-R
3a2b1c0d                           # 64  sequence number
                                   # 68  end of payloads
000000000000000000000000           # 68  padding to 80
`)

// deletePlain is the decrypted body of an Informational exchange deleting an
// ESP SA, padded to 64 bytes.
var deletePlain = wire(`
0c 00 0024                         # 0   HASH(1), next delete, length 36
ffeeddccbbaa99887766554433221100 ffeeddccbbaa99887766554433221100
00 00 0010                         # 36  delete (RFC 2408 3.15): last, length 16
00000001                           # 40  DOI IPsec
03                                 # 44  protocol: ESP
04                                 # 45  SPI size 4
0001                               # 46  1 SPI
cafe0001                           # 48  SPI
                                   # 52  end of payloads
00000000000000000000000b           # 52  padding to 64
`)

// initialContact is a payload chain (first: notification) announcing
// INITIAL-CONTACT (RFC 2407 4.6.3.3) and deleting the previous ISAKMP SA.
var initialContact = wire(`
0c 00 001c                         # notification, next delete, length 28
00000001 01 10 6002                # DOI IPsec, ISAKMP, SPI size 16, INITIAL-CONTACT (24578)
c0ffee0011223344 5566778899aabbcc  # SPI: cookies
00 00 001c                         # delete, last, length 28
00000001 01 10 0001                # DOI IPsec, ISAKMP, SPI size 16, 1 SPI
0011223344556677 8899aabbccddeeff  # cookies of the old ISAKMP SA
`)

// natTDraft is a payload chain (first: NAT-D, draft type 130) as sent by a
// peer that negotiated NAT-T with a draft vendor ID: two SHA1 NAT-D hashes
// and a NAT-OA, all with the draft payload types.
var natTDraft = wire(`
82 00 0018                         # NAT-D (130), next NAT-D (130), length 24
00112233445566778899aabbccddeeff00112233
83 00 0018                         # NAT-D (130), next NAT-OA (131), length 24
ffeeddccbbaa99887766554433221100ffeeddcc
00 00 000c                         # NAT-OA (131), last, length 12
01 00 0000                         # ID_IPV4_ADDR, reserved
c0a80164                           # 192.168.1.100
`)

// identities is a payload chain (first: ID) of the other ID types gresec may
// meet: an FQDN with protocol and port, a subnet and a range, and a NAT-OA
// for IPv6 with its RFC 3947 type.
var identities = wire(`
05 00 0017                         # ID, next ID, length 23
02 11 01f4                         # ID_FQDN, UDP, port 500
76706e2e6578616d706c652e6e6574     # "vpn.example.net"
05 00 0010                         # ID, next ID, length 16
04 2f 0000                         # ID_IPV4_ADDR_SUBNET, GRE, port 0
c0000200 ffffff00                  # 192.0.2.0/255.255.255.0
15 00 0010                         # ID, next NAT-OA, length 16
07 00 0000                         # ID_IPV4_ADDR_RANGE, any protocol, any port
c0000201 c00002fe                  # 192.0.2.1 - 192.0.2.254
00 00 0018                         # NAT-OA (21), last, length 24
05 00 0000                         # ID_IPV6_ADDR, reserved
20010db8000000000000000000000001   # 2001:db8::1
`)

// wire decodes hex written with spaces, line breaks and "#" comments.
func wire(s string) []byte {
	var clean strings.Builder
	for line := range strings.Lines(s) {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		clean.WriteString(strings.Join(strings.Fields(line), ""))
	}
	b, err := hex.DecodeString(clean.String())
	if err != nil {
		panic(err)
	}
	return b
}
