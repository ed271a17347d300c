package linux

import (
	"context"
	"fmt"

	"github.com/vishvananda/netlink"
)

// Watch follows link, address and route changes through netlink events and
// signals changed (without blocking: one pending signal stands for any
// number of events) until ctx ends. The router re-reads what it needs on a
// signal; events only say "look again", which cannot go stale.
func Watch(ctx context.Context, changed chan<- struct{}, onError func(error)) error {
	done := make(chan struct{})
	linkCh := make(chan netlink.LinkUpdate, 64)
	addrCh := make(chan netlink.AddrUpdate, 64)
	routeCh := make(chan netlink.RouteUpdate, 256)
	errCb := func(err error) {
		if ctx.Err() == nil { // closing the subscriptions is not an error
			onError(fmt.Errorf("netlink events: %w", err))
		}
	}
	if err := netlink.LinkSubscribeWithOptions(linkCh, done, netlink.LinkSubscribeOptions{ErrorCallback: errCb}); err != nil {
		close(done)
		return fmt.Errorf("subscribe to link events: %w", err)
	}
	if err := netlink.AddrSubscribeWithOptions(addrCh, done, netlink.AddrSubscribeOptions{ErrorCallback: errCb}); err != nil {
		close(done)
		return fmt.Errorf("subscribe to address events: %w", err)
	}
	if err := netlink.RouteSubscribeWithOptions(routeCh, done, netlink.RouteSubscribeOptions{ErrorCallback: errCb}); err != nil {
		close(done)
		return fmt.Errorf("subscribe to route events: %w", err)
	}
	signal := func() {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case _, ok := <-linkCh:
				if !ok {
					return
				}
				signal()
			case _, ok := <-addrCh:
				if !ok {
					return
				}
				signal()
			case _, ok := <-routeCh:
				if !ok {
					return
				}
				signal()
			}
		}
	}()
	return nil
}
