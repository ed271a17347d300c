package wire

import (
	"bytes"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"net/netip"
	"reflect"
	"testing"
)

func spi(s string) (v [8]byte) {
	copy(v[:], wire(s))
	return v
}

func mustSig(t testing.TB, algorithm, signature []byte) *Auth {
	a, err := NewDigitalSignature(algorithm, signature)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// roundTrip checks that m encodes to want, and that want decodes to m.
func roundTrip(t *testing.T, m *Message, want []byte) {
	t.Helper()
	out, err := m.Encode()
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	if !bytes.Equal(out, want) {
		t.Errorf("Encode:\n got %x\nwant %x", out, want)
	}
	got, err := Decode(want)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	m2 := *m
	m2.NextPayload, m2.Length = got.NextPayload, got.Length
	if !reflect.DeepEqual(got, &m2) {
		t.Errorf("Decode:\n got %#v\nwant %#v", got, &m2)
	}
}

// chainRoundTrip checks that ps encode to want as a chain, and back.
func chainRoundTrip(t *testing.T, first PayloadType, ps []Payload, want []byte) {
	t.Helper()
	got, err := DecodePayloads(first, want)
	if err != nil {
		t.Fatalf("DecodePayloads: %v", err)
	}
	if !reflect.DeepEqual(got, ps) {
		for i := range min(len(got), len(ps)) {
			if !reflect.DeepEqual(got[i], ps[i]) {
				t.Errorf("payload %d:\n got %#v\nwant %#v", i+1, got[i], ps[i])
			}
		}
		if len(got) != len(ps) {
			t.Errorf("%d payloads, want %d", len(got), len(ps))
		}
	}
	out, err := EncodePayloads(ps)
	if err != nil {
		t.Fatalf("EncodePayloads: %v", err)
	}
	if !bytes.Equal(out, want) {
		t.Errorf("EncodePayloads:\n got %x\nwant %x", out, want)
	}
}

func TestIKESAInit(t *testing.T) {
	m := &Message{
		Header: Header{SPIi: spi("0123456789abcdef"), Exchange: ExchangeIKESAInit, Flags: FlagInitiator},
		Payloads: []Payload{
			&SA{Proposals: []Proposal{{Number: 1, Protocol: ProtoIKE, Transforms: []Transform{
				Encr(EncrAESCBC, 256), Integ(IntegHMACSHA2_256), PRF(PRFHMACSHA2_256), DH(GroupECP256),
			}}}},
			&KE{Group: GroupECP256, Data: wire("0011223344556677")},
			&Nonce{Data: wire("000102030405060708090a0b0c0d0e0f")},
			NewNotify(NotifyNATDetectionSourceIP, wire("a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4")),
			NewNotify(NotifyNATDetectionDestinationIP, wire("c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4")),
			NewNotify(NotifyFragmentationSupported, nil),
			SignatureHashAlgorithms(HashSHA2_256, HashSHA2_384, HashSHA2_512),
			&Unknown{Type: 200, Body: wire("deadbeef")},
			&VendorID{Data: []byte("gresec key exch!")},
		},
	}
	roundTrip(t, m, ikeSAInit)
	sa := m.Payloads[0].(*SA)
	if bits, ok := sa.Proposals[0].Transforms[0].KeyLength(); !ok || bits != 256 {
		t.Errorf("KeyLength = %d, %v", bits, ok)
	}
	if _, ok := sa.Proposals[0].Transforms[1].KeyLength(); ok {
		t.Error("KeyLength of INTEG")
	}
}

func TestAuthPayloads(t *testing.T) {
	ps := []Payload{
		&ID{Type: IDFQDN, Data: []byte("gresec.example")},
		&Cert{Encoding: CertX509Signature, Data: wire("308201000a0b")},
		&CertReq{Encoding: CertX509Signature, Authorities: wire("1112131415161718191a1b1c1d1e1f2021222324")},
		AddrID(true, netip.MustParseAddr("2001:db8::2")),
		mustSig(t, wire("300a06082a8648ce3d040302"), []byte("SIGNATUR")),
		&CP{Type: CFGRequest, Attributes: []CPAttribute{
			{Type: CPInternalIP4Address}, {Type: CPInternalIP6DNS}, {Type: CPApplicationVersion, Value: []byte("gresec")},
		}},
		&SA{Proposals: []Proposal{{Number: 1, Protocol: ProtoESP, SPI: wire("cafe0001"), Transforms: []Transform{
			Encr(EncrAESGCM16, 256), ESN(ESNNo),
		}}}},
		&TS{Selectors: []TrafficSelector{
			HostSelector(netip.MustParseAddr("192.0.2.1"), 47),
			{Type: TSIPv6AddrRange, EndPort: 0xffff, Start: netip.MustParseAddr("2001:db8::"), End: netip.MustParseAddr("2001:db8::ffff")},
		}},
		&TS{Responder: true, Selectors: []TrafficSelector{{
			Type: TSIPv4AddrRange, IPProtocol: 17, StartPort: 500, EndPort: 500,
			Start: netip.MustParseAddr("198.51.100.0"), End: netip.MustParseAddr("198.51.100.255"),
		}}},
		NewNotify(NotifyUseTransportMode, nil),
		NewNotify(NotifyInitialContact, nil),
	}
	chainRoundTrip(t, PayloadIDi, ps, authPlain)

	if a, ok := ps[3].(*ID).Addr(); !ok || a != netip.MustParseAddr("2001:db8::2") {
		t.Errorf("IDr Addr = %v, %v", a, ok)
	}
	if _, ok := ps[0].(*ID).Addr(); ok {
		t.Error("Addr of an ID_FQDN")
	}

	// The AUTH payload signs the ID body as sent: the span gives it.
	spans, err := SplitPayloads(PayloadIDi, authPlain)
	if err != nil {
		t.Fatal(err)
	}
	if len(spans) != len(ps) || spans[0].Type != PayloadIDi || spans[0].Next != PayloadCert ||
		!bytes.Equal(spans[0].Body(authPlain), authPlain[4:22]) || spans[3].Start != 58 || spans[3].End != 82 {
		t.Errorf("spans %+v", spans)
	}
	body, err := ps[0].AppendBody(nil)
	if err != nil || !bytes.Equal(body, spans[0].Body(authPlain)) {
		t.Errorf("IDi AppendBody = %x, %v", body, err)
	}
}

func TestInformationalPayloads(t *testing.T) {
	ps := []Payload{
		&Delete{Protocol: ProtoESP, SPIs: []uint32{0xcafe0001, 0xcafe0002}},
		&Delete{Protocol: ProtoIKE},
		&Notify{Protocol: ProtoESP, SPI: wire("cafe0001"), Type: NotifyRekeySA},
		NewNotify(NotifyCookie, wire("0102030405060708")),
		NewNotify(NotifyInvalidKEPayload, wire("0013")),
		&EAP{Data: wire("020100090167726573")},
	}
	chainRoundTrip(t, PayloadDelete, ps, infoPlain)
	if g, ok := ps[4].(*Notify).Group(); !ok || g != GroupECP256 {
		t.Errorf("INVALID_KE_PAYLOAD group = %v, %v", g, ok)
	}
	if _, ok := ps[3].(*Notify).Group(); ok {
		t.Error("Group of a COOKIE")
	}
}

func TestEncrypted(t *testing.T) {
	iv := wire("00112233445566778899aabbccddeeff")
	ct := make([]byte, 32)
	icv := wire("ffeeddccbbaa99887766554433221100")
	m := &Message{
		Header:   Header{SPIi: spi("0123456789abcdef"), SPIr: spi("fedcba9876543210"), Exchange: ExchangeIKEAuth, Flags: FlagInitiator, MessageID: 1},
		Payloads: []Payload{&Encrypted{First: PayloadIDi, Body: bytes.Join([][]byte{iv, ct, icv}, nil)}},
	}
	roundTrip(t, m, skMessage)

	p, err := SplitProtected(skMessage, 16, 16)
	if err != nil {
		t.Fatal(err)
	}
	want := Protected{
		Header:     Header{SPIi: m.SPIi, SPIr: m.SPIr, NextPayload: PayloadSK, Exchange: ExchangeIKEAuth, Flags: FlagInitiator, MessageID: 1, Length: 96},
		Type:       PayloadSK,
		First:      PayloadIDi,
		Associated: skMessage[:32],
		IV:         iv,
		Ciphertext: ct,
		ICV:        icv,
		Signed:     skMessage[:80],
	}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("SplitProtected:\n got %+v\nwant %+v", p, want)
	}
	gotIV, gotCT, gotICV, err := m.Payloads[0].(*Encrypted).Split(16, 16)
	if err != nil || !bytes.Equal(gotIV, iv) || !bytes.Equal(gotCT, ct) || !bytes.Equal(gotICV, icv) {
		t.Errorf("Split = %x %x %x, %v", gotIV, gotCT, gotICV, err)
	}
	// An AEAD with an 8-octet IV: the same bytes cut elsewhere.
	if p, err := SplitProtected(skMessage, 8, 16); err != nil || len(p.Ciphertext) != 40 || len(p.Associated) != 32 {
		t.Errorf("SplitProtected(8, 16) = %+v, %v", p, err)
	}

	frag := &Message{
		Header: Header{SPIi: spi("0123456789abcdef"), SPIr: spi("fedcba9876543210"), Exchange: ExchangeIKEAuth, Flags: FlagInitiator, MessageID: 1},
		Payloads: []Payload{&EncryptedFragment{First: PayloadIDi, Number: 1, Total: 2,
			Body: bytes.Join([][]byte{iv, make([]byte, 16), icv}, nil)}},
	}
	roundTrip(t, frag, skfMessage)
	p, err = SplitProtected(skfMessage, 16, 16)
	if err != nil {
		t.Fatal(err)
	}
	if p.Type != PayloadSKF || p.First != PayloadIDi || p.Number != 1 || p.Total != 2 ||
		!bytes.Equal(p.Associated, skfMessage[:36]) || !bytes.Equal(p.IV, iv) ||
		len(p.Ciphertext) != 16 || !bytes.Equal(p.ICV, icv) || !bytes.Equal(p.Signed, skfMessage[:68]) {
		t.Errorf("SplitProtected of SKF: %+v", p)
	}
}

func TestPad(t *testing.T) {
	for _, c := range []struct{ n, block, want int }{
		{0, 1, 1}, {5, 1, 6}, {0, 16, 16}, {15, 16, 16}, {16, 16, 32}, {17, 16, 32}, {7, 8, 8}, {277, 16, 288},
	} {
		plain := bytes.Repeat([]byte{0xaa}, c.n)
		padded, err := Pad(bytes.Clone(plain), c.block)
		if err != nil || len(padded) != c.want {
			t.Errorf("Pad(%d octets, %d) = %d octets, %v; want %d", c.n, c.block, len(padded), err, c.want)
			continue
		}
		got, err := Unpad(padded)
		if err != nil || !bytes.Equal(got, plain) {
			t.Errorf("Unpad(Pad(%d octets, %d)) = %x, %v", c.n, c.block, got, err)
		}
	}
	for _, block := range []int{0, -1, 257} {
		if _, err := Pad(nil, block); err == nil {
			t.Errorf("Pad to block size %d succeeded", block)
		}
	}
	for _, bad := range [][]byte{nil, {0x01}, {0, 0, 3}} {
		if _, err := Unpad(bad); !errors.Is(err, ErrPadding) {
			t.Errorf("Unpad(%x) = %v, want ErrPadding", bad, err)
		}
	}
	// The padding's content is the sender's choice.
	if got, err := Unpad([]byte{0xaa, 0x12, 0x34, 0x02}); err != nil || !bytes.Equal(got, []byte{0xaa}) {
		t.Errorf("Unpad with non-zero padding = %x, %v", got, err)
	}
}

// TestDigitalSignature splits the AUTH data of RFC 7427 with the
// AlgorithmIdentifier values of its Appendix A, which encoding/asn1 must
// agree with.
func TestDigitalSignature(t *testing.T) {
	null := asn1.RawValue{Tag: asn1.TagNull}
	for _, c := range []struct {
		name string
		der  []byte // RFC 7427 Appendix A
		oid  asn1.ObjectIdentifier
		null bool
	}{
		{"sha1WithRSAEncryption (A.1.1)", wire("300d06092a864886f70d0101050500"), asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 5}, true},
		{"sha256WithRSAEncryption (A.1.2)", wire("300d06092a864886f70d01010b0500"), asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}, true},
		{"sha384WithRSAEncryption (A.1.3)", wire("300d06092a864886f70d01010c0500"), asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 12}, true},
		{"sha512WithRSAEncryption (A.1.4)", wire("300d06092a864886f70d01010d0500"), asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 13}, true},
		{"ecdsa-with-SHA256 (A.3.1)", wire("300a06082a8648ce3d040302"), asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}, false},
		{"ecdsa-with-SHA384 (A.3.2)", wire("300a06082a8648ce3d040303"), asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}, false},
		{"ecdsa-with-SHA512 (A.3.3)", wire("300a06082a8648ce3d040304"), asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}, false},
	} {
		ai := pkix.AlgorithmIdentifier{Algorithm: c.oid}
		if c.null {
			ai.Parameters = null
		}
		der, err := asn1.Marshal(ai)
		if err != nil || !bytes.Equal(der, c.der) {
			t.Errorf("%s: encoding/asn1 gives %x, %v", c.name, der, err)
		}
		sig := []byte("a signature value")
		body := append([]byte{byte(AuthDigitalSignature), 0, 0, 0, byte(len(c.der))}, c.der...)
		body = append(body, sig...)
		var a Auth
		if err := a.Decode(body); err != nil {
			t.Fatal(err)
		}
		alg, s, err := a.DigitalSignature()
		if err != nil || !bytes.Equal(alg, c.der) || !bytes.Equal(s, sig) {
			t.Errorf("%s: DigitalSignature = %x, %q, %v", c.name, alg, s, err)
		}
		built := mustSig(t, c.der, sig)
		if out, err := built.AppendBody(nil); err != nil || !bytes.Equal(out, body) {
			t.Errorf("%s: NewDigitalSignature encodes %x, %v", c.name, out, err)
		}
	}
	if _, _, err := (&Auth{Method: AuthDigitalSignature, Data: []byte{5, 1, 2}}).DigitalSignature(); err == nil {
		t.Error("DigitalSignature with an overlong algorithm identifier succeeded")
	}
	if _, _, err := (&Auth{Method: AuthSharedKeyMIC, Data: []byte{0}}).DigitalSignature(); err == nil {
		t.Error("DigitalSignature of a PSK AUTH succeeded")
	}
	if _, err := NewDigitalSignature(make([]byte, 256), nil); err == nil {
		t.Error("NewDigitalSignature with a 256-octet algorithm identifier succeeded")
	}
}

// TestLenientHeader: the minor version and the reserved flags are ignored on
// receipt (RFC 7296 section 3.1) and sent as zero.
func TestLenientHeader(t *testing.T) {
	b := patch(ikeSAInit, 17, 0x2f)
	b = patch(b, 19, 0x08|0x07|0x80)
	m, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if m.Flags != FlagInitiator {
		t.Errorf("flags %v", m.Flags)
	}
	out, err := m.Encode()
	if err != nil || !bytes.Equal(out, ikeSAInit) {
		t.Errorf("Encode = %x, %v", out, err)
	}
	if f := Flags(0x38 | 0x01); f.String() != "I|V|R|0x01" {
		t.Errorf("Flags.String = %q", f.String())
	}
}

// TestCritical: an unknown payload with the critical bit set is refused with
// what UNSUPPORTED_CRITICAL_PAYLOAD carries; one without it is kept; the bit
// on a known payload means nothing (RFC 7296 section 2.5).
func TestCritical(t *testing.T) {
	_, err := Decode(patch(ikeSAInit, 191, 0x80))
	var de *DecodeError
	if !errors.Is(err, ErrUnsupportedCritical) || !errors.As(err, &de) || de.Type != 200 || de.Offset != 191 {
		t.Fatalf("Decode with a critical unknown payload: %v", err)
	}
	if n, data := NotifyFor(err); n != NotifyUnsupportedCriticalPayload || !bytes.Equal(data, []byte{200}) {
		t.Errorf("NotifyFor = %v %x", n, data)
	}
	// The same from an engine that builds one.
	m, err := Decode(ikeSAInit)
	if err != nil {
		t.Fatal(err)
	}
	m.Payloads[7].(*Unknown).Critical = true
	out, err := m.Encode()
	if err != nil || !bytes.Equal(out, patch(ikeSAInit, 191, 0x80)) {
		t.Errorf("Encode of a critical Unknown = %x, %v", out, err)
	}
	// Also inside an SK payload's chain.
	if _, err := DecodePayloads(PayloadIDi, patch(authPlain, 1, 0x80)); err != nil {
		t.Errorf("critical bit on a known payload: %v", err)
	}
	unknown := wire("00 80 0008 00000000")
	if _, err := DecodePayloads(0x7f, unknown); !errors.As(err, &de) || de.Type != 0x7f || de.Offset != 1 {
		t.Errorf("critical unknown inner payload: %v", err)
	}
	if ps, err := DecodePayloads(0x7f, patch(unknown, 1, 0x7f)); err != nil || !reflect.DeepEqual(ps, []Payload{&Unknown{Type: 0x7f, Body: make([]byte, 4)}}) {
		t.Errorf("non-critical unknown inner payload with reserved bits: %v, %v", ps, err)
	}
}

func TestNotifyFor(t *testing.T) {
	for _, c := range []struct {
		err  error
		want NotifyType
	}{
		{nil, 0},
		{derr(0, "header", 17, ErrMajorVersion), NotifyInvalidMajorVersion},
		{derr(PayloadSA, "SA", 0, ErrNoProposals), NotifyInvalidSyntax},
		{derr(0, "", 28, ErrTrailingData), NotifyInvalidSyntax},
		{errors.New("other"), NotifyInvalidSyntax},
	} {
		if n, data := NotifyFor(c.err); n != c.want || data != nil {
			t.Errorf("NotifyFor(%v) = %v %x, want %v", c.err, n, data, c.want)
		}
	}
	if !NotifyInvalidSyntax.IsError() || NotifyCookie.IsError() {
		t.Error("IsError")
	}
}

func TestHostSelector(t *testing.T) {
	v4 := HostSelector(netip.MustParseAddr("::ffff:192.0.2.1"), 47)
	if v4.Type != TSIPv4AddrRange || v4.Start != netip.MustParseAddr("192.0.2.1") || v4.End != v4.Start || v4.StartPort != 0 || v4.EndPort != 0xffff {
		t.Errorf("HostSelector(v4-mapped) = %+v", v4)
	}
	v6 := HostSelector(netip.MustParseAddr("2001:db8::1"), 0)
	if v6.Type != TSIPv6AddrRange || v6.Start.BitLen() != 128 {
		t.Errorf("HostSelector(v6) = %+v", v6)
	}
	if id := AddrID(false, netip.MustParseAddr("::ffff:192.0.2.1")); id.Type != IDIPv4Addr || len(id.Data) != 4 {
		t.Errorf("AddrID(v4-mapped) = %+v", id)
	}
}

func TestStrings(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{PayloadNonce.String(), "Nonce"},
		{PayloadSKF.String(), "SKF"},
		{PayloadType(200).String(), "payload type 200"},
		{ExchangeCreateChildSA.String(), "CREATE_CHILD_SA"},
		{NotifyFragmentationSupported.String(), "IKEV2_FRAGMENTATION_SUPPORTED"},
		{NotifyType(12345).String(), "notify type 12345"},
		{Encr(EncrAESCBC, 256).String(), "ENCR 12 (256 bits)"},
		{AddrID(false, netip.MustParseAddr("192.0.2.1")).String(), "ID_IPV4_ADDR 192.0.2.1"},
		{(&ID{Type: IDFQDN, Data: []byte("a.example")}).String(), `ID_FQDN "a.example"`},
		{HostSelector(netip.MustParseAddr("192.0.2.1"), 47).String(), "192.0.2.1-192.0.2.1 protocol 47 ports 0-65535"},
		{AuthDigitalSignature.String(), "Digital Signature"},
		{ProtoESP.String(), "ESP"},
		{TransformDH.String(), "DH"},
	} {
		if c.got != c.want {
			t.Errorf("%q, want %q", c.got, c.want)
		}
	}
}
