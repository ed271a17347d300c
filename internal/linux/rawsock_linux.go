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

	"github.com/gresec/gresec/internal/packet"
)

// UnderlayOptions pin an underlay socket the way `tunnel route-via` asks.
type UnderlayOptions struct {
	// Mark is set as SO_MARK when non-zero (policy routing of the underlay).
	Mark uint32
	// BindDevice is set as SO_BINDTODEVICE when not empty.
	BindDevice string
}

// RawSocket is a raw IPv4 or IPv6 socket of one IP protocol (47 for GRE,
// 50 for ESP) bound to a tunnel source, shared by every tunnel from that
// source:
// ReadBatch hands over every peer's datagrams (the data plane sorts them
// by sender), and each tunnel sends to its own peer through a RawSender.
// The kernel builds the outer IP header and routes each datagram afresh,
// so a loopback-sourced tunnel follows equal-cost paths as they come and
// go. It is not connect()ed: it must exist while a destination has no
// route (that is the line protocol's business), and it serves many peers.
type RawSocket struct {
	conn *net.IPConn
	rc   syscall.RawConn
	rb   *recvBatch // the reading goroutine's batch
	rbuf [][]byte
	rw   *readWaiter
	v6   bool
}

// ListenRaw opens a raw socket for proto on src.
func ListenRaw(proto int, src netip.Addr, opts UnderlayOptions) (*RawSocket, error) {
	v6 := src.Is6()
	lc := net.ListenConfig{
		Control: func(_, _ string, c syscall.RawConn) error {
			var serr error
			err := c.Control(func(fd uintptr) {
				serr = setUnderlaySockopts(int(fd), opts, v6)
			})
			return errors.Join(err, serr)
		},
	}
	network := fmt.Sprintf("ip4:%d", proto)
	if v6 {
		network = fmt.Sprintf("ip6:%d", proto)
	}
	c, err := lc.ListenPacket(context.Background(), network, src.String())
	if err != nil {
		return nil, fmt.Errorf("raw socket proto %d on %s: %w", proto, src, err)
	}
	ipc := c.(*net.IPConn)
	rc, err := rawConn(ipc)
	if err != nil {
		return nil, err
	}
	s := &RawSocket{conn: ipc, rc: rc, rb: newRecvBatch(rc, batchSize), rbuf: make([][]byte, batchSize), rw: newReadWaiter(rc), v6: v6}
	if v6 {
		s.rb.names = make([]unix.RawSockaddrInet6, batchSize)
	}
	return s, nil
}

// RawSender sends a tunnel's datagrams to its peer through a RawSocket; it
// is safe for concurrent use (the encapsulating goroutine, reflections and
// keepalives all send).
type RawSender struct {
	wmu sync.Mutex
	wb  *sendBatch
}

// To returns a sender to dst. Each has its own batch, so tunnels sending
// through one socket do not wait for each other.
func (s *RawSocket) To(dst netip.Addr) *RawSender {
	return &RawSender{wb: newSendBatch(s.rc, batchSize, batchSize, dst, s.v6)}
}

// WriteBatch implements dataplane.Writer.
func (w *RawSender) WriteBatch(bufs [][]byte, tos []byte) (int, error) {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	return sendEach(w.wb, bufs, tos)
}

func setUnderlaySockopts(fd int, opts UnderlayOptions, v6 bool) error {
	if v6 {
		// IPv6 has no fragmentation on the path: gresec does not fragment
		// the outer packet either; one above the path MTU is refused
		// (EMSGSIZE), and the kernel learns the path MTU from the core's
		// Packet Too Big.
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_MTU_DISCOVER, unix.IPV6_PMTUDISC_DO); err != nil {
			return fmt.Errorf("IPV6_MTU_DISCOVER: %w", err)
		}
		// IOS's TTL 255, as the hop limit.
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_UNICAST_HOPS, 255); err != nil {
			return fmt.Errorf("IPV6_UNICAST_HOPS: %w", err)
		}
	} else {
		// Outer packets may be fragmented on the path rather than be
		// refused locally: the inner MTU is what gresec enforces.
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_MTU_DISCOVER, unix.IP_PMTUDISC_DONT); err != nil {
			return fmt.Errorf("IP_MTU_DISCOVER: %w", err)
		}
		// IOS sends GRE (and the ESP that carries it) with TTL 255.
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_TTL, 255); err != nil {
			return fmt.Errorf("IP_TTL: %w", err)
		}
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

// WaitRead implements dataplane.Waiter.
func (s *RawSocket) WaitRead() error { return s.rw.wait() }

// BatchSize is the largest batch worth passing to ReadBatch.
func (s *RawSocket) BatchSize() int { return batchSize }

// ReadBatch fills pkts with datagrams from any peer. A raw IPv4 socket
// hands over the whole IP datagram (reassembled), a raw IPv6 socket only
// what follows its headers; Payload is that, Src its sender.
func (s *RawSocket) ReadBatch(pkts []packet.Datagram) (int, error) {
	if s.v6 {
		return s.readBatch6(pkts)
	}
	n := min(len(pkts), len(s.rbuf))
	for i := range n {
		s.rbuf[i] = pkts[i].Buf
	}
	got, err := s.rb.recv(s.rbuf[:n])
	if err != nil {
		return 0, err
	}
	out := 0
	for i := range got {
		l := s.rb.length(i)
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
		// Keep the order of the batch; compact away what was dropped.
		pkts[out].Buf, pkts[i].Buf = pkts[i].Buf, pkts[out].Buf
		pkts[out].Payload = pkts[out].Buf[ihl:len(b)]
		pkts[out].Src = netip.AddrPortFrom(netip.AddrFrom4([4]byte(pkts[out].Buf[12:16])), 0)
		out++
	}
	return out, nil
}

// ipv6Headroom is left in front of what a raw IPv6 socket hands over,
// where the IPv6 header would be: the data plane writes the overlay's
// header (virtio-net) in front of a decapsulated packet, in place.
const ipv6Headroom = 40

func (s *RawSocket) readBatch6(pkts []packet.Datagram) (int, error) {
	n := min(len(pkts), len(s.rbuf))
	for i := range n {
		s.rbuf[i] = pkts[i].Buf[ipv6Headroom:]
	}
	got, err := s.rb.recv(s.rbuf[:n])
	if err != nil {
		return 0, err
	}
	out := 0
	for i := range got {
		l := s.rb.length(i)
		src := s.rb.src6(i)
		if l < 0 || !src.IsValid() {
			continue
		}
		pkts[out].Buf, pkts[i].Buf = pkts[i].Buf, pkts[out].Buf
		pkts[out].Payload = pkts[out].Buf[ipv6Headroom : ipv6Headroom+l]
		pkts[out].Src = netip.AddrPortFrom(src, 0)
		out++
	}
	return out, nil
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

// Close closes the socket; a ReadBatch in progress returns net.ErrClosed.
func (s *RawSocket) Close() error { return s.conn.Close() }
