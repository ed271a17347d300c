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
	peer netip.Addr
	rb   *recvBatch // the reading goroutine's batch
	rbuf [][]byte

	wmu sync.Mutex // writers: the encapsulating goroutine, reflections, keepalives
	wb  *sendBatch
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
	rc, err := rawConn(ipc)
	if err != nil {
		return nil, err
	}
	return &RawUnderlay{
		conn: ipc,
		peer: dst,
		rb:   newRecvBatch(rc, batchSize),
		rbuf: make([][]byte, batchSize),
		wb:   newSendBatch(rc, batchSize, batchSize, dst),
	}, nil
}

func setUnderlaySockopts(fd int, opts UnderlayOptions) error {
	// Outer packets may be fragmented on the path rather than be refused
	// locally: the inner MTU is what gresec enforces.
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_MTU_DISCOVER, unix.IP_PMTUDISC_DONT); err != nil {
		return fmt.Errorf("IP_MTU_DISCOVER: %w", err)
	}
	// IOS sends GRE (and the ESP that carries it) with TTL 255.
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_TTL, 255); err != nil {
		return fmt.Errorf("IP_TTL: %w", err)
	}
	for _, o := range [][2]int{{unix.SO_RCVBUFFORCE, unix.SO_RCVBUF}, {unix.SO_SNDBUFFORCE, unix.SO_SNDBUF}} {
		// Best effort: a larger buffer only absorbs bursts. The FORCE
		// options (CAP_NET_ADMIN) pass net.core.rmem_max/wmem_max.
		if unix.SetsockoptInt(fd, unix.SOL_SOCKET, o[0], 4<<20) != nil {
			_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, o[1], 4<<20)
		}
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
	n := min(len(pkts), len(u.rbuf))
	for i := range n {
		u.rbuf[i] = pkts[i].Buf
	}
	got, err := u.rb.recv(u.rbuf[:n])
	if err != nil {
		return 0, err
	}
	out := 0
	for i := range got {
		l := u.rb.length(i)
		if l < 0 {
			continue // truncated
		}
		b := pkts[i].Buf[:l]
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
func (u *RawUnderlay) WriteBatch(bufs [][]byte, tos []byte) (int, error) {
	u.wmu.Lock()
	defer u.wmu.Unlock()
	return sendEach(u.wb, bufs, tos)
}

// sendEach sends each buffer as one datagram (with the ToS tos[i], when
// tos is not nil), a batch at a time.
func sendEach(b *sendBatch, bufs [][]byte, tos []byte) (int, error) {
	sent := 0
	var first error
	for len(bufs) > 0 {
		b.reset()
		n := 0
		for n < len(bufs) && b.room(1) {
			b.add(bufs[n:n+1], 0, tosAt(tos, n))
			n++
		}
		s, err := b.sendAll(nil)
		sent += s
		if first == nil {
			first = err
		}
		bufs = bufs[n:]
		if tos != nil {
			tos = tos[n:]
		}
	}
	return sent, first
}

// tosAt is tos[i], or 0 when tos is nil.
func tosAt(tos []byte, i int) byte {
	if tos == nil {
		return 0
	}
	return tos[i]
}

// Close implements dataplane.Underlay.
func (u *RawUnderlay) Close() error { return u.conn.Close() }
