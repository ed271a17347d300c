package isakmp

import (
	"crypto/md5"
	"errors"
	"net/netip"
	"reflect"
	"testing"
)

func TestUintAttribute(t *testing.T) {
	tests := []struct {
		v    uint64
		want Attribute
		wire string
	}{
		{3600, Attribute{Type: IPsecAttrLifeDuration, Basic: true, Value: 3600}, "8002 0e10"},
		{0xffff, Attribute{Type: IPsecAttrLifeDuration, Basic: true, Value: 0xffff}, "8002 ffff"},
		{0x10000, Attribute{Type: IPsecAttrLifeDuration, Data: wire("00010000")}, "0002 0004 00010000"},
		{4608000, Attribute{Type: IPsecAttrLifeDuration, Data: wire("00465000")}, "0002 0004 00465000"},
		{1 << 40, Attribute{Type: IPsecAttrLifeDuration, Data: wire("0000010000000000")}, "0002 0008 0000010000000000"},
	}
	for _, tt := range tests {
		a := UintAttribute(IPsecAttrLifeDuration, tt.v)
		if !reflect.DeepEqual(a, tt.want) {
			t.Errorf("UintAttribute(%d) = %+v, want %+v", tt.v, a, tt.want)
		}
		if v, err := a.Uint(); err != nil || v != tt.v {
			t.Errorf("Uint() = %d, %v; want %d", v, err, tt.v)
		}
		b, err := appendAttributes(nil, []Attribute{a})
		if err != nil || string(b) != string(wire(tt.wire)) {
			t.Errorf("encoding of %d = %x, %v; want %s", tt.v, b, err, tt.wire)
		}
		back, err := parseAttributes(b)
		if err != nil || !reflect.DeepEqual(back, []Attribute{a}) {
			t.Errorf("parse of %x = %+v, %v", b, back, err)
		}
	}
	for _, data := range [][]byte{{}, make([]byte, 9)} {
		if _, err := VariableAttribute(AttrGroupPrime, data).Uint(); !errors.Is(err, ErrAttributeValue) {
			t.Errorf("Uint() of %d bytes: err = %v, want ErrAttributeValue", len(data), err)
		}
	}
	if _, err := appendAttributes(nil, []Attribute{BasicAttribute(0x8001, 1)}); !errors.Is(err, ErrAttributeType) {
		t.Errorf("marshal of 16-bit type: err = %v", err)
	}
	if _, err := appendAttributes(nil, []Attribute{VariableAttribute(AttrGroupPrime, make([]byte, 0x10000))}); !errors.Is(err, ErrAttributeValue) {
		t.Errorf("marshal of 64 KiB value: err = %v", err)
	}
}

func TestLifetimes(t *testing.T) {
	typ, dur := IPsecAttrLifeType, IPsecAttrLifeDuration
	life := func(lt LifeType) Attribute { return BasicAttribute(typ, uint16(lt)) }
	tests := []struct {
		name      string
		attrs     []Attribute
		secs, kbs uint64
		err       error
	}{
		{"none", []Attribute{BasicAttribute(IPsecAttrEncapsulationMode, 2)}, 0, 0, nil},
		{"both", []Attribute{life(LifeKilobytes), UintAttribute(dur, 4608000), life(LifeSeconds), UintAttribute(dur, 3600)}, 3600, 4608000, nil},
		{"type without duration", []Attribute{life(LifeSeconds), BasicAttribute(IPsecAttrKeyLength, 128)}, 0, 0, ErrLifetime},
		{"type last", []Attribute{life(LifeSeconds)}, 0, 0, ErrLifetime},
		{"duration without type", []Attribute{UintAttribute(dur, 3600)}, 0, 0, ErrLifetime},
		{"unknown type", []Attribute{life(3), UintAttribute(dur, 3600)}, 0, 0, ErrLifetime},
		{"empty duration", []Attribute{life(LifeSeconds), VariableAttribute(dur, nil)}, 0, 0, ErrAttributeValue},
	}
	for _, tt := range tests {
		secs, kbs, err := Lifetimes(tt.attrs, typ, dur)
		if !errors.Is(err, tt.err) || secs != tt.secs || kbs != tt.kbs {
			t.Errorf("%s: Lifetimes = %d, %d, %v; want %d, %d, %v", tt.name, secs, kbs, err, tt.secs, tt.kbs, tt.err)
		}
	}
}

// TestVendorIDs checks the vendor ID constants against how they are made.
func TestVendorIDs(t *testing.T) {
	md5s := func(s string) string { h := md5.Sum([]byte(s)); return string(h[:]) }
	tests := []struct{ name, got, want string }{
		{"RFC 3947", VendorRFC3947, md5s("RFC 3947")},
		{"draft 02", VendorNATTDraft02, md5s("draft-ietf-ipsec-nat-t-ike-02")},
		{"draft 02\\n", VendorNATTDraft02N, md5s("draft-ietf-ipsec-nat-t-ike-02\n")},
		{"draft 03", VendorNATTDraft03, md5s("draft-ietf-ipsec-nat-t-ike-03")},
		{"strongSwan", VendorStrongSwan, md5s("strongSwan")},
		{"XAuth", VendorXAuth, md5s("draft-ietf-ipsra-isakmp-xauth-06.txt")[:8]},
		{"Cisco Unity", VendorCiscoUnity, md5s("CISCO-UNITY")[:14] + "\x01\x00"},
		{"FRAGMENTATION", VendorFragmentation, md5s("FRAGMENTATION")},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s vendor ID = %x, want %x", tt.name, tt.got, tt.want)
		}
	}
}

func TestHeaderMarshal(t *testing.T) {
	h := Header{Exchange: ExchangeInformational, Flags: FlagEncryption, MessageID: 7, Length: 60}
	b, err := h.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseHeader(b)
	h.Version = Version1
	if err != nil || back != h {
		t.Errorf("ParseHeader(Marshal()) = %+v, %v; want %+v", back, err, h)
	}
	for _, bad := range []struct {
		h    Header
		want error
	}{
		{Header{Version: 0x20, Length: 28}, ErrMajorVersion},
		{Header{Version: 0x11, Length: 28}, ErrMinorVersion},
		{Header{Flags: 0x80, Length: 28}, ErrInvalidFlags},
		{Header{Length: 27}, ErrMessageLength},
	} {
		if _, err := bad.h.Marshal(); !errors.Is(err, bad.want) {
			t.Errorf("Marshal(%+v): err = %v, want %v", bad.h, err, bad.want)
		}
	}
	if got := (FlagEncryption | FlagCommit | 0x40).String(); got != "E|C|0x40" {
		t.Errorf("Flags.String() = %q", got)
	}
}

// TestMarshalValidates checks that Marshal refuses what Parse would refuse,
// so that whatever marshals also parses.
func TestMarshalValidates(t *testing.T) {
	esp := func(spi []byte, ts ...Transform) *SA {
		return &SA{DOI: DOIIPsec, Situation: SitIdentityOnly, Proposals: []Proposal{{Number: 1, Protocol: ProtoESP, SPI: spi, Transforms: ts}}}
	}
	aes := Transform{Number: 1, ID: ESPAESCBC, Attributes: []Attribute{BasicAttribute(IPsecAttrKeyLength, 256)}}
	tests := []struct {
		name string
		p    Payload
		want error
	}{
		{"SA in ISAKMP DOI", &SA{Proposals: esp([]byte{1, 2, 3, 4}, aes).Proposals}, ErrDOINotSupported},
		{"SA with secrecy", &SA{DOI: DOIIPsec, Situation: SitSecrecy, Proposals: esp([]byte{1, 2, 3, 4}, aes).Proposals}, ErrSituationNotSupported},
		{"SA without proposals", &SA{DOI: DOIIPsec}, ErrNoProposals},
		{"ESP SPI of 3 bytes", esp([]byte{1, 2, 3}, aes), ErrSPISize},
		{"proposal without transforms", esp([]byte{1, 2, 3, 4}), ErrNoTransforms},
		{"too many transforms", esp([]byte{1, 2, 3, 4}, make([]Transform, MaxTransforms+1)...), ErrTooManyTransforms},
		{"too many attributes", esp([]byte{1, 2, 3, 4}, Transform{Attributes: make([]Attribute, MaxAttributes+1)}), ErrTooManyAttributes},
		{"empty KE", &KE{}, ErrShortPayload},
		{"short nonce", &Nonce{Data: make([]byte, 7)}, ErrNonceLength},
		{"IPv4 ID of 3 bytes", &ID{Type: IDIPv4Addr, Data: []byte{1, 2, 3}}, ErrIDData},
		{"R-U-THERE without data", &Notification{Type: NotifyRUThere}, ErrNotifyData},
		{"ESP notification SPI of 2 bytes", &Notification{Protocol: ProtoESP, SPI: []byte{1, 2}}, ErrSPISize},
		{"delete without SPIs", &Delete{Protocol: ProtoESP, SPISize: 4}, ErrSPICount},
		{"delete SPI of wrong size", &Delete{Protocol: ProtoESP, SPISize: 4, SPIs: [][]byte{{1, 2}}}, ErrSPISize},
		{"NAT-OA without address", &NATOA{}, ErrNATOA},
		{"payload over 64 KiB", &VendorID{ID: make([]byte, 0x10000)}, ErrPayloadTooLong},
	}
	for _, tt := range tests {
		if _, err := MarshalPayloads([]Payload{tt.p}); !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
	}
	if _, err := MarshalPayloads(make([]Payload, MaxPayloads+1)); !errors.Is(err, ErrTooManyPayloads) {
		t.Errorf("too many payloads: err = %v", err)
	}
	if _, err := MarshalPayloads([]Payload{&KE{Data: []byte{1}}, nil}); err == nil {
		t.Errorf("nil payload: no error")
	}
}

func TestIDHelpers(t *testing.T) {
	for _, s := range []string{"192.0.2.7/32", "2001:db8::7/128"} {
		p := netip.MustParsePrefix(s)
		if got, err := IDFromAddr(p.Addr(), 47, 0).Prefix(); err != nil || got != p {
			t.Errorf("IDFromAddr(%v).Prefix() = %v, %v", p.Addr(), got, err)
		}
	}
	for _, s := range []string{"10.0.0.0/8", "0.0.0.0/0", "2001:db8::/33", "192.0.2.128/25"} {
		p := netip.MustParsePrefix(s)
		if got, err := IDFromPrefix(p, 0, 0).Prefix(); err != nil || got != p {
			t.Errorf("IDFromPrefix(%v).Prefix() = %v, %v", p, got, err)
		}
	}
	holes := &ID{Type: IDIPv4AddrSubnet, Data: wire("c0000200 ff00ff00")}
	if _, err := holes.Prefix(); !errors.Is(err, ErrIDData) {
		t.Errorf("non-contiguous mask: err = %v", err)
	}
	fqdn := &ID{Type: IDFQDN, Data: []byte("a")}
	if _, err := fqdn.Prefix(); !errors.Is(err, ErrIDData) {
		t.Errorf("FQDN Prefix(): err = %v", err)
	}
	if _, _, err := fqdn.Range(); !errors.Is(err, ErrIDData) {
		t.Errorf("FQDN Range(): err = %v", err)
	}
}

func TestNames(t *testing.T) {
	for _, tt := range []struct{ got, want string }{
		{NotifyNoProposalChosen.String(), "NO-PROPOSAL-CHOSEN"},
		{NotifyRUThereAck.String(), "R-U-THERE-ACK"},
		{NotifyType(9999).String(), "notify type 9999"},
		{PayloadNATDDraft.String(), "NAT-D (draft)"},
		{ExchangeQuickMode.String(), "Quick Mode"},
		{ProtoESP.String(), "ESP"},
		{(&ParseError{Payload: "SA/proposal 1", Offset: 46, Err: ErrSPISize}).Error(), "isakmp: SA/proposal 1 at offset 46: invalid SPI size"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
	if !NotifyAuthenticationFailed.IsError() || NotifyInitialContact.IsError() {
		t.Errorf("IsError wrong")
	}
}
