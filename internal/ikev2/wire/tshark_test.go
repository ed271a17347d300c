package wire

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Keys of two made-up IKE SAs for the messages TestTshark encrypts: one with
// AES-CBC-256 and HMAC-SHA-256-128, one with AES-GCM-256 (16-octet ICV),
// whose SK_e ends with the 4-octet salt (RFC 5282 section 7.1).
var (
	cbcSPIi, cbcSPIr = spi("1111111111111111"), spi("2222222222222222")
	cbcKeys          = ikeKeys{
		ei: wire("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"),
		er: wire("202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"),
		ai: wire("404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"),
		ar: wire("606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"),
	}
	gcmSPIi, gcmSPIr = spi("3333333333333333"), spi("4444444444444444")
	gcmKeys          = ikeKeys{
		ei: wire("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f a0a1a2a3"),
		er: wire("b0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecf d0d1d2d3"),
	}
)

// sealCBC encodes a message with header h whose SK payload holds inner,
// encrypted with AES-CBC under ke and protected with HMAC-SHA-256-128
// under ka, the way an engine would use this package.
func sealCBC(t *testing.T, h Header, inner []Payload, ke, ka, iv []byte) []byte {
	t.Helper()
	plain, err := EncodePayloads(inner)
	if err != nil {
		t.Fatal(err)
	}
	if plain, err = Pad(plain, aes.BlockSize); err != nil {
		t.Fatal(err)
	}
	block, err := aes.NewCipher(ke)
	if err != nil {
		t.Fatal(err)
	}
	body := append(bytes.Clone(iv), make([]byte, len(plain)+16)...)
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(body[len(iv):len(iv)+len(plain)], plain)
	m := &Message{Header: h, Payloads: []Payload{&Encrypted{First: inner[0].PayloadType(), Body: body}}}
	b, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	p, err := SplitProtected(b, len(iv), 16)
	if err != nil {
		t.Fatal(err)
	}
	mac := hmac.New(sha256.New, ka)
	mac.Write(p.Signed)
	copy(p.ICV, mac.Sum(nil))
	return b
}

// sealGCMFragments encodes a message with header h whose inner payloads go
// in n SKF fragments (RFC 7383), each encrypted with AES-GCM under ke (key
// and salt). The header and fragment fields are the associated data, so
// each fragment is encoded with room for ciphertext and ICV before it is
// sealed.
func sealGCMFragments(t *testing.T, h Header, inner []Payload, ke []byte, n int) [][]byte {
	t.Helper()
	plain, err := EncodePayloads(inner)
	if err != nil {
		t.Fatal(err)
	}
	block, err := aes.NewCipher(ke[:len(ke)-4])
	if err != nil {
		t.Fatal(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	size := (len(plain) + n - 1) / n
	for i := range n {
		part, err := Pad(bytes.Clone(plain[i*size:min((i+1)*size, len(plain))]), 4)
		if err != nil {
			t.Fatal(err)
		}
		iv := []byte{0, 0, 0, 0, 0, 0, 0, byte(i + 1)}
		f := &EncryptedFragment{Number: uint16(i + 1), Total: uint16(n), Body: append(bytes.Clone(iv), make([]byte, len(part)+16)...)}
		if i == 0 {
			f.First = inner[0].PayloadType()
		}
		b, err := (&Message{Header: h, Payloads: []Payload{f}}).Encode()
		if err != nil {
			t.Fatal(err)
		}
		p, err := SplitProtected(b, len(iv), 16)
		if err != nil {
			t.Fatal(err)
		}
		nonce := append(bytes.Clone(ke[len(ke)-4:]), iv...)
		sealed := gcm.Seal(nil, nonce, part, p.Associated)
		copy(p.Ciphertext, sealed[:len(part)])
		copy(p.ICV, sealed[len(part):])
		out = append(out, b)
	}
	return out
}

// testCertificate returns a self-signed Ed25519 certificate, the same
// every time.
func testCertificate(t *testing.T) []byte {
	t.Helper()
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(12),
		Subject:      pkix.Name{CommonName: "gresec.example"},
		NotBefore:    time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:     time.Date(2036, 1, 1, 0, 0, 0, 0, time.UTC),
		DNSNames:     []string{"gresec.example"},
	}
	der, err := x509.CreateCertificate(nil, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// tsharkMessages returns what TestTshark has tshark dissect: messages this
// package encodes, in clear and protected, and the number of those whose
// ICV tshark should find correct.
func tsharkMessages(t *testing.T) ([]datagram, int) {
	initiator := netip.MustParseAddrPort("192.0.2.1:500")
	responder := netip.MustParseAddrPort("198.51.100.2:500")
	initiatorT := netip.MustParseAddrPort("192.0.2.1:4500")
	responderT := netip.MustParseAddrPort("198.51.100.2:4500")

	saInit, err := Decode(ikeSAInit)
	if err != nil {
		t.Fatal(err)
	}
	saInitOut, err := saInit.Encode()
	if err != nil {
		t.Fatal(err)
	}
	auth, err := DecodePayloads(PayloadIDi, authPlain)
	if err != nil {
		t.Fatal(err)
	}
	// tshark parses certificates: give it a real one.
	auth[1] = &Cert{Encoding: CertX509Signature, Data: testCertificate(t)}
	info, err := DecodePayloads(PayloadDelete, infoPlain)
	if err != nil {
		t.Fatal(err)
	}
	critical, err := (&Message{
		Header: Header{SPIi: spi("5555555555555555"), Exchange: ExchangeIKESAInit, Flags: FlagInitiator},
		Payloads: []Payload{
			NewNotify(NotifyCookie, wire("0102030405060708")),
			&Unknown{Type: 100, Critical: true, Body: wire("c0ffee")},
		},
	}).Encode()
	if err != nil {
		t.Fatal(err)
	}

	ds := []datagram{
		{initiator, responder, saInitOut},
		{initiatorT, responderT, sealCBC(t, Header{SPIi: cbcSPIi, SPIr: cbcSPIr, Exchange: ExchangeIKEAuth, Flags: FlagInitiator, MessageID: 1},
			auth, cbcKeys.ei, cbcKeys.ai, wire("a0a1a2a3a4a5a6a7a8a9aaabacadaeaf"))},
		{responderT, initiatorT, sealCBC(t, Header{SPIi: cbcSPIi, SPIr: cbcSPIr, Exchange: ExchangeInformational, Flags: FlagResponse, MessageID: 2},
			info, cbcKeys.er, cbcKeys.ar, wire("b0b1b2b3b4b5b6b7b8b9babbbcbdbebf"))},
	}
	for _, f := range sealGCMFragments(t, Header{SPIi: gcmSPIi, SPIr: gcmSPIr, Exchange: ExchangeIKEAuth, Flags: FlagInitiator, MessageID: 1}, auth, gcmKeys.ei, 2) {
		ds = append(ds, datagram{initiatorT, responderT, f})
	}
	ds = append(ds, datagram{initiator, responder, critical})
	return ds, 4
}

// TestTshark has an independent dissector, Wireshark's, read what this
// package encodes: an IKE_SA_INIT request in clear, an IKE_AUTH request and
// an INFORMATIONAL response in SK payloads (AES-CBC, HMAC-SHA-256-128), the
// same IKE_AUTH request in two SKF fragments (AES-GCM), and a message with a
// critical payload of an unknown type. tshark decrypts with the keys,
// checks every ICV, reassembles the fragments and dissects the inner
// payloads. It is skipped when tshark is missing, except under CI=true,
// where tshark is required.
func TestTshark(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("tshark is required when CI=true: ", err)
		}
		t.Skip("tshark not installed")
	}
	ds, protected := tsharkMessages(t)
	file := filepath.Join(t.TempDir(), "ikev2.pcap")
	if err := os.WriteFile(file, writePcap(ds), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(tshark, "-n", "-r", file, "-V",
		"-o", fmt.Sprintf(`uat:ikev2_decryption_table:%x,%x,%x,%x,"AES-CBC-256 [RFC3602]",%x,%x,"HMAC_SHA2_256_128 [RFC4868]"`,
			cbcSPIi, cbcSPIr, cbcKeys.ei, cbcKeys.er, cbcKeys.ai, cbcKeys.ar),
		"-o", fmt.Sprintf(`uat:ikev2_decryption_table:%x,%x,%x,%x,"AES-GCM-256 with 16 octet ICV [RFC5282]",,,"NONE [RFC4306]"`,
			gcmSPIi, gcmSPIr, gcmKeys.ei, gcmKeys.er))
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir()) // no user preferences
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark: %v\n%s", err, out)
	}
	text := string(out)
	if os.Getenv("IKEV2_TSHARK_DUMP") != "" {
		t.Log(text)
	}
	if n := strings.Count(text, "Internet Security Association and Key Management Protocol"); n != len(ds) {
		t.Errorf("tshark dissected %d IKE messages, want %d", n, len(ds))
	}
	if n := len(regexp.MustCompile(`Integrity Checksum Data: [0-9a-f]{32} \(16 bytes\).*\[correct\]`).FindAllString(text, -1)); n != protected {
		t.Errorf("tshark found %d correct ICVs, want %d", n, protected)
	}
	for _, bad := range []string{"Malformed", "Expert Info (Error", "Expert Info (Warning", "[incorrect"} {
		if strings.Contains(text, bad) {
			t.Errorf("tshark reports %q", bad)
		}
	}
	for _, want := range tsharkWants {
		re := regexp.MustCompile(want.re)
		if n := len(re.FindAllString(text, -1)); n != want.n {
			t.Errorf("tshark output has %d of %s, want %d", n, want.re, want.n)
		}
	}
	if t.Failed() {
		t.Log(text)
	}
}

// tsharkWants are lines of tshark's output (Wireshark 4.0) and how often
// each must appear: the IKE_AUTH payloads twice, once from SK and once from
// the reassembled SKF fragments.
var tsharkWants = []struct {
	re string
	n  int
}{
	// Headers.
	{`Exchange type: IKE_SA_INIT \(34\)`, 2},
	{`Exchange type: IKE_AUTH \(35\)`, 3},
	{`Exchange type: INFORMATIONAL \(37\)`, 1},
	{`Flags: 0x08 \(Initiator, No higher version, Request\)`, 5},
	{`Flags: 0x20 \(Responder, No higher version, Response\)`, 1},
	{`Version: 2\.0`, 6},
	{`Non-ESP Marker`, 4},

	// IKE_SA_INIT.
	{`Transform ID \(ENCR\): ENCR_AES_CBC \(12\)`, 1},
	{`Transform Attribute \(t=14,l=2\): Key Length: 256`, 3},
	{`Transform ID \(INTEG\): AUTH_HMAC_SHA2_256_128 \(12\)`, 1},
	{`Transform ID \(PRF\): PRF_HMAC_SHA2_256 \(5\)`, 1},
	{`Transform ID \(D-H\): 256-bit random ECP group \(19\)`, 1},
	{`DH Group #: 256-bit random ECP group \(19\)`, 1},
	{`Key Exchange Data: 0011223344556677`, 1},
	{`Nonce DATA: 000102030405060708090a0b0c0d0e0f`, 1},
	{`Notify Message Type: NAT_DETECTION_SOURCE_IP \(16388\)`, 1},
	{`Notification DATA: a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4`, 1},
	{`Notify Message Type: NAT_DETECTION_DESTINATION_IP \(16389\)`, 1},
	{`Notify Message Type: IKEV2_FRAGMENTATION_SUPPORTED \(16430\)`, 1},
	{`Notify Message Type: SIGNATURE_HASH_ALGORITHMS \(16431\)`, 1},
	{`Supported Signature Hash Algorithm: SHA2-(256 \(2\)|384 \(3\)|512 \(4\))`, 3},
	{`Payload: Private Use \(200\)\n.*Next payload: Vendor ID \(43\)\n.*Critical Bit: Not critical`, 1},
	{`Data Payload: deadbeef`, 1},
	{`Vendor ID: 677265736563206b6579206578636821`, 1},

	// IKE_AUTH, in SK and in SKF fragments.
	{`Next payload: Identification - Initiator \(35\)`, 2}, // SK's and the first SKF's
	{`ID_FQDN: gresec.example`, 2},
	{`Certificate Encoding: X.509 Certificate - Signature \(4\)`, 2},
	{`Certificate Data \(id-at-commonName=gresec.example\)`, 2},
	{`Certificate Authority Data: 1112131415161718191a1b1c1d1e1f2021222324`, 2},
	{`ID_IPV6_ADDR: 2001:db8::2`, 2},
	{`Authentication Method: Digital Signature \(14\)`, 2},
	{`OID: 1\.2\.840\.10045\.4\.3\.2 \(ecdsa-with-SHA256\)`, 2},
	{`Signature Value: 5349474e41545552`, 2},
	{`Type: CFG_REQUEST \(1\)`, 2},
	{`Config Attribute \(t=1,l=0\): INTERNAL_IP4_ADDRESS`, 2},
	{`Config Attribute \(t=10,l=0\): INTERNAL_IP6_DNS`, 2},
	{`Config Attribute \(t=7,l=6\): APPLICATION_VERSION: gresec`, 2},
	{`Protocol ID: ESP \(3\)\n.*SPI Size: 4\n.*Proposal transforms: 2\n.*SPI: cafe0001`, 2},
	{`Transform ID \(ENCR\): AES-GCM with a 16 octet ICV \(20\)`, 2},
	{`Transform ID \(ESN\): No Extended Sequence Numbers \(0\)`, 2},
	{`Number of Traffic Selectors: 2`, 2},
	{`Protocol ID: Generic Routing Encapsulation \(47\)\n.*Selector Length: 16\n.*Start Port: 0\n.*End Port: 65535\n.*Starting Addr: 192\.0\.2\.1\n.*Ending Addr: 192\.0\.2\.1`, 2},
	{`Starting Addr: 2001:db8::\n.*Ending Addr: 2001:db8::ffff`, 2},
	{`Protocol ID: UDP \(17\)\n.*Selector Length: 16\n.*Start Port: 500\n.*End Port: 500\n.*Starting Addr: 198\.51\.100\.0\n.*Ending Addr: 198\.51\.100\.255`, 2},
	{`Notify Message Type: USE_TRANSPORT_MODE \(16391\)`, 2},
	{`Notify Message Type: INITIAL_CONTACT \(16384\)`, 2},
	{`Fragment Number: 1\n.*Total Fragments: 2`, 1},
	{`Fragment Number: 2\n.*Total Fragments: 2`, 1},
	{`Reassembled ISAKMP length: 527`, 1},
	{`Initialization Vector: 000000000000000[12]`, 2},

	// INFORMATIONAL.
	{`Next payload: Delete \(42\)`, 2},
	{`Number of SPIs: 2\n.*Delete SPI: cafe0001\n.*Delete SPI: cafe0002`, 1},
	{`Protocol ID: IKE \(1\)\n.*SPI Size: 0\n.*Number of SPIs: 0`, 1},
	{`Protocol ID: ESP \(3\)\n.*SPI Size: 4\n.*Notify Message Type: REKEY_SA \(16393\)\n.*SPI: cafe0001`, 1},
	{`Notify Message Type: COOKIE \(16390\)\n.*Notification DATA: 0102030405060708`, 2},
	{`Accepted DH group number: 256-bit random ECP group \(19\)`, 1},
	{`Identity: gres\n`, 1},

	// An unknown payload with the critical bit.
	{`Payload: Unassigned \(100\)\n.*Next payload: NONE / No Next Payload  \(0\)\n.*1\.\.\. \.\.\.\. = Critical Bit: Critical`, 1},
	{`Critical Bit: Critical`, 1},
	{`Data Payload: c0ffee`, 1},
}
