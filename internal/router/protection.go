package router

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gresec/gresec/internal/config"
	"github.com/gresec/gresec/internal/dataplane"
	"github.com/gresec/gresec/internal/esp"
)

const (
	// oldSAGrace is how long a replaced inbound SA still accepts packets
	// after a rekey (make-before-break: the peer may still send on it).
	oldSAGrace = 30 * time.Second
	// switchDelay is how long a rekey waits before sending on the new
	// outbound SA, so that the peer has installed the matching inbound SA
	// (its half of the exchange may be a round trip behind ours). Until
	// then the old SA carries the traffic: no packet is lost either way.
	switchDelay = time.Second
)

// PairSpec is one SA pair for a protected tunnel, as IKE negotiates it (or,
// in tests, as a test installs it).
type PairSpec struct {
	Suite      esp.Suite
	TunnelMode bool
	InSPI      uint32
	OutSPI     uint32
	InEncKey   []byte
	InAuthKey  []byte
	OutEncKey  []byte
	OutAuthKey []byte
	// Encap is nil for raw ESP (IP protocol 50), else ESP in UDP.
	Encap      *UDPEncap
	Lifetime   time.Duration // 0: none
	LifetimeKB uint64        // 0: none
}

// UDPEncap is the UDP encapsulation of an SA pair (RFC 3948).
type UDPEncap struct {
	LocalPort, RemotePort uint16
}

// saPair is an installed SA pair.
type saPair struct {
	spec      PairSpec
	in, out   *esp.SA
	installed time.Time
	// activeAt is when the outbound SA starts carrying traffic.
	activeAt time.Time
	// retireAt is set once a newer pair replaced this one: the inbound SA
	// is removed then.
	retireAt time.Time
	// outMu serialises sealing on out (see dataplane.Protection).
	outMu sync.Mutex
	// rekeyAsked is set once IKE was asked to replace this pair at its
	// soft volume limit (or near the end of its sequence numbers).
	rekeyAsked bool
	// deleted is set when IKE deleted the pair: it sends nothing more and
	// its inbound SA accepts packets already on the way until retireAt.
	deleted bool
}

// deleteGrace is how long a deleted pair's inbound SA still accepts
// packets: those the peer sent before it deleted the pair too (when both
// ends negotiated at once, both drop the losing pair at the same moment
// while traffic flows on it).
const deleteGrace = 2 * time.Second

// InstallPair installs an SA pair on a protected tunnel. A pair already
// there is replaced make-before-break: outbound moves to the new SA at
// once, the old inbound SA keeps accepting for a grace period.
func (r *Router) InstallPair(tunnel string, s PairSpec) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.installPairLocked(tunnel, s); err != nil {
		return err
	}
	r.Kick()
	return nil
}

func (r *Router) installPairLocked(tunnel string, s PairSpec) error {
	it := r.ifs[tunnel]
	if it == nil || it.cfg.Kind != config.Tunnel || it.dp == nil {
		return fmt.Errorf("%s: no such tunnel", tunnel)
	}
	if it.cfg.Tunnel.ProtectionProfile == "" {
		return fmt.Errorf("%s: not protected (no tunnel protection)", tunnel)
	}
	if s.InSPI == 0 || s.OutSPI == 0 {
		return errors.New("SPI 0 is reserved")
	}
	out, err := esp.NewOutbound(s.OutSPI, s.Suite, s.OutEncKey, s.OutAuthKey, false)
	if err != nil {
		return fmt.Errorf("%s: outbound SA 0x%08x: %w", tunnel, s.OutSPI, err)
	}
	in, err := esp.NewInbound(s.InSPI, s.Suite, s.InEncKey, s.InAuthKey, false, r.cfg.ReplayWindow)
	if err != nil {
		return fmt.Errorf("%s: inbound SA 0x%08x: %w", tunnel, s.InSPI, err)
	}
	if s.LifetimeKB > 0 {
		hard := s.LifetimeKB * 1024
		l := esp.Lifetime{SoftBytes: hard / 10 * 9, HardBytes: hard}
		out.SetLifetime(l)
		in.SetLifetime(l)
	}
	now := r.opts.Now()
	activeAt := now
	for _, old := range it.sas {
		if old.retireAt.IsZero() {
			old.retireAt = now.Add(switchDelay + oldSAGrace)
			activeAt = now.Add(switchDelay)
		}
	}
	it.sas = append([]*saPair{{spec: s, in: in, out: out, installed: now, activeAt: activeAt}}, it.sas...)
	r.keylogSA(it, s)
	r.applyProtection(it)
	return nil
}

// DeletePair removes the SA pair with the given inbound SPI (a DELETE from
// the peer, an expiry, a dead peer). Without an outbound SA left the tunnel
// fails closed.
func (r *Router) DeletePair(tunnel string, inSPI uint32) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.deletePairLocked(tunnel, inSPI)
}

func (r *Router) deletePairLocked(tunnel string, inSPI uint32) {
	it := r.ifs[tunnel]
	if it == nil {
		return
	}
	now := r.opts.Now()
	for _, p := range it.sas {
		if p.spec.InSPI == inSPI && !p.deleted {
			p.deleted = true
			if end := now.Add(deleteGrace); p.retireAt.IsZero() || end.Before(p.retireAt) {
				p.retireAt = end
			}
		}
	}
	// When both ends negotiate at once, two new pairs come a moment apart
	// and the first was set to retire as the second came; the engine then
	// keeps one of them, which may be that first one: the newest pair left
	// must not retire (it would leave the tunnel without SAs while the
	// engine counts it as live).
	var newest *saPair
	for _, p := range it.sas {
		if !p.deleted {
			if p.retireAt.IsZero() {
				newest = nil
				break
			}
			if newest == nil {
				newest = p
			}
		}
	}
	if newest != nil {
		newest.retireAt = time.Time{}
	}
	r.applyProtection(it)
	it.saNext = r.expireSAs(now, it)
}

// movePeerLocked follows a peer behind a NAT to its new port (ike.PeerMoved):
// every SA pair with ESP in UDP from our local port now sends to the new
// remote port, and applyProtection re-connects the tunnel's ESP socket
// there. Keys, SPIs, counters and replay windows stay as they are.
func (r *Router) movePeerLocked(tunnel string, e UDPEncap) {
	it := r.ifs[tunnel]
	if it == nil || it.dp == nil {
		return
	}
	for _, p := range it.sas {
		if p.spec.Encap != nil && p.spec.Encap.LocalPort == e.LocalPort {
			p.spec.Encap = &UDPEncap{LocalPort: e.LocalPort, RemotePort: e.RemotePort}
		}
	}
	r.applyProtection(it)
}

// applyProtection hands the tunnel's current SAs to its data plane and
// makes sure the ESP socket matches the newest pair's encapsulation.
func (r *Router) applyProtection(it *iface) {
	if len(it.sas) == 0 {
		it.outPair = nil
		it.dp.SetProtection(nil)
		r.setESPPort(it, portKey{esp: true})
		return
	}
	// The newest pair not deleted whose outbound side is active and not
	// expired sends (none: the tunnel fails closed); every pair's inbound
	// side receives.
	var cur, oldest *saPair
	now := r.opts.Now()
	for _, p := range it.sas {
		if p.deleted || p.out.Expired() {
			continue
		}
		if cur == nil && !now.Before(p.activeAt) {
			cur = p
		}
		oldest = p
	}
	if cur == nil {
		cur = oldest
	}
	it.outPair = cur
	enc := it.sas[0] // whose encapsulation the ESP port follows
	prot := &dataplane.Protection{TunnelMode: enc.spec.TunnelMode}
	if cur != nil {
		enc = cur
		prot.Out, prot.OutMu, prot.TunnelMode = cur.out, &cur.outMu, cur.spec.TunnelMode
	}
	for _, p := range it.sas {
		prot.In = append(prot.In, p.in)
	}
	it.dp.SetProtection(prot)
	key := portKey{esp: true, src: it.src, opts: r.underlayOptions(it)}
	if e := enc.spec.Encap; e != nil {
		key.udp, key.encap, key.dst = true, *e, it.cfg.Tunnel.Destination
	}
	r.setESPPort(it, key)
}

// setESPPort attaches the tunnel to the ESP port for key, logging a
// failure to open it (the tunnel then fails closed).
func (r *Router) setESPPort(it *iface, key portKey) {
	if err := r.attachPort(it, key); err != nil {
		r.log.Warn(fmt.Sprintf("%s: ESP socket: %v", it.cfg.Name, err))
	}
}

// expireSAs removes retired inbound SAs past their grace period and pairs
// past their lifetime; it returns when it next needs to run.
func (r *Router) expireSAs(now time.Time, it *iface) time.Time {
	var next time.Time
	soon := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	kept := it.sas[:0]
	changed := false
	var rekey *saPair // the pair that asks IKE for its replacement
	for _, p := range it.sas {
		if p.activeAt.After(now) {
			soon(p.activeAt)
		} else if it.outPair != nil && p != it.outPair && !p.deleted && p.installed.After(it.outPair.installed) {
			changed = true // a newer pair's outbound side became active
		}
		var end time.Time
		if p.spec.Lifetime > 0 && r.ike == nil {
			// The IKE engine owns the time lifetime of the pairs it made
			// (it deletes them); only static pairs expire here.
			end = p.installed.Add(p.spec.Lifetime)
		}
		if !p.retireAt.IsZero() && (end.IsZero() || p.retireAt.Before(end)) {
			end = p.retireAt
		}
		if p == it.outPair && !p.rekeyAsked && (p.out.SoftExpired() || p.in.SoftExpired()) && r.ike != nil {
			// The volume (or sequence number) soft limit: IKE negotiates a
			// replacement before the hard limit fails the tunnel closed.
			p.rekeyAsked = true
			rekey = p
		}
		// An outbound SA at its hard limit sends no more, but once a newer
		// pair is installed the old inbound SA stays until its retirement:
		// its volume is its own, and the peer may still send on it
		// (strongSwan, as responder of a CHILD_SA rekey, moves its
		// outbound side only when the initiator deletes the old pair).
		outDone := p.out.Expired() && !p.in.Expired() && p != it.sas[0]
		if outDone && p == it.outPair {
			changed = true // outbound moves to the newer pair now
		}
		volume := !outDone && (p.out.Expired() || p.in.Expired())
		if (!end.IsZero() && !now.Before(end)) || volume {
			changed = true
			it.retired.add(p)
			// A pair the engine did not replace in time: it still counts
			// it as live (volume is the data plane's), so ask again.
			if volume && !p.deleted && r.ike != nil {
				rekey = p
			}
			continue
		}
		soon(end)
		kept = append(kept, p)
	}
	it.sas = kept
	if changed {
		r.applyProtection(it)
	}
	if rekey != nil {
		r.handleIKE(r.ike.engineFor(it.cfg.Name).Rekey(now, it.cfg.Name, rekey.spec.InSPI))
	}
	return next
}

// keylogSA appends the SA pair to the --keylog file in the format of
// Wireshark's esp_sa table, one line per direction, of the underlay's
// family (Wireshark looks IPv6 ESP up among the IPv6 entries only).
func (r *Router) keylogSA(it *iface, s PairSpec) {
	family := "IPv4"
	if it.cfg.Tunnel.Mode == config.ModeGREIPv6 {
		family = "IPv6"
	}
	line := func(spi uint32, enc, auth []byte) string {
		return fmt.Sprintf("\"%s\",\"*\",\"*\",\"0x%08x\",\"%s\",\"0x%x\",\"%s\",\"0x%x\"",
			family, spi, s.Suite.WiresharkEncryption(), enc, s.Suite.WiresharkAuthentication(), auth)
	}
	r.keylog(line(s.OutSPI, s.OutEncKey, s.OutAuthKey), line(s.InSPI, s.InEncKey, s.InAuthKey))
}

// saTotals accumulates the counters of SAs that are gone, so that the
// tunnel's IPsec counters do not go backwards at a rekey.
type saTotals struct {
	encaps, decaps, auth, replay, sendErr, recvErr uint64
}

func (t *saTotals) add(p *saPair) {
	o, i := p.out.Stats(), p.in.Stats()
	t.encaps += o.Packets
	t.sendErr += o.Errors
	t.decaps += i.Packets
	t.auth += i.AuthFailures
	t.replay += i.ReplayFailures
	t.recvErr += i.Errors
}
