// Package dataplanetest offers channel-driven fakes of a tunnel's overlay
// (the TUN device) and underlay (a socket), in the manner of wireguard-go's
// tun/tuntest and conn/bindtest: a test drives a whole tunnel, read loops
// included, by sending packets and errors on channels and receiving what
// the tunnel writes.
package dataplanetest

import (
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gresec/gresec/internal/dataplane"
)

const ipv4HeaderLen = 20

// Datagram is one datagram for an Underlay to deliver.
type Datagram struct {
	Payload []byte
	Src     netip.AddrPort
}

// Underlay is a dataplane.Underlay fed through channels. Each ReadBatch
// delivers one datagram from In, or returns an error from Errs (queued
// errors first); after
// Close it returns net.ErrClosed, as a closed socket does. Written
// datagrams are copied to Out when there is room (a full Out drops them,
// counted in Dropped) so a test that does not read Out never blocks the
// tunnel.
type Underlay struct {
	In   chan Datagram
	Errs chan error
	Out  chan []byte

	// CloseDelay is how long a ReadBatch in progress takes to notice a
	// Close: the time a read loop would still be working on a batch.
	CloseDelay time.Duration

	// Reading is the number of ReadBatch and WaitRead calls in progress;
	// Reads counts them all; Dropped counts writes Out had no room for.
	Reading, Reads, Dropped atomic.Int64
	// OnRead, if set, runs at the start of each ReadBatch and WaitRead.
	OnRead func()

	closeOnce sync.Once
	closed    chan struct{}
}

// NewUnderlay returns an underlay with channels of capacity n.
func NewUnderlay(n int) *Underlay {
	return &Underlay{
		In:     make(chan Datagram, n),
		Errs:   make(chan error, n),
		Out:    make(chan []byte, n),
		closed: make(chan struct{}),
	}
}

var (
	_ dataplane.Underlay = (*Underlay)(nil)
	_ dataplane.Waiter   = (*Underlay)(nil)
)

// ReadBatch implements dataplane.Underlay.
func (u *Underlay) ReadBatch(pkts []dataplane.Packet) (int, error) {
	u.Reading.Add(1)
	defer u.Reading.Add(-1)
	u.Reads.Add(1)
	if u.OnRead != nil {
		u.OnRead()
	}
	select {
	case <-u.closed:
		return 0, net.ErrClosed
	case err := <-u.Errs: // queued errors come before queued datagrams
		return 0, err
	default:
	}
	select {
	case d := <-u.In:
		// Where a raw socket puts it: after the outer IPv4 header.
		pkts[0].Payload = pkts[0].Buf[ipv4HeaderLen : ipv4HeaderLen+copy(pkts[0].Buf[ipv4HeaderLen:], d.Payload)]
		pkts[0].Src = d.Src
		return 1, nil
	case err := <-u.Errs:
		return 0, err
	case <-u.closed:
		time.Sleep(u.CloseDelay)
		return 0, net.ErrClosed
	}
}

// WriteBatch implements dataplane.Underlay.
func (u *Underlay) WriteBatch(bufs [][]byte, _ []byte) (int, error) {
	for _, b := range bufs {
		select {
		case u.Out <- append([]byte(nil), b...):
		default:
			u.Dropped.Add(1)
		}
	}
	return len(bufs), nil
}

// WaitRead implements dataplane.Waiter: it returns once a datagram or an
// error is queued, or the underlay is closed, without taking it.
// Like ReadBatch it counts in Reading and Reads and runs OnRead.
func (u *Underlay) WaitRead() error {
	u.Reading.Add(1)
	defer u.Reading.Add(-1)
	u.Reads.Add(1)
	if u.OnRead != nil {
		u.OnRead()
	}
	for len(u.In) == 0 && len(u.Errs) == 0 {
		select {
		case <-u.closed:
			time.Sleep(u.CloseDelay)
			return net.ErrClosed
		case <-time.After(100 * time.Microsecond):
		}
	}
	return nil
}

// BatchSize implements dataplane.Underlay.
func (u *Underlay) BatchSize() int { return 8 }

// Close implements dataplane.Underlay.
func (u *Underlay) Close() error {
	u.closeOnce.Do(func() { close(u.closed) })
	return nil
}

// Closed reports whether Close was called.
func (u *Underlay) Closed() bool {
	select {
	case <-u.closed:
		return true
	default:
		return false
	}
}

// Overlay is a dataplane.Overlay fed through channels: Read delivers the
// packets sent on In (what the kernel routes into the tunnel), or an error
// from Errs; Write copies what the tunnel hands to the kernel to Out (a
// full Out drops). After Close, Read returns os.ErrClosed, as a closed TUN
// device does.
type Overlay struct {
	In   chan []byte
	Errs chan error
	Out  chan []byte

	// pending is a packet WaitRead took from In for the next Read (one
	// reading goroutine, as with a TUN device).
	pending []byte

	closeOnce sync.Once
	closed    chan struct{}
}

// NewOverlay returns an overlay with channels of capacity n.
func NewOverlay(n int) *Overlay {
	return &Overlay{In: make(chan []byte, n), Errs: make(chan error, n), Out: make(chan []byte, n), closed: make(chan struct{})}
}

var _ dataplane.Overlay = (*Overlay)(nil)

var _ dataplane.Waiter = (*Overlay)(nil)

// WaitRead implements dataplane.Waiter: it returns once a packet or an
// error is there to read, or the overlay is closed, as a TUN device's
// readiness does; an idle tunnel holds no read batch meanwhile.
func (o *Overlay) WaitRead() error {
	if o.pending != nil || len(o.Errs) > 0 {
		return nil
	}
	select {
	case p := <-o.In:
		o.pending = p
		return nil
	case err := <-o.Errs:
		o.Errs <- err // Read returns it
		return nil
	case <-o.closed:
		return os.ErrClosed
	}
}

// Read implements dataplane.Overlay: one packet per call.
func (o *Overlay) Read(bufs [][]byte, sizes []int, offset int) (int, error) {
	if p := o.pending; p != nil {
		o.pending = nil
		sizes[0] = copy(bufs[0][offset:], p)
		return 1, nil
	}
	select {
	case err := <-o.Errs: // queued errors come before queued packets
		return 0, err
	default:
	}
	select {
	case p := <-o.In:
		sizes[0] = copy(bufs[0][offset:], p)
		return 1, nil
	case err := <-o.Errs:
		return 0, err
	case <-o.closed:
		return 0, os.ErrClosed
	}
}

// Write implements dataplane.Overlay.
func (o *Overlay) Write(bufs [][]byte, offset int) (int, error) {
	for _, b := range bufs {
		select {
		case o.Out <- append([]byte(nil), b[offset:]...):
		default:
		}
	}
	return len(bufs), nil
}

// BatchSize implements dataplane.Overlay.
func (o *Overlay) BatchSize() int { return 8 }

// Close ends reads.
func (o *Overlay) Close() error {
	o.closeOnce.Do(func() { close(o.closed) })
	return nil
}
