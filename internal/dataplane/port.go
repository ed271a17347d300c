package dataplane

import (
	"bytes"
	"encoding/binary"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/gresec/gresec/internal/esp"
)

// Writer sends datagrams to one peer: a tunnel's way out through a port.
// Each buffer is one datagram; tos[i] is the outer ToS byte of bufs[i]
// (tos may be nil: all 0).
type Writer interface {
	WriteBatch(bufs [][]byte, tos []byte) (int, error)
}

// Port is one underlay socket shared by the tunnels whose traffic it
// carries: GRE in clear (raw IP protocol 47) or ESP (raw IP protocol 50,
// or UDP). One goroutine reads it and hands each packet to the tunnel it
// belongs to: by the sender's address, then, among the tunnels to that
// peer, by the GRE key or the ESP SPI. Tunnels to different peers (a hub)
// or to the same peer (told apart by key or SPI) never see each other's
// packets, and the socket's buffers serve them all.
//
// Each attached tunnel sends through a Writer of its own towards its peer.
type Port struct {
	ref  *underlayRef
	esp  bool
	bufs *Buffers
	log  *slog.Logger
	// onUnknown hears ESP from a configured peer on an SPI no tunnel has
	// (the last of a batch); it runs on the reading goroutine and must
	// not block.
	onUnknown func(peer netip.Addr, spi uint32)
	// udp is set on a port of ESP in UDP, whose IKE goes to onControl.
	udp       bool
	onControl func(data []byte, from netip.AddrPort)

	mu sync.Mutex // serialises Attach and Detach
	n  int        // the tunnels attached (under mu)
	// batchMu is held while a batch is handed to tunnels and while peers
	// changes: a batch sees the tunnels as they were before a change or
	// after it, and Detach returns only once the port no longer works on
	// the tunnel. Changing the map in place, rather than a copy per
	// change, keeps a hub's start linear in its tunnels.
	batchMu sync.Mutex
	peers   map[netip.Addr][]*Tunnel

	// ReadErrors counts failed reads of the socket (retried); Strangers
	// counts packets from addresses no attached tunnel goes to.
	ReadErrors, Strangers atomic.Uint64
}

// attachment is a tunnel's place on a port.
type attachment struct {
	port *Port
	w    Writer
	peer netip.Addr // the key it is filed under
}

// NewGREPort starts reading GRE in clear from u, with read batches from
// bufs (nil: a pool of its own).
func NewGREPort(u Reader, bufs *Buffers, log *slog.Logger) *Port {
	p := newPort(u, false, bufs, nil, log)
	go p.loop()
	return p
}

// NewESPPort starts reading ESP from u, with read batches from bufs (nil:
// a pool of its own). onUnknownSPI (may be nil) hears ESP from a
// configured peer on an SPI that none of its tunnels has; it must not
// block.
func NewESPPort(u Reader, bufs *Buffers, onUnknownSPI func(peer netip.Addr, spi uint32), log *slog.Logger) *Port {
	p := newPort(u, true, bufs, onUnknownSPI, log)
	go p.loop()
	return p
}

// NewUDPPort starts reading ESP in UDP (RFC 3948) from u: ESP as on an ESP
// port; IKE behind the non-ESP marker goes to onControl (a copy; it runs
// on the reading goroutine and must not block); NAT keepalives and runts
// are dropped.
func NewUDPPort(u Reader, bufs *Buffers, onUnknownSPI func(peer netip.Addr, spi uint32), onControl func(data []byte, from netip.AddrPort), log *slog.Logger) *Port {
	p := newPort(u, true, bufs, onUnknownSPI, log)
	p.udp, p.onControl = true, onControl
	go p.loop()
	return p
}

func newPort(u Reader, esp bool, bufs *Buffers, onUnknown func(netip.Addr, uint32), log *slog.Logger) *Port {
	if bufs == nil {
		bufs = NewBuffers()
	}
	p := &Port{ref: newUnderlayRef(u, esp), esp: esp, bufs: bufs, log: log, onUnknown: onUnknown}
	p.peers = map[netip.Addr][]*Tunnel{}
	return p
}

// slot is the tunnel's attachment slot for this port's kind.
func (p *Port) slot(t *Tunnel) *atomic.Pointer[attachment] {
	if p.esp {
		return &t.esp
	}
	return &t.gre
}

// Attach files t under its peer (Params().Remote): it receives that peer's
// packets meant for it from the port and sends through w. A tunnel is on
// one port of each kind at a time: it leaves its previous one first, and
// that port's reader is done with t before this one can start.
func (p *Port) Attach(t *Tunnel, w Writer) {
	slot := p.slot(t)
	if old := slot.Load(); old != nil {
		old.port.Detach(t)
	}
	peer := t.Params().Remote
	p.mu.Lock()
	defer p.mu.Unlock()
	p.batchMu.Lock()
	p.peers[peer] = append(p.peers[peer], t)
	p.batchMu.Unlock()
	p.n++
	slot.Store(&attachment{port: p, w: w, peer: peer})
}

// Detach takes t off the port; when it returns, the reading goroutine no
// longer touches t. It reports how many tunnels are left on the port.
func (p *Port) Detach(t *Tunnel) int {
	slot := p.slot(t)
	p.mu.Lock()
	defer p.mu.Unlock()
	a := slot.Load()
	if a == nil || a.port != p {
		return p.n
	}
	// Taking batchMu also waits out a batch in progress that may still
	// hold t.
	p.batchMu.Lock()
	ts := slices.DeleteFunc(p.peers[a.peer], func(x *Tunnel) bool { return x == t })
	if len(ts) == 0 {
		delete(p.peers, a.peer)
	} else {
		p.peers[a.peer] = ts
	}
	p.batchMu.Unlock()
	slot.Store(nil)
	p.n--
	return p.n
}

// Close closes the socket and waits for the reading goroutine to end.
func (p *Port) Close() { p.ref.retire() }

func (p *Port) loop() {
	d := newDecapState(min(p.ref.u.BatchSize(), maxUnderlayBatch))
	readLoop(p.ref, p.bufs, &p.ReadErrors, p.log, func(pkts []Packet) {
		p.batchMu.Lock()
		p.dispatch(d, pkts)
		p.batchMu.Unlock()
	})
}

// dispatch hands runs of consecutive packets for the same tunnel to that
// tunnel.
func (p *Port) dispatch(d *decapState, pkts []Packet) {
	peers := p.peers
	var unknownPeer netip.Addr
	var unknownSPI uint32
	var run *Tunnel
	from := 0
	for i := range pkts {
		src := pkts[i].Src.Addr()
		ts := peers[src]
		var t *Tunnel
		switch {
		case p.udp && !p.control(pkts[i]):
			// IKE or a NAT keepalive: not for a tunnel.
		case len(ts) == 0:
			p.Strangers.Add(1)
		case p.esp:
			var spi uint32
			if t, spi = bySPI(ts, pkts[i].Payload); t == nil {
				ts[0].C.Add(InNoSA, 1)
				if spi != 0 {
					unknownPeer, unknownSPI = src, spi
				}
			}
		default:
			t = byKey(ts, pkts[i].Payload)
		}
		if t != run {
			if run != nil {
				run.decapBatch(d, p.esp, pkts[from:i])
			}
			run, from = t, i
		}
		if t == nil {
			from = i + 1
		}
	}
	if run != nil {
		run.decapBatch(d, p.esp, pkts[from:])
	}
	if unknownSPI != 0 && p.onUnknown != nil {
		p.onUnknown(unknownPeer, unknownSPI)
	}
}

// control sorts a datagram of ESP in UDP: true for ESP; IKE goes to
// onControl, and the rest (NAT keepalives, runts) nowhere.
func (p *Port) control(pkt Packet) bool {
	switch esp.ClassifyUDP(pkt.Payload) {
	case esp.UDPESP:
		return true
	case esp.UDPIKE:
		if p.onControl != nil {
			p.onControl(bytes.Clone(pkt.Payload), pkt.Src)
		}
	}
	return false
}

// bySPI finds the tunnel whose inbound SAs include the ESP packet's SPI;
// it returns the SPI too (0 for a runt).
func bySPI(ts []*Tunnel, pkt []byte) (*Tunnel, uint32) {
	if len(pkt) < 8 {
		return nil, 0
	}
	spi := binary.BigEndian.Uint32(pkt)
	for _, t := range ts {
		if prot := t.prot.Load(); prot != nil && prot.inbound(pkt) != nil {
			return t, spi
		}
	}
	return nil, spi
}

// byKey picks, among the tunnels to one peer, the one whose GRE key the
// packet carries; with one tunnel, or no match, the first (which counts a
// key mismatch).
func byKey(ts []*Tunnel, frame []byte) *Tunnel {
	if len(ts) == 1 || len(frame) < 4 {
		return ts[0]
	}
	hasKey := frame[0]&0x20 != 0
	var key uint32
	if hasKey {
		off := 4
		if frame[0]&0x80 != 0 { // checksum present
			off += 4
		}
		if len(frame) < off+4 {
			return ts[0]
		}
		key = binary.BigEndian.Uint32(frame[off:])
	}
	for _, t := range ts {
		if p := t.params.Load(); p.HasKey == hasKey && (!hasKey || p.Key == key) {
			return t
		}
	}
	return ts[0]
}
