package linux

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"
	"unsafe"

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
	// pmtu is what the kernel said of each destination's path MTU over
	// IPv6 (from its error queue); see PathMTU.
	pmtu pathMTUs

	// OnPathMTU, if set before the first read, hears of each path MTU the
	// socket learns (on the goroutine that drained the error queue).
	OnPathMTU func(dst netip.Addr, mtu int)
}

// pathMTUs are the path MTUs an IPv6 raw socket learned, each for as long
// as the kernel keeps a learned path MTU (net.ipv6.route.mtu_expires,
// 10 minutes by default).
type pathMTUs struct {
	mu sync.Mutex
	m  map[netip.Addr]pathMTU
	// errBuf and errOOB receive the error queue (one reader at a time:
	// the read loop or a sender, under mu).
	errBuf, errOOB []byte
}

type pathMTU struct {
	mtu     int
	expires time.Time
}

const pathMTUExpiry = 10 * time.Minute

// ListenRaw opens a raw socket for proto on src.
func ListenRaw(proto int, src netip.Addr, opts UnderlayOptions) (*RawSocket, error) {
	v6 := src.Is6()
	lc := net.ListenConfig{
		Control: func(_, _ string, c syscall.RawConn) error {
			var serr error
			err := c.Control(func(fd uintptr) {
				serr = setUnderlaySockopts(int(fd), opts, v6)
				if serr == nil && v6 {
					// Without it the kernel ignores Packet Too Big for
					// an unconnected raw socket: no path MTU is learned
					// and the outer packets are lost on a narrower path.
					serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_RECVERR, 1)
				}
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
	s   *RawSocket
}

// To returns a sender to dst. Each has its own batch, so tunnels sending
// through one socket do not wait for each other.
func (s *RawSocket) To(dst netip.Addr) *RawSender {
	return &RawSender{wb: newSendBatch(s.rc, batchSize, batchSize, dst, s.v6), s: s}
}

// WriteBatch implements dataplane.Writer. Over IPv6 a datagram above the
// path MTU is refused (EMSGSIZE, never fragmented); the path MTU then
// learned is PathMTU's.
func (w *RawSender) WriteBatch(bufs [][]byte, tos []byte) (int, error) {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	n, err := sendEach(w.wb, bufs, tos)
	if w.s.v6 && errors.Is(err, unix.EMSGSIZE) {
		w.s.drainErrors()
	}
	return n, err
}

// PathMTU is the path MTU to dst the kernel reported (after a Packet Too
// Big from the path, or a send refused for it), or 0.
func (s *RawSocket) PathMTU(dst netip.Addr) int {
	s.pmtu.mu.Lock()
	defer s.pmtu.mu.Unlock()
	p, ok := s.pmtu.m[dst]
	if !ok || time.Now().After(p.expires) {
		return 0
	}
	return p.mtu
}

// drainErrors reads the socket's error queue (IPV6_RECVERR) and records
// the path MTUs it reports. The queue holds a report for every Packet
// Too Big and every refused send; unread, it would take the receive
// buffer's room.
func (s *RawSocket) drainErrors() {
	t := &s.pmtu
	type report struct {
		dst netip.Addr
		mtu int
	}
	var learned []report // told to OnPathMTU once unlocked
	t.mu.Lock()
	if t.errBuf == nil {
		t.errBuf, t.errOOB = make([]byte, 64), make([]byte, 256)
	}
	_ = s.rc.Control(func(fd uintptr) {
		for range 1024 {
			_, oobn, _, from, err := unix.Recvmsg(int(fd), t.errBuf, t.errOOB, unix.MSG_ERRQUEUE|unix.MSG_DONTWAIT)
			if err != nil {
				return // EAGAIN: empty
			}
			mtu := pathMTUOf(t.errOOB[:oobn])
			sa, ok := from.(*unix.SockaddrInet6)
			if mtu <= 0 || !ok {
				continue
			}
			if t.m == nil {
				t.m = map[netip.Addr]pathMTU{}
			}
			dst := netip.AddrFrom16(sa.Addr)
			old := t.m[dst]
			t.m[dst] = pathMTU{mtu: mtu, expires: time.Now().Add(pathMTUExpiry)}
			if old.mtu != mtu {
				learned = append(learned, report{dst, mtu})
			}
		}
	})
	t.mu.Unlock()
	if s.OnPathMTU != nil {
		for _, l := range learned {
			s.OnPathMTU(l.dst, l.mtu)
		}
	}
}

// pathMTUOf reads an IPV6_RECVERR control message: the MTU of an EMSGSIZE
// report (a Packet Too Big, or a send the kernel refused), or 0.
func pathMTUOf(oob []byte) int {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return 0
	}
	for _, m := range msgs {
		if m.Header.Level != unix.IPPROTO_IPV6 || m.Header.Type != unix.IPV6_RECVERR || len(m.Data) < int(unsafe.Sizeof(unix.SockExtendedErr{})) {
			continue
		}
		ee := (*unix.SockExtendedErr)(unsafe.Pointer(&m.Data[0]))
		if unix.Errno(ee.Errno) == unix.EMSGSIZE {
			return int(ee.Info)
		}
	}
	return 0
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
	if s.rw.sawError() {
		s.drainErrors()
	}
	got, err := s.rb.recv(s.rbuf[:n])
	if errno := unix.Errno(0); errors.As(err, &errno) {
		// With IPV6_RECVERR an ICMPv6 error from the path (a Packet Too
		// Big, an unreachable peer) is reported once by the next socket
		// call, its details in the error queue: not a failed read.
		s.drainErrors()
		return 0, nil
	}
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
