package ike

import (
	"encoding/binary"
	"log/slog"
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

// updateEndpoint follows the peer to the address and port an authenticated
// message came from. A NAT in front of the peer may have made a new
// mapping (the old one expired, or the NAT restarted), so that the same
// peer address now shows another source port (RFC 3947 section 4 and RFC
// 3948 section 2.2: "peer port changes followed"). Callers have checked
// the message's HASH first, and that it is no replay: a new message ID
// (remembered for the SA's whole life) or the next message of an
// exchange under way, never a retransmission recognised by its digest.
// An unauthenticated or replayed datagram never moves a peer. The move applies to every ISAKMP SA with the peer, to the
// retransmissions under way, and to the SA pairs that carry ESP in UDP;
// the data plane learns of it through a PeerMoved action per tunnel.
//
// Once an SA has floated to port 4500 it stays there: a message that
// arrives on our port 500 afterwards (a stray retransmission) is accepted
// but does not move the peer back.
func (e *Engine) updateEndpoint(sa *ikeSA, in inbound) {
	local, remote := in.d.Local, in.d.Remote
	if sa.local.Port() == NATTPort && local.Port() != NATTPort {
		return
	}
	old := sa.remote
	sa.local, sa.remote = local, remote
	if old == remote || !old.IsValid() || old.Addr() != remote.Addr() {
		return
	}
	p := sa.peer
	e.logf(slog.LevelInfo, p.key.remote, "peer %s: NAT mapping changed: peer moved from port %d to port %d",
		p.key.remote, old.Port(), remote.Port())
	for _, s := range p.sas {
		if s == sa || s.remote != old || s.local != local {
			continue
		}
		s.remote = remote
	}
	for _, s := range p.sas {
		if s.xmit.Remote == old {
			s.xmit.Remote = remote
		}
		for _, qm := range s.qms {
			if qm.xmit.Remote == old {
				qm.xmit.Remote = remote
			}
		}
	}
	for _, t := range p.tunnels {
		moved := false
		for _, c := range t.children {
			if c.peerAddr == old {
				c.peerAddr = remote
			}
			if c.encap != nil && c.encap.RemotePort == old.Port() && c.encap.LocalPort == local.Port() {
				c.encap = &UDPEncap{LocalPort: c.encap.LocalPort, RemotePort: remote.Port()}
				moved = true
			}
		}
		if t.upPeer == old {
			t.upPeer = remote
		}
		if moved {
			e.emit(PeerMoved{Tunnel: t.p.Name, Remote: remote, Encap: UDPEncap{LocalPort: local.Port(), RemotePort: remote.Port()}})
		}
	}
}
