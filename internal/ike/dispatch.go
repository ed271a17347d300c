package ike

import (
	"log/slog"
	"net/netip"

	"github.com/gresec/gresec/internal/esp"
	"github.com/gresec/gresec/internal/isakmp"
)

// Message returns the IKE message a datagram holds: on port 4500 what
// follows the non-ESP marker (RFC 3948 section 2.2), false for ESP and NAT
// keepalives, which are the data plane's.
func (d Datagram) Message() ([]byte, bool) {
	if d.Local.Port() != NATTPort {
		return d.Data, true
	}
	if esp.ClassifyUDP(d.Data) != esp.UDPIKE {
		return nil, false
	}
	return d.Data[esp.NonESPMarkerLen:], true
}

// receive takes a datagram apart and hands it to the exchange it belongs
// to. Nothing here changes state.
func (e *Engine) receive(d Datagram) {
	d.Local = netip.AddrPortFrom(d.Local.Addr().Unmap(), d.Local.Port())
	d.Remote = netip.AddrPortFrom(d.Remote.Addr().Unmap(), d.Remote.Port())
	data, ok := d.Message()
	if !ok {
		return // ESP or a keepalive: the data plane's
	}
	h, body, err := isakmp.SplitMessage(data)
	if err != nil {
		e.malformed(d, err)
		return
	}
	key := peerKey{d.Local.Addr(), d.Remote.Addr()}
	p := e.peers[key]
	in := inbound{d: d, h: h, body: body, digest: digest(data)}
	switch h.Exchange {
	case isakmp.ExchangeMainMode:
		e.recvMainMode(p, in)
	case isakmp.ExchangeQuickMode:
		e.recvQuickMode(p, in)
	case isakmp.ExchangeInformational:
		e.recvInformational(p, in)
	case isakmp.ExchangeAggressive:
		if e.logLimited("aggressive", slog.LevelWarn, d.Remote.Addr(),
			"peer %s: Aggressive Mode is not supported; configure Main Mode on the peer", d.Remote.Addr()) {
			e.sendClearNotify(d.Local, d.Remote, h.InitiatorCookie, h.ResponderCookie, isakmp.NotifyUnsupportedExchangeType)
		}
	default:
		e.logLimited("exchange", slog.LevelInfo, d.Remote.Addr(),
			"peer %s: ignoring unsupported exchange %v", d.Remote.Addr(), h.Exchange)
	}
}

// inbound is a received message, split but not parsed.
type inbound struct {
	d      Datagram
	h      isakmp.Header
	body   []byte
	digest [32]byte // of the whole message, to recognise retransmissions
}

func (in *inbound) peerAddr() netip.Addr { return in.d.Remote.Addr() }

// malformed logs a message that failed to parse (rate limited per peer).
func (e *Engine) malformed(d Datagram, err error) {
	e.logLimited("malformed", slog.LevelInfo, d.Remote.Addr(),
		"peer %s: dropped malformed ISAKMP message: %v", d.Remote.Addr(), err)
}

// unexpected logs a message that parsed but does not fit the exchange.
func (e *Engine) unexpected(in inbound, what string) {
	e.logLimited("unexpected", slog.LevelInfo, in.peerAddr(),
		"peer %s: dropped %v message: %s", in.peerAddr(), in.h.Exchange, what)
}

// sendClearNotify answers with an unencrypted informational notification,
// as IKEv1 does before an ISAKMP SA exists (RFC 2408 section 5).
func (e *Engine) sendClearNotify(local, remote netip.AddrPort, ckyI, ckyR [8]byte, t isakmp.NotifyType) {
	spi := append(append([]byte(nil), ckyI[:]...), ckyR[:]...)
	h := isakmp.Header{
		InitiatorCookie: ckyI,
		ResponderCookie: ckyR,
		Exchange:        isakmp.ExchangeInformational,
		MessageID:       e.randUint32() | 1,
	}
	msg, err := marshalClear(h, []isakmp.Payload{&isakmp.Notification{
		DOI: isakmp.DOIIPsec, Protocol: isakmp.ProtoISAKMP, SPI: spi, Type: t,
	}})
	if err != nil {
		return
	}
	e.sendMsg(local, remote, msg)
}
