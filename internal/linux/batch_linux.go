package linux

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// batchSize is how many datagrams one recvmmsg/sendmmsg moves.
const batchSize = 64

// oobSpace is each message's control buffer: room for two cmsgs of up to
// 8 bytes (UDP_SEGMENT or UDP_GRO, and IP_TOS).
var oobSpace = unix.CmsgSpace(8) * 2

// Batches of datagrams move with recvmmsg and sendmmsg on message headers,
// iovecs and control buffers made once, so that they move without
// allocating: x/net's ipv4.PacketConn allocates a source address per
// datagram received, which the data plane cannot afford.

// mmsg runs recvmmsg or sendmmsg (trap) on fd for the n headers at hs,
// again after EINTR. ready is false when the socket would block (EAGAIN):
// the poller then waits and calls again.
func mmsg(trap, fd uintptr, hs *unix.Mmsghdr, n int) (done int, ready bool, err error) {
	for {
		r, _, e := unix.Syscall6(trap, fd, uintptr(unsafe.Pointer(hs)), uintptr(n), 0, 0, 0)
		switch e {
		case 0:
			return int(r), true, nil
		case unix.EINTR:
		case unix.EAGAIN:
			return 0, false, nil
		default:
			return 0, true, e
		}
	}
}

// recvBatch receives batches of datagrams on one socket, for one reader.
type recvBatch struct {
	rc  syscall.RawConn
	hs  []unix.Mmsghdr
	iov []unix.Iovec
	ctl []byte
	// names receive each datagram's sender, for sockets whose datagrams
	// do not carry it (raw IPv6 sockets hand over no IP header); nil
	// otherwise.
	names []unix.RawSockaddrInet6
	want  int
	n     int
	err   error
	f     func(fd uintptr) bool // b.recvmmsg, bound once
}

// newRecvBatch prepares batches of up to msgs datagrams on the socket
// behind rc.
func newRecvBatch(rc syscall.RawConn, msgs int) *recvBatch {
	b := &recvBatch{
		rc:  rc,
		hs:  make([]unix.Mmsghdr, msgs),
		iov: make([]unix.Iovec, msgs),
		ctl: make([]byte, msgs*oobSpace),
	}
	b.f = b.recvmmsg
	return b
}

// recv reads up to len(bufs) datagrams, one into each buffer. For each of
// the n read, length(i) is its size and oob(i) its control messages; a
// datagram larger than its buffer is reported with length -1.
func (b *recvBatch) recv(bufs [][]byte) (int, error) {
	n := min(len(bufs), len(b.hs))
	if n == 0 {
		return 0, nil
	}
	for i := range n {
		b.iov[i].Base = &bufs[i][0]
		b.iov[i].SetLen(len(bufs[i]))
		h := &b.hs[i].Hdr
		*h = unix.Msghdr{Iov: &b.iov[i], Control: &b.ctl[i*oobSpace]}
		if b.names != nil {
			h.Name = (*byte)(unsafe.Pointer(&b.names[i]))
			h.Namelen = unix.SizeofSockaddrInet6
		}
		h.SetIovlen(1)
		h.SetControllen(oobSpace)
		b.hs[i].Len = 0
	}
	b.want = n
	if err := b.rc.Read(b.f); err != nil {
		return 0, err
	}
	if b.err != nil {
		return 0, os.NewSyscallError("recvmmsg", b.err)
	}
	return b.n, nil
}

func (b *recvBatch) recvmmsg(fd uintptr) bool {
	var ready bool
	b.n, ready, b.err = mmsg(unix.SYS_RECVMMSG, fd, &b.hs[0], b.want)
	return ready
}

// length is the size of received datagram i, or -1 when it was truncated.
func (b *recvBatch) length(i int) int {
	if b.hs[i].Hdr.Flags&unix.MSG_TRUNC != 0 {
		return -1
	}
	return int(b.hs[i].Len)
}

// src6 is the IPv6 sender of datagram i (with names).
func (b *recvBatch) src6(i int) netip.Addr {
	if b.names == nil || b.names[i].Family != unix.AF_INET6 {
		return netip.Addr{}
	}
	return netip.AddrFrom16(b.names[i].Addr)
}

// oob is the control data received with datagram i.
func (b *recvBatch) oob(i int) []byte {
	return b.ctl[i*oobSpace : i*oobSpace+int(b.hs[i].Hdr.Controllen)]
}

// sendBatch sends batches of messages on one socket, for one writer at a
// time (the callers hold a lock): messages are added with add and sent
// with sendAll.
type sendBatch struct {
	rc    syscall.RawConn
	hs    []unix.Mmsghdr
	iov   []unix.Iovec
	ctl   []byte
	count []int // frames per message
	msgs  int
	iovs  int
	name  *unix.RawSockaddrInet4 // unconnected sockets: the destination
	name6 *unix.RawSockaddrInet6 // the same over IPv6
	v6    bool                   // an IPv6 socket: the traffic class is IPV6_TCLASS
	from  int
	n     int
	err   error
	f     func(fd uintptr) bool // b.sendmmsg, bound once
}

// newSendBatch prepares batches of up to msgs messages and iovs buffers on
// the socket behind rc; dst, when valid, addresses what is sent (for
// sockets that are not connected); v6 says the socket is an IPv6 one.
func newSendBatch(rc syscall.RawConn, msgs, iovs int, dst netip.Addr, v6 bool) *sendBatch {
	b := &sendBatch{
		rc:    rc,
		hs:    make([]unix.Mmsghdr, msgs),
		iov:   make([]unix.Iovec, iovs),
		ctl:   make([]byte, msgs*oobSpace),
		count: make([]int, msgs),
	}
	switch {
	case dst.Is4():
		b.name = &unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: dst.As4()}
	case dst.Is6():
		b.name6 = &unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: dst.As16()}
	}
	b.v6 = v6
	b.f = b.sendmmsg
	return b
}

// reset empties the batch.
func (b *sendBatch) reset() { b.msgs, b.iovs = 0, 0 }

// room reports whether a message of frames buffers still fits the batch.
func (b *sendBatch) room(frames int) bool {
	return b.msgs < len(b.hs) && b.iovs+frames <= len(b.iov)
}

// add appends one message made of frames (concatenated); with seg > 0 it
// carries UDP_SEGMENT, so that the kernel sends it as datagrams of seg
// bytes (the last may be shorter), and with tos > 0 it carries IP_TOS (or
// IPV6_TCLASS) for the outer header. The caller checks room first.
func (b *sendBatch) add(frames [][]byte, seg int, tos byte) {
	iov := b.iov[b.iovs : b.iovs+len(frames)]
	for i, f := range frames {
		if len(f) == 0 {
			iov[i] = unix.Iovec{}
			continue
		}
		iov[i].Base = &f[0]
		iov[i].SetLen(len(f))
	}
	h := &b.hs[b.msgs].Hdr
	*h = unix.Msghdr{Iov: &iov[0]}
	h.SetIovlen(len(frames))
	switch {
	case b.name != nil:
		h.Name = (*byte)(unsafe.Pointer(b.name))
		h.Namelen = unix.SizeofSockaddrInet4
	case b.name6 != nil:
		h.Name = (*byte)(unsafe.Pointer(b.name6))
		h.Namelen = unix.SizeofSockaddrInet6
	}
	oob := b.ctl[b.msgs*oobSpace : (b.msgs+1)*oobSpace]
	n := 0
	if seg > 0 {
		n += putCmsg(oob[n:], unix.SOL_UDP, unix.UDP_SEGMENT, 2, uint32(seg))
	}
	switch {
	case tos != 0 && b.v6:
		n += putCmsg(oob[n:], unix.IPPROTO_IPV6, unix.IPV6_TCLASS, 4, uint32(tos))
	case tos != 0:
		n += putCmsg(oob[n:], unix.IPPROTO_IP, unix.IP_TOS, 4, uint32(tos))
	}
	if n > 0 {
		h.Control = &oob[0]
		h.SetControllen(n)
	}
	b.count[b.msgs] = len(frames)
	b.msgs++
	b.iovs += len(frames)
}

// putCmsg writes a control message of level and type whose data is v in
// size (2 or 4) bytes, host order, at the start of oob; it returns the
// space it took.
func putCmsg(oob []byte, level, typ int32, size int, v uint32) int {
	space := unix.CmsgSpace(size)
	clear(oob[:space])
	cm := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
	cm.Level, cm.Type = level, typ
	cm.SetLen(unix.CmsgLen(size))
	data := unsafe.Pointer(&oob[unix.CmsgLen(0)])
	if size == 2 {
		*(*uint16)(data) = uint16(v)
	} else {
		*(*uint32)(data) = v
	}
	return space
}

// send sends the batch's messages from message from on, until one fails;
// it returns how many were sent and the failing message's error.
func (b *sendBatch) send(from int) (int, error) {
	if from >= b.msgs {
		return 0, nil
	}
	b.from = from
	if err := b.rc.Write(b.f); err != nil {
		return 0, err
	}
	if b.err != nil {
		return b.n, os.NewSyscallError("sendmmsg", b.err)
	}
	return b.n, nil
}

func (b *sendBatch) sendmmsg(fd uintptr) bool {
	var ready bool
	b.n, ready, b.err = mmsg(unix.SYS_SENDMMSG, fd, &b.hs[b.from], b.msgs-b.from)
	return ready
}

// sendAll sends every message of the batch. A message the kernel refuses
// is skipped so that one bad datagram does not hold back the rest; each
// refusal goes to refused (message index and error), whose return value
// is how many frames the caller managed to send another way. sendAll
// returns the frames sent and the first error not recovered.
func (b *sendBatch) sendAll(refused func(msg int, err error) int) (int, error) {
	sent := 0
	var first error
	for next := 0; next < b.msgs; {
		w, err := b.send(next)
		for i := next; i < next+w; i++ {
			sent += b.count[i]
		}
		next += w
		if err == nil {
			if w == 0 {
				break
			}
			continue
		}
		if next >= b.msgs {
			break
		}
		recovered := 0
		if refused != nil {
			recovered = refused(next, err)
		}
		sent += recovered
		if recovered < b.count[next] && first == nil {
			first = err
		}
		next++
	}
	return sent, first
}

// udpGROSize returns the segment size of a UDP_GRO control message in oob,
// or 0 when there is none.
func udpGROSize(oob []byte) int {
	for len(oob) >= unix.CmsgLen(0) {
		cm := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
		l := int(cm.Len)
		if l < unix.CmsgLen(0) || l > len(oob) {
			return 0
		}
		if cm.Level == unix.SOL_UDP && cm.Type == unix.UDP_GRO && l >= unix.CmsgLen(4) {
			return int(*(*int32)(unsafe.Pointer(&oob[unix.CmsgLen(0)])))
		}
		next := unix.CmsgSpace(l - unix.CmsgLen(0))
		if next > len(oob) {
			return 0
		}
		oob = oob[next:]
	}
	return 0
}

// rawConn returns the syscall.RawConn of a socket from package net; it
// closes the socket when there is none.
func rawConn(c interface {
	syscall.Conn
	Close() error
}) (syscall.RawConn, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("raw connection: %w", err)
	}
	return rc, nil
}

// setReusePort lets sockets share an address and port (SO_REUSEADDR and
// SO_REUSEPORT): IKE's and the ESP-in-UDP sockets on 4500.
func setReusePort(fd int) error {
	for _, o := range []int{unix.SO_REUSEADDR, unix.SO_REUSEPORT} {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, o, 1); err != nil {
			return err
		}
	}
	return nil
}

// isErrno reports whether err wraps one of the given errnos.
func isErrno(err error, errnos ...unix.Errno) bool {
	var e unix.Errno
	if !errors.As(err, &e) {
		return false
	}
	for _, x := range errnos {
		if e == x {
			return true
		}
	}
	return false
}
