package ike

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/gresec/gresec/internal/isakmp"
)

// Informational exchanges (RFC 2409 section 5.7): one message, protected
// by the ISAKMP SA once there is one,
//
//	HDR*, HASH(1), N/D      HASH(1) = prf(SKEYID_a, M-ID | N/D)
//
// carrying notifications (errors, INITIAL-CONTACT, RFC 3706 R-U-THERE and
// R-U-THERE-ACK) and deletes. Before the ISAKMP SA exists, errors come in
// clear and are believed only as far as they end our own negotiation.

// sendInfo sends one protected informational message over sa.
func (e *Engine) sendInfo(sa *ikeSA, payload isakmp.Payload) {
	mid := e.newMID(sa)
	plain, err := hashedChain(sa.hash.size, []isakmp.Payload{payload}, func(r []byte) []byte {
		return sa.hash.prf(sa.keys.a, midBytes(mid), r)
	})
	if err != nil {
		return
	}
	hdr := isakmp.Header{InitiatorCookie: sa.ckyI, ResponderCookie: sa.ckyR, Exchange: isakmp.ExchangeInformational, MessageID: mid}
	msg, _, err := marshalEncrypted(hdr, isakmp.PayloadHash, plain, sa.keys.enc, phase2IV(sa.hash, sa.p2base, mid))
	if err != nil {
		return
	}
	e.sendMsg(sa.local, sa.remote, msg)
}

// INVALID-SPI (RFC 2408 section 3.14.1) for ESP on an SPI we do not know.
const (
	invalidSPIInterval = 10 * time.Second // per tunnel
	deletedSPIMemory   = 20 * time.Second // ESP in flight on a deleted pair
	maxDeletedSPIs     = 8                // per tunnel
)

// unknownSPI answers ESP from t's peer on an SPI the data plane does not
// know with INVALID-SPI (see Engine.UnknownSPI).
func (e *Engine) unknownSPI(t *tunnel, spi uint32) {
	p := t.peer
	if e.spis[spi] {
		return // a Quick Mode under way chose it, or its pair is being installed
	}
	for _, d := range t.deleted {
		if d.spi == spi && e.now.Sub(d.at) < deletedSPIMemory && !e.now.Before(d.at) {
			return
		}
	}
	if !t.invalidSPIAt.IsZero() && e.now.Sub(t.invalidSPIAt) < invalidSPIInterval && !e.now.Before(t.invalidSPIAt) {
		return
	}
	sa := p.anySA()
	if sa == nil {
		e.logLimited("unknownspi", slog.LevelDebug, p.key.remote,
			"%s: peer %s: ESP on unknown SPI 0x%08x; no ISAKMP SA to send INVALID-SPI with", t.p.Name, p.key.remote, spi)
		return
	}
	t.invalidSPIAt = e.now
	e.logf(slog.LevelInfo, p.key.remote, "%s: peer %s: ESP on unknown SPI 0x%08x; sending INVALID-SPI", t.p.Name, p.key.remote, spi)
	e.sendNotify(sa, isakmp.NotifyInvalidSPI, be32(spi))
}

// invalidSPI honours a protected INVALID-SPI: the peer received ESP from
// us on an SPI it does not know, so the pair with that outbound SPI is
// gone at its end. We delete it too (with a DELETE, in case the peer kept
// half of it) and negotiate a new one at once. An INVALID-SPI about a
// Quick Mode under way refuses it, as other errors do.
func (e *Engine) invalidSPI(sa *ikeSA, n *isakmp.Notification) {
	p := sa.peer
	b := n.SPI
	if len(b) != 4 && len(n.Data) == 4 {
		b = n.Data // some put the SPI in the notification data
	}
	if len(b) != 4 {
		e.logLimited("notify-in", slog.LevelInfo, p.key.remote, "peer %s: INVALID-SPI without an ESP SPI; ignored", p.key.remote)
		return
	}
	spi := binary.BigEndian.Uint32(b)
	for _, t := range p.tunnels {
		for _, c := range t.children {
			if c.outSPI != spi {
				continue
			}
			e.logf(slog.LevelWarn, p.key.remote, "%s: peer %s does not know our outbound SPI 0x%08x (INVALID-SPI); deleting the SA pair and negotiating a new one",
				t.p.Name, p.key.remote, spi)
			e.deleteChild(t, c, true, "peer sent INVALID-SPI")
			if o := t.current(); o != nil && o.rekeyAt.After(e.now) {
				o.rekeyAt = e.now
			}
			t.retryAt = time.Time{}
			return
		}
	}
	for _, qm := range sa.qms {
		if qm.step != qmDone && (qm.inSPI == spi || qm.outSPI == spi) {
			e.peerRefused(sa, n)
			return
		}
	}
	e.logLimited("notify-in", slog.LevelInfo, p.key.remote,
		"peer %s: INVALID-SPI for SPI 0x%08x, no outbound SPI of ours; ignored", p.key.remote, spi)
}

// sendNotify sends a protected error notification about an ESP proposal.
func (e *Engine) sendNotify(sa *ikeSA, t isakmp.NotifyType, spi []byte) {
	e.sendInfo(sa, &isakmp.Notification{DOI: isakmp.DOIIPsec, Protocol: isakmp.ProtoESP, SPI: spi, Type: t})
}

func (e *Engine) recvInformational(p *peer, in inbound) {
	h := in.h
	if h.Flags&isakmp.FlagEncryption == 0 {
		e.recvClearInfo(p, in)
		return
	}
	var sa *ikeSA
	if p != nil {
		sa = p.find(h.InitiatorCookie, h.ResponderCookie)
	}
	if sa == nil || sa.step != stepEstablished {
		e.logLimited("cookies", slog.LevelInfo, in.peerAddr(),
			"peer %s: dropped informational message for unknown cookies %x/%x", in.peerAddr(), h.InitiatorCookie, h.ResponderCookie)
		return
	}
	if h.MessageID == 0 {
		e.unexpected(in, "informational message without message ID")
		return
	}
	if _, seen := sa.mids[h.MessageID]; seen {
		e.unexpected(in, "replayed informational message ID")
		return
	}
	m, _, ok := e.openPhase2(sa, in, phase2IV(sa.hash, sa.p2base, h.MessageID), false, midBytes(h.MessageID))
	if !ok {
		return
	}
	e.rememberMID(sa, h.MessageID)
	e.updateEndpoint(sa, in)
	if provesLife(p, m) {
		e.alive(p)
	}
	for _, pl := range m.payloads[1:] {
		if !slices.Contains(p.sas, sa) {
			return // deleted by a previous payload
		}
		switch v := pl.(type) {
		case *isakmp.Notification:
			e.handleNotify(sa, v)
		case *isakmp.Delete:
			e.handleDelete(sa, v)
		}
	}
}

// provesLife reports whether an authenticated informational message shows
// the peer alive. Its message ID is new, so it is no replay; still, an
// R-U-THERE-ACK counts only when it answers the probe under way, not an
// older one.
func provesLife(p *peer, m *parsed) bool {
	for _, pl := range m.payloads[1:] {
		n, ok := pl.(*isakmp.Notification)
		if !ok || n.Type != isakmp.NotifyRUThereAck {
			return true
		}
		if seq, ok := n.DPDSequence(); ok && p.dpd.answers(seq) {
			return true
		}
	}
	return false
}

// rememberMID records a message ID used on sa, ours or the peer's: the
// peer's messages under it are replays from now on. Forgetting IDs would
// let a message captured long ago be replayed, so the memory is bounded
// by the SA's life instead: at midRekey IDs the SA is rekeyed at once, at
// maxMIDs deleted (see finish).
func (e *Engine) rememberMID(sa *ikeSA, mid uint32) {
	sa.mids[mid] = struct{}{}
	if len(sa.mids) == midRekey {
		p := sa.peer
		e.logf(slog.LevelInfo, p.key.remote, "peer %s: ISAKMP SA (conn-id %d) has used %d message IDs; rekeying it",
			p.key.remote, sa.connID, midRekey)
		if sa.rekeyAt.After(e.now) {
			sa.rekeyAt = e.now
		}
	}
}

func (e *Engine) handleNotify(sa *ikeSA, n *isakmp.Notification) {
	p := sa.peer
	switch n.Type {
	case isakmp.NotifyRUThere:
		seq, ok := n.DPDSequence()
		if !ok {
			return
		}
		if sa.peerDPDSeen && seq < sa.peerDPDSeq {
			e.logLimited("dpdseq", slog.LevelDebug, p.key.remote, "peer %s: ignored R-U-THERE with old sequence number %d", p.key.remote, seq)
			return
		}
		sa.peerDPDSeq, sa.peerDPDSeen = seq, true
		e.sendInfo(sa, isakmp.DPD(isakmp.NotifyRUThereAck, sa.ckyI, sa.ckyR, seq))
	case isakmp.NotifyRUThereAck:
		// Whether it proves the peer alive was decided before (see
		// provesLife); here a stale answer is only logged.
		if seq, ok := n.DPDSequence(); ok && !p.dpd.acks(seq) {
			e.logLimited("dpdseq", slog.LevelDebug, p.key.remote, "peer %s: R-U-THERE-ACK with unexpected sequence number %d", p.key.remote, seq)
		}
	case isakmp.NotifyInitialContact:
		e.initialContact(sa)
	case isakmp.NotifyInvalidSPI:
		e.invalidSPI(sa, n)
	case isakmp.NotifyResponderLifetime, isakmp.NotifyReplayStatus:
	default:
		if n.Type.IsError() {
			e.peerRefused(sa, n)
		}
	}
}

// peerRefused handles an error notification from an authenticated peer:
// the Quick Mode or SA pair it names is given up, and its tunnel tries
// again later.
func (e *Engine) peerRefused(sa *ikeSA, n *isakmp.Notification) {
	p := sa.peer
	var spi uint32
	if len(n.SPI) == 4 {
		spi = binary.BigEndian.Uint32(n.SPI)
	}
	hint := ""
	switch n.Type {
	case isakmp.NotifyNoProposalChosen:
		hint = ": the transform sets, mode or PFS group do not match"
	case isakmp.NotifyInvalidIDInformation:
		hint = ": the peer protects other endpoints, protocol or mode"
	}
	for mid, qm := range sa.qms {
		if qm.step == qmDone || (spi != 0 && qm.inSPI != spi && qm.outSPI != spi) {
			continue
		}
		delete(sa.qms, mid)
		delete(e.spis, qm.inSPI)
		if qm.initiator && qm.tun.qm == qm {
			qm.tun.qm = nil
			e.failTunnel(qm.tun)
		}
		e.logf(slog.LevelWarn, p.key.remote, "%s: peer %s refused Quick Mode with %v%s", qm.tun.p.Name, p.key.remote, n.Type, hint)
		return
	}
	if spi != 0 {
		for _, t := range p.tunnels {
			for _, c := range t.children {
				if c.inSPI == spi || c.outSPI == spi {
					e.logf(slog.LevelWarn, p.key.remote, "%s: peer %s dropped the SA pair with %v%s", t.p.Name, p.key.remote, n.Type, hint)
					e.deleteChild(t, c, false, "refused by peer")
					e.failTunnel(t)
					return
				}
			}
		}
	}
	e.logLimited("notify-in", slog.LevelInfo, p.key.remote, "peer %s: notification %v", p.key.remote, n.Type)
}

func (e *Engine) handleDelete(sa *ikeSA, d *isakmp.Delete) {
	p := sa.peer
	switch d.Protocol {
	case isakmp.ProtoISAKMP:
		for _, spi := range d.SPIs {
			if len(spi) != 16 {
				continue
			}
			target := p.find([8]byte(spi[:8]), [8]byte(spi[8:]))
			if target != nil && target.step == stepEstablished {
				e.deleteIKESA(target, false, "deleted by peer")
			}
		}
	case isakmp.ProtoESP:
		for _, spi := range d.SPIs {
			if len(spi) != 4 {
				continue
			}
			// The peer names its inbound SPI, which is our outbound one
			// (RFC 2408 section 3.15). strongSwan, when it fails to
			// install a pair, names its outbound SPI (our inbound) instead:
			// a pair is deleted by either of its SPIs. SPIs are random 32
			// bits drawn by each side, so the two spaces do not collide in
			// practice, and the message is authenticated.
			v := binary.BigEndian.Uint32(spi)
			for _, t := range p.tunnels {
				for _, c := range slices.Clone(t.children) {
					if c.outSPI == v || c.inSPI == v {
						e.deleteChild(t, c, false, "deleted by peer")
					}
				}
			}
		}
	}
}

// recvClearInfo handles an unencrypted informational message: before an
// ISAKMP SA exists, a peer can only tell us in clear why it refuses our
// Main Mode. It is believed only to the extent of abandoning that
// negotiation (an attacker would need our cookie); anything else is
// ignored.
func (e *Engine) recvClearInfo(p *peer, in inbound) {
	if p == nil {
		e.logLimited("cookies", slog.LevelInfo, in.peerAddr(), "peer %s: ignored unauthenticated informational message", in.peerAddr())
		return
	}
	m, err := parseBody(in.h.NextPayload, in.body, false)
	if err != nil {
		e.malformed(in.d, err)
		return
	}
	for _, n := range all[*isakmp.Notification](m) {
		sa := p.find(in.h.InitiatorCookie, in.h.ResponderCookie)
		if sa == nil && in.h.ResponderCookie == ([8]byte{}) {
			for _, s := range p.sas {
				if s.initiator && s.ckyI == in.h.InitiatorCookie {
					sa = s
				}
			}
		}
		if sa == nil || sa.step == stepEstablished || !sa.initiator || !n.Type.IsError() {
			e.logLimited("clearinfo", slog.LevelInfo, in.peerAddr(),
				"peer %s: ignored unauthenticated notification %v", in.peerAddr(), n.Type)
			continue
		}
		var hint string
		switch {
		case n.Type == isakmp.NotifyNoProposalChosen:
			hint = "no phase 1 proposal in common: compare crypto isakmp policy on both sides"
		case sa.step == stepISentMM5:
			hint = fmt.Sprintf("pre-shared key mismatch with %s?", in.peerAddr())
		default:
			hint = "Main Mode abandoned"
		}
		e.logf(slog.LevelWarn, in.peerAddr(), "peer %s: Main Mode refused with %v in %s: %s",
			in.peerAddr(), n.Type, sa.step.state(), hint)
		p.remove(sa)
		e.failMainMode(p)
		return
	}
}

// Data attributes outside transforms (the RESPONDER-LIFETIME notification
// carries them, RFC 2407 section 4.6.3.1), in the format of RFC 2408
// section 3.3.

func encodeAttributes(attrs []isakmp.Attribute) []byte {
	var b []byte
	for _, a := range attrs {
		if a.Basic {
			b = binary.BigEndian.AppendUint16(b, uint16(a.Type)|0x8000)
			b = binary.BigEndian.AppendUint16(b, a.Value)
			continue
		}
		b = binary.BigEndian.AppendUint16(b, uint16(a.Type))
		b = binary.BigEndian.AppendUint16(b, uint16(len(a.Data)))
		b = append(b, a.Data...)
	}
	return b
}

var errAttributes = errors.New("malformed data attributes")

func decodeAttributes(b []byte) ([]isakmp.Attribute, error) {
	var out []isakmp.Attribute
	for len(b) > 0 {
		if len(out) == isakmp.MaxAttributes || len(b) < 4 {
			return nil, errAttributes
		}
		t := binary.BigEndian.Uint16(b)
		v := binary.BigEndian.Uint16(b[2:])
		if t&0x8000 != 0 {
			out = append(out, isakmp.BasicAttribute(isakmp.AttributeType(t&0x7fff), v))
			b = b[4:]
			continue
		}
		if int(v) > len(b)-4 {
			return nil, errAttributes
		}
		out = append(out, isakmp.VariableAttribute(isakmp.AttributeType(t), b[4:4+int(v)]))
		b = b[4+int(v):]
	}
	return out, nil
}

// decodeLifetimes reads the lifetimes of a RESPONDER-LIFETIME notification.
func decodeLifetimes(b []byte) (time.Duration, uint64, error) {
	attrs, err := decodeAttributes(b)
	if err != nil {
		return 0, 0, err
	}
	secs, kb, err := isakmp.Lifetimes(attrs, isakmp.IPsecAttrLifeType, isakmp.IPsecAttrLifeDuration)
	if err != nil {
		return 0, 0, err
	}
	secs = min(secs, maxLifetimeSeconds)
	return time.Duration(secs) * time.Second, kb, nil
}
