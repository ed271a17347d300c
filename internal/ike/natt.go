package ike

import (
	"encoding/binary"
	"net/netip"
	"time"

	"github.com/gresec/gresec/internal/isakmp"
)

// NAT traversal (RFC 3947): NAT-D payloads in MM3 and MM4 tell each side
// whether an address or port changed on the way; with a NAT, IKE moves to
// port 4500 from MM5 on and ESP goes in UDP (RFC 3948). The side behind a
// NAT keeps the mapping open with keepalives.

// natdHash is HASH(CKY-I | CKY-R | IP | Port) with the negotiated hash
// (RFC 3947 section 3.2).
func natdHash(h hashAlg, ckyI, ckyR [8]byte, ap netip.AddrPort) []byte {
	return h.sum(ckyI[:], ckyR[:], ap.Addr().Unmap().AsSlice(), binary.BigEndian.AppendUint16(nil, ap.Port()))
}

// natdPayloads returns the NAT-D payloads of a sender: first the hash of
// the receiver's address as the sender sends to it, then the sender's own.
// With forced encapsulation the sender's own hash is random, so that the
// receiver sees a NAT and both move to UDP encapsulation.
func natdPayloads(h hashAlg, ckyI, ckyR [8]byte, remote, local netip.AddrPort, forced bool, random func(int) []byte) []isakmp.Payload {
	own := natdHash(h, ckyI, ckyR, local)
	if forced {
		own = random(h.size)
	}
	return []isakmp.Payload{
		&isakmp.NATD{Hash: natdHash(h, ckyI, ckyR, remote)},
		&isakmp.NATD{Hash: own},
	}
}

// detectNAT reads the peer's NAT-D payloads: the first describes us as the
// peer addressed us, the others the peer's own addresses. natLocal is set
// when a NAT changed our address or port, natRemote when it changed the
// peer's (or the peer forces encapsulation).
func detectNAT(h hashAlg, ckyI, ckyR [8]byte, natds []*isakmp.NATD, local, remote netip.AddrPort) (natLocal, natRemote bool) {
	if len(natds) < 2 {
		return false, false
	}
	natLocal = !macEqual(natds[0].Hash, natdHash(h, ckyI, ckyR, local))
	want := natdHash(h, ckyI, ckyR, remote)
	natRemote = true
	for _, n := range natds[1:] {
		if macEqual(n.Hash, want) {
			natRemote = false
		}
	}
	return natLocal, natRemote
}

// natKeepaliveByte is the payload of a NAT keepalive (RFC 3948 section 2.3).
const natKeepaliveByte = 0xff

// keepaliveTick sends NAT keepalives to a peer while we are behind a NAT.
func (e *Engine) keepaliveTick(p *peer) {
	sa := p.bestSA()
	if sa == nil || !sa.natLocal || !sa.udpEncap() || sa.local.Port() != NATTPort {
		p.keepaliveAt = time.Time{}
		return
	}
	interval := e.cfg.NATKeepalive
	if interval <= 0 {
		interval = defaultNATKeepalive
	}
	switch {
	case p.keepaliveAt.IsZero():
		p.keepaliveAt = e.now.Add(interval)
	case !e.now.Before(p.keepaliveAt):
		e.emit(Send{Local: sa.local, Remote: sa.remote, Data: []byte{natKeepaliveByte}})
		p.keepaliveAt = e.now.Add(interval)
	}
}
