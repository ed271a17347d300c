package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"
)

// patch returns a copy of b with v written at off.
func patch(b []byte, off int, v ...byte) []byte {
	c := bytes.Clone(b)
	copy(c[off:], v)
	return c
}

// payload returns a one-payload chain: a generic header (last, not
// critical) and body.
func payload(body []byte) []byte {
	b := binary.BigEndian.AppendUint16([]byte{0, 0}, uint16(4+len(body)))
	return append(b, body...)
}

// repeat returns n copies of unit joined, each with its first octet (a next
// payload or last substruc field) set to next but the last, set to 0.
func repeat(unit []byte, next byte, n int) []byte {
	var b []byte
	for i := range n {
		u := bytes.Clone(unit)
		u[0] = next
		if i == n-1 {
			u[0] = 0
		}
		b = append(b, u...)
	}
	return b
}

// relength sets the header length of message b to len(b).
func relength(b []byte) []byte {
	binary.BigEndian.PutUint32(b[24:28], uint32(len(b)))
	return b
}

// ikeProposal is the proposal substructure of ikeSAInit: in an SA chain made
// by payload, its fields start at offset 4, its first transform at 12 and
// that transform's attribute at 20.
var ikeProposal = ikeSAInit[32:76]

func TestMalformed(t *testing.T) {
	withProposal := func(offset int, v ...byte) []byte {
		return payload(patch(ikeProposal, offset-4, v...))
	}
	tooManyVendorIDs := append(patch(ikeSAInit[:28], 16, byte(PayloadVendorID)), repeat(wire("2b 00 0005 00"), 0x2b, MaxPayloads+1)...)
	oneTransform := wire("00 00 0010 01 01 00 01   00 00 0008 01 00 000c")
	manyAttrs := append(wire("00 00 0000 01 00 000c"), bytes.Repeat(wire("800e 0100"), MaxAttributes+1)...)
	binary.BigEndian.PutUint16(manyAttrs[2:], uint16(len(manyAttrs)))
	manyAttrsProposal := append(wire("00 00 0000 01 01 00 01"), manyAttrs...)
	binary.BigEndian.PutUint16(manyAttrsProposal[2:], uint16(len(manyAttrsProposal)))
	v4sel := wire("07 2f 0010 0000 ffff c0000201 c0000201")

	for _, c := range []struct {
		name    string
		message bool        // Decode b; else DecodePayloads(first, b)
		first   PayloadType // for chains
		b       []byte
		want    error
		offset  int
		where   string // DecodeError.Payload, if not ""
	}{
		// The header and the chain.
		{"short header", true, 0, ikeSAInit[:27], ErrShortHeader, 27, "header"},
		{"IKEv1", true, 0, patch(ikeSAInit, 17, 0x10), ErrMajorVersion, 17, "header"},
		{"version 3", true, 0, patch(ikeSAInit, 17, 0x30), ErrMajorVersion, 17, "header"},
		{"length below header", true, 0, patch(ikeSAInit, 24, 0, 0, 0, 27), ErrMessageLength, 24, "header"},
		{"truncated", true, 0, ikeSAInit[:217], ErrTruncated, 24, "header"},
		{"datagram longer than message", true, 0, append(bytes.Clone(ikeSAInit), 0), ErrTrailingData, 218, ""},
		{"payload length 3", true, 0, patch(ikeSAInit, 30, 0, 3), ErrPayloadLength, 30, "SA"},
		{"payload past the end", true, 0, patch(ikeSAInit, 30, 0xff, 0xff), ErrPayloadLength, 30, "SA"},
		{"chain ends early", true, 0, patch(ikeSAInit, 190, 0), ErrTrailingData, 198, ""},
		{"chain announces more", true, 0, patch(ikeSAInit, 198, 0x29), ErrShortPayload, 218, "N"},
		{"no payloads in a body", true, 0, patch(ikeSAInit, 16, 0), ErrTrailingData, 28, ""},
		{"too many payloads", true, 0, relength(tooManyVendorIDs), ErrTooManyPayloads, 28 + 5*MaxPayloads, "V"},
		{"SK not last", true, 0, patch(skMessage, 30, 0, 0x40), ErrEncryptedNotLast, 92, "SK"},
		{"SK not last in a chain", false, PayloadSK, append(payload(nil), payload(nil)...), ErrEncryptedNotLast, 4, "SK"},
		{"SKF not last", true, 0, patch(skfMessage, 30, 0, 0x30), ErrEncryptedNotLast, 76, "SKF"},

		// SA (3.3).
		{"SA without proposals", false, PayloadSA, payload(nil), ErrNoProposals, 4, "SA"},
		{"proposal announces more", false, PayloadSA, withProposal(4, 2), ErrSubstructureChain, 48, "SA/proposal 2"},
		{"bad last substruc", false, PayloadSA, withProposal(4, 1), ErrSubstructureType, 4, "SA/proposal 1"},
		{"proposal length 4", false, PayloadSA, withProposal(6, 0, 4), ErrPayloadLength, 6, "SA/proposal 1"},
		{"proposal past the SA", false, PayloadSA, withProposal(6, 0, 45), ErrPayloadLength, 6, "SA/proposal 1"},
		{"short proposal", false, PayloadSA, payload(ikeProposal[:6]), ErrShortPayload, 4, "SA/proposal 1"},
		{"bytes after the last proposal", false, PayloadSA, payload(append(bytes.Clone(ikeProposal), 0)), ErrSubstructureChain, 48, "SA"},
		{"no transforms", false, PayloadSA, withProposal(11, 0), ErrNoTransforms, 11, "SA/proposal 1"},
		{"too many transforms", false, PayloadSA, withProposal(11, MaxTransforms+1), ErrTooManyTransforms, 11, "SA/proposal 1"},
		{"fewer transforms than counted", false, PayloadSA, withProposal(11, 5), ErrTransformCount, 11, "SA/proposal 1"},
		{"more transforms than counted", false, PayloadSA, withProposal(11, 3), ErrTransformCount, 11, "SA/proposal 1"},
		{"last transform announces more", false, PayloadSA, withProposal(40, 3), ErrSubstructureChain, 48, "SA/proposal 1/transform 5"},
		{"transform last substruc 2", false, PayloadSA, withProposal(12, 2), ErrSubstructureType, 12, "SA/proposal 1/transform 1"},
		{"transform length 7", false, PayloadSA, withProposal(14, 0, 7), ErrPayloadLength, 14, "SA/proposal 1/transform 1"},
		{"IKE SPI of 4 octets", false, PayloadSA, withProposal(10, 4), ErrSPISize, 10, "SA/proposal 1"},
		{"ESP without SPI", false, PayloadSA, withProposal(9, byte(ProtoESP)), ErrSPISize, 10, "SA/proposal 1"},
		{"SPI past the proposal", false, PayloadSA, payload(patch(oneTransform, 5, 4, 9)), ErrShortPayload, 10, "SA/proposal 1"},
		{"attribute truncated", false, PayloadSA, withProposal(20, 0x00, 0x0e), ErrShortAttribute, 22, "SA/proposal 1/transform 1/attribute 1"},
		{"attribute header cut", false, PayloadSA, payload(wire("00 00 0011 01 01 00 01   00 00 0009 01 00 000c 80")), ErrShortAttribute, 20, "SA/proposal 1/transform 1/attribute 1"},
		{"too many proposals", false, PayloadSA, payload(repeat(oneTransform, 2, MaxProposals+1)), ErrTooManyProposals, 4 + 16*MaxProposals, "SA/proposal 65"},
		{"too many attributes", false, PayloadSA, payload(manyAttrsProposal), ErrTooManyAttributes, 20 + 4*MaxAttributes, "SA/proposal 1/transform 1/attribute 65"},

		// The other payloads.
		{"KE without data", false, PayloadKE, payload(wire("0013 0000")), ErrShortPayload, 4, "KE"},
		{"nonce of 15 octets", false, PayloadNonce, payload(make([]byte, 15)), ErrNonceLength, 4, "Nonce"},
		{"nonce of 257 octets", false, PayloadNonce, payload(make([]byte, 257)), ErrNonceLength, 4, "Nonce"},
		{"ID without type", false, PayloadIDi, payload(wire("01 0000")), ErrShortPayload, 4, "IDi"},
		{"IPv4 ID of 5 octets", false, PayloadIDr, payload(wire("01 000000 c000020101")), ErrIDData, 8, "IDr"},
		{"IPv6 ID of 4 octets", false, PayloadIDi, payload(wire("05 000000 c0000201")), ErrIDData, 8, "IDi"},
		{"empty FQDN", false, PayloadIDi, payload(wire("02 000000")), ErrIDData, 8, "IDi"},
		{"ID_NULL with data", false, PayloadIDi, payload(wire("0d 000000 00")), ErrIDData, 8, "IDi"},
		{"empty CERT", false, PayloadCert, payload(nil), ErrShortPayload, 4, "CERT"},
		{"empty CERTREQ", false, PayloadCertReq, payload(nil), ErrShortPayload, 4, "CERTREQ"},
		{"AUTH without data", false, PayloadAuth, payload(wire("02 000000")), ErrShortPayload, 4, "AUTH"},
		{"short notify", false, PayloadNotify, payload(wire("00 00 40")), ErrShortPayload, 4, "N"},
		{"NAT detection of 19 octets", false, PayloadNotify, payload(append(wire("00 00 4004"), make([]byte, 19)...)), ErrNotifyData, 8, "N(NAT_DETECTION_SOURCE_IP)"},
		{"cookie of 65 octets", false, PayloadNotify, payload(append(wire("00 00 4006"), make([]byte, 65)...)), ErrNotifyData, 8, ""},
		{"empty cookie", false, PayloadNotify, payload(wire("00 00 4006")), ErrNotifyData, 8, ""},
		{"odd hash algorithms", false, PayloadNotify, payload(wire("00 00 402f 000200")), ErrNotifyData, 8, ""},
		{"INVALID_KE_PAYLOAD of 3 octets", false, PayloadNotify, payload(wire("00 00 0011 001300")), ErrNotifyData, 8, ""},
		{"UNSUPPORTED_CRITICAL_PAYLOAD without type", false, PayloadNotify, payload(wire("00 00 0001")), ErrNotifyData, 8, ""},
		{"ESP notify SPI of 8 octets", false, PayloadNotify, payload(wire("03 08 4009 0000000000000000")), ErrSPISize, 5, "N"},
		{"notify SPI past the end", false, PayloadNotify, payload(wire("00 10 4000 00000000")), ErrShortPayload, 5, "N"},
		{"short delete", false, PayloadDelete, payload(wire("03 04 00")), ErrShortPayload, 4, "D"},
		{"delete of protocol 0", false, PayloadDelete, payload(wire("00 00 0000")), ErrProtocol, 4, "D"},
		{"ESP delete SPI of 8 octets", false, PayloadDelete, payload(wire("03 08 0001 0000000000000000")), ErrSPISize, 5, "D"},
		{"IKE delete SPI of 8 octets", false, PayloadDelete, payload(wire("01 08 0000")), ErrSPISize, 5, "D"},
		{"delete counts 2, holds 1", false, PayloadDelete, payload(wire("03 04 0002 cafe0001")), ErrSPICount, 6, "D"},
		{"IKE delete with a count", false, PayloadDelete, payload(wire("01 00 0001")), ErrSPICount, 6, "D"},
		{"short TS", false, PayloadTSi, payload(wire("01 0000")), ErrShortPayload, 4, "TSi"},
		{"TS without selectors", false, PayloadTSi, payload(wire("00 000000")), ErrTSCount, 4, "TSi"},
		{"TS counts 2, holds 1", false, PayloadTSr, payload(append(wire("02 000000"), v4sel...)), ErrTSCount, 24, "TSr/selector 2"},
		{"TS holds more than counted", false, PayloadTSi, payload(append(wire("01 000000"), append(v4sel, v4sel...)...)), ErrTSCount, 4, "TSi"},
		{"IPv4 selector of 20 octets", false, PayloadTSi, payload(append(wire("01 000000"), append(patch(v4sel, 3, 20), 0, 0, 0, 0)...)), ErrTSLength, 10, "TSi/selector 1"},
		{"IPv6 selector of 16 octets", false, PayloadTSi, payload(append(wire("01 000000"), patch(v4sel, 0, 8)...)), ErrTSLength, 10, "TSi/selector 1"},
		{"selector past the payload", false, PayloadTSi, payload(append(wire("01 000000"), patch(v4sel, 3, 40)...)), ErrPayloadLength, 10, "TSi/selector 1"},
		{"selector length 3", false, PayloadTSi, payload(append(wire("01 000000"), patch(v4sel, 3, 3)...)), ErrPayloadLength, 10, "TSi/selector 1"},
		{"short CP", false, PayloadCP, payload(wire("01 0000")), ErrShortPayload, 4, "CP"},
		{"CP attribute truncated", false, PayloadCP, payload(wire("01 000000 0001 0004 c000")), ErrShortAttribute, 10, "CP/attribute 1"},
		{"CP attribute header cut", false, PayloadCP, payload(wire("01 000000 0001 00")), ErrShortAttribute, 8, "CP/attribute 1"},
		{"too many CP attributes", false, PayloadCP, payload(append(wire("01 000000"), bytes.Repeat(wire("0003 0000"), MaxAttributes+1)...)), ErrTooManyAttributes, 8 + 4*MaxAttributes, "CP/attribute 65"},
		{"short SKF", false, PayloadSKF, payload(wire("0001 00")), ErrShortPayload, 4, "SKF"},
		{"fragment 0", false, PayloadSKF, payload(wire("0000 0002")), ErrFragmentNumber, 4, "SKF"},
		{"fragment 3 of 2", false, PayloadSKF, payload(wire("0003 0002")), ErrFragmentNumber, 4, "SKF"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var err error
			if c.message {
				_, err = Decode(c.b)
			} else {
				_, err = DecodePayloads(c.first, c.b)
			}
			var de *DecodeError
			if !errors.Is(err, c.want) || !errors.As(err, &de) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			if de.Offset != c.offset || c.where != "" && de.Payload != c.where {
				t.Errorf("fault at %q offset %d, want %q offset %d (%v)", de.Payload, de.Offset, c.where, c.offset, err)
			}
			want := NotifyInvalidSyntax
			if c.want == ErrMajorVersion {
				want = NotifyInvalidMajorVersion
			}
			if n, _ := NotifyFor(err); n != want {
				t.Errorf("NotifyFor = %v, want %v", n, want)
			}
		})
	}
}

// TestSplitProtectedErrors: SplitProtected checks what Decode checks of the
// header and chain, and that the IV and ICV fit.
func TestSplitProtectedErrors(t *testing.T) {
	for _, c := range []struct {
		name       string
		b          []byte
		iv, icv    int
		want       error
		wantOffset int
	}{
		{"clear message", ikeSAInit, 16, 16, ErrNotEncrypted, 198},
		{"no payloads", relength(patch(ikeSAInit[:28], 16, 0)), 16, 16, ErrNotEncrypted, 28},
		{"IV and ICV longer than the body", skMessage, 32, 32, ErrEncryptedLength, 32},
		{"nothing for the pad length", skMessage, 48, 16, ErrEncryptedLength, 32},
		{"negative IV", skMessage, -1, 16, ErrEncryptedLength, 32},
		{"bad fragment number", patch(skfMessage, 32, 0, 3), 16, 16, ErrFragmentNumber, 32},
		{"truncated", skMessage[:95], 16, 16, ErrTruncated, 24},
		{"bad chain", patch(skMessage, 30, 0, 0x40), 16, 16, ErrEncryptedNotLast, 92},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := SplitProtected(c.b, c.iv, c.icv)
			var de *DecodeError
			if !errors.Is(err, c.want) || !errors.As(err, &de) || de.Offset != c.wantOffset {
				t.Errorf("got %v, want %v at %d", err, c.want, c.wantOffset)
			}
		})
	}
	// The smallest split: an empty IV and ICV leave the pad length octet.
	if p, err := SplitProtected(skMessage, 0, 0); err != nil || len(p.Ciphertext) != 64 || len(p.Signed) != 96 {
		t.Errorf("SplitProtected(0, 0) = %+v, %v", p, err)
	}
	if _, _, _, err := (&Encrypted{Body: make([]byte, 32)}).Split(16, 16); !errors.Is(err, ErrEncryptedLength) {
		t.Errorf("Split of a body without room for the pad length: %v", err)
	}
}

func TestEncodeErrors(t *testing.T) {
	ok := []Payload{NewNotify(NotifyInitialContact, nil)}
	for _, c := range []struct {
		name string
		m    *Message
		want error
	}{
		{"reserved flag", &Message{Header: Header{Flags: 0x01}, Payloads: ok}, ErrFlags},
		{"SK not last", &Message{Payloads: []Payload{&Encrypted{Body: make([]byte, 4)}, ok[0]}}, ErrEncryptedNotLast},
		{"SKF not last", &Message{Payloads: []Payload{&EncryptedFragment{Number: 1, Total: 1}, ok[0]}}, ErrEncryptedNotLast},
		{"too many payloads", &Message{Payloads: make([]Payload, MaxPayloads+1)}, ErrTooManyPayloads},
		{"payload too long", &Message{Payloads: []Payload{&VendorID{Data: make([]byte, 0xffff)}}}, ErrPayloadTooLong},
		{"SA without proposals", &Message{Payloads: []Payload{&SA{}}}, ErrNoProposals},
		{"too many proposals", &Message{Payloads: []Payload{&SA{Proposals: make([]Proposal, MaxProposals+1)}}}, ErrTooManyProposals},
		{"proposal without transforms", &Message{Payloads: []Payload{&SA{Proposals: []Proposal{{Protocol: ProtoIKE}}}}}, ErrNoTransforms},
		{"too many transforms", &Message{Payloads: []Payload{&SA{Proposals: []Proposal{{Protocol: ProtoIKE, Transforms: make([]Transform, MaxTransforms+1)}}}}}, ErrTooManyTransforms},
		{"ESP proposal without SPI", &Message{Payloads: []Payload{&SA{Proposals: []Proposal{{Protocol: ProtoESP, Transforms: []Transform{ESN(ESNNo)}}}}}}, ErrSPISize},
		{"attribute type 0x8000", &Message{Payloads: []Payload{&SA{Proposals: []Proposal{{Protocol: ProtoIKE, Transforms: []Transform{{Attributes: []Attribute{{Type: 0x8000, Basic: true}}}}}}}}}, ErrAttributeType},
		{"attribute value too long", &Message{Payloads: []Payload{&SA{Proposals: []Proposal{{Protocol: ProtoIKE, Transforms: []Transform{{Attributes: []Attribute{{Type: 1, Data: make([]byte, 0x10000)}}}}}}}}}, ErrAttributeValue},
		{"too many attributes", &Message{Payloads: []Payload{&SA{Proposals: []Proposal{{Protocol: ProtoIKE, Transforms: []Transform{{Attributes: make([]Attribute, MaxAttributes+1)}}}}}}}, ErrTooManyAttributes},
		{"KE without data", &Message{Payloads: []Payload{&KE{Group: GroupECP256}}}, ErrShortPayload},
		{"short nonce", &Message{Payloads: []Payload{&Nonce{Data: make([]byte, 15)}}}, ErrNonceLength},
		{"IPv4 ID of 16 octets", &Message{Payloads: []Payload{&ID{Type: IDIPv4Addr, Data: make([]byte, 16)}}}, ErrIDData},
		{"AUTH without data", &Message{Payloads: []Payload{&Auth{Method: AuthSharedKeyMIC}}}, ErrShortPayload},
		{"notify SPI for ESP of 8 octets", &Message{Payloads: []Payload{&Notify{Protocol: ProtoESP, SPI: make([]byte, 8), Type: NotifyRekeySA}}}, ErrSPISize},
		{"NAT detection of 4 octets", &Message{Payloads: []Payload{NewNotify(NotifyNATDetectionSourceIP, make([]byte, 4))}}, ErrNotifyData},
		{"IKE delete with an SPI", &Message{Payloads: []Payload{&Delete{Protocol: ProtoIKE, SPIs: []uint32{1}}}}, ErrSPICount},
		{"delete of protocol 0", &Message{Payloads: []Payload{&Delete{}}}, ErrProtocol},
		{"TS without selectors", &Message{Payloads: []Payload{&TS{}}}, ErrTSCount},
		{"IPv4 selector with IPv6 addresses", &Message{Payloads: []Payload{&TS{Selectors: []TrafficSelector{{Type: TSIPv4AddrRange, Start: netip.IPv6Loopback(), End: netip.IPv6Loopback()}}}}}, ErrTSLength},
		{"IPv6 selector without addresses", &Message{Payloads: []Payload{&TS{Selectors: []TrafficSelector{{Type: TSIPv6AddrRange}}}}}, ErrTSLength},
		{"range selector with data", &Message{Payloads: []Payload{&TS{Selectors: []TrafficSelector{{Type: TSIPv4AddrRange, Start: netip.IPv4Unspecified(), End: netip.IPv4Unspecified(), Data: []byte{1}}}}}}, ErrTSLength},
		{"CP attribute type 0x8000", &Message{Payloads: []Payload{&CP{Type: CFGRequest, Attributes: []CPAttribute{{Type: 0x8000}}}}}, ErrAttributeType},
		{"too many CP attributes", &Message{Payloads: []Payload{&CP{Type: CFGRequest, Attributes: make([]CPAttribute, MaxAttributes+1)}}}, ErrTooManyAttributes},
		{"fragment 0", &Message{Payloads: []Payload{&EncryptedFragment{Total: 1}}}, ErrFragmentNumber},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := c.m.Encode(); !errors.Is(err, c.want) {
				t.Errorf("Encode: %v, want %v", err, c.want)
			}
		})
	}
	if _, err := (&Message{Payloads: []Payload{nil}}).Encode(); err == nil {
		t.Error("Encode of a nil payload succeeded")
	}
	if _, err := (&Message{Payloads: []Payload{&Unknown{}}}).Encode(); err == nil {
		t.Error("Encode of a payload of type 0 succeeded")
	}
}
