package linux

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"

	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"

	"github.com/gresec/gresec/internal/dataplane"
)

// batchSize is how many datagrams one recvmmsg/sendmmsg moves.
const batchSize = 64

// UnderlayOptions pin an underlay socket the way `tunnel route-via` asks.
type UnderlayOptions struct {
	// Mark is set as SO_MARK when non-zero (policy routing of the underlay).
	Mark uint32
	// BindDevice is set as SO_BINDTODEVICE when not empty.
	BindDevice string
}

// RawUnderlay is a raw IPv4 socket of one IP protocol (47 for GRE, 50 for
// ESP), bound to the tunnel source, sending to the tunnel destination. The
// kernel builds the outer IP header and routes each datagram afresh, so a
// loopback-sourced tunnel follows equal-cost paths as they come and go. It
// is not connect()ed: a socket must exist while the destination has no
// route (that is the line protocol's business), so it filters what it
// receives by the peer's address itself.
type RawUnderlay struct {
	conn *net.IPConn
	pc   *ipv4.PacketConn
	peer netip.Addr
	dst  *net.IPAddr
	rmsg []ipv4.Message

	wmu  sync.Mutex // writers: the encapsulating goroutine, reflections, keepalives
	wmsg []ipv4.Message
}

var _ dataplane.Underlay = (*RawUnderlay)(nil)

// DialRaw opens a raw socket for proto from src to dst.
func DialRaw(proto int, src, dst netip.Addr, opts UnderlayOptions) (*RawUnderlay, error) {
	lc := net.ListenConfig{
		Control: func(_, _ string, c syscall.RawConn) error {
			var serr error
			err := c.Control(func(fd uintptr) {
				serr = setUnderlaySockopts(int(fd), opts)
			})
			return errors.Join(err, serr)
		},
	}
	c, err := lc.ListenPacket(context.Background(), fmt.Sprintf("ip4:%d", proto), src.String())
	if err != nil {
		return nil, fmt.Errorf("raw socket proto %d on %s: %w", proto, src, err)
	}
	ipc := c.(*net.IPConn)
	u := &RawUnderlay{
		conn: ipc,
		pc:   ipv4.NewPacketConn(ipc),
		peer: dst,
		dst:  &net.IPAddr{IP: dst.AsSlice()},
		rmsg: batchMessages(nil),
	}
	u.wmsg = batchMessages(u.dst)
	return u, nil
}

// batchMessages makes a batch of one-buffer messages for recvmmsg or
// sendmmsg, addressed to dst when it is not nil (unconnected sockets).
func batchMessages(dst net.Addr) []ipv4.Message {
	msgs := make([]ipv4.Message, batchSize)
	for i := range msgs {
		msgs[i].Buffers = make([][]byte, 1)
		msgs[i].Addr = dst
	}
	return msgs
}

func setUnderlaySockopts(fd int, opts UnderlayOptions) error {
	// Outer packets may be fragmented on the path rather than be refused
	// locally: the inner MTU is what gresec enforces.
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_MTU_DISCOVER, unix.IP_PMTUDISC_DONT); err != nil {
		return fmt.Errorf("IP_MTU_DISCOVER: %w", err)
	}
	for _, o := range []int{unix.SO_RCVBUF, unix.SO_SNDBUF} {
		// Best effort: a larger buffer only absorbs bursts.
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, o, 4<<20)
	}
	if opts.Mark != 0 {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_MARK, int(opts.Mark)); err != nil {
			return fmt.Errorf("SO_MARK: %w", err)
		}
	}
	if opts.BindDevice != "" {
		if err := unix.BindToDevice(fd, opts.BindDevice); err != nil {
			return fmt.Errorf("SO_BINDTODEVICE %s: %w", opts.BindDevice, err)
		}
	}
	return nil
}

// BatchSize implements dataplane.Underlay.
func (u *RawUnderlay) BatchSize() int { return batchSize }

// ReadBatch implements dataplane.Underlay. A raw IPv4 socket hands over the
// whole IP datagram (reassembled); Payload is what follows its header.
func (u *RawUnderlay) ReadBatch(pkts []dataplane.Packet) (int, error) {
	got, err := recvBatch(u.pc, u.rmsg, pkts)
	if err != nil {
		return 0, err
	}
	out := 0
	for i := range got {
		b := pkts[i].Buf[:u.rmsg[i].N]
		if len(b) < ipv4.HeaderLen || b[0]>>4 != 4 {
			continue
		}
		ihl := int(b[0]&0x0f) * 4
		if ihl < ipv4.HeaderLen || ihl > len(b) {
			continue
		}
		src := netip.AddrFrom4([4]byte(b[12:16]))
		if src != u.peer {
			continue // another tunnel's peer
		}
		// Keep the order of the batch; compact away what was dropped.
		pkts[out].Buf, pkts[i].Buf = pkts[i].Buf, pkts[out].Buf
		pkts[out].Payload = pkts[out].Buf[ihl:len(b)]
		pkts[out].Src = netip.AddrPortFrom(src, 0)
		out++
	}
	return out, nil
}

// WriteBatch implements dataplane.Underlay; it is safe for concurrent use.
func (u *RawUnderlay) WriteBatch(bufs [][]byte) (int, error) {
	u.wmu.Lock()
	defer u.wmu.Unlock()
	return sendBatch(u.pc, u.wmsg, bufs)
}

// recvBatch reads up to len(pkts) datagrams with recvmmsg into the
// packets' buffers; msgs[i].N is each one's length.
func recvBatch(pc *ipv4.PacketConn, msgs []ipv4.Message, pkts []dataplane.Packet) (int, error) {
	n := min(len(pkts), len(msgs))
	for i := range n {
		msgs[i].Buffers[0] = pkts[i].Buf
	}
	return pc.ReadBatch(msgs[:n], 0)
}

// sendBatch sends bufs with sendmmsg, len(msgs) at a time. A datagram the
// kernel refuses is skipped so that one bad packet does not hold back the
// rest of the batch; the first error is returned with the count of
// datagrams sent.
func sendBatch(pc *ipv4.PacketConn, msgs []ipv4.Message, bufs [][]byte) (int, error) {
	sent, next := 0, 0
	var first error
	for next < len(bufs) {
		n := min(len(bufs)-next, len(msgs))
		for i := range n {
			msgs[i].Buffers[0] = bufs[next+i]
		}
		w, err := pc.WriteBatch(msgs[:n], 0)
		w = max(w, 0) // sendmmsg's -1 comes through on error
		sent += w
		next += w
		if err != nil {
			if first == nil {
				first = err
			}
			next++ // the datagram at next failed
		} else if w == 0 {
			break
		}
	}
	return sent, first
}

// Close implements dataplane.Underlay.
func (u *RawUnderlay) Close() error { return u.conn.Close() }
