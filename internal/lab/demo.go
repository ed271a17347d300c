package lab

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/gresec/gresec/internal/api"
	"github.com/gresec/gresec/internal/control"
	"github.com/gresec/gresec/internal/show"
)

// Show asks a router's daemon for a view.
func (l *Lab) Show(router string, args ...string) (json.RawMessage, error) {
	rep, err := control.Call(l.Socket(router), append([]string{"show"}, args...))
	if err != nil {
		return nil, err
	}
	if rep.Error != "" {
		return nil, fmt.Errorf("%s: show %s: %s", router, strings.Join(args, " "), rep.Error)
	}
	return rep.Data, nil
}

// Tunnel returns a router's Tunnel0 as `show interfaces Tunnel0` sees it.
func (l *Lab) Tunnel(router string) (api.Interface, error) {
	data, err := l.Show(router, "interfaces", "Tunnel0")
	if err != nil {
		return api.Interface{}, err
	}
	var ifs api.Interfaces
	if err := json.Unmarshal(data, &ifs); err != nil || len(ifs.Interfaces) != 1 {
		return api.Interface{}, fmt.Errorf("%s: bad answer for show interfaces Tunnel0", router)
	}
	return ifs.Interfaces[0], nil
}

// WaitLineProtocol waits until Tunnel0 of router has the line protocol
// state want ("up" or "down").
func (l *Lab) WaitLineProtocol(ctx context.Context, router, want string, timeout time.Duration) (api.Interface, error) {
	deadline := time.Now().Add(timeout)
	for {
		ti, err := l.Tunnel(router)
		if err == nil && ti.LineProtocol == want {
			return ti, nil
		}
		if time.Now().After(deadline) {
			if err != nil {
				return ti, err
			}
			return ti, fmt.Errorf("%s: Tunnel0 line protocol is %s (%s), not %s after %s", router, ti.LineProtocol, ti.DownReason, want, timeout)
		}
		select {
		case <-ctx.Done():
			return ti, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Demo runs the lab's walk-through: the tunnel comes up, the LANs ping each
// other across it, and the show views are printed.
func (l *Lab) Demo(ctx context.Context) error {
	l.printf("\n== Waiting for Tunnel0 on left and right\n")
	for _, r := range []string{"left", "right"} {
		if _, err := l.WaitLineProtocol(ctx, r, "up", 30*time.Second); err != nil {
			return err
		}
	}
	if err := l.waitProtection(ctx, 30*time.Second); err != nil {
		return err
	}
	l.printf("\n== LAN to LAN across the tunnel: left-host 10.1.0.10 -> right-host 10.2.0.10\n")
	out, err := l.Exec(ctx, "left-host", "ping", "-c", "3", "-i", "0.2", "-W", "2", "10.2.0.10")
	l.printf("%s", out)
	if err != nil {
		return fmt.Errorf("LAN-to-LAN ping failed: %w", err)
	}
	return l.PrintViews("left")
}

// waitProtection waits, when Tunnel0 is protected, until IKE has installed
// an SA pair on both routers (the tunnel fails closed until then).
func (l *Lab) waitProtection(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for _, r := range []string{"left", "right"} {
		ti, err := l.Tunnel(r)
		if err != nil || ti.Tunnel == nil || ti.Tunnel.Protection == "" {
			continue
		}
		l.printf("\n== Waiting for IKE to protect Tunnel0 on %s\n", r)
		for {
			data, err := l.Show(r, "crypto", "ipsec", "sa")
			var sas api.IPsecSAs
			if err == nil && json.Unmarshal(data, &sas) == nil && len(sas.Tunnels) > 0 && sas.Tunnels[0].OutboundSPI != 0 {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s: no IPsec SA after %s", r, timeout)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	return nil
}

// PrintViews prints the IOS views of one router.
func (l *Lab) PrintViews(router string) error {
	views := []struct {
		args   []string
		render func(data json.RawMessage) error
	}{
		{[]string{"interfaces", "Tunnel0"}, func(d json.RawMessage) error {
			return decode(d, func(v api.Interfaces) { show.Interfaces(l.opts.Out, v) })
		}},
		{[]string{"ip", "interface", "brief"}, func(d json.RawMessage) error { return decode(d, func(v api.Interfaces) { show.Brief(l.opts.Out, v) }) }},
		{[]string{"ip", "route"}, func(d json.RawMessage) error { return decode(d, func(v api.RouteTable) { show.Routes(l.opts.Out, v) }) }},
		{[]string{"crypto", "isakmp", "sa"}, func(d json.RawMessage) error {
			return decode(d, func(v api.ISAKMPSAs) { show.ISAKMPSAs(l.opts.Out, v) })
		}},
		{[]string{"crypto", "ipsec", "sa"}, func(d json.RawMessage) error { return decode(d, func(v api.IPsecSAs) { show.IPsecSAs(l.opts.Out, v) }) }},
	}
	for _, v := range views {
		data, err := l.Show(router, v.args...)
		if err != nil {
			return err
		}
		l.outMu.Lock()
		fmt.Fprintf(l.opts.Out, "\n%s# show %s\n", router, strings.Join(v.args, " "))
		err = v.render(data)
		l.outMu.Unlock()
		if err != nil {
			return err
		}
	}
	return nil
}

func decode[T any](data json.RawMessage, f func(T)) error {
	var v T
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	f(v)
	return nil
}
