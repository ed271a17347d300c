package ike

import (
	"cmp"
	"encoding/hex"
	"net/netip"
	"slices"
	"time"
)

// Snapshot is the engine's state as the operational views show it. It is
// a copy: plain values that stay valid after further calls.
type Snapshot struct {
	ISAKMP   []ISAKMPSA
	IPsec    []IPsecSA
	Sessions []Session
}

// ISAKMPSA is one ISAKMP SA, a row of `show crypto isakmp sa [detail]`.
type ISAKMPSA struct {
	// Dst and Src as IOS shows them: the responder and the initiator.
	Dst, Src        netip.Addr
	State           string // MM_NO_STATE, MM_SA_SETUP, MM_KEY_EXCH, QM_IDLE
	ConnID          int
	Status          string // "ACTIVE" once established
	Initiator       bool   // this side initiated
	InitiatorCookie string // hex
	ResponderCookie string
	Cipher          string // "aes"
	KeyBits         int
	Hash            string // "sha", "sha256", ...
	Auth            string // "psk"
	Group           int
	Lifetime        time.Duration // remaining, once established
	Local, Remote   netip.AddrPort
	NATT            bool // ESP goes in UDP
	LocalBehindNAT  bool
	RemoteBehindNAT bool
	DPD             bool // the peer supports dead peer detection
}

// IPsecSA is one SA pair of a protected tunnel, for `show crypto ipsec sa`.
type IPsecSA struct {
	Tunnel       string
	CryptoMapTag string // "Tunnel0-head-0", IOS's name for the profile instance
	// Local and Remote are the identities (A/255.255.255.255/47/0).
	Local, Remote netip.Addr
	Protocol      uint8
	Peer          netip.AddrPort // current_peer, with its port
	InSPI, OutSPI uint32
	Transform     string        // "esp-256-aes esp-sha384-hmac"
	Mode          string        // "Transport", "Tunnel", "Transport UDP-Encaps", ...
	PFS           int           // group, 0 for none
	Lifetime      time.Duration // remaining
	LifetimeKB    uint64
	// Current marks the pair that carries outbound traffic.
	Current bool
}

// Session is one protected tunnel, for `show crypto session`.
type Session struct {
	Tunnel        string
	Local, Remote netip.Addr
	Protocol      uint8
	Peer          netip.AddrPort
	// Status is "UP-ACTIVE" (SA pair and ISAKMP SA), "UP-NO-IKE" (SA pair
	// only), "DOWN-NEGOTIATING" or "DOWN".
	Status        string
	ISAKMPSAs     int
	ActiveSAs     int // IPsec SAs, two per pair, as IOS counts them
	TransformSets []string
	PFS           int
	Lifetime      time.Duration
	LifetimeKB    uint64
}

// Snapshot returns the state at now (remaining lifetimes count from now).
func (e *Engine) Snapshot(now time.Time) Snapshot {
	var s Snapshot
	for _, p := range e.peerOrder {
		for _, sa := range p.sas {
			s.ISAKMP = append(s.ISAKMP, isakmpRow(sa, now))
		}
	}
	names := make([]string, 0, len(e.tunnels))
	for n := range e.tunnels {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		t := e.tunnels[n]
		var current *saPair
		for _, c := range t.children {
			if current == nil || !c.installed.Before(current.installed) {
				current = c
			}
		}
		for _, c := range t.children {
			mode := c.offer.mode.String()
			if c.encap != nil {
				mode += " UDP-Encaps"
			}
			s.IPsec = append(s.IPsec, IPsecSA{
				Tunnel: t.p.Name, CryptoMapTag: t.p.Name + "-head-0",
				Local: t.p.Local, Remote: t.p.Remote, Protocol: t.p.Protocol,
				Peer: c.peerAddr, InSPI: c.inSPI, OutSPI: c.outSPI,
				Transform: c.offer.suite.String(), Mode: mode, PFS: int(c.offer.group),
				Lifetime: max(c.expires.Sub(now), 0), LifetimeKB: c.offer.lifeKB,
				Current: c == current,
			})
		}
		s.Sessions = append(s.Sessions, sessionRow(t))
	}
	slices.SortStableFunc(s.IPsec, func(a, b IPsecSA) int { return cmp.Compare(a.Tunnel, b.Tunnel) })
	return s
}

func isakmpRow(sa *ikeSA, now time.Time) ISAKMPSA {
	r := ISAKMPSA{
		State:           sa.step.state().String(),
		ConnID:          sa.connID,
		Initiator:       sa.initiator,
		InitiatorCookie: hex.EncodeToString(sa.ckyI[:]),
		ResponderCookie: hex.EncodeToString(sa.ckyR[:]),
		Local:           sa.local,
		Remote:          sa.remote,
		NATT:            sa.udpEncap(),
		LocalBehindNAT:  sa.natLocal,
		RemoteBehindNAT: sa.natRemote,
		DPD:             sa.peerDPD,
	}
	r.Dst, r.Src = sa.peer.key.local, sa.peer.key.remote
	if sa.initiator {
		r.Dst, r.Src = sa.peer.key.remote, sa.peer.key.local
	}
	if sa.policy.hash != 0 {
		r.Cipher, r.KeyBits, r.Hash, r.Auth, r.Group = "aes", sa.policy.encBits, hashName(sa.policy.hash), "psk", int(sa.policy.group)
	}
	if sa.step == stepEstablished {
		r.Status = "ACTIVE"
		r.Lifetime = max(sa.expires.Sub(now), 0)
	}
	return r
}

func sessionRow(t *tunnel) Session {
	s := Session{
		Tunnel: t.p.Name, Local: t.p.Local, Remote: t.p.Remote, Protocol: t.p.Protocol,
		Peer: netip.AddrPortFrom(t.p.Remote, Port), PFS: int(t.pfs),
		Lifetime: t.p.Lifetime, LifetimeKB: t.p.LifetimeKB,
		ActiveSAs: 2 * len(t.children),
	}
	for _, ts := range t.p.TransformSets {
		s.TransformSets = append(s.TransformSets, ts.Name)
	}
	if t.up {
		s.Peer = t.upPeer
	}
	for _, sa := range t.peer.sas {
		if sa.step == stepEstablished {
			s.ISAKMPSAs++
			s.Peer = sa.remote
		}
	}
	switch {
	case len(t.children) > 0 && s.ISAKMPSAs > 0:
		s.Status = "UP-ACTIVE"
	case len(t.children) > 0:
		s.Status = "UP-NO-IKE"
	case t.qm != nil || t.peer.negotiating():
		s.Status = "DOWN-NEGOTIATING"
	default:
		s.Status = "DOWN"
	}
	return s
}
