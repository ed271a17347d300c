package dataplane

import (
	"encoding/binary"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/gresec/gresec/internal/esp"
	"github.com/gresec/gresec/internal/packet"
)

// Protection is the IPsec state of a protected tunnel: the outbound SA that
// seals its GRE, and the inbound SAs it accepts, newest first (during a
// rekey the old one and the new one, make-before-break). It is replaced as
// a whole.
type Protection struct {
	Out *esp.SA
	In  []*esp.SA
	// TunnelMode carries an outer IPv4 (or IPv6) header (tunnel source to
	// destination, protocol 47) inside ESP; transport mode carries GRE.
	TunnelMode bool

	// OutMu serialises sealing on Out: the encapsulating goroutine,
	// keepalive reflections and keepalives all send through it. It belongs
	// to the SA, not to this Protection, since successive Protections
	// share an outbound SA while only their inbound SAs differ.
	OutMu *sync.Mutex

	// softNoted is set once Env.SoftLimit was called for these SAs, and
	// hardNoted once it was called again for Out's hard limit.
	softNoted, hardNoted atomic.Bool
}

// noteSoftLimit calls Env.SoftLimit, once per Protection, when its
// outbound SA or its newest inbound SA reaches a soft limit (volume, or
// sequence numbers running out), so that the control plane negotiates the
// replacement before the hard limit fails the tunnel closed. Checked per
// batch: between soft and hard there is only a tenth of the volume.
//
// It is called again, once, when Out reaches its hard limit: a
// replacement may be installed and only waiting to take over (the router
// delays the switch to a new pair by a second), and Out can seal nothing
// more.
func (t *Tunnel) noteSoftLimit(prot *Protection) {
	if t.env.SoftLimit == nil || prot.hardNoted.Load() {
		return
	}
	if prot.softNoted.Load() {
		if prot.Out != nil && prot.Out.Expired() && prot.hardNoted.CompareAndSwap(false, true) {
			t.env.SoftLimit()
		}
		return
	}
	soft := prot.Out != nil && prot.Out.SoftExpired()
	if !soft && len(prot.In) > 0 {
		soft = prot.In[0].SoftExpired()
	}
	if soft && prot.softNoted.CompareAndSwap(false, true) {
		t.env.SoftLimit()
	}
}

// inbound finds the inbound SA of an ESP packet by its SPI.
func (p *Protection) inbound(pkt []byte) *esp.SA {
	if len(pkt) < 4 {
		return nil
	}
	spi := binary.BigEndian.Uint32(pkt)
	for _, sa := range p.In {
		if sa.SPI() == spi {
			return sa
		}
	}
	return nil
}

// SetProtection installs (or, with nil, removes) the tunnel's SAs. Without
// an outbound SA a protected tunnel drops what it would send.
func (t *Tunnel) SetProtection(p *Protection) { t.prot.Store(p) }

// Protection returns the installed SAs (nil if none).
func (t *Tunnel) Protection() *Protection { return t.prot.Load() }

// seal protects the GRE frame buf[off:end] in place and returns the ESP
// packet. buf must have Headroom bytes before off and tailroom after end
// (the data plane's buffers do). In tunnel mode the GRE frame gets an IP
// header of the underlay's family inside ESP. The caller holds prot.OutMu.
func (t *Tunnel) seal(p *Params, prot *Protection, buf []byte, off, end int) ([]byte, error) {
	nh := byte(esp.NextHeaderGRE)
	if prot.TunnelMode {
		hl := packet.IPv4HeaderLen
		if p.Remote.Is6() {
			hl = packet.IPv6HeaderLen
		}
		if off < hl+esp.MaxHeadroom {
			return nil, esp.ErrNoRoom
		}
		off -= hl
		if p.Remote.Is6() {
			h := packet.IPv6Header{PayloadLen: end - off - hl, NextHeader: packet.ProtoGRE, HopLimit: 255, Src: p.Local, Dst: p.Remote}
			if _, err := h.Encode(buf[off:end]); err != nil {
				return nil, err
			}
			nh = esp.NextHeaderIPv6
		} else {
			h := packet.IPv4Header{TotalLen: end - off, TTL: 255, Protocol: packet.ProtoGRE, Src: p.Local, Dst: p.Remote}
			if _, err := h.Encode(buf[off:end]); err != nil {
				return nil, err
			}
			nh = esp.NextHeaderIPv4
		}
	}
	return prot.Out.Seal(buf[:end], off, nh)
}

// countSealError files a failed seal under the right counter.
func (t *Tunnel) countSealError(err error) {
	if errors.Is(err, esp.ErrSeqExhausted) || errors.Is(err, esp.ErrExpired) {
		t.C.Add(OutNoSADrops, 1) // fail closed until the new SA is installed
		return
	}
	t.C.Add(OutErrors, 1)
}

// openESP authenticates and decrypts an ESP packet in place and returns
// the GRE frame it carries, or nil when the packet is dropped (counted).
func (t *Tunnel) openESP(p *Params, prot *Protection, pkt []byte) []byte {
	sa := prot.inbound(pkt)
	if sa == nil {
		t.C.Add(InNoSA, 1)
		return nil
	}
	payload, nh, _, err := sa.Open(pkt)
	switch {
	case errors.Is(err, esp.ErrAuth):
		t.C.Add(InAuthFailures, 1)
		return nil
	case errors.Is(err, esp.ErrReplay):
		t.C.Add(InReplayDrops, 1)
		return nil
	case err != nil:
		t.C.Add(InMalformed, 1)
		return nil
	}
	t.C.Add(Decrypted, 1)
	switch {
	case nh == esp.NextHeaderGRE && !prot.TunnelMode:
		return payload
	case nh == esp.NextHeaderIPv4 && prot.TunnelMode:
		// The inner header must be the tunnel's own GRE: the SA's
		// selectors are the two endpoints and protocol 47.
		h, err := packet.ParseIPv4(payload)
		if err != nil || h.Protocol != packet.ProtoGRE || h.Src != p.Remote || h.Dst != p.Local || h.IsFragment() {
			t.C.Add(InPolicyDrops, 1)
			return nil
		}
		return payload[h.HeaderLen:h.TotalLen]
	case nh == esp.NextHeaderIPv6 && prot.TunnelMode:
		h, err := packet.ParseIPv6(payload)
		if err != nil || h.NextHeader != packet.ProtoGRE || h.Src != p.Remote || h.Dst != p.Local {
			t.C.Add(InPolicyDrops, 1)
			return nil
		}
		return payload[packet.IPv6HeaderLen : packet.IPv6HeaderLen+h.PayloadLen]
	}
	t.C.Add(InPolicyDrops, 1)
	return nil
}
