package router

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gresec/gresec/internal/api"
	"github.com/gresec/gresec/internal/config"
	"github.com/gresec/gresec/internal/ike"
)

func (r *Router) ikeSnapshot() ike.Snapshot {
	if r.ike == nil {
		return ike.Snapshot{}
	}
	s := r.ike.engine.Snapshot(r.opts.Now())
	s2 := r.ike.v2.Snapshot(r.opts.Now())
	// IKEv2's tunnels appear in the views of SA pairs and sessions too.
	s.IPsec = append(s.IPsec, s2.IPsec...)
	s.Sessions = append(s.Sessions, s2.Sessions...)
	slices.SortStableFunc(s.IPsec, func(a, b ike.IPsecSA) int { return strings.Compare(a.Tunnel, b.Tunnel) })
	slices.SortStableFunc(s.Sessions, func(a, b ike.Session) int { return strings.Compare(a.Tunnel, b.Tunnel) })
	return s
}

// isakmpSAs builds `show crypto isakmp sa`.
func (r *Router) isakmpSAs() api.ISAKMPSAs {
	var out api.ISAKMPSAs
	for _, s := range r.ikeSnapshot().ISAKMP {
		out.SAs = append(out.SAs, api.ISAKMPSA{
			Dst: s.Dst.String(), Src: s.Src.String(), State: s.State, ConnID: s.ConnID, Status: s.Status,
			Initiator: s.Initiator, InitiatorCookie: s.InitiatorCookie, ResponderCookie: s.ResponderCookie,
			Cipher: s.Cipher, KeyBits: s.KeyBits, Hash: s.Hash, Auth: s.Auth, Group: s.Group,
			LifetimeSeconds: int(s.Lifetime.Seconds()), Local: s.Local.String(), Remote: s.Remote.String(),
			NATT: s.NATT, LocalBehindNAT: s.LocalBehindNAT, RemoteBehindNAT: s.RemoteBehindNAT, DPD: s.DPD,
		})
	}
	return out
}

// cryptoSessions builds `show crypto session`.
func (r *Router) cryptoSessions() api.CryptoSessions {
	var out api.CryptoSessions
	for _, s := range r.ikeSnapshot().Sessions {
		out.Sessions = append(out.Sessions, api.CryptoSession{
			Interface: s.Tunnel, Peer: s.Peer.Addr().String(), PeerPort: int(s.Peer.Port()), Status: s.Status,
			ISAKMPSAs: s.ISAKMPSAs, ActiveSAs: s.ActiveSAs, Local: s.Local.String(), Remote: s.Remote.String(),
		})
	}
	return out
}

// cryptoMaps builds `show crypto map`: IOS turns each protected tunnel's
// profile into a crypto map named after the tunnel.
func (r *Router) cryptoMaps() api.CryptoMaps {
	var out api.CryptoMaps
	for _, ic := range r.cfg.Interfaces {
		if ic.Kind != config.Tunnel || ic.Tunnel.ProtectionProfile == "" {
			continue
		}
		it := r.ifs[ic.Name]
		prof := r.cfg.Profile(ic.Tunnel.ProtectionProfile)
		if it == nil || prof == nil {
			continue
		}
		src := "(unresolved)"
		if it.src.IsValid() {
			src = it.src.String()
		}
		m := api.CryptoMap{
			Tag: ic.Name + "-head-0", Profile: prof.Name, Peer: ic.Tunnel.Destination.String(),
			ACL:           api.HostGRE(src),
			ACLDest:       api.HostGRE(ic.Tunnel.Destination.String()),
			TransformSets: prof.TransformSets, PFSGroup: int(prof.PFS),
			LifetimeSeconds: int(prof.LifetimeSeconds.Seconds()), LifetimeKB: prof.LifetimeKilobytes,
			Interface: ic.Name,
		}
		out.Maps = append(out.Maps, m)
	}
	return out
}

// clear runs `clear crypto session` and `clear crypto isakmp`.
func (r *Router) clear(args []string) api.Response {
	r.mu.Lock()
	defer r.mu.Unlock()
	defer r.Kick() // the main loop's timers follow what was cleared
	what := strings.Join(args, " ")
	if r.ike == nil {
		return api.Response{Data: "no crypto sessions"}
	}
	now := r.opts.Now()
	switch what {
	case "crypto session":
		r.handleIKE(r.ike.engine.ClearSessions(now))
		r.handleIKE(r.ike.v2.ClearSessions(now))
	case "crypto ikev2 sa":
		r.handleIKE(r.ike.v2.ClearSessions(now))
	case "crypto isakmp":
		r.handleIKE(r.ike.engine.ClearISAKMP(now))
	default:
		return api.Response{Error: fmt.Sprintf("unknown clear command %q", what)}
	}
	r.Kick()
	return api.Response{Data: what + " cleared"}
}

// cryptoSockets builds `show crypto socket`.
func (r *Router) cryptoSockets() api.CryptoSockets {
	var out api.CryptoSockets
	for _, ic := range r.cfg.Interfaces {
		if ic.Kind != config.Tunnel || ic.Tunnel.ProtectionProfile == "" {
			continue
		}
		it := r.ifs[ic.Name]
		if it == nil {
			continue
		}
		s := api.CryptoSocket{
			Interface: ic.Name, Local: it.src.String(), Remote: ic.Tunnel.Destination.String(),
			LocalIdent:  api.HostGRE(it.src.String()),
			RemoteIdent: api.HostGRE(ic.Tunnel.Destination.String()),
			Profile:     ic.Tunnel.ProtectionProfile, MapTag: ic.Name + "-head-0",
		}
		_, negotiating := r.ike.startedFor(ic.Name)
		switch {
		case it.outPair != nil:
			s.State = "Open"
		case negotiating:
			s.State = "Opening"
		default:
			s.State = "Closed"
		}
		out.Sockets = append(out.Sockets, s)
	}
	return out
}
