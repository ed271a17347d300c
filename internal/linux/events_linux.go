package linux

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// EventKind says what an Event reports.
type EventKind int

const (
	// EventSnapshot carries every link with its addresses; it replaces
	// what the receiver knew.
	EventSnapshot EventKind = iota
	// EventLink: a link appeared or changed (Link, without addresses).
	EventLink
	// EventLinkGone: a link went away (Link's name and index).
	EventLinkGone
	// EventAddr and EventAddrGone: an address (Prefix) was added to or
	// removed from the link of index Index.
	EventAddr
	EventAddrGone
	// EventRoute: a route to Prefix in Table, of Protocol, was added,
	// changed or removed.
	EventRoute
)

// Event is one change of the host's links, addresses or routes.
type Event struct {
	Kind  EventKind
	Links []Link // EventSnapshot
	Link  Link   // EventLink, EventLinkGone
	// Index is the link of an address.
	Index    int
	Prefix   netip.Prefix
	Table    int
	Protocol int
}

// eventBuffer is the receive buffer of each event socket: a hub bringing
// up a thousand tunnels makes several thousand events at once.
const eventBuffer = 4 << 20

// Watch sends the host's links and addresses (an EventSnapshot), then each
// change of links, addresses and routes as it comes, until ctx ends. When
// the kernel drops events (a full socket buffer), Watch subscribes again
// and sends a fresh snapshot, so that the receiver's picture never stays
// wrong. It blocks on a full events channel: the kernel buffers meanwhile.
func Watch(ctx context.Context, events chan<- Event, onError func(error)) error {
	w := &watcher{ctx: ctx, events: events, onError: onError}
	if err := w.subscribe(); err != nil {
		return err
	}
	go w.run()
	return nil
}

type watcher struct {
	ctx     context.Context
	events  chan<- Event
	onError func(error)

	done    chan struct{}
	linkCh  chan netlink.LinkUpdate
	addrCh  chan netlink.AddrUpdate
	routeCh chan netlink.RouteUpdate
}

// subscribe opens the three event sockets, then dumps the state: an event
// that races with the dump comes after the snapshot and only repeats it.
func (w *watcher) subscribe() error {
	w.done = make(chan struct{})
	w.linkCh = make(chan netlink.LinkUpdate, 256)
	w.addrCh = make(chan netlink.AddrUpdate, 256)
	w.routeCh = make(chan netlink.RouteUpdate, 256)
	done := w.done
	errCb := func(err error) {
		select {
		case <-done: // closing the subscriptions is not an error
		default:
			if w.ctx.Err() == nil {
				w.onError(fmt.Errorf("netlink events: %w", err))
			}
		}
	}
	fail := func(what string, err error) error {
		close(w.done)
		return fmt.Errorf("subscribe to %s events: %w", what, err)
	}
	if err := netlink.LinkSubscribeWithOptions(w.linkCh, done, netlink.LinkSubscribeOptions{
		ErrorCallback: errCb, ReceiveBufferSize: eventBuffer, ReceiveBufferForceSize: true}); err != nil {
		return fail("link", err)
	}
	if err := netlink.AddrSubscribeWithOptions(w.addrCh, done, netlink.AddrSubscribeOptions{
		ErrorCallback: errCb, ReceiveBufferSize: eventBuffer, ReceiveBufferForceSize: true}); err != nil {
		return fail("address", err)
	}
	if err := netlink.RouteSubscribeWithOptions(w.routeCh, done, netlink.RouteSubscribeOptions{
		ErrorCallback: errCb, ReceiveBufferSize: eventBuffer, ReceiveBufferForceSize: true}); err != nil {
		return fail("route", err)
	}
	links, err := snapshot()
	if err != nil {
		return fail("link", err)
	}
	return w.send(Event{Kind: EventSnapshot, Links: links})
}

func (w *watcher) send(ev Event) error {
	select {
	case w.events <- ev:
		return nil
	case <-w.ctx.Done():
		return w.ctx.Err()
	}
}

func (w *watcher) run() {
	for {
		err := w.forward()
		close(w.done)
		if w.ctx.Err() != nil {
			return
		}
		w.onError(fmt.Errorf("netlink events lost (%w); reading the host's state again", err))
		for {
			select {
			case <-w.ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
			if err := w.subscribe(); err == nil {
				break
			} else if w.ctx.Err() != nil {
				return
			} else {
				w.onError(err)
			}
		}
	}
}

var errSubscriptionEnded = errors.New("a subscription ended")

// forward translates events until ctx ends or a subscription fails.
func (w *watcher) forward() error {
	for {
		var ev Event
		select {
		case <-w.ctx.Done():
			return w.ctx.Err()
		case u, ok := <-w.linkCh:
			if !ok {
				return errSubscriptionEnded
			}
			ev = Event{Kind: EventLink, Link: describe(u.Link, nil)}
			if u.Header.Type == unix.RTM_DELLINK {
				ev.Kind = EventLinkGone
			}
		case u, ok := <-w.addrCh:
			if !ok {
				return errSubscriptionEnded
			}
			p, ok := prefixOf(&u.LinkAddress)
			if !ok {
				continue
			}
			ev = Event{Kind: EventAddr, Index: u.LinkIndex, Prefix: p}
			// A tentative IPv6 address is not usable yet: it counts once
			// duplicate address detection passed (another event).
			if !u.NewAddr || u.Flags&unix.IFA_F_TENTATIVE != 0 {
				ev.Kind = EventAddrGone
			}
		case u, ok := <-w.routeCh:
			if !ok {
				return errSubscriptionEnded
			}
			p, ok := prefixOf(u.Dst)
			if !ok {
				p = netip.PrefixFrom(netip.IPv4Unspecified(), 0)
				if u.Family == unix.AF_INET6 {
					p = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
				}
			}
			ev = Event{Kind: EventRoute, Prefix: p, Table: u.Table, Protocol: int(u.Protocol)}
		}
		if err := w.send(ev); err != nil {
			return err
		}
	}
}

// snapshot dumps every link with its usable addresses of both families.
func snapshot() ([]Link, error) {
	ls, err := netlink.LinkList()
	if err != nil {
		return nil, fmt.Errorf("list links: %w", err)
	}
	addrs, err := netlink.AddrList(nil, unix.AF_UNSPEC)
	if err != nil {
		return nil, fmt.Errorf("list addresses: %w", err)
	}
	byIndex := make(map[int][]netlink.Addr, len(ls))
	for _, a := range addrs {
		if a.Flags&unix.IFA_F_TENTATIVE == 0 {
			byIndex[a.LinkIndex] = append(byIndex[a.LinkIndex], a)
		}
	}
	out := make([]Link, 0, len(ls))
	for _, l := range ls {
		out = append(out, describe(l, byIndex[l.Attrs().Index]))
	}
	return out, nil
}
