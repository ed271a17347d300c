package isakmp

import (
	"bytes"
	"encoding/binary"
)

// A Delete is a Delete payload (RFC 2408 section 3.15):
//
//	DOI (4) | Protocol-Id (1) | SPI Size (1) | # of SPIs (2) | SPIs
//
// An ISAKMP SA is named by its two cookies (SPI size 16), an ESP or AH SA by
// its 4-byte inbound SPI.
type Delete struct {
	DOI      DOI
	Protocol ProtocolID
	SPISize  uint8
	SPIs     [][]byte // each SPISize bytes; at least one
}

// PayloadType implements Payload.
func (*Delete) PayloadType() PayloadType { return PayloadDelete }

// Parse parses a Delete payload body.
func (d *Delete) Parse(b []byte) error {
	if len(b) < 8 {
		return perr("delete", 0, ErrShortPayload)
	}
	proto := ProtocolID(b[4])
	size := int(b[5])
	count := int(binary.BigEndian.Uint16(b[6:]))
	if !deleteSPISizeOK(proto, size) {
		return perr("delete", 5, ErrSPISize)
	}
	// Check the count against the bytes present before allocating for it.
	rest := b[8:]
	if count == 0 || count*size != len(rest) {
		return perr("delete", 6, ErrSPICount)
	}
	all := bytes.Clone(rest)
	spis := make([][]byte, count)
	for i := range spis {
		spis[i] = all[i*size : (i+1)*size : (i+1)*size]
	}
	*d = Delete{
		DOI:      DOI(binary.BigEndian.Uint32(b)),
		Protocol: proto,
		SPISize:  uint8(size),
		SPIs:     spis,
	}
	return nil
}

// AppendBody implements Payload.
func (d *Delete) AppendBody(b []byte) ([]byte, error) {
	if !deleteSPISizeOK(d.Protocol, int(d.SPISize)) {
		return nil, ErrSPISize
	}
	if len(d.SPIs) == 0 || len(d.SPIs) > 0xffff {
		return nil, ErrSPICount
	}
	b = binary.BigEndian.AppendUint32(b, uint32(d.DOI))
	b = append(b, byte(d.Protocol), d.SPISize)
	b = binary.BigEndian.AppendUint16(b, uint16(len(d.SPIs)))
	for _, spi := range d.SPIs {
		if len(spi) != int(d.SPISize) {
			return nil, ErrSPISize
		}
		b = append(b, spi...)
	}
	return b, nil
}

// deleteSPISizeOK reports whether SPIs of n bytes suit a Delete for protocol
// proto.
func deleteSPISizeOK(proto ProtocolID, n int) bool {
	switch proto {
	case ProtoISAKMP:
		return n == 16
	case ProtoESP, ProtoAH:
		return n == 4
	case ProtoIPComp:
		return n == 2 || n == 4
	}
	return n > 0 && n <= 16
}

// DeleteISAKMP returns a Delete payload for the ISAKMP SA with the given
// cookies.
func DeleteISAKMP(initiator, responder [8]byte) *Delete {
	spi := make([]byte, 0, 16)
	spi = append(spi, initiator[:]...)
	spi = append(spi, responder[:]...)
	return &Delete{DOI: DOIIPsec, Protocol: ProtoISAKMP, SPISize: 16, SPIs: [][]byte{spi}}
}

// DeleteESP returns a Delete payload for ESP SAs with the given SPIs.
func DeleteESP(spis ...uint32) *Delete {
	d := &Delete{DOI: DOIIPsec, Protocol: ProtoESP, SPISize: 4}
	for _, s := range spis {
		d.SPIs = append(d.SPIs, binary.BigEndian.AppendUint32(nil, s))
	}
	return d
}
