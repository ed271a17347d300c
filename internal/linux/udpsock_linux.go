package linux

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/gresec/gresec/internal/packet"
)

// UDPUnderlay carries ESP in UDP (RFC 3948) between the tunnel source and
// the peer. It is bound to the local NAT-T port with SO_REUSEPORT and
// connected to the peer, so that the kernel hands it that peer's datagrams
// while an IKE socket bound to the same port gets everyone else's.
// It hands over every datagram, ESP, IKE behind the non-ESP marker and NAT
// keepalives alike: the data plane tells them apart.
//
// It uses the kernel's UDP segmentation offloads where it can: a run of
// same-sized datagrams leaves in one sendmmsg message carrying UDP_SEGMENT
// (UDP GSO), and with UDP_GRO the kernel hands over runs of datagrams from
// the peer as one buffer, which ReadBatch splits again. The datagrams on
// the wire are the same either way.
type UDPUnderlay struct {
	conn *net.UDPConn
	peer netip.AddrPort

	// OnGSORefused, if set, hears when the route refused UDP GSO and the
	// socket sends runs of datagrams of segment bytes or more one by one
	// from now on (segment 0: all of them).
	OnGSORefused func(segment int, err error)

	// The reading goroutine's state: datagrams received into gbuf, of
	// which message gi, from offset goff, is still to be handed over.
	rb         *recvBatch
	rw         *readWaiter
	gbuf       [][]byte
	gro        bool
	gn, gi     int
	goff, gseg int

	wmu sync.Mutex
	wb  *sendBatch
	// gsoMax is the largest UDP GSO segment still tried; 0 turns GSO off
	// (the kernel or the route refused it).
	gsoMax int
	runs   [][][]byte // the buffers of each message of wb
	runTos [][]byte   // and their ToS (nil: 0)
	fb     *sendBatch // datagram by datagram, when GSO is refused
}

const (
	// groMessages is how many (possibly coalesced) datagrams one
	// recvmmsg reads; each buffer holds a whole GRO batch.
	groMessages = 16
	groBufSize  = 65536
	// udpBatchSize is how many datagrams ReadBatch hands over at most.
	udpBatchSize = 128
	// gsoMaxSegments and gsoMaxBytes bound one UDP GSO message (the
	// kernel's UDP_MAX_SEGMENTS is 64 on older kernels; an IPv4 datagram
	// carries at most 65507 bytes of UDP payload).
	gsoMaxSegments = 64
	gsoMaxBytes    = 65507
)

// DialUDP opens the ESP-in-UDP socket from local to peer.
func DialUDP(local, peer netip.AddrPort, opts UnderlayOptions) (*UDPUnderlay, error) {
	gro := false
	d := net.Dialer{
		LocalAddr: net.UDPAddrFromAddrPort(local),
		Control: func(_, _ string, c syscall.RawConn) error {
			var serr error
			err := c.Control(func(fd uintptr) {
				serr = setReusePort(int(fd))
				if serr == nil {
					serr = setUnderlaySockopts(int(fd), opts, peer.Addr().Is6())
				}
				// Best effort: without GRO each datagram comes alone.
				gro = unix.SetsockoptInt(int(fd), unix.SOL_UDP, unix.UDP_GRO, 1) == nil
			})
			return errors.Join(err, serr)
		},
	}
	c, err := d.DialContext(context.Background(), udpNetwork(peer.Addr()), peer.String())
	if err != nil {
		return nil, fmt.Errorf("ESP-in-UDP socket %s -> %s: %w", local, peer, err)
	}
	uc := c.(*net.UDPConn)
	rc, err := rawConn(uc)
	if err != nil {
		return nil, err
	}
	u := &UDPUnderlay{
		conn:   uc,
		peer:   peer,
		rb:     newRecvBatch(rc, groMessages),
		rw:     newReadWaiter(rc),
		gbuf:   make([][]byte, groMessages),
		gro:    gro,
		wb:     newSendBatch(rc, batchSize, 4*batchSize, netip.Addr{}, peer.Addr().Is6()),
		gsoMax: gsoMaxBytes,
		runs:   make([][][]byte, batchSize),
		runTos: make([][]byte, batchSize),
		fb:     newSendBatch(rc, batchSize, batchSize, netip.Addr{}, peer.Addr().Is6()),
	}
	for i := range u.gbuf {
		u.gbuf[i] = make([]byte, groBufSize)
	}
	return u, nil
}

// BatchSize implements dataplane.Underlay.
func (u *UDPUnderlay) BatchSize() int { return udpBatchSize }

// WaitRead implements dataplane.Waiter: datagrams of a coalesced run not
// yet handed over count as something to read.
func (u *UDPUnderlay) WaitRead() error {
	if u.gi < u.gn {
		return nil
	}
	return u.rw.wait()
}

// ReadBatch reads datagrams from the peer, one per packet (a coalesced run
// split again), copied into the packets' buffers.
func (u *UDPUnderlay) ReadBatch(pkts []packet.Datagram) (int, error) {
	out := 0
	for out < len(pkts) {
		if u.gi >= u.gn {
			if out > 0 {
				break // hand over what there is rather than wait
			}
			n, err := u.rb.recv(u.gbuf)
			if err != nil {
				return 0, err
			}
			u.gn, u.gi, u.goff = n, 0, 0
			u.startMessage()
			continue
		}
		l := u.rb.length(u.gi)
		if l < 0 || u.goff >= l {
			u.gi++
			u.goff = 0
			u.startMessage()
			continue
		}
		end := min(u.goff+u.gseg, l)
		b := u.gbuf[u.gi][u.goff:end]
		u.goff = end
		if len(b) > len(pkts[out].Buf) {
			continue
		}
		pkts[out].Payload = pkts[out].Buf[:copy(pkts[out].Buf, b)]
		pkts[out].Src = u.peer
		out++
	}
	return out, nil
}

// startMessage sets the segment size of message gi: what UDP_GRO says, or
// the whole datagram.
func (u *UDPUnderlay) startMessage() {
	if u.gi >= u.gn {
		return
	}
	u.gseg = u.rb.length(u.gi)
	if s := udpGROSize(u.rb.oob(u.gi)); s > 0 {
		u.gseg = s
	}
}

// WriteBatch implements dataplane.Underlay; it is safe for concurrent use.
// Runs of equal-sized datagrams go out as one UDP GSO message each.
func (u *UDPUnderlay) WriteBatch(bufs [][]byte, tos []byte) (int, error) {
	u.wmu.Lock()
	defer u.wmu.Unlock()
	sent := 0
	var first error
	for len(bufs) > 0 {
		u.wb.reset()
		for len(bufs) > 0 {
			n, seg := u.gsoRun(bufs, tos)
			if !u.wb.room(n) {
				break
			}
			u.runs[u.wb.msgs], u.runTos[u.wb.msgs] = bufs[:n], nil
			if tos != nil {
				u.runTos[u.wb.msgs] = tos[:n]
			}
			u.wb.add(bufs[:n], seg, tosAt(tos, 0))
			bufs = bufs[n:]
			if tos != nil {
				tos = tos[n:]
			}
		}
		s, err := u.wb.sendAll(u.refused)
		sent += s
		if first == nil {
			first = err
		}
	}
	return sent, first
}

// gsoRun returns how many of bufs go out in one message and its UDP GSO
// segment size (0: one datagram, no GSO): a run of buffers of the first
// one's size and ToS, the last of which may be shorter.
func (u *UDPUnderlay) gsoRun(bufs [][]byte, tos []byte) (int, int) {
	seg := len(bufs[0])
	if seg >= u.gsoMax || seg == 0 {
		return 1, 0
	}
	n, total := 1, seg
	for n < len(bufs) && n < gsoMaxSegments {
		l := len(bufs[n])
		if l > seg || l == 0 || total+l > gsoMaxBytes || tosAt(tos, n) != tosAt(tos, 0) {
			break
		}
		n++
		total += l
		if l < seg {
			break // a shorter datagram ends the run
		}
	}
	if n == 1 {
		return 1, 0
	}
	return n, seg
}

// refused handles a message the kernel refused. A UDP GSO message it
// could not segment (EIO: the route's device cannot checksum; EINVAL or
// EMSGSIZE: a segment larger than the route's MTU) goes again datagram by
// datagram, and GSO is narrowed so that the next batches do not hit the
// same wall (for the life of the socket).
func (u *UDPUnderlay) refused(msg int, err error) int {
	run := u.runs[msg]
	if len(run) == 1 || !isErrno(err, unix.EIO, unix.EINVAL, unix.EMSGSIZE) {
		return 0
	}
	if isErrno(err, unix.EIO) {
		u.gsoMax = 0
	} else {
		u.gsoMax = min(u.gsoMax, len(run[0]))
	}
	if u.OnGSORefused != nil {
		u.OnGSORefused(u.gsoMax, err)
	}
	sent, _ := sendEach(u.fb, run, u.runTos[msg])
	return sent
}

// Close implements dataplane.Underlay.
func (u *UDPUnderlay) Close() error { return u.conn.Close() }

// PathMTU is the path MTU to the peer the kernel holds for this connected
// socket (IPV6_MTU over IPv6: it follows the Packet Too Big the path
// sends), or 0 over IPv4 or when it cannot tell.
func (u *UDPUnderlay) PathMTU() int {
	if !u.peer.Addr().Is6() {
		return 0
	}
	rc, err := u.conn.SyscallConn()
	if err != nil {
		return 0
	}
	mtu := 0
	_ = rc.Control(func(fd uintptr) {
		if v, err := unix.GetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_MTU); err == nil {
			mtu = v
		}
	})
	return mtu
}

// ListenIKE opens an IKE socket on local (port 500 or 4500), shared with
// SO_REUSEPORT with the ESP-in-UDP sockets and with other IKE sockets on
// the same address. A non-zero mark pins what it sends the way `tunnel
// route-via` pins a tunnel's underlay, so that IKE follows the same path
// as the ESP it negotiates.
func ListenIKE(local netip.AddrPort, mark uint32) (*net.UDPConn, error) {
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = setReusePort(int(fd))
			if serr == nil && mark != 0 {
				serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_MARK, int(mark))
			}
		})
		return errors.Join(err, serr)
	}}
	pc, err := lc.ListenPacket(context.Background(), udpNetwork(local.Addr()), local.String())
	if err != nil {
		return nil, fmt.Errorf("IKE socket %s: %w", local, err)
	}
	return pc.(*net.UDPConn), nil
}

// udpNetwork is the network of a UDP socket of a's family.
func udpNetwork(a netip.Addr) string {
	if a.Is6() && !a.Is4In6() {
		return "udp6"
	}
	return "udp4"
}
