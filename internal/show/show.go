// Package show renders the daemon's answers as IOS-style text. It sits at
// the CLI edge and only formats: the data comes from package api.
package show

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/gresec/gresec/internal/api"
)

// Interfaces writes `show interfaces` for each interface.
func Interfaces(w io.Writer, ifs api.Interfaces) {
	for _, i := range ifs.Interfaces {
		Interface(w, i)
	}
}

// Interface writes `show interfaces NAME`.
func Interface(w io.Writer, i api.Interface) {
	fmt.Fprintf(w, "%s is %s, line protocol is %s\n", i.Name, i.Status, i.LineProtocol)
	if i.LineProtocol == "down" && i.DownReason != "" {
		fmt.Fprintf(w, "  Line protocol down: %s\n", i.DownReason)
	}
	hw := map[string]string{"tunnel": "Tunnel", "loopback": "Loopback"}[i.Kind]
	if hw == "" {
		hw = "Linux interface " + i.LinuxName
	}
	fmt.Fprintf(w, "  Hardware is %s\n", hw)
	if i.Description != "" {
		fmt.Fprintf(w, "  Description: %s\n", i.Description)
	}
	if i.Address != "" {
		fmt.Fprintf(w, "  Internet address is %s\n", i.Address)
	}
	ipv6Lines(w, i)
	fmt.Fprintf(w, "  MTU %d bytes\n", i.MTU)
	if i.IPv6MTU > 0 && i.IPv6Enabled {
		fmt.Fprintf(w, "  IPv6 MTU %d bytes\n", i.IPv6MTU)
	}
	if t := i.Tunnel; t != nil {
		tunnel(w, t)
	}
	var c api.Counters
	if i.Counters != nil {
		c = *i.Counters
	}
	fmt.Fprintf(w, "  Total output drops: %d\n", c.OutDrops)
	fmt.Fprintf(w, "     %d packets input, %d bytes\n", c.InPackets, c.InBytes)
	fmt.Fprintf(w, "     %d input errors\n", c.InErrors)
	fmt.Fprintf(w, "     %d packets output, %d bytes\n", c.OutPackets, c.OutBytes)
	fmt.Fprintf(w, "     %d output errors\n", c.OutErrors)
	if len(c.Detail) > 0 {
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(c.Detail)) {
			if c.Detail[k] != 0 {
				parts = append(parts, fmt.Sprintf("%d %s", c.Detail[k], strings.ReplaceAll(k, "_", " ")))
			}
		}
		if len(parts) > 0 {
			fmt.Fprintf(w, "     %s\n", strings.Join(parts, ", "))
		}
	}
}

func tunnel(w io.Writer, t *api.Tunnel) {
	if k := t.Keepalive; k != nil {
		fmt.Fprintf(w, "  Keepalive set (%d sec), retries %d\n", k.Period, k.Retries)
		last := "never"
		if !k.LastReply.IsZero() {
			last = time.Since(k.LastReply).Truncate(time.Second).String() + " ago"
		}
		fmt.Fprintf(w, "    Keepalives sent %d, replies %d, missed %d, last reply %s\n", k.Sent, k.Replies, k.Missed, last)
	} else {
		fmt.Fprintf(w, "  Keepalive not set\n")
	}
	src := t.Source
	if src == "" {
		src = "UNKNOWN"
	}
	if t.SourceInterface != "" {
		src = fmt.Sprintf("%s (%s)", src, t.SourceInterface)
	}
	fmt.Fprintf(w, "  Tunnel source %s, destination %s\n", src, t.Destination)
	if t.UnderlayPrefix != "" {
		fmt.Fprintf(w, "  Tunnel destination reached through %s (%s) via %s\n", t.UnderlayPrefix, t.UnderlayProtocol, t.UnderlayDevice)
	}
	if t.RouteVia != "" {
		mode := "preferred"
		if t.RouteViaMandatory {
			mode = "mandatory"
		}
		fmt.Fprintf(w, "  Tunnel route-via %s %s\n", t.RouteVia, mode)
	}
	transport := map[string]string{"gre": "GRE/IP", "gre ipv6": "GRE/IPv6"}[t.Mode]
	if transport == "" {
		transport = t.Mode
	}
	fmt.Fprintf(w, "  Tunnel protocol/transport %s\n", transport)
	key := "disabled"
	if t.Key != nil {
		key = fmt.Sprintf("%d", *t.Key)
	}
	fmt.Fprintf(w, "    Key %s, sequencing %s\n", key, able(t.Sequencing))
	fmt.Fprintf(w, "    Checksumming of packets %s\n", able(t.Checksumming))
	overhead := fmt.Sprintf("%d", t.OverheadMin)
	if t.OverheadMax != t.OverheadMin {
		overhead = fmt.Sprintf("%d-%d", t.OverheadMin, t.OverheadMax)
	}
	fmt.Fprintf(w, "  Tunnel transport MTU %d bytes, overhead %s bytes, largest inner packet %d bytes\n", t.TransportMTU, overhead, t.MaxInner)
	if t.AdjustMSS > 0 {
		fmt.Fprintf(w, "  TCP MSS adjusted to %d\n", t.AdjustMSS)
	}
	if t.AdjustMSS6 > 0 {
		fmt.Fprintf(w, "  TCP MSS (IPv6) adjusted to %d\n", t.AdjustMSS6)
	}
	fmt.Fprintf(w, "  Tunnel recursion hold-down %d sec", t.HoldDown)
	if t.HoldDownLeft > 0 {
		fmt.Fprintf(w, ", %d sec left", t.HoldDownLeft)
	}
	fmt.Fprintln(w)
	if t.Protection != "" {
		fmt.Fprintf(w, "  Tunnel protection via IPSec (profile %q)\n", t.Protection)
	}
}

func able(b bool) string {
	if b {
		return "enabled"
	}
	return "disabled"
}

// Brief writes `show ip interface brief`.
func Brief(w io.Writer, ifs api.Interfaces) {
	fmt.Fprintf(w, "%-22s %-15s %-3s %-6s %-21s %s\n", "Interface", "IP-Address", "OK?", "Method", "Status", "Protocol")
	for _, i := range ifs.Interfaces {
		addr, method := "unassigned", "unset"
		if i.Address != "" {
			addr, _, _ = strings.Cut(i.Address, "/")
			method = "manual"
		}
		fmt.Fprintf(w, "%-22s %-15s %-3s %-6s %-21s %s\n", i.Name, addr, "YES", method, i.Status, i.LineProtocol)
	}
}

// Routes writes `show ip route`.
func Routes(w io.Writer, t api.RouteTable) {
	fmt.Fprintln(w, "Codes: C - connected, S - static, R - RIP, B - BGP, D - EIGRP, O - OSPF,")
	fmt.Fprintln(w, "       i - IS-IS, K - kernel (not from a routing protocol)")
	gw := "not set"
	for _, r := range t.Routes {
		if r.Prefix == "0.0.0.0/0" && len(r.Nexthops) > 0 && r.Nexthops[0].Gateway != "" {
			gw = fmt.Sprintf("%s to network 0.0.0.0", r.Nexthops[0].Gateway)
		}
	}
	fmt.Fprintf(w, "\nGateway of last resort is %s\n\n", gw)
	for _, r := range t.Routes {
		for n, nh := range r.Nexthops {
			lead := fmt.Sprintf("%-8s %s", r.Code, r.Prefix)
			if n > 0 {
				lead = strings.Repeat(" ", len(lead))
			}
			switch {
			case nh.Gateway == "":
				fmt.Fprintf(w, "%s is directly connected, %s\n", lead, nh.Interface)
			default:
				fmt.Fprintf(w, "%s [%d/%d] via %s, %s\n", lead, r.Distance, r.Metric, nh.Gateway, nh.Interface)
			}
		}
	}
}

// ipv6Lines are the IPv6 lines of `show interfaces`: the link-local
// address, then each global one with its prefix, as `show ipv6
// interface` words them.
func ipv6Lines(w io.Writer, i api.Interface) {
	if !i.IPv6Enabled {
		return
	}
	ll, global := splitIPv6(i.IPv6Addresses)
	fmt.Fprintf(w, "  IPv6 is enabled, link-local address is %s\n", upper(ll))
	for _, a := range global {
		fmt.Fprintf(w, "  IPv6 address is %s\n", upper(a))
	}
}

// splitIPv6 separates the link-local address (without its length) from
// the others (with theirs).
func splitIPv6(addrs []string) (string, []string) {
	ll := ""
	var global []string
	for _, a := range addrs {
		if strings.HasPrefix(strings.ToLower(a), "fe80:") && ll == "" {
			ll, _, _ = strings.Cut(a, "/")
			continue
		}
		global = append(global, a)
	}
	return ll, global
}

// upper writes an IPv6 address as IOS does, in capitals.
func upper(a string) string { return strings.ToUpper(a) }

// IPv6Brief writes `show ipv6 interface brief`.
func IPv6Brief(w io.Writer, ifs api.Interfaces) {
	for _, i := range ifs.Interfaces {
		fmt.Fprintf(w, "%-22s [%s/%s]\n", i.Name, i.Status, i.LineProtocol)
		ll, global := splitIPv6(i.IPv6Addresses)
		if !i.IPv6Enabled || ll == "" {
			fmt.Fprintf(w, "    unassigned\n")
			continue
		}
		fmt.Fprintf(w, "    %s\n", upper(ll))
		for _, a := range global {
			a, _, _ = strings.Cut(a, "/")
			fmt.Fprintf(w, "    %s\n", upper(a))
		}
	}
}

// IPv6Routes writes `show ipv6 route`.
func IPv6Routes(w io.Writer, t api.RouteTable) {
	fmt.Fprintf(w, "IPv6 Routing Table - default - %d entries\n", len(t.Routes))
	fmt.Fprintln(w, "Codes: C - Connected, L - Local, LC - Local and connected, S - Static, R - RIP, B - BGP, D - EIGRP")
	fmt.Fprintln(w, "       O - OSPF, i - IS-IS, K - kernel (not from a routing protocol)")
	fmt.Fprintln(w)
	for _, r := range t.Routes {
		fmt.Fprintf(w, "%-3s %s [%d/%d]\n", r.Code, upper(r.Prefix), r.Distance, r.Metric)
		for _, nh := range r.Nexthops {
			switch {
			case r.Receive:
				fmt.Fprintf(w, "     via %s, receive\n", nh.Interface)
			case nh.Gateway == "":
				fmt.Fprintf(w, "     via %s, directly connected\n", nh.Interface)
			case nh.Interface == "":
				fmt.Fprintf(w, "     via %s\n", upper(nh.Gateway))
			default:
				fmt.Fprintf(w, "     via %s, %s\n", upper(nh.Gateway), nh.Interface)
			}
		}
	}
}
