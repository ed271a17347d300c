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

// oobSpace is each message's control buffer: room for a UDP_GRO or
// UDP_SEGMENT cmsg with some to spare.
var oobSpace = unix.CmsgSpace(8) * 2

// batchIO moves batches of datagrams on one socket with recvmmsg and
// sendmmsg. Its message headers, iovecs and control buffers are made once,
// so a batch moves without allocating: x/net's ipv4.PacketConn allocates a
// source address per datagram received, which the data plane cannot
// afford. A batchIO is used by one reader and one writer at a time (the
// callers hold a lock for writers).
type batchIO struct {
	rc syscall.RawConn

	// receive side
	rhs   []unix.Mmsghdr
	riov  []unix.Iovec
	roob  []byte
	rn    int
	rwant int
	rerr  error
	recvF func(fd uintptr) bool

	// send side: messages are added with add and sent with send
	whs    []unix.Mmsghdr
	wiov   []unix.Iovec
	woob   []byte
	wcount []int // frames per message
	wmsgs  int
	wiovs  int
	wname  *unix.RawSockaddrInet4 // unconnected sockets: the destination
	wfrom  int
	wn     int
	werr   error
	sendF  func(fd uintptr) bool
}

// newBatchIO prepares batches of up to msgs messages and iovs buffers on
// the socket behind rc; dst, when valid, addresses what is sent (for
// sockets that are not connected).
func newBatchIO(rc syscall.RawConn, msgs, iovs int, dst netip.Addr) *batchIO {
	b := &batchIO{
		rc:     rc,
		rhs:    make([]unix.Mmsghdr, msgs),
		riov:   make([]unix.Iovec, msgs),
		roob:   make([]byte, msgs*oobSpace),
		whs:    make([]unix.Mmsghdr, msgs),
		wiov:   make([]unix.Iovec, iovs),
		woob:   make([]byte, msgs*oobSpace),
		wcount: make([]int, msgs),
	}
	if dst.Is4() {
		b.wname = &unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: dst.As4()}
	}
	b.recvF = b.recvmmsg
	b.sendF = b.sendmmsg
	return b
}

// recv reads up to len(bufs) datagrams, one into each buffer. For each of
// the n read, length(i) is its size and oob(i) its control messages; a
// datagram larger than its buffer is reported with length -1.
func (b *batchIO) recv(bufs [][]byte) (int, error) {
	n := min(len(bufs), len(b.rhs))
	if n == 0 {
		return 0, nil
	}
	for i := range n {
		b.riov[i].Base = &bufs[i][0]
		b.riov[i].SetLen(len(bufs[i]))
		h := &b.rhs[i].Hdr
		*h = unix.Msghdr{Iov: &b.riov[i], Control: &b.roob[i*oobSpace]}
		h.SetIovlen(1)
		h.SetControllen(oobSpace)
		b.rhs[i].Len = 0
	}
	b.rwant = n
	if err := b.rc.Read(b.recvF); err != nil {
		return 0, err
	}
	if b.rerr != nil {
		return 0, os.NewSyscallError("recvmmsg", b.rerr)
	}
	return b.rn, nil
}

func (b *batchIO) recvmmsg(fd uintptr) bool {
	for {
		r, _, e := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&b.rhs[0])), uintptr(b.rwant), 0, 0, 0)
		switch e {
		case 0:
			b.rn, b.rerr = int(r), nil
			return true
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		default:
			b.rn, b.rerr = 0, e
			return true
		}
	}
}

// length is the size of received datagram i, or -1 when it was truncated.
func (b *batchIO) length(i int) int {
	if b.rhs[i].Hdr.Flags&unix.MSG_TRUNC != 0 {
		return -1
	}
	return int(b.rhs[i].Len)
}

// oob is the control data received with datagram i.
func (b *batchIO) oob(i int) []byte {
	return b.roob[i*oobSpace : i*oobSpace+int(b.rhs[i].Hdr.Controllen)]
}

// reset empties the send batch.
func (b *batchIO) reset() { b.wmsgs, b.wiovs = 0, 0 }

// room reports whether a message of frames buffers still fits the batch.
func (b *batchIO) room(frames int) bool {
	return b.wmsgs < len(b.whs) && b.wiovs+frames <= len(b.wiov)
}

// add appends one message made of frames (concatenated); with seg > 0 it
// carries UDP_SEGMENT, so that the kernel sends it as datagrams of seg
// bytes (the last may be shorter), and with tos > 0 it carries IP_TOS for
// the outer header. The caller checks room first.
func (b *batchIO) add(frames [][]byte, seg int, tos byte) {
	iov := b.wiov[b.wiovs : b.wiovs+len(frames)]
	for i, f := range frames {
		if len(f) == 0 {
			iov[i] = unix.Iovec{}
			continue
		}
		iov[i].Base = &f[0]
		iov[i].SetLen(len(f))
	}
	h := &b.whs[b.wmsgs].Hdr
	*h = unix.Msghdr{Iov: &iov[0]}
	h.SetIovlen(len(frames))
	if b.wname != nil {
		h.Name = (*byte)(unsafe.Pointer(b.wname))
		h.Namelen = unix.SizeofSockaddrInet4
	}
	oob := b.woob[b.wmsgs*oobSpace : (b.wmsgs+1)*oobSpace]
	n := 0
	if seg > 0 {
		n += putCmsg(oob[n:], unix.SOL_UDP, unix.UDP_SEGMENT, 2, uint32(seg))
	}
	if tos != 0 {
		n += putCmsg(oob[n:], unix.IPPROTO_IP, unix.IP_TOS, 4, uint32(tos))
	}
	if n > 0 {
		h.Control = &oob[0]
		h.SetControllen(n)
	}
	b.wcount[b.wmsgs] = len(frames)
	b.wmsgs++
	b.wiovs += len(frames)
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
func (b *batchIO) send(from int) (int, error) {
	if from >= b.wmsgs {
		return 0, nil
	}
	b.wfrom = from
	if err := b.rc.Write(b.sendF); err != nil {
		return 0, err
	}
	if b.werr != nil {
		return b.wn, os.NewSyscallError("sendmmsg", b.werr)
	}
	return b.wn, nil
}

func (b *batchIO) sendmmsg(fd uintptr) bool {
	for {
		r, _, e := unix.Syscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&b.whs[b.wfrom])), uintptr(b.wmsgs-b.wfrom), 0, 0, 0)
		switch e {
		case 0:
			b.wn, b.werr = int(r), nil
			return true
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		default:
			b.wn, b.werr = 0, e
			return true
		}
	}
}

// sendAll sends every message of the batch. A message the kernel refuses
// is skipped so that one bad datagram does not hold back the rest; each
// refusal goes to refused (message index and error), whose return value
// is how many frames the caller managed to send another way. sendAll
// returns the frames sent and the first error not recovered.
func (b *batchIO) sendAll(refused func(msg int, err error) int) (int, error) {
	sent := 0
	var first error
	for next := 0; next < b.wmsgs; {
		w, err := b.send(next)
		for i := next; i < next+w; i++ {
			sent += b.wcount[i]
		}
		next += w
		if err == nil {
			if w == 0 {
				break
			}
			continue
		}
		if next >= b.wmsgs {
			break
		}
		recovered := 0
		if refused != nil {
			recovered = refused(next, err)
		}
		sent += recovered
		if recovered < b.wcount[next] && first == nil {
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

// rawConn returns the syscall.RawConn of a socket from package net.
func rawConn(c syscall.Conn) (syscall.RawConn, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("raw connection: %w", err)
	}
	return rc, nil
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
