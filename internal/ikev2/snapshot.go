package ikev2

import (
	"cmp"
	"encoding/hex"
	"net/netip"
	"slices"
	"time"

	"github.com/gresec/gresec/internal/esp"
	"github.com/gresec/gresec/internal/ike"
	"github.com/gresec/gresec/internal/ikev2/wire"
)

// Snapshot is the engine's state as the operational views show it: a
// copy, valid after further calls. IPsec and Sessions have the rows of
// package ike, so that `show crypto ipsec sa` and `show crypto session`
// list the tunnels of both IKE versions alike.
type Snapshot struct {
	SAs      []SA
	IPsec    []ike.IPsecSA
	Sessions []ike.Session
}

// SA is one IKE SA, a row of `show crypto ikev2 sa [detailed]`.
type SA struct {
	TunnelID      int // IOS's running number of the IKE SA
	Local, Remote netip.AddrPort
	Status        string // READY, IN-NEG, DELETE
	Encryption    string // AES-CBC, AES-GCM
	KeyBits       int
	PRF, Hash     string // SHA256 ...; Hash "None" for AES-GCM
	Group         int
	AuthSign      string // PSK
	AuthVerify    string
	Lifetime      time.Duration // configured
	Active        time.Duration // since established
	SPIi, SPIr    string        // hex
	Initiator     bool
	LocalID       string
	RemoteID      string
	// Message IDs: of our next request, and of the peer's next; Window is
	// how many requests may be outstanding (RFC 7296 section 2.3).
	LocalNextMID, RemoteNextMID uint32
	Window                      int
	NATT                        bool
	LocalBehindNAT              bool
	RemoteBehindNAT             bool
	DPDInterval, DPDRetry       time.Duration // 0: not configured
	Children                    int           // CHILD_SAs on this IKE SA
	Tunnels                     []string      // the tunnels they protect
	// Session numbers the peer, as IOS's Session-id: the IKE SAs and
	// CHILD_SAs with one remote address form one IKEv2 session.
	Session int
	// ChildSAs are the CHILD_SAs on this IKE SA.
	ChildSAs []Child
}

// Child is one CHILD_SA, a "Child sa" of `show crypto ikev2 session`.
type Child struct {
	Tunnel string
	// LocalTS and RemoteTS are the traffic selectors it protects: GRE
	// between the tunnel's endpoints.
	LocalTS, RemoteTS wire.TrafficSelector
	InSPI, OutSPI     uint32
	Suite             esp.Suite
	Mode              ike.Mode
	Encap             bool // ESP in UDP
}

// Snapshot returns the state at now.
func (e *Engine) Snapshot(now time.Time) Snapshot {
	var s Snapshot
	id := 0
	for session, p := range e.peerOrder {
		for _, sa := range p.sas {
			id++
			r := saRow(sa, id, now)
			r.Session = session + 1
			s.SAs = append(s.SAs, r)
		}
	}
	names := make([]string, 0, len(e.tunnels))
	for n := range e.tunnels {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		t := e.tunnels[n]
		current := t.newest()
		for _, c := range t.children {
			mode := c.mode.String()
			if c.encap {
				mode += " UDP-Encaps"
			}
			s.IPsec = append(s.IPsec, ike.IPsecSA{
				Tunnel: t.p.Name, CryptoMapTag: t.p.Name + "-head-0",
				Local: t.p.Local, Remote: t.p.Remote, Protocol: t.p.Protocol,
				Peer: c.sa.remote, InSPI: c.inSPI, OutSPI: c.outSPI,
				Transform: c.suite.String(), Mode: mode, PFS: int(c.pfs),
				Lifetime: max(c.expireAt.Sub(now), 0), LifetimeKB: t.p.LifetimeKB,
				Current: c == current,
			})
		}
		s.Sessions = append(s.Sessions, sessionRow(t))
	}
	slices.SortStableFunc(s.IPsec, func(a, b ike.IPsecSA) int { return cmp.Compare(a.Tunnel, b.Tunnel) })
	return s
}

func saRow(sa *ikeSA, id int, now time.Time) SA {
	r := SA{
		TunnelID: id, Local: sa.local, Remote: sa.remote, Status: sa.state.String(),
		SPIi: hex.EncodeToString(sa.spiI[:]), SPIr: hex.EncodeToString(sa.spiR[:]),
		Initiator: sa.initiator, LocalNextMID: sa.nextMID, RemoteNextMID: sa.peerMID, Window: 1,
		NATT: sa.natt(), LocalBehindNAT: sa.natLocal, RemoteBehindNAT: sa.natRemote,
		AuthSign: "PSK", AuthVerify: "PSK", Lifetime: defaultIKELifetime,
	}
	if sa.replacedBy != nil && sa.state == saEstablished {
		r.Status = "DELETE"
	}
	if sa.suite.prf.h != nil {
		r.Encryption = "AES-CBC"
		if sa.suite.encr.aead() {
			r.Encryption = "AES-GCM"
		}
		r.KeyBits, r.PRF, r.Group = int(sa.suite.encr.keyBits), sa.suite.prf.name(), int(sa.suite.group)
		r.Hash = "None"
		if !sa.suite.encr.aead() {
			r.Hash = sa.suite.integ.name()
		}
	}
	if len(sa.peer.tunnels) > 0 {
		t := sa.peer.tunnels[0]
		r.LocalID = idText(localID(t, !sa.initiator))
		r.RemoteID = sa.peer.key.remote.String()
		if t.p.Profile.Lifetime > 0 {
			r.Lifetime = t.p.Profile.Lifetime
		}
	}
	if sa.state == saEstablished {
		r.Active = now.Sub(sa.established)
	}
	r.DPDInterval, r.DPDRetry, _ = sa.dpd()
	for _, t := range sa.peer.tunnels {
		n := 0
		for _, c := range t.children {
			if c.sa == sa {
				n++
				r.ChildSAs = append(r.ChildSAs, childRow(c))
			}
		}
		if n > 0 {
			r.Children += n
			r.Tunnels = append(r.Tunnels, t.p.Name)
		}
	}
	return r
}

// childRow describes a CHILD_SA; its selectors are those the engine
// proposes and accepts: the tunnel's endpoints and protocol.
func childRow(c *child) Child {
	p := c.tunnel.p
	return Child{
		Tunnel:  p.Name,
		LocalTS: wire.HostSelector(p.Local, p.Protocol), RemoteTS: wire.HostSelector(p.Remote, p.Protocol),
		InSPI: c.inSPI, OutSPI: c.outSPI, Suite: c.suite, Mode: c.mode, Encap: c.encap,
	}
}

func sessionRow(t *tunnel) ike.Session {
	s := ike.Session{
		Tunnel: t.p.Name, Local: t.p.Local, Remote: t.p.Remote, Protocol: t.p.Protocol,
		Peer: netip.AddrPortFrom(t.p.Remote, ike.Port), PFS: int(t.p.PFS),
		Lifetime: t.p.Lifetime, LifetimeKB: t.p.LifetimeKB, ActiveSAs: 2 * len(t.children),
	}
	for _, ts := range t.p.TransformSets {
		s.TransformSets = append(s.TransformSets, ts.Name)
	}
	for _, sa := range t.peer.sas {
		if sa.state == saEstablished {
			s.ISAKMPSAs++
			s.Peer = sa.remote
		}
	}
	switch {
	case len(t.children) > 0 && s.ISAKMPSAs > 0:
		s.Status = "UP-ACTIVE"
	case len(t.children) > 0:
		s.Status = "UP-NO-IKE"
	case t.peer.negotiating() || t.creating:
		s.Status = "DOWN-NEGOTIATING"
	default:
		s.Status = "DOWN"
	}
	return s
}

// idText is an identity as IOS shows it: the address, or the name.
func idText(id *wire.ID) string {
	if a, ok := id.Addr(); ok {
		return a.String()
	}
	return string(id.Data)
}
