// Package dataplane moves packets between a tunnel's overlay (the TUN device
// the kernel routes into) and its underlay (raw IP or UDP sockets towards the
// peer). It knows nothing of Linux: both sides are batch-shaped interfaces,
// so tests plug in fakes and the daemon plugs in TUN devices and sockets.
package dataplane

import "github.com/gresec/gresec/internal/packet"

// Overlay is the tunnel's side towards the kernel: a TUN device. It matches
// the batch contract of golang.zx2c4.com/wireguard/tun.Device: Read fills
// bufs[i][offset:offset+sizes[i]], Write sends bufs[i][offset:], and a
// Write offset must leave room for the device's own header in front.
type Overlay interface {
	Read(bufs [][]byte, sizes []int, offset int) (int, error)
	Write(bufs [][]byte, offset int) (int, error)
	BatchSize() int
}

// Packet is one datagram received from the underlay.
type Packet = packet.Datagram

// Reader is the receiving side of an underlay socket, which a Port reads.
type Reader interface {
	// ReadBatch fills up to len(pkts) packets and returns how many.
	ReadBatch(pkts []Packet) (int, error)
	// BatchSize is the largest batch worth passing.
	BatchSize() int
	// Close ends a ReadBatch in progress (with net.ErrClosed) and any
	// later one.
	Close() error
}

// Underlay is a socket towards one peer that a tunnel uses alone (tests,
// SetUnderlay): bound to the tunnel source, sending to the tunnel
// destination. Shared sockets are read through a Port and written through
// a Writer per peer.
type Underlay interface {
	Reader
	Writer
}
