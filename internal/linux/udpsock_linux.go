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
	"github.com/gresec/gresec/internal/esp"
)

// UDPUnderlay carries ESP in UDP (RFC 3948) between the tunnel source and
// the peer. It is bound to the local NAT-T port with SO_REUSEPORT and
// connected to the peer, so that the kernel hands it that peer's datagrams
// while an IKE socket bound to the same port gets everyone else's.
// Datagrams that are not ESP (NAT keepalives, IKE behind the non-ESP marker)
// go to OnControl, if set, and never to the data plane.
type UDPUnderlay struct {
	conn *net.UDPConn
	pc   *ipv4.PacketConn
	peer netip.AddrPort
	rmsg []ipv4.Message

	// OnControl receives IKE messages that arrive on this socket (copied).
	OnControl func(data []byte, from netip.AddrPort)

	wmu  sync.Mutex
	wmsg []ipv4.Message
}

var _ dataplane.Underlay = (*UDPUnderlay)(nil)

// DialUDP opens the ESP-in-UDP socket from local to peer.
func DialUDP(local, peer netip.AddrPort, opts UnderlayOptions) (*UDPUnderlay, error) {
	d := net.Dialer{
		LocalAddr: net.UDPAddrFromAddrPort(local),
		Control: func(_, _ string, c syscall.RawConn) error {
			var serr error
			err := c.Control(func(fd uintptr) {
				for _, o := range []int{unix.SO_REUSEADDR, unix.SO_REUSEPORT} {
					if e := unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, o, 1); e != nil {
						serr = e
					}
				}
				if serr == nil {
					serr = setUnderlaySockopts(int(fd), opts)
				}
			})
			return errors.Join(err, serr)
		},
	}
	c, err := d.DialContext(context.Background(), "udp4", peer.String())
	if err != nil {
		return nil, fmt.Errorf("ESP-in-UDP socket %s -> %s: %w", local, peer, err)
	}
	uc := c.(*net.UDPConn)
	u := &UDPUnderlay{
		conn: uc,
		pc:   ipv4.NewPacketConn(uc),
		peer: peer,
		rmsg: batchMessages(nil),
		wmsg: batchMessages(nil),
	}
	return u, nil
}

// BatchSize implements dataplane.Underlay.
func (u *UDPUnderlay) BatchSize() int { return batchSize }

// ReadBatch implements dataplane.Underlay; only ESP reaches the caller.
func (u *UDPUnderlay) ReadBatch(pkts []dataplane.Packet) (int, error) {
	got, err := recvBatch(u.pc, u.rmsg, pkts)
	if err != nil {
		return 0, err
	}
	out := 0
	for i := range got {
		b := pkts[i].Buf[:u.rmsg[i].N]
		switch esp.ClassifyUDP(b) {
		case esp.UDPESP:
		case esp.UDPIKE:
			if u.OnControl != nil {
				u.OnControl(append([]byte(nil), b...), u.peer)
			}
			continue
		default: // NAT keepalives and runts
			continue
		}
		pkts[out].Buf, pkts[i].Buf = pkts[i].Buf, pkts[out].Buf
		pkts[out].Payload = pkts[out].Buf[:len(b)]
		pkts[out].Src = u.peer
		out++
	}
	return out, nil
}

// WriteBatch implements dataplane.Underlay; it is safe for concurrent use.
func (u *UDPUnderlay) WriteBatch(bufs [][]byte) (int, error) {
	u.wmu.Lock()
	defer u.wmu.Unlock()
	return sendBatch(u.pc, u.wmsg, bufs)
}

// Close implements dataplane.Underlay.
func (u *UDPUnderlay) Close() error { return u.conn.Close() }

// ListenIKE opens an IKE socket on local (port 500 or 4500), shared with
// SO_REUSEPORT with the ESP-in-UDP sockets and with other IKE sockets on
// the same address. A non-zero mark pins what it sends the way `tunnel
// route-via` pins a tunnel's underlay, so that IKE follows the same path
// as the ESP it negotiates.
func ListenIKE(local netip.AddrPort, mark uint32) (*net.UDPConn, error) {
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			for _, o := range []int{unix.SO_REUSEADDR, unix.SO_REUSEPORT} {
				if e := unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, o, 1); e != nil {
					serr = e
				}
			}
			if serr == nil && mark != 0 {
				serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_MARK, int(mark))
			}
		})
		return errors.Join(err, serr)
	}}
	pc, err := lc.ListenPacket(context.Background(), "udp4", local.String())
	if err != nil {
		return nil, fmt.Errorf("IKE socket %s: %w", local, err)
	}
	return pc.(*net.UDPConn), nil
}
