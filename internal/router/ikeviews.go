package router

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gresec/gresec/internal/api"
	"github.com/gresec/gresec/internal/config"
	"github.com/gresec/gresec/internal/esp"
	"github.com/gresec/gresec/internal/ike"
	"github.com/gresec/gresec/internal/ikev2"
	"github.com/gresec/gresec/internal/ikev2/wire"
)

// ikeSnapshots returns the state of both IKE engines.
func (r *Router) ikeSnapshots() (ike.Snapshot, ikev2.Snapshot) {
	if r.ike == nil {
		return ike.Snapshot{}, ikev2.Snapshot{}
	}
	now := r.opts.Now()
	return r.ike.engine.Snapshot(now), r.ike.v2.Snapshot(now)
}

// isakmpSAs builds `show crypto isakmp sa`.
func (r *Router) isakmpSAs() api.ISAKMPSAs {
	var out api.ISAKMPSAs
	s, _ := r.ikeSnapshots()
	for _, s := range s.ISAKMP {
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

// cryptoSessions builds `show crypto session`: the tunnels of both IKE
// versions, an IKEv2 one with the IKE SAs of its peer.
func (r *Router) cryptoSessions() api.CryptoSessions {
	var out api.CryptoSessions
	s1, s2 := r.ikeSnapshots()
	session := func(s ike.Session, version int) api.CryptoSession {
		return api.CryptoSession{
			Interface: s.Tunnel, Peer: s.Peer.Addr().String(), PeerPort: int(s.Peer.Port()), Status: s.Status,
			ISAKMPSAs: s.ISAKMPSAs, ActiveSAs: s.ActiveSAs, Local: s.Local.String(), Remote: s.Remote.String(),
			IKEVersion: version,
		}
	}
	for _, s := range s1.Sessions {
		out.Sessions = append(out.Sessions, session(s, 1))
	}
	for _, s := range s2.Sessions {
		cs := session(s, 2)
		for _, sa := range s2.SAs {
			if sa.Local.Addr() == s.Local && sa.Remote.Addr() == s.Remote {
				cs.IKEv2SAs = append(cs.IKEv2SAs, api.SessionIKE{
					Local: sa.Local.Addr().String(), LocalPort: int(sa.Local.Port()),
					Remote: sa.Remote.Addr().String(), RemotePort: int(sa.Remote.Port()),
					Active: sa.Status == "READY",
				})
			}
		}
		out.Sessions = append(out.Sessions, cs)
	}
	slices.SortStableFunc(out.Sessions, func(a, b api.CryptoSession) int { return strings.Compare(a.Interface, b.Interface) })
	return out
}

// ikev2SAs builds `show crypto ikev2 sa [detailed]`.
func (r *Router) ikev2SAs() api.IKEv2SAs {
	_, s := r.ikeSnapshots()
	out := api.IKEv2SAs{SAs: []api.IKEv2SA{}}
	for _, sa := range s.SAs {
		out.SAs = append(out.SAs, ikev2SA(sa))
	}
	return out
}

// ikev2Sessions builds `show crypto ikev2 session [detailed]`: the IKE
// SAs grouped by peer.
func (r *Router) ikev2Sessions() api.IKEv2Sessions {
	_, s := r.ikeSnapshots()
	out := api.IKEv2Sessions{Sessions: []api.IKEv2Session{}}
	for _, sa := range s.SAs {
		if n := len(out.Sessions); n == 0 || out.Sessions[n-1].SessionID != sa.Session {
			out.Sessions = append(out.Sessions, api.IKEv2Session{SessionID: sa.Session})
		}
		ss := &out.Sessions[len(out.Sessions)-1]
		ss.SAs = append(ss.SAs, ikev2SA(sa))
	}
	for i := range out.Sessions {
		out.Sessions[i].Status = ikev2SessionStatus(out.Sessions[i].SAs)
	}
	return out
}

// ikev2SessionStatus is a session's status as IOS names it.
func ikev2SessionStatus(sas []api.IKEv2SA) string {
	up, children := false, 0
	for _, sa := range sas {
		up = up || sa.Status == "READY"
		children += len(sa.Children)
	}
	switch {
	case up && children > 0:
		return "UP-ACTIVE"
	case up:
		return "UP-IDLE"
	case children > 0:
		return "UP-NO-IKE"
	}
	return "DOWN-NEGOTIATING"
}

func ikev2SA(sa ikev2.SA) api.IKEv2SA {
	out := api.IKEv2SA{
		TunnelID: sa.TunnelID, SessionID: sa.Session,
		Local: sa.Local.Addr().String(), LocalPort: int(sa.Local.Port()),
		Remote: sa.Remote.Addr().String(), RemotePort: int(sa.Remote.Port()),
		Status: sa.Status, Encryption: sa.Encryption, KeyBits: sa.KeyBits, PRF: sa.PRF, Integrity: sa.Hash, Group: sa.Group,
		AuthSign: sa.AuthSign, AuthVerify: sa.AuthVerify,
		LifetimeSeconds: int(sa.Lifetime.Seconds()), ActiveSeconds: int(sa.Active.Seconds()),
		LocalSPI: sa.SPIr, RemoteSPI: sa.SPIi, LocalID: sa.LocalID, RemoteID: sa.RemoteID,
		LocalNextMID: sa.LocalNextMID, RemoteNextMID: sa.RemoteNextMID, Window: sa.Window,
		DPDInterval: int(sa.DPDInterval.Seconds()), DPDRetry: int(sa.DPDRetry.Seconds()),
		NATT: sa.NATT, LocalBehindNAT: sa.LocalBehindNAT, RemoteBehindNAT: sa.RemoteBehindNAT,
		Initiator: sa.Initiator, Tunnels: sa.Tunnels,
	}
	if sa.Initiator {
		out.LocalSPI, out.RemoteSPI = sa.SPIi, sa.SPIr
	}
	if sa.Hash == "None" { // AES-GCM
		out.Integrity = ""
	}
	for _, c := range sa.ChildSAs {
		mode := "transport"
		if c.Mode == ike.ModeTunnel {
			mode = "tunnel"
		}
		out.Children = append(out.Children, api.IKEv2Child{
			Interface: c.Tunnel, LocalSelector: trafficRange(c.LocalTS), RemoteSelector: trafficRange(c.RemoteTS),
			InSPI: c.InSPI, OutSPI: c.OutSPI,
			Integrity: espIntegrity(c.Suite.Integrity), Mode: mode, UDPEncap: c.Encap,
		})
		ch := &out.Children[len(out.Children)-1]
		ch.Encryption, ch.KeyBits = espCipher(c.Suite.Cipher)
	}
	return out
}

// espCipher names an ESP cipher by its algorithm and key size, as the
// IKE SA's own encryption is named.
func espCipher(c esp.Cipher) (string, int) {
	switch c {
	case esp.AES128CBC:
		return "AES-CBC", 128
	case esp.AES192CBC:
		return "AES-CBC", 192
	case esp.AES256CBC:
		return "AES-CBC", 256
	case esp.AES128GCM:
		return "AES-GCM", 128
	case esp.AES256GCM:
		return "AES-GCM", 256
	}
	return c.String(), 0
}

// espIntegrity names an ESP integrity transform by its hash; "" for none.
func espIntegrity(i esp.Integrity) string {
	switch i {
	case esp.HMACSHA1:
		return "SHA1"
	case esp.HMACSHA256:
		return "SHA256"
	case esp.HMACSHA384:
		return "SHA384"
	case esp.HMACSHA512:
		return "SHA512"
	}
	return ""
}

func trafficRange(ts wire.TrafficSelector) api.TrafficRange {
	return api.TrafficRange{
		StartAddr: ts.Start.String(), EndAddr: ts.End.String(),
		StartPort: int(ts.StartPort), EndPort: int(ts.EndPort), Protocol: int(ts.IPProtocol),
	}
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

// clear runs `clear crypto session`, `clear crypto isakmp` and `clear
// crypto ikev2 sa`.
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
