package router

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"time"

	"github.com/gresec/gresec/internal/config"
	"github.com/gresec/gresec/internal/dataplane"
	"github.com/gresec/gresec/internal/ike"
	"github.com/gresec/gresec/internal/ikev2"
)

// ikeSide is the daemon's IKE control plane: the engine, its UDP sockets
// (one per tunnel source address and port, opened only while a protected
// tunnel needs them) and what it has been asked to protect.
type ikeSide struct {
	engine  *ike.Engine
	v2      *ikev2.Engine
	socks   map[ikeSockKey]IKESocket
	started map[string]ike.Protect
	// started2 are the tunnels the IKEv2 engine protects.
	started2 map[string]ikev2.Protect
	// decrypted remembers each tunnel's decrypted-packet count, to tell
	// the engine about traffic from the peer (on-demand DPD).
	decrypted map[string]uint64
}

func (r *Router) ikeConfig(cfg *config.Config) ike.Config {
	c := ike.Config{
		PSK: func(peer netip.Addr) (string, bool) {
			k, ok := cfg.KeyFor(peer)
			if !ok {
				return "", false
			}
			return k.Key, true
		},
		KeyedPeer: func(peer netip.Addr) bool {
			k, ok := cfg.KeyFor(peer)
			return ok && k.Peer.Bits() > 0 // not the wildcard 0.0.0.0
		},
		DPD:           cfg.DPD,
		NATKeepalive:  cfg.NATKeepalive,
		ForceUDPEncap: cfg.ForceUDPEncap,
		KeyLog:        r.opts.KeyLog != "",
	}
	for _, p := range cfg.ISAKMPPolicies {
		c.Policies = append(c.Policies, *p)
	}
	return c
}

// protectFor is what the engine must negotiate for a protected tunnel,
// and the IKEv2 profile that negotiates it ("" for IKEv1).
func (r *Router) protectFor(it *iface) (ike.Protect, string, error) {
	tc := it.cfg.Tunnel
	prof := r.cfg.Profile(tc.ProtectionProfile)
	if prof == nil {
		return ike.Protect{}, "", fmt.Errorf("%s: no profile %s", it.cfg.Name, tc.ProtectionProfile)
	}
	p := ike.Protect{
		Name: it.cfg.Name, Local: it.src, Remote: tc.Destination, Protocol: 47,
		PFS: prof.PFS, Lifetime: prof.LifetimeSeconds, LifetimeKB: prof.LifetimeKilobytes,
	}
	for _, name := range prof.TransformSets {
		if ts := r.cfg.TransformSet(name); ts != nil {
			p.TransformSets = append(p.TransformSets, *ts)
		}
	}
	return p, prof.IKEv2Profile, nil
}

// syncIKE starts negotiation for every protected tunnel that is not shut
// down and has a source address (the line protocol need not be up: a
// keepalive that waits for the SA must not keep the SA from coming), and
// stops it for the others. With no protected tunnel, no IKE port is open.
func (r *Router) syncIKE(now time.Time) {
	want := map[string]ike.Protect{}
	want2 := map[string]ikev2.Protect{}
	for _, ic := range r.cfg.Interfaces {
		it := r.ifs[ic.Name]
		if it == nil || ic.Kind != config.Tunnel || ic.Tunnel.ProtectionProfile == "" || ic.Shutdown || !it.src.IsValid() {
			continue
		}
		p, v2, err := r.protectFor(it)
		if err != nil {
			r.warnOnce(it, err.Error())
			continue
		}
		if v2 != "" {
			p2, err := r.protectV2(p, v2)
			if err != nil {
				r.warnOnce(it, err.Error())
				continue
			}
			want2[ic.Name] = p2
			continue
		}
		want[ic.Name] = p
	}
	if len(want)+len(want2) == 0 && r.ike == nil {
		return
	}
	if r.ike == nil {
		eng, err := ike.New(r.ikeConfig(r.cfg))
		if err != nil {
			r.log.Error(fmt.Sprintf("IKE: %v", err))
			return
		}
		v2, err := ikev2.New(r.ikev2Config(r.cfg))
		if err != nil {
			r.log.Error(fmt.Sprintf("IKEv2: %v", err))
			return
		}
		r.ike = &ikeSide{engine: eng, v2: v2, socks: map[ikeSockKey]IKESocket{}, started: map[string]ike.Protect{},
			started2: map[string]ikev2.Protect{}, decrypted: map[string]uint64{}}
	}
	x := r.ike
	for name, p := range x.started {
		if w, ok := want[name]; !ok || !sameProtect(w, p) {
			r.handleIKE(x.engine.Stop(now, name))
			delete(x.started, name)
		}
	}
	for name, p := range x.started2 {
		if w, ok := want2[name]; !ok || !w.Equal(p) {
			r.handleIKE(x.v2.Stop(now, name))
			delete(x.started2, name)
		}
	}
	wantSocks := map[ikeSockKey]bool{}
	openSocks := func(p ike.Protect) {
		for _, port := range []uint16{ike.Port, ike.NATTPort} {
			key := ikeSockKey{local: netip.AddrPortFrom(p.Local, port), mark: r.ikeMark(p.Remote)}
			wantSocks[key] = true
			r.ikeSocket(key.local, key.mark)
		}
	}
	for name, p := range want {
		openSocks(p)
		if _, ok := x.started[name]; ok {
			continue
		}
		acts, err := x.engine.Start(now, p)
		if err != nil {
			r.log.Warn(fmt.Sprintf("%s: IKE: %v", name, err))
			continue
		}
		x.started[name] = p
		r.handleIKE(acts)
	}
	for name, p := range want2 {
		openSocks(p.Protect)
		if _, ok := x.started2[name]; ok {
			continue
		}
		acts, err := x.v2.Start(now, p)
		if err != nil {
			r.log.Warn(fmt.Sprintf("%s: IKEv2: %v", name, err))
			continue
		}
		x.started2[name] = p
		r.handleIKE(acts)
	}
	// On-demand DPD needs to know the peer is alive: tell the engine when
	// a tunnel decrypted something since the last pass.
	for _, name := range x.names() {
		if it := r.ifs[name]; it != nil && it.dp != nil {
			if n := it.dp.C.Load(dataplane.Decrypted); n != x.decrypted[name] {
				x.decrypted[name] = n
				r.handleIKE(x.engineFor(name).DataplaneActivity(now, name))
			}
		}
	}
	// ESP on an SPI no tunnel has: the peer kept SAs we lost (this side
	// restarted, or a DELETE went missing). The engine answers with a
	// protected INVALID-SPI, rate limited, so it renegotiates at once.
	for _, sh := range r.ports {
		if name, spi := sh.takeUnknownSPI(); name != "" {
			r.handleIKE(x.engineFor(name).UnknownSPI(now, name, spi))
		}
	}
	r.handleIKE(x.engine.Tick(now))
	r.handleIKE(x.v2.Tick(now))
	if len(want)+len(want2) == 0 {
		r.closeIKE()
		return
	}
	// Sockets no tunnel needs any more (a reload changed a source
	// address or a route-via mark) are closed, once the engine has said
	// its DELETEs through them.
	for key, c := range x.socks {
		if !wantSocks[key] {
			c.Close()
			delete(x.socks, key)
		}
	}
}

func sameProtect(a, b ike.Protect) bool {
	return a.Name == b.Name && a.Local == b.Local && a.Remote == b.Remote && a.PFS == b.PFS &&
		a.Lifetime == b.Lifetime && a.LifetimeKB == b.LifetimeKB && slices.Equal(a.TransformSets, b.TransformSets)
}

// closeIKE closes the IKE sockets and forgets the engine.
func (r *Router) closeIKE() {
	if r.ike == nil {
		return
	}
	for _, c := range r.ike.socks {
		c.Close()
	}
	r.ike = nil
}

// ikeSockKey identifies an IKE socket: its address and port, and the
// route-via mark of the tunnels whose peers it talks to (0: none).
type ikeSockKey struct {
	local netip.AddrPort
	mark  uint32
}

// ikeMark is the route-via mark of the tunnel towards peer, if it has one:
// IKE must take the pinned path too, or a recursive route would draw it
// into the tunnel it negotiates for.
func (r *Router) ikeMark(peer netip.Addr) uint32 {
	for _, ic := range r.cfg.Interfaces {
		if ic.Kind == config.Tunnel && ic.Tunnel.Destination == peer {
			if it := r.ifs[ic.Name]; it != nil {
				return r.underlayOptions(it).Mark
			}
		}
	}
	return 0
}

// ikeSocket opens (once) the IKE socket for a local address and port with
// a route-via mark.
func (r *Router) ikeSocket(local netip.AddrPort, mark uint32) IKESocket {
	key := ikeSockKey{local: local, mark: mark}
	if c := r.ike.socks[key]; c != nil {
		return c
	}
	c, err := r.host.ListenIKE(local, mark)
	if err != nil {
		r.log.Warn(fmt.Sprintf("IKE: %v", err))
		return nil
	}
	r.ike.socks[key] = c
	go r.readIKE(c, local)
	return c
}

// readIKE hands what an IKE socket receives to the main loop.
//
// On port 4500 this socket shares the port (SO_REUSEPORT) with each
// tunnel's ESP-in-UDP socket, which is connected to the peer's address and
// port; the kernel prefers the connected socket, so this one gets only what
// comes from elsewhere. When a NAT in front of the peer makes a new mapping
// (RFC 3948 "peer port changes followed"), the peer's ESP arrives from a
// new port and so lands here, where the engine ignores it as not IKE: it
// is dropped until the first authenticated IKE message from the new port
// moves the peer (ike.PeerMoved, movePeerLocked re-connects the ESP
// socket). That is a deliberate choice: ESP from an unknown port is not
// authenticated until decrypted, and following it would let anyone who can
// forge a source address redirect our ESP; IKE moves the port only after a
// message's HASH checked. The gap is short in practice: the side behind the
// NAT hears nothing from us once its mapping changed, so its DPD (periodic,
// or on-demand when idle) sends an R-U-THERE within one keepalive interval
// (10 s in the reference configuration), and a Quick Mode or any other
// informational message moves the peer as well. Without `crypto isakmp
// keepalive` the peer moves at the next rekey at the latest.
func (r *Router) readIKE(c IKESocket, local netip.AddrPort) {
	buf := make([]byte, 65536)
	for {
		n, from, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		r.deliverIKE(ike.Datagram{Local: local, Remote: netip.AddrPortFrom(from.Addr().Unmap(), from.Port()), Data: append([]byte(nil), buf[:n]...)})
	}
}

// deliverIKE queues a datagram for the engine; a full queue drops it (IKE
// retransmits), so a flood cannot block the readers.
func (r *Router) deliverIKE(d ike.Datagram) {
	select {
	case r.ikeIn <- d:
	default:
	}
}

// receiveIKE runs the engine on one datagram.
func (r *Router) receiveIKE(d ike.Datagram) {
	if r.ike == nil {
		return
	}
	if ikeMajor(d) == 2 {
		r.handleIKE(r.ike.v2.Receive(r.opts.Now(), d))
		return
	}
	r.handleIKE(r.ike.engine.Receive(r.opts.Now(), d))
}

// handleIKE carries out the engine's actions.
func (r *Router) handleIKE(acts []ike.Action) {
	for _, a := range acts {
		switch a := a.(type) {
		case ike.Send:
			c := r.ikeSocket(a.Local, r.ikeMark(a.Remote.Addr()))
			if c == nil {
				continue
			}
			if _, err := c.WriteToUDPAddrPort(a.Data, a.Remote); err != nil {
				r.log.Debug("IKE send", "to", a.Remote, "err", err)
			}
		case ike.InstallPair:
			s := PairSpec{Suite: a.Suite, TunnelMode: a.Mode == ike.ModeTunnel,
				InSPI: a.In.SPI, OutSPI: a.Out.SPI,
				InEncKey: a.In.EncKey, InAuthKey: a.In.AuthKey, OutEncKey: a.Out.EncKey, OutAuthKey: a.Out.AuthKey,
				Lifetime: a.Lifetime, LifetimeKB: a.LifetimeKB}
			if a.Encap != nil {
				s.Encap = &UDPEncap{LocalPort: a.Encap.LocalPort, RemotePort: a.Encap.RemotePort}
			}
			if err := r.installPairLocked(a.Tunnel, s); err != nil {
				r.log.Error(fmt.Sprintf("%s: installing SA: %v", a.Tunnel, err))
			}
		case ike.PeerMoved:
			r.log.Info(fmt.Sprintf("%s: peer moved to %s (NAT mapping changed); ESP in UDP follows", a.Tunnel, a.Remote), "interface", a.Tunnel)
			r.movePeerLocked(a.Tunnel, UDPEncap{LocalPort: a.Encap.LocalPort, RemotePort: a.Encap.RemotePort})
		case ike.DeletePair:
			r.deletePairLocked(a.Tunnel, a.InSPI)
		case ike.PeerDead:
			r.log.Warn(fmt.Sprintf("%%CRYPTO-4-DPD: peer %s is dead (dead peer detection); its SAs are deleted", a.Remote))
		case ike.SessionUp:
			r.log.Info(fmt.Sprintf("%%CRYPTO-5-SESSION_STATUS: Crypto tunnel is UP. Peer %s Id: %s", a.Peer, a.Peer.Addr()), "interface", a.Tunnel)
		case ike.SessionDown:
			r.log.Info(fmt.Sprintf("%%CRYPTO-5-SESSION_STATUS: Crypto tunnel is DOWN. Peer %s Id: %s", a.Peer, a.Peer.Addr()), "interface", a.Tunnel)
		case ike.KeyLogIKE:
			r.keylog(a.Line())
		case ike.KeyLogIKEv2:
			r.keylog(a.Line())
		case ike.KeyLogESP:
			// installPairLocked writes the ESP keys itself.
		case ike.Log:
			args := []any{}
			if a.Peer.IsValid() {
				args = append(args, "peer", a.Peer)
			}
			r.log.Log(context.Background(), a.Level, a.Msg, args...)
		}
	}
}

// ikeWake is when the engine next needs time to pass.
func (r *Router) ikeWake() time.Time {
	if r.ike == nil {
		return time.Time{}
	}
	w, w2 := r.ike.engine.NextWake(), r.ike.v2.NextWake()
	if w.IsZero() || (!w2.IsZero() && w2.Before(w)) {
		return w2
	}
	return w
}

// ikeControl lets ESP-in-UDP sockets pass IKE messages they receive (a
// connected socket gets all of its peer's datagrams on port 4500).
func (r *Router) ikeControl(local netip.AddrPort) func([]byte, netip.AddrPort) {
	return func(data []byte, from netip.AddrPort) {
		r.deliverIKE(ike.Datagram{Local: local, Remote: from, Data: data})
	}
}

// startedFor reports whether IKE was asked to protect a tunnel (nil-safe).
func (x *ikeSide) startedFor(name string) (ike.Protect, bool) {
	if x == nil {
		return ike.Protect{}, false
	}
	if p, ok := x.started2[name]; ok {
		return p.Protect, true
	}
	p, ok := x.started[name]
	return p, ok
}

// tunnelEngine is what the router asks of an IKE engine about one tunnel.
type tunnelEngine interface {
	Stop(now time.Time, name string) []ike.Action
	DataplaneActivity(now time.Time, name string) []ike.Action
	UnknownSPI(now time.Time, tunnel string, spi uint32) []ike.Action
	Rekey(now time.Time, name string, inSPI uint32) []ike.Action
}

// engineFor returns the engine that protects a tunnel: IKEv2's when its
// profile names an IKEv2 profile, else IKEv1's.
func (x *ikeSide) engineFor(name string) tunnelEngine {
	if _, ok := x.started2[name]; ok {
		return x.v2
	}
	return x.engine
}

// names returns the protected tunnels of both engines.
func (x *ikeSide) names() []string {
	out := make([]string, 0, len(x.started)+len(x.started2))
	for n := range x.started {
		out = append(out, n)
	}
	for n := range x.started2 {
		out = append(out, n)
	}
	return out
}
