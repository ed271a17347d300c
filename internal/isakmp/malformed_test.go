package isakmp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

// patch returns a copy of b with v written at off.
func patch(b []byte, off int, v ...byte) []byte {
	c := bytes.Clone(b)
	copy(c[off:], v)
	return c
}

// relength sets the header length of message b to len(b).
func relength(b []byte) []byte {
	binary.BigEndian.PutUint32(b[24:28], uint32(len(b)))
	return b
}

// repeat builds a chain of n copies of unit, whose first byte is the next
// payload field, set to next for all but the last, which gets 0.
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

// saWith returns an SA payload chain (one payload, first: SA) whose body is
// the IPsec DOI, SIT_IDENTITY_ONLY and the given proposals.
func saWith(proposals []byte) []byte {
	b := wire("00 00 0000 00000001 00000001")
	b = append(b, proposals...)
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	return b
}

// proposalWith returns a last ISAKMP proposal holding the given transforms.
func proposalWith(count byte, transforms []byte) []byte {
	b := append(wire("00 00 0000 01 01 00"), count)
	b = append(b, transforms...)
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	return b
}

// transformWith returns a last KEY_IKE transform holding the given attributes.
func transformWith(attrs []byte) []byte {
	b := append(wire("00 00 0000 01 01 0000"), attrs...)
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	return b
}

type malformedCase struct {
	name    string
	b       []byte
	payload string // ParseError.Payload
	offset  int    // ParseError.Offset
	want    error
	notify  NotifyType // 0: PAYLOAD-MALFORMED
}

func TestMalformedMessages(t *testing.T) {
	// Offsets in mainMode1: SA at 28 (body 32), proposal at 40, transform
	// at 48, attributes from 56 (the TLV life duration at 80), vendor IDs
	// at 88, 108 and 128, end at 148.
	tests := []malformedCase{
		{"short header", mainMode1[:27], "header", 27, ErrShortHeader, 0},
		{"IKEv2 major version", patch(mainMode1, 17, 0x20), "header", 17, ErrMajorVersion, NotifyInvalidMajorVersion},
		{"minor version", patch(mainMode1, 17, 0x11), "header", 17, ErrMinorVersion, NotifyInvalidMinorVersion},
		{"undefined flag", patch(mainMode1, 19, 0x08), "header", 19, ErrInvalidFlags, NotifyInvalidFlags},
		{"length below header", patch(mainMode1, 24, 0, 0, 0, 27), "header", 24, ErrMessageLength, 0},
		{"datagram shorter than length", mainMode1[:147], "header", 24, ErrTruncated, NotifyUnequalPayloadLengths},
		{"datagram longer than length", append(bytes.Clone(mainMode1), 0), "", 148, ErrTrailingData, NotifyUnequalPayloadLengths},
		{"encrypted", patch(mainMode1, 19, 0x01), "header", 19, ErrEncrypted, 0},
		{"bytes after last payload", relength(append(bytes.Clone(mainMode1), 0, 0, 0, 0)), "", 148, ErrTrailingData, NotifyUnequalPayloadLengths},
		{"payload length below 4", patch(mainMode1, 130, 0, 3), "vendor ID", 130, ErrPayloadLength, 0},
		{"payload length past end", patch(mainMode1, 130, 0, 0x15), "vendor ID", 130, ErrPayloadLength, 0},
		{"chain announces payload past end", patch(mainMode1, 128, 13), "vendor ID", 148, ErrShortPayload, 0},
		{"first payload past end", relength(bytes.Clone(mainMode1[:28])), "SA", 28, ErrShortPayload, 0},
		{"DOI not IPsec", patch(mainMode1, 35, 2), "SA", 32, ErrDOINotSupported, NotifyDOINotSupported},
		{"situation secrecy", patch(mainMode1, 39, 3), "SA", 36, ErrSituationNotSupported, NotifySituationNotSupported},
		{"proposal next payload", patch(mainMode1, 40, 5), "SA/proposal 1", 40, ErrSubstructureType, NotifyBadProposalSyntax},
		{"proposal chain past SA", patch(mainMode1, 40, 2), "SA/proposal 2", 88, ErrSubstructureChain, NotifyBadProposalSyntax},
		{"proposal length past SA", patch(mainMode1, 42, 0, 0x31), "SA/proposal 1", 42, ErrPayloadLength, 0},
		{"proposal length below 8", patch(mainMode1, 42, 0, 7), "SA/proposal 1", 42, ErrPayloadLength, 0},
		{"proposal shorter than SA", patch(mainMode1, 42, 0, 0x2c), "SA/proposal 1/transform 1", 50, ErrPayloadLength, 0},
		{"ISAKMP SPI of 17 bytes", patch(mainMode1, 46, 17), "SA/proposal 1", 46, ErrSPISize, NotifyInvalidSPI},
		{"transform count too high", patch(mainMode1, 47, 2), "SA/proposal 1", 47, ErrTransformCount, NotifyBadProposalSyntax},
		{"no transforms", patch(mainMode1, 47, 0), "SA/proposal 1", 47, ErrNoTransforms, NotifyBadProposalSyntax},
		{"too many transforms", patch(mainMode1, 47, 65), "SA/proposal 1", 47, ErrTooManyTransforms, 0},
		{"transform next payload", patch(mainMode1, 48, 2), "SA/proposal 1/transform 1", 48, ErrSubstructureType, NotifyBadProposalSyntax},
		{"transform chain past proposal", patch(mainMode1, 48, 3), "SA/proposal 1/transform 2", 88, ErrSubstructureChain, NotifyBadProposalSyntax},
		{"transform length below 8", patch(mainMode1, 50, 0, 7), "SA/proposal 1/transform 1", 50, ErrPayloadLength, 0},
		{"transform shorter than proposal", patch(mainMode1, 50, 0, 0x20), "SA/proposal 1", 80, ErrSubstructureChain, NotifyBadProposalSyntax},
		{"attribute value past transform", patch(mainMode1, 82, 0, 5), "SA/proposal 1/transform 1/attribute 7", 82, ErrShortAttribute, 0},
		{"attribute header cut by transform", patch(mainMode1, 50, 0, 0x22), "SA/proposal 1/transform 1/attribute 7", 80, ErrShortAttribute, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseMessage(tt.b)
			checkParseError(t, err, tt)
		})
	}
}

func TestMalformedPayloads(t *testing.T) {
	vid := wire("00 00 0005 ff")
	basic := wire("8001 0007")
	proposal := wire("00 00 0010 01 01 00 01  00 00 0008 01 01 0000")
	tests := []struct {
		first PayloadType
		malformedCase
	}{
		{PayloadVendorID, malformedCase{"too many payloads", repeat(vid, 13, MaxPayloads+1), "vendor ID", MaxPayloads * 5, ErrTooManyPayloads, 0}},
		{PayloadSA, malformedCase{"SA body short", wire("00 00 0008 00000001"), "SA", 4, ErrShortPayload, 0}},
		{PayloadSA, malformedCase{"SA without proposals", saWith(nil), "SA", 12, ErrNoProposals, NotifyBadProposalSyntax}},
		{PayloadSA, malformedCase{"too many proposals", saWith(repeat(proposal, 2, MaxProposals+1)),
			"SA/proposal 65", 12 + MaxProposals*16, ErrTooManyProposals, 0}},
		{PayloadSA, malformedCase{"too many attributes", saWith(proposalWith(1, transformWith(bytes.Repeat(basic, MaxAttributes+1)))),
			"SA/proposal 1/transform 1/attribute 65", 28 + MaxAttributes*4, ErrTooManyAttributes, 0}},
		{PayloadSA, malformedCase{"attribute header truncated", saWith(proposalWith(1, transformWith(wire("8001 0007 8002")))),
			"SA/proposal 1/transform 1/attribute 2", 32, ErrShortAttribute, 0}},
		{PayloadSA, malformedCase{"more transforms than counted", saWith(proposalWith(1, repeat(transformWith(basic), 3, 2))),
			"SA/proposal 1", 19, ErrTransformCount, NotifyBadProposalSyntax}},
		{PayloadSA, malformedCase{"SPI past proposal", saWith(wire("00 00 000c 01 01 10 01 00000000")), "SA/proposal 1", 18, ErrShortPayload, 0}},
		{PayloadSA, malformedCase{"ESP SPI of 8 bytes", patch(patch(quickMode1Plain[36:136], 0, 0), 18, 8), "SA/proposal 1", 18, ErrSPISize, NotifyInvalidSPI}},
		{PayloadID, malformedCase{"ID body short", wire("00 00 0007 01 2f 00"), "ID", 4, ErrShortPayload, 0}},
		{PayloadID, malformedCase{"IPv4 ID of 5 bytes", wire("00 00 000d 01 2f 0000 c000020101"), "ID", 8, ErrIDData, NotifyInvalidIDInformation}},
		{PayloadID, malformedCase{"empty FQDN", wire("00 00 0008 02 00 0000"), "ID", 8, ErrIDData, NotifyInvalidIDInformation}},
		{PayloadNonce, malformedCase{"nonce of 4 bytes", wire("00 00 0008 01020304"), "nonce", 4, ErrNonceLength, 0}},
		{PayloadNonce, malformedCase{"nonce of 257 bytes", append(wire("00 00 0105"), make([]byte, 257)...), "nonce", 4, ErrNonceLength, 0}},
		{PayloadKE, malformedCase{"empty KE", wire("00 00 0004"), "KE", 4, ErrShortPayload, 0}},
		{PayloadHash, malformedCase{"empty hash", wire("00 00 0004"), "HASH", 4, ErrShortPayload, 0}},
		{PayloadVendorID, malformedCase{"empty vendor ID", wire("00 00 0004"), "vendor ID", 4, ErrShortPayload, 0}},
		{PayloadNATD, malformedCase{"empty NAT-D", wire("00 00 0004"), "NAT-D", 4, ErrShortPayload, 0}},
		{PayloadNotification, malformedCase{"notification body short", wire("00 00 000b 00000001 01 00 60"), "notification", 4, ErrShortPayload, 0}},
		{PayloadNotification, malformedCase{"notification SPI past end", wire("00 00 0010 00000001 01 10 6002 c0ffee00"), "notification", 9, ErrShortPayload, 0}},
		{PayloadNotification, malformedCase{"ESP notification SPI of 8 bytes", wire("00 00 0014 00000001 03 08 6000 cafe0001cafe0002"), "notification", 9, ErrSPISize, NotifyInvalidSPI}},
		{PayloadNotification, malformedCase{"R-U-THERE without sequence", patch(dpdPlain[36:66], 2, 0, 30), "notification", 4 + 24, ErrNotifyData, 0}},
		{PayloadDelete, malformedCase{"delete body short", wire("00 00 000a 00000001 03 04"), "delete", 4, ErrShortPayload, 0}},
		{PayloadDelete, malformedCase{"delete count past end", wire("00 00 0010 00000001 03 04 0002 cafe0001"), "delete", 10, ErrSPICount, 0}},
		{PayloadDelete, malformedCase{"delete without SPIs", wire("00 00 000c 00000001 03 04 0000"), "delete", 10, ErrSPICount, 0}},
		{PayloadDelete, malformedCase{"ESP delete SPI of 16 bytes", patch(initialContact[28:], 4+4, 3), "delete", 9, ErrSPISize, NotifyInvalidSPI}},
		{PayloadDelete, malformedCase{"ISAKMP delete SPI of 8 bytes", wire("00 00 0014 00000001 01 08 0001 c0ffee0011223344"), "delete", 9, ErrSPISize, NotifyInvalidSPI}},
		{PayloadNATOA, malformedCase{"NAT-OA body short", wire("00 00 0006 0100"), "NAT-OA", 4, ErrShortPayload, 0}},
		{PayloadNATOA, malformedCase{"NAT-OA FQDN type", wire("00 00 000c 02 00 0000 c0a80164"), "NAT-OA", 4, ErrNATOA, 0}},
		{PayloadNATOA, malformedCase{"NAT-OA IPv4 of 16 bytes", append(wire("00 00 0018 01 00 0000"), make([]byte, 16)...), "NAT-OA", 4, ErrNATOA, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePayloads(tt.first, tt.b)
			checkParseError(t, err, tt.malformedCase)
		})
	}
}

// TestLimitsInclusive checks that the caps themselves are accepted.
func TestLimitsInclusive(t *testing.T) {
	vid := wire("00 00 0005 ff")
	if ps, err := ParsePayloads(PayloadVendorID, repeat(vid, 13, MaxPayloads)); err != nil || len(ps) != MaxPayloads {
		t.Errorf("%d payloads: %d parsed, %v", MaxPayloads, len(ps), err)
	}
	proposal := wire("00 00 0010 01 01 00 01  00 00 0008 01 01 0000")
	if _, err := ParsePayloads(PayloadSA, saWith(repeat(proposal, 2, MaxProposals))); err != nil {
		t.Errorf("%d proposals: %v", MaxProposals, err)
	}
	transforms := repeat(transformWith(wire("8001 0007")), 3, MaxTransforms)
	if _, err := ParsePayloads(PayloadSA, saWith(proposalWith(MaxTransforms, transforms))); err != nil {
		t.Errorf("%d transforms: %v", MaxTransforms, err)
	}
	attrs := bytes.Repeat(wire("8001 0007"), MaxAttributes)
	if _, err := ParsePayloads(PayloadSA, saWith(proposalWith(1, transformWith(attrs)))); err != nil {
		t.Errorf("%d attributes: %v", MaxAttributes, err)
	}
}

func checkParseError(t *testing.T, err error, tt malformedCase) {
	t.Helper()
	if !errors.Is(err, tt.want) {
		t.Fatalf("err = %v, want %v", err, tt.want)
	}
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("err = %T, want *ParseError", err)
	}
	if pe.Payload != tt.payload || pe.Offset != tt.offset {
		t.Errorf("err at %q offset %d, want %q offset %d (%v)", pe.Payload, pe.Offset, tt.payload, tt.offset, err)
	}
	want := tt.notify
	if want == 0 && tt.want != ErrEncrypted {
		want = NotifyPayloadMalformed
	}
	if got := NotifyFor(err); got != want {
		t.Errorf("NotifyFor = %v, want %v", got, want)
	}
}
