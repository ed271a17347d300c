package router

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"

	"github.com/gresec/gresec/internal/dataplane"
	"github.com/gresec/gresec/internal/linux"
)

// linuxHost is the daemon's Host: netlink in its network namespace, TUN
// devices and sockets.
type linuxHost struct {
	*linux.Host
	onError func(error)
}

// NewLinuxHost opens the host the daemon runs on; onError hears about
// lost netlink events.
func NewLinuxHost(onError func(error)) (Host, error) {
	h, err := linux.NewHost()
	if err != nil {
		return nil, err
	}
	return &linuxHost{Host: h, onError: onError}, nil
}

func (h *linuxHost) Watch(ctx context.Context, events chan<- linux.Event) error {
	return linux.Watch(ctx, events, h.onError)
}

func (h *linuxHost) EnableForwarding() error { return linux.EnableForwarding() }

func (h *linuxHost) EnableIPv6Forwarding() error { return linux.EnableIPv6Forwarding() }

func (h *linuxHost) SetIPv6MTU(name string, mtu int) error {
	if err := linux.SetIPv6MTU(name, mtu); err != nil {
		return fmt.Errorf("%s: ipv6 mtu %d: %w", name, mtu, err)
	}
	return nil
}

func (h *linuxHost) IgnoreLinkdownRoutes(dev string) error { return linux.IgnoreLinkdownRoutes(dev) }

func (h *linuxHost) CreateTunnelDevice(name string, mtu int) (TunnelDevice, error) {
	return linux.CreateTunnelDevice(name, mtu)
}

func (h *linuxHost) CreateLoopbackDevice(name string) (io.Closer, error) {
	return linux.CreateLoopbackDevice(name)
}

func (h *linuxHost) ListenRaw(proto int, src netip.Addr, opts linux.UnderlayOptions, hooks RawHooks) (RawSocket, error) {
	s, err := linux.ListenRaw(proto, src, opts)
	if err != nil {
		return nil, err
	}
	if hooks.OnPathMTU != nil {
		s.OnPathMTU = func(dst netip.Addr, _ int) { hooks.OnPathMTU(dst) }
	}
	return rawSocket{s}, nil
}

// rawSocket gives linux.RawSocket's senders the data plane's type.
type rawSocket struct{ *linux.RawSocket }

func (s rawSocket) To(dst netip.Addr) dataplane.Writer { return s.RawSocket.To(dst) }

func (h *linuxHost) DialUDP(local, peer netip.AddrPort, opts linux.UnderlayOptions, hooks UDPHooks) (UDPSocket, error) {
	u, err := linux.DialUDP(local, peer, opts)
	if err != nil {
		return nil, err
	}
	u.OnGSORefused = hooks.OnGSORefused
	return u, nil
}

func (h *linuxHost) ListenIKE(local netip.AddrPort, mark uint32) (IKESocket, error) {
	return linux.ListenIKE(local, mark)
}

func (h *linuxHost) ReadFile(path string) ([]byte, error) { return os.ReadFile(path) }
