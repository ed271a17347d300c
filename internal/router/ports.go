package router

import (
	"fmt"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/gresec/gresec/internal/dataplane"
	"github.com/gresec/gresec/internal/linux"
)

// portKey identifies an underlay socket that tunnels share: GRE in clear
// (raw IP 47) or ESP (raw IP 50) of one source address and route-via pin,
// whatever the peer; or ESP in UDP between two ports, which is connected
// to its peer. A hub's tunnels thus share two raw sockets, however many
// they are, and the kernel copies each datagram to one reader.
type portKey struct {
	esp  bool
	src  netip.Addr
	opts linux.UnderlayOptions
	// ESP in UDP only.
	udp   bool
	encap UDPEncap
	dst   netip.Addr
}

// portLinger is how long a port of ESP in UDP outlives its last tunnel. Its
// connected socket is the one that receives the peer's datagrams on port
// 4500, IKE included: closed at once, it dropped what it had queued, such
// as a restarted peer's first Quick Mode, which comes right after the
// INITIAL-CONTACT that made this side flush the old SAs (and then only its
// retransmission 2 s later got through).
const portLinger = 5 * time.Second

// portShare is an open port and the tunnels on it.
type portShare struct {
	port *dataplane.Port
	raw  RawSocket // the socket of a raw port
	udp  UDPSocket // the socket of a port of ESP in UDP
	// tunnels maps the names of the tunnels on the port to their peers.
	tunnels map[string]netip.Addr
	// unknown is the last ESP on an SPI no tunnel owns, since the last
	// pass (nil: none); the engine decides whether to answer INVALID-SPI.
	unknown atomic.Pointer[unknownSPI]
	// idleSince is when a lingering port lost its last tunnel (zero: in
	// use).
	idleSince time.Time
}

type unknownSPI struct {
	peer netip.Addr
	spi  uint32
}

// writer is the tunnel's way out through the port, to its peer.
func (sh *portShare) writer(dst netip.Addr) dataplane.Writer {
	if sh.udp != nil {
		return sh.udp
	}
	return sh.raw.To(dst)
}

// attachPort moves a tunnel to the port for key (none for a key without a
// source): it leaves its previous port of that kind, closed when nobody
// else uses it, and the new one is opened when it is the first. The
// tunnel's destination must be set in its data plane's parameters.
func (r *Router) attachPort(it *iface, key portKey) error {
	cur := &it.grePort
	if key.esp {
		cur = &it.espPort
	}
	dst := it.cfg.Tunnel.Destination
	if *cur == key {
		if sh := r.ports[key]; sh != nil && sh.tunnels[it.cfg.Name] != dst {
			sh.port.Attach(it.dp, sh.writer(dst)) // filed under its new destination
			sh.tunnels[it.cfg.Name] = dst
		}
		return nil
	}
	if old := r.ports[*cur]; old != nil {
		delete(old.tunnels, it.cfg.Name)
		if old.port.Detach(it.dp) == 0 {
			if cur.udp {
				old.idleSince = r.opts.Now() // see portLinger
			} else {
				old.port.Close()
				delete(r.ports, *cur)
			}
		}
	}
	*cur = portKey{esp: key.esp}
	if !key.src.IsValid() {
		return nil
	}
	sh := r.ports[key]
	if sh == nil {
		var err error
		if sh, err = r.openPort(it, key); err != nil {
			return err
		}
		r.ports[key] = sh
	}
	sh.port.Attach(it.dp, sh.writer(dst))
	sh.tunnels[it.cfg.Name] = dst
	sh.idleSince = time.Time{}
	*cur = key
	return nil
}

// closeIdlePorts closes the lingering ports whose time is up (all of them
// with all) and returns when the next one is due (zero: none).
func (r *Router) closeIdlePorts(now time.Time, all bool) time.Time {
	var next time.Time
	for key, sh := range r.ports {
		if sh.idleSince.IsZero() && !all {
			continue
		}
		if end := sh.idleSince.Add(portLinger); all || !now.Before(end) {
			sh.port.Close()
			delete(r.ports, key)
		} else if next.IsZero() || end.Before(next) {
			next = end
		}
	}
	return next
}

// openPort opens the socket of a port and starts reading it.
func (r *Router) openPort(it *iface, key portKey) (*portShare, error) {
	sh := &portShare{tunnels: map[string]netip.Addr{}}
	proto := 47
	if key.esp {
		proto = 50
	}
	log := r.log.With("source", key.src)
	switch {
	case key.udp:
		local := netip.AddrPortFrom(key.src, key.encap.LocalPort)
		name := it.cfg.Name
		u, err := r.host.DialUDP(local, netip.AddrPortFrom(key.dst, key.encap.RemotePort), key.opts, UDPHooks{
			OnGSORefused: func(segment int, err error) {
				r.log.Info(fmt.Sprintf("%s: the route to %s refused UDP segmentation offload (%v); ESP datagrams of %d bytes or more now leave one by one",
					name, key.dst, err, segment), "interface", name)
			},
		})
		if err != nil {
			return nil, err
		}
		sh.udp = u
		sh.port = dataplane.NewUDPPort(u, r.bufs, sh.onUnknownSPI(r), r.ikeControl(local), log)
	default:
		s, err := r.host.ListenRaw(proto, key.src, key.opts, RawHooks{OnPathMTU: r.pathMTUTo})
		if err != nil {
			return nil, err
		}
		sh.raw = s
		if key.esp {
			sh.port = dataplane.NewESPPort(s, r.bufs, sh.onUnknownSPI(r), log)
		} else {
			sh.port = dataplane.NewGREPort(s, r.bufs, log)
		}
	}
	return sh, nil
}

// onUnknownSPI records ESP on an unknown SPI and wakes the main loop; it
// runs on the port's reading goroutine and never blocks.
func (sh *portShare) onUnknownSPI(r *Router) func(netip.Addr, uint32) {
	return func(peer netip.Addr, spi uint32) {
		sh.unknown.Store(&unknownSPI{peer: peer, spi: spi})
		r.Kick()
	}
}

// takeUnknownSPI returns (and forgets) the last unknown SPI with the name
// of a tunnel on the port that goes to its peer.
func (sh *portShare) takeUnknownSPI() (tunnel string, spi uint32) {
	u := sh.unknown.Swap(nil)
	if u == nil {
		return "", 0
	}
	for name, peer := range sh.tunnels {
		if peer == u.peer && (tunnel == "" || name < tunnel) {
			tunnel = name
		}
	}
	return tunnel, u.spi
}
