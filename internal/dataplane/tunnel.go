package dataplane

import (
	"errors"
	"log/slog"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"

	"github.com/gresec/gresec/internal/gre"
	"github.com/gresec/gresec/internal/packet"
)

const (
	// Headroom is reserved in front of every overlay packet for the outer
	// headers written in place: GRE (up to 16), and room for ESP and UDP.
	Headroom = 64
	// overlayWriteOffset is the offset handed to Overlay.Write: the TUN
	// device writes its virtio-net header (10 bytes) in front of it.
	overlayWriteOffset = 16
	// maxInner bounds one overlay packet (an MTU of up to 9000 fits).
	maxInner = 9216
	// tailroom is left after a packet for trailers (ESP padding and ICV).
	tailroom = 64
	// underlayBufSize lets the TUN device coalesce (GRO) decapsulated TCP
	// segments into the first packet's buffer.
	underlayBufSize = 65536
	// icmpBatch bounds the ICMP errors written back per batch.
	icmpBatch = 8
	icmpMax   = 1280
)

// Params are a tunnel's settings; they may change while it runs.
type Params struct {
	Name string
	// Local and Remote are the underlay endpoints.
	Local, Remote netip.Addr
	HasKey        bool
	Key           uint32
	Sequence      bool
	Checksum      bool
	// MTU is the largest inner packet; larger ones with DF get ICMP back.
	MTU int
	// AdjustMSS clamps TCP SYN MSS options both ways; 0 is off.
	AdjustMSS int
	// Protected tunnels never send or accept GRE in clear text.
	Protected bool
	// ICMPSource is the source of ICMP errors (the tunnel's own address).
	ICMPSource netip.Addr
}

// Hooks let the control plane see what only the data plane sees.
type Hooks struct {
	// KeepaliveReply is called for each GRE keepalive reply from the peer.
	KeepaliveReply func()
}

// Tunnel is one GRE tunnel's data plane: an encapsulating goroutine reading
// the overlay in batches and a decapsulating goroutine reading the current
// underlay in batches; no per-packet hand-off between goroutines.
type Tunnel struct {
	ov       Overlay
	log      *slog.Logger
	hooks    Hooks
	params   atomic.Pointer[Params]
	underlay atomic.Pointer[underlayRef]
	up       atomic.Bool

	// C are the tunnel's counters.
	C Counters

	// writeMu serialises writes to the overlay from the decapsulating
	// goroutine and the ICMP errors of the encapsulating one.
	writeMu sync.Mutex

	txSeq uint32         // encapsulating goroutine only
	rxSeq gre.SeqTracker // decapsulating goroutine only
}

type underlayRef struct{ u Underlay }

// New returns a tunnel over ov; it moves nothing until Start.
func New(ov Overlay, p Params, hooks Hooks, log *slog.Logger) *Tunnel {
	t := &Tunnel{ov: ov, log: log, hooks: hooks}
	t.params.Store(&p)
	return t
}

// SetParams replaces the tunnel's settings.
func (t *Tunnel) SetParams(p Params) { t.params.Store(&p) }

// Params returns the current settings.
func (t *Tunnel) Params() Params { return *t.params.Load() }

// SetUp opens or closes the tunnel to traffic (the line protocol).
func (t *Tunnel) SetUp(up bool) { t.up.Store(up) }

// SetUnderlay replaces the underlay (nil: none); the old one is closed and
// its reading goroutine ends; a new one gets its own.
func (t *Tunnel) SetUnderlay(u Underlay) {
	var ref *underlayRef
	if u != nil {
		ref = &underlayRef{u: u}
	}
	old := t.underlay.Swap(ref)
	if old != nil {
		_ = old.u.Close()
	}
	if ref != nil {
		go t.decapLoop(ref)
	}
}

// Start runs the encapsulating goroutine until the overlay is closed.
func (t *Tunnel) Start() { go t.encapLoop() }

// Close closes the underlay; the caller closes the overlay.
func (t *Tunnel) Close() { t.SetUnderlay(nil) }

// SendKeepalive sends one IOS-format GRE keepalive to the peer. It is safe
// to call from any goroutine; it allocates, which is fine once a period.
func (t *Tunnel) SendKeepalive() error {
	p := t.params.Load()
	ref := t.underlay.Load()
	if ref == nil {
		return errors.New("no underlay")
	}
	if p.Protected {
		t.C.OutNoSADrops.Add(1)
		return errors.New("protected tunnel has no SA")
	}
	h := gre.Header{HasKey: p.HasKey, Key: p.Key, HasChecksum: p.Checksum}
	buf := make([]byte, 128)
	n := gre.BuildKeepalive(buf[gre.MaxHeaderLen:], p.Local, p.Remote, h)
	if n == 0 {
		return errors.New("cannot build a keepalive for these addresses")
	}
	h.Protocol = gre.ProtoIPv4
	if p.Remote.Is6() {
		h.Protocol = gre.ProtoIPv6
	}
	start, err := h.Encapsulate(buf[:gre.MaxHeaderLen+n], gre.MaxHeaderLen)
	if err != nil {
		return err
	}
	if _, err := ref.u.WriteBatch([][]byte{buf[start : gre.MaxHeaderLen+n]}); err != nil {
		return err
	}
	t.C.KeepalivesSent.Add(1)
	return nil
}

func (t *Tunnel) encapLoop() {
	bs := t.ov.BatchSize()
	bufs := make([][]byte, bs)
	sizes := make([]int, bs)
	for i := range bufs {
		bufs[i] = make([]byte, Headroom+maxInner+tailroom)
	}
	e := newEncapState(bs)
	for {
		n, err := t.ov.Read(bufs, sizes, Headroom)
		if err != nil {
			if errors.Is(err, os.ErrClosed) {
				return
			}
			t.log.Debug("overlay read", "err", err)
			if n == 0 {
				continue
			}
		}
		t.encapBatch(e, bufs[:n], sizes[:n])
	}
}

// encapState is the encapsulating goroutine's scratch space.
type encapState struct {
	out      [][]byte
	icmp     [][]byte
	icmpBufs [][]byte
}

func newEncapState(bs int) *encapState {
	e := &encapState{out: make([][]byte, 0, bs), icmp: make([][]byte, 0, icmpBatch)}
	for range icmpBatch {
		e.icmpBufs = append(e.icmpBufs, make([]byte, overlayWriteOffset+icmpMax))
	}
	return e
}

// encapBatch encapsulates packets at bufs[i][Headroom:Headroom+sizes[i]]
// and sends them; packets that cannot go are counted and dropped.
func (t *Tunnel) encapBatch(e *encapState, bufs [][]byte, sizes []int) {
	p := t.params.Load()
	ref := t.underlay.Load()
	n := uint64(len(bufs))
	switch {
	case !t.up.Load() || ref == nil:
		t.C.OutDownDrops.Add(n)
		return
	case p.Protected:
		// Fail closed: no SA can exist until IPsec drives this tunnel.
		t.C.OutNoSADrops.Add(n)
		return
	}
	h := gre.Header{HasKey: p.HasKey, Key: p.Key, HasSeq: p.Sequence, HasChecksum: p.Checksum}
	e.out = e.out[:0]
	e.icmp = e.icmp[:0]
	var bytes uint64
	for i, b := range bufs {
		pkt := b[Headroom : Headroom+sizes[i]]
		switch packet.Version(pkt) {
		case 4:
			h.Protocol = gre.ProtoIPv4
		case 6:
			h.Protocol = gre.ProtoIPv6
		default:
			t.C.OutMalformed.Add(1)
			continue
		}
		if t.wouldRecurse(pkt, p) {
			t.C.OutRecursionDrops.Add(1)
			continue
		}
		if len(pkt) > p.MTU && t.tooBig(e, pkt, p) {
			continue
		}
		if p.AdjustMSS > 0 && packet.ClampMSS(pkt, uint16(p.AdjustMSS)) {
			t.C.MSSClamped.Add(1)
		}
		if p.Sequence {
			h.Seq = t.txSeq
			t.txSeq++
		}
		start, err := h.Encapsulate(b[:Headroom+len(pkt)], Headroom)
		if err != nil {
			t.C.OutMalformed.Add(1)
			continue
		}
		e.out = append(e.out, b[start:Headroom+len(pkt)])
		bytes += uint64(len(pkt))
	}
	if len(e.out) > 0 {
		sent, err := ref.u.WriteBatch(e.out)
		t.C.OutPackets.Add(uint64(sent))
		t.C.OutBytes.Add(bytes) // approximate when some failed
		if failed := len(e.out) - sent; failed > 0 {
			t.C.OutErrors.Add(uint64(failed))
			t.log.Debug("underlay write", "tunnel", p.Name, "failed", failed, "err", err)
		}
	}
	if len(e.icmp) > 0 {
		t.writeOverlay(e.icmp)
	}
}

// wouldRecurse reports a packet that is this tunnel's own underlay traffic
// coming back into it: encapsulating it would loop.
func (t *Tunnel) wouldRecurse(pkt []byte, p *Params) bool {
	h, err := packet.ParseIPv4(pkt)
	if err != nil {
		return false
	}
	return h.Protocol == packet.ProtoGRE && h.Dst == p.Remote && h.Src == p.Local
}

// tooBig answers a packet above the MTU: with DF (or IPv6) an ICMP error
// goes back into the overlay and the packet is dropped (returns true).
// Without DF it is sent as is; the outer packet may be fragmented.
func (t *Tunnel) tooBig(e *encapState, pkt []byte, p *Params) bool {
	if len(e.icmp) == cap(e.icmp) {
		t.C.OutTooBig.Add(1)
		return true
	}
	src := p.ICMPSource
	if !src.IsValid() {
		src = p.Local
	}
	buf := e.icmpBufs[len(e.icmp)]
	var n int
	var err error
	switch packet.Version(pkt) {
	case 4:
		h, perr := packet.ParseIPv4(pkt)
		if perr != nil || !h.DontFrag {
			return false
		}
		n, err = packet.FragNeeded(buf[overlayWriteOffset:], pkt, src, p.MTU)
	case 6:
		n, err = packet.PacketTooBig(buf[overlayWriteOffset:], pkt, netip.Addr{}, p.MTU)
	}
	t.C.OutTooBig.Add(1)
	if err == nil && n > 0 {
		e.icmp = append(e.icmp, buf[:overlayWriteOffset+n])
	}
	return true
}

func (t *Tunnel) writeOverlay(bufs [][]byte) {
	t.writeMu.Lock()
	defer t.writeMu.Unlock()
	if _, err := t.ov.Write(bufs, overlayWriteOffset); err != nil {
		t.C.InErrors.Add(1)
		t.log.Debug("overlay write", "err", err)
	}
}

func (t *Tunnel) decapLoop(ref *underlayRef) {
	bs := ref.u.BatchSize()
	pkts := make([]Packet, bs)
	for i := range pkts {
		pkts[i].Buf = make([]byte, underlayBufSize)
	}
	d := &decapState{out: make([][]byte, 0, bs), reflect: make([][]byte, 0, bs)}
	for {
		n, err := ref.u.ReadBatch(pkts)
		if err != nil {
			if t.underlay.Load() != ref || errors.Is(err, os.ErrClosed) {
				return
			}
			t.log.Debug("underlay read", "err", err)
			continue
		}
		t.decapBatch(d, ref, pkts[:n])
	}
}

type decapState struct {
	out     [][]byte
	reflect [][]byte
}

// decapBatch decapsulates a batch from the underlay into the overlay.
func (t *Tunnel) decapBatch(d *decapState, ref *underlayRef, pkts []Packet) {
	p := t.params.Load()
	d.out = d.out[:0]
	d.reflect = d.reflect[:0]
	var bytes uint64
	for i := range pkts {
		pl := pkts[i].Payload
		h, inner, err := gre.Decode(pl)
		switch {
		case errors.Is(err, gre.ErrBadChecksum):
			t.C.InChecksumError.Add(1)
			continue
		case err != nil:
			t.C.InMalformed.Add(1)
			continue
		case p.Protected:
			// Fail closed: clear GRE from the peer of a protected tunnel.
			t.C.InClearDrops.Add(1)
			continue
		case h.HasKey != p.HasKey || h.Key != p.Key:
			t.C.InKeyMismatch.Add(1)
			continue
		}
		if h.Protocol == gre.ProtoKeepalive {
			t.C.KeepaliveReplies.Add(1)
			if t.hooks.KeepaliveReply != nil {
				t.hooks.KeepaliveReply()
			}
			continue
		}
		if p.Sequence {
			if !h.HasSeq || !t.rxSeq.Accept(h.Seq) {
				t.C.InSeqDrops.Add(1)
				continue
			}
		}
		if k, ok := gre.ParseKeepalive(inner); ok {
			// An IOS keepalive: send its inner GRE packet back to the peer
			// ourselves (the kernel's reverse-path filter would drop a
			// packet with the peer's source); the socket adds the IP header.
			d.reflect = append(d.reflect, inner[k.Len-k.GRE.Len():k.Len])
			continue
		}
		switch h.Protocol {
		case gre.ProtoIPv4, gre.ProtoIPv6:
		default:
			t.C.InUnknownProto.Add(1)
			continue
		}
		if !t.up.Load() {
			t.C.InDownDrops.Add(1)
			continue
		}
		if p.AdjustMSS > 0 && packet.ClampMSS(inner, uint16(p.AdjustMSS)) {
			t.C.MSSClamped.Add(1)
		}
		// inner is a sub-slice of Buf reaching its end: its offset follows
		// from the capacities, with no per-packet arithmetic on headers.
		start := cap(pkts[i].Buf) - cap(inner)
		if start < overlayWriteOffset {
			t.C.InMalformed.Add(1)
			continue
		}
		d.out = append(d.out, pkts[i].Buf[start-overlayWriteOffset:start+len(inner)])
		bytes += uint64(len(inner))
	}
	if len(d.out) > 0 {
		t.C.InPackets.Add(uint64(len(d.out)))
		t.C.InBytes.Add(bytes)
		t.writeOverlay(d.out)
	}
	if len(d.reflect) > 0 {
		sent, _ := ref.u.WriteBatch(d.reflect)
		t.C.KeepalivesReflected.Add(uint64(sent))
	}
}
