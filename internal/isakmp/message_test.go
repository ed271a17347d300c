package isakmp

import (
	"bytes"
	"errors"
	"net/netip"
	"reflect"
	"testing"
)

func cookie(s string) (c [8]byte) {
	copy(c[:], wire(s))
	return c
}

func TestMainMode1(t *testing.T) {
	m, err := ParseMessage(mainMode1)
	if err != nil {
		t.Fatal(err)
	}
	want := &Message{
		Header: Header{
			InitiatorCookie: cookie("c0ffee0011223344"),
			NextPayload:     PayloadSA,
			Version:         Version1,
			Exchange:        ExchangeMainMode,
			Length:          148,
		},
		Payloads: []Payload{
			&SA{DOI: DOIIPsec, Situation: SitIdentityOnly, Proposals: []Proposal{{
				Number:   1,
				Protocol: ProtoISAKMP,
				SPI:      []byte{},
				Transforms: []Transform{{
					Number: 1,
					ID:     TransformKeyIKE,
					Attributes: []Attribute{
						BasicAttribute(AttrEncryptionAlgorithm, uint16(EncrAESCBC)),
						BasicAttribute(AttrKeyLength, 256),
						BasicAttribute(AttrHashAlgorithm, uint16(HashSHA256)),
						BasicAttribute(AttrGroupDescription, uint16(GroupECP256)),
						BasicAttribute(AttrAuthMethod, uint16(AuthPreSharedKey)),
						BasicAttribute(AttrLifeType, uint16(LifeSeconds)),
						{Type: AttrLifeDuration, Data: []byte{0, 1, 0x51, 0x80}},
					},
				}},
			}}},
			&VendorID{ID: []byte(VendorStrongSwan)},
			&VendorID{ID: []byte(VendorRFC3947)},
			&VendorID{ID: []byte(VendorDPD)},
		},
	}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("ParseMessage:\n got %#v\nwant %#v", m, want)
	}
	secs, kb, err := Lifetimes(m.Payloads[0].(*SA).Proposals[0].Transforms[0].Attributes, AttrLifeType, AttrLifeDuration)
	if err != nil || secs != 86400 || kb != 0 {
		t.Errorf("Lifetimes = %d s, %d kB, %v; want 86400 s", secs, kb, err)
	}
	roundTrip(t, m, mainMode1)

	// The same message built from constructors, as the IKE engine would.
	built := &Message{
		Header: Header{InitiatorCookie: cookie("c0ffee0011223344"), Exchange: ExchangeMainMode},
		Payloads: []Payload{
			&SA{DOI: DOIIPsec, Situation: SitIdentityOnly, Proposals: []Proposal{{
				Number: 1, Protocol: ProtoISAKMP,
				Transforms: []Transform{{Number: 1, ID: TransformKeyIKE, Attributes: []Attribute{
					UintAttribute(AttrEncryptionAlgorithm, uint64(EncrAESCBC)),
					UintAttribute(AttrKeyLength, 256),
					UintAttribute(AttrHashAlgorithm, uint64(HashSHA256)),
					UintAttribute(AttrGroupDescription, uint64(GroupECP256)),
					UintAttribute(AttrAuthMethod, uint64(AuthPreSharedKey)),
					UintAttribute(AttrLifeType, uint64(LifeSeconds)),
					UintAttribute(AttrLifeDuration, 86400),
				}}},
			}}},
			&VendorID{ID: []byte(VendorStrongSwan)},
			&VendorID{ID: []byte(VendorRFC3947)},
			&VendorID{ID: []byte(VendorDPD)},
		},
	}
	b, err := built.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, mainMode1) {
		t.Errorf("built message:\n got %x\nwant %x", b, mainMode1)
	}
}

func TestMainMode1IOS(t *testing.T) {
	m, err := ParseMessage(mainMode1IOS)
	if err != nil {
		t.Fatal(err)
	}
	sa := m.Payloads[0].(*SA)
	ts := sa.Proposals[0].Transforms
	if len(ts) != 2 || ts[0].Number != 1 || ts[1].Number != 2 {
		t.Fatalf("transforms = %+v", ts)
	}
	for i, want := range []struct {
		hash  HashAlgorithm
		group Group
		key   uint64
	}{{HashSHA384, GroupMODP2048, 256}, {HashSHA1, GroupMODP1536, 128}} {
		attrs := ts[i].Attributes
		checkAttr(t, attrs, AttrHashAlgorithm, uint64(want.hash))
		checkAttr(t, attrs, AttrGroupDescription, uint64(want.group))
		checkAttr(t, attrs, AttrKeyLength, want.key)
		checkAttr(t, attrs, AttrLifeDuration, 86400)
	}
	var vids []string
	for _, p := range m.Payloads[1:] {
		vids = append(vids, string(p.(*VendorID).ID))
	}
	if want := []string{VendorRFC3947, VendorNATTDraft03, VendorNATTDraft02N, VendorDPD}; !reflect.DeepEqual(vids, want) {
		t.Errorf("vendor IDs = %x, want %x", vids, want)
	}
	roundTrip(t, m, mainMode1IOS)
}

func TestMainMode3(t *testing.T) {
	m, err := ParseMessage(mainMode3)
	if err != nil {
		t.Fatal(err)
	}
	if m.ResponderCookie != cookie("5566778899aabbcc") {
		t.Errorf("responder cookie = %x", m.ResponderCookie)
	}
	var types []PayloadType
	for _, p := range m.Payloads {
		types = append(types, p.PayloadType())
	}
	if want := []PayloadType{PayloadKE, PayloadNonce, PayloadNATD, PayloadNATD}; !reflect.DeepEqual(types, want) {
		t.Fatalf("payload types = %v, want %v", types, want)
	}
	if ke := m.Payloads[0].(*KE); len(ke.Data) != 64 || ke.Data[0] != 0x6b || ke.Data[63] != 0xf5 {
		t.Errorf("KE = %x", ke.Data)
	}
	if n := m.Payloads[1].(*Nonce); len(n.Data) != 32 {
		t.Errorf("nonce = %x", n.Data)
	}
	if d := m.Payloads[3].(*NATD); d.Draft || !bytes.Equal(d.Hash, mainMode3[172:204]) {
		t.Errorf("second NAT-D = %+v", d)
	}
	roundTrip(t, m, mainMode3)
}

func TestQuickModePlaintext(t *testing.T) {
	const end = 188 // end of the last payload; CBC padding follows
	if _, err := ParsePayloads(PayloadHash, quickMode1Plain); !errors.Is(err, ErrTrailingData) || err.(*ParseError).Offset != end {
		t.Errorf("strict parse of padded plaintext: err = %v, want trailing data at %d", err, end)
	}
	ps, err := ParsePlaintext(PayloadHash, quickMode1Plain)
	if err != nil {
		t.Fatal(err)
	}
	want := []Payload{
		&Hash{Data: quickMode1Plain[4:36]},
		&SA{DOI: DOIIPsec, Situation: SitIdentityOnly, Proposals: []Proposal{
			{Number: 1, Protocol: ProtoESP, SPI: []byte{0xca, 0xfe, 0, 1}, Transforms: []Transform{{
				Number: 1, ID: ESPAESCBC, Attributes: []Attribute{
					BasicAttribute(IPsecAttrKeyLength, 256),
					BasicAttribute(IPsecAttrAuthAlgorithm, uint16(AuthAlgHMACSHA384)),
					BasicAttribute(IPsecAttrEncapsulationMode, uint16(EncapTransport)),
					BasicAttribute(IPsecAttrLifeType, uint16(LifeSeconds)),
					BasicAttribute(IPsecAttrLifeDuration, 3600),
					BasicAttribute(IPsecAttrLifeType, uint16(LifeKilobytes)),
					UintAttribute(IPsecAttrLifeDuration, 4608000),
				},
			}}},
			{Number: 2, Protocol: ProtoESP, SPI: []byte{0xca, 0xfe, 0, 1}, Transforms: []Transform{{
				Number: 1, ID: ESPAESGCM16, Attributes: []Attribute{
					BasicAttribute(IPsecAttrKeyLength, 256),
					BasicAttribute(IPsecAttrEncapsulationMode, uint16(EncapTransport)),
					BasicAttribute(IPsecAttrLifeType, uint16(LifeSeconds)),
					BasicAttribute(IPsecAttrLifeDuration, 3600),
				},
			}}},
		}},
		&Nonce{Data: quickMode1Plain[140:164]},
		IDFromAddr(netip.MustParseAddr("192.0.2.1"), 47, 0),
		IDFromAddr(netip.MustParseAddr("198.51.100.2"), 47, 0),
	}
	if !reflect.DeepEqual(ps, want) {
		t.Errorf("ParsePlaintext:\n got %#v\nwant %#v", ps, want)
	}
	attrs := ps[1].(*SA).Proposals[0].Transforms[0].Attributes
	secs, kb, err := Lifetimes(attrs, IPsecAttrLifeType, IPsecAttrLifeDuration)
	if err != nil || secs != 3600 || kb != 4608000 {
		t.Errorf("Lifetimes = %d s, %d kB, %v; want 3600 s, 4608000 kB", secs, kb, err)
	}

	// The spans give what HASH(1) covers: everything after the HASH
	// payload up to the padding (RFC 2409 section 5.5).
	spans, err := SplitPlaintext(PayloadHash, quickMode1Plain)
	if err != nil {
		t.Fatal(err)
	}
	if len(spans) != 5 || spans[0] != (Span{PayloadHash, 0, 36}) || spans[4].End != end {
		t.Fatalf("spans = %v", spans)
	}
	if !bytes.Equal(spans[1].Body(quickMode1Plain), quickMode1Plain[40:136]) {
		t.Errorf("SA span body wrong")
	}
	covered := quickMode1Plain[spans[0].End:spans[len(spans)-1].End]
	rest, err := MarshalPayloads(ps[1:])
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(rest, covered) {
		t.Errorf("MarshalPayloads(ps[1:]):\n got %x\nwant %x", rest, covered)
	}
	all, err := MarshalPayloads(ps)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(all, quickMode1Plain[:end]) {
		t.Errorf("MarshalPayloads:\n got %x\nwant %x", all, quickMode1Plain[:end])
	}
}

func TestEncryptedMessage(t *testing.T) {
	if _, err := ParseMessage(quickModeEncrypted); !errors.Is(err, ErrEncrypted) {
		t.Errorf("ParseMessage(encrypted): err = %v, want ErrEncrypted", err)
	}
	h, body, err := SplitMessage(quickModeEncrypted)
	if err != nil {
		t.Fatal(err)
	}
	if h.Flags != FlagEncryption || h.Exchange != ExchangeQuickMode || h.MessageID != 0x1badcafe || h.NextPayload != PayloadHash {
		t.Errorf("header = %+v", h)
	}
	if !bytes.Equal(body, quickModeEncrypted[HeaderLen:]) {
		t.Errorf("body = %x", body)
	}
	// The engine rebuilds the message from header and ciphertext.
	hb, err := h.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if got := append(hb, body...); !bytes.Equal(got, quickModeEncrypted) {
		t.Errorf("header + body:\n got %x\nwant %x", got, quickModeEncrypted)
	}
	m := &Message{Header: h}
	if _, err := m.Marshal(); !errors.Is(err, ErrEncrypted) {
		t.Errorf("Message.Marshal with E flag: err = %v, want ErrEncrypted", err)
	}
}

func TestInformational(t *testing.T) {
	ps, err := ParsePlaintext(PayloadHash, dpdPlain)
	if err != nil {
		t.Fatal(err)
	}
	icky, rcky := cookie("c0ffee0011223344"), cookie("5566778899aabbcc")
	want := DPD(NotifyRUThere, icky, rcky, 0x3a2b1c0d)
	if !reflect.DeepEqual(ps[1], want) {
		t.Errorf("R-U-THERE = %#v, want %#v", ps[1], want)
	}
	if seq, ok := ps[1].(*Notification).DPDSequence(); !ok || seq != 0x3a2b1c0d {
		t.Errorf("DPDSequence = %#x, %v", seq, ok)
	}
	checkChain(t, PayloadHash, dpdPlain[:68], ps)

	ps, err = ParsePlaintext(PayloadHash, deletePlain)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ps[1], DeleteESP(0xcafe0001)) {
		t.Errorf("delete = %#v", ps[1])
	}
	checkChain(t, PayloadHash, deletePlain[:52], ps)

	ps, err = ParsePayloads(PayloadNotification, initialContact)
	if err != nil {
		t.Fatal(err)
	}
	n := ps[0].(*Notification)
	if n.Type != NotifyInitialContact || n.Protocol != ProtoISAKMP || !bytes.Equal(n.SPI, initialContact[12:28]) || len(n.Data) != 0 {
		t.Errorf("INITIAL-CONTACT = %#v", n)
	}
	if !reflect.DeepEqual(ps[1], DeleteISAKMP(cookie("0011223344556677"), cookie("8899aabbccddeeff"))) {
		t.Errorf("delete ISAKMP = %#v", ps[1])
	}
	checkChain(t, PayloadNotification, initialContact, ps)
}

func TestNATTAndIDs(t *testing.T) {
	ps, err := ParsePayloads(PayloadNATDDraft, natTDraft)
	if err != nil {
		t.Fatal(err)
	}
	want := []Payload{
		&NATD{Hash: natTDraft[4:24], Draft: true},
		&NATD{Hash: natTDraft[28:48], Draft: true},
		&NATOA{Addr: netip.MustParseAddr("192.168.1.100"), Draft: true},
	}
	if !reflect.DeepEqual(ps, want) {
		t.Errorf("draft NAT-T payloads:\n got %#v\nwant %#v", ps, want)
	}
	checkChain(t, PayloadNATDDraft, natTDraft, ps)

	ps, err = ParsePayloads(PayloadID, identities)
	if err != nil {
		t.Fatal(err)
	}
	want = []Payload{
		&ID{Type: IDFQDN, Protocol: 17, Port: 500, Data: []byte("vpn.example.net")},
		IDFromPrefix(netip.MustParsePrefix("192.0.2.0/24"), 47, 0),
		&ID{Type: IDIPv4AddrRange, Data: wire("c0000201 c00002fe")},
		&NATOA{Addr: netip.MustParseAddr("2001:db8::1")},
	}
	if !reflect.DeepEqual(ps, want) {
		t.Errorf("identities:\n got %#v\nwant %#v", ps, want)
	}
	checkChain(t, PayloadID, identities, ps)

	if p, err := ps[1].(*ID).Prefix(); err != nil || p != netip.MustParsePrefix("192.0.2.0/24") {
		t.Errorf("subnet Prefix() = %v, %v", p, err)
	}
	first, last, err := ps[2].(*ID).Range()
	if err != nil || first != netip.MustParseAddr("192.0.2.1") || last != netip.MustParseAddr("192.0.2.254") {
		t.Errorf("Range() = %v, %v, %v", first, last, err)
	}
}

func TestUnknownPayloadSkipped(t *testing.T) {
	// A private-use payload (type 200) between two vendor IDs is carried
	// as raw bytes; IKEv1 has no critical bit.
	chain := wire(`
c8 00 0014 afcad71368a1f1c96b8696fc77570100  # VID, next 200
0d 00 0007 010203                            # type 200, next VID, length 7
00 00 0014 4a131c81070358455c5728f20e95452f  # VID, last
`)
	ps, err := ParsePayloads(PayloadVendorID, chain)
	if err != nil {
		t.Fatal(err)
	}
	if raw, ok := ps[1].(*RawPayload); !ok || raw.Type != 200 || !bytes.Equal(raw.Body, []byte{1, 2, 3}) {
		t.Errorf("unknown payload = %#v", ps[1])
	}
	checkChain(t, PayloadVendorID, chain, ps)
}

// roundTrip checks that m marshals back to the bytes it was parsed from.
func roundTrip(t *testing.T, m *Message, b []byte) {
	t.Helper()
	got, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, b) {
		t.Errorf("Marshal:\n got %x\nwant %x", got, b)
	}
}

// checkChain checks that payloads marshal to the chain b, first of which is
// of type first.
func checkChain(t *testing.T, first PayloadType, b []byte, payloads []Payload) {
	t.Helper()
	if payloads[0].PayloadType() != first {
		t.Errorf("first payload type = %v, want %v", payloads[0].PayloadType(), first)
	}
	got, err := MarshalPayloads(payloads)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, b) {
		t.Errorf("MarshalPayloads:\n got %x\nwant %x", got, b)
	}
}

func checkAttr(t *testing.T, attrs []Attribute, typ AttributeType, want uint64) {
	t.Helper()
	a, ok := FindAttribute(attrs, typ)
	if !ok {
		t.Errorf("attribute %d missing", typ)
		return
	}
	if v, err := a.Uint(); err != nil || v != want {
		t.Errorf("attribute %d = %d, %v; want %d", typ, v, err, want)
	}
}
