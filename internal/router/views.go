package router

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"github.com/gresec/gresec/internal/api"
	"github.com/gresec/gresec/internal/config"
	"github.com/gresec/gresec/internal/dataplane"
	"github.com/gresec/gresec/internal/linux"
)

// Handle answers one control-socket request.
func (r *Router) Handle(_ context.Context, req api.Request) api.Response {
	args := req.Args
	if resp, ok := r.testCommand(args); ok {
		return resp
	}
	switch {
	case len(args) == 1 && args[0] == "reload":
		problems, err := r.reloadFile()
		if err != nil {
			return api.Response{Error: "configuration not reloaded; the running configuration stays", Problems: problems}
		}
		return api.Response{Problems: problems, Data: "configuration reloaded"}
	case len(args) >= 2 && args[0] == "show":
		return r.show(args[1:])
	case len(args) >= 2 && args[0] == "clear":
		return r.clear(args[1:])
	}
	return api.Response{Error: fmt.Sprintf("unknown request %q", strings.Join(args, " "))}
}

func (r *Router) show(args []string) api.Response {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch strings.Join(args, " ") {
	case "running-config":
		return api.Response{Data: api.RunningConfig{Text: r.cfg.Format(config.FormatOptions{MaskKeys: true})}}
	case "ip route":
		return api.Response{Data: r.routeTable(false)}
	case "ipv6 route":
		return api.Response{Data: r.routeTable(true)}
	case "interfaces":
		return api.Response{Data: api.Interfaces{Interfaces: r.interfaces("")}}
	case "ip interface brief", "ipv6 interface brief":
		return api.Response{Data: api.Interfaces{Interfaces: r.brief()}}
	case "crypto ipsec sa":
		return api.Response{Data: r.ipsecSAs("")}
	case "crypto isakmp sa", "crypto isakmp sa detail":
		return api.Response{Data: r.isakmpSAs()}
	case "crypto session":
		return api.Response{Data: r.cryptoSessions()}
	case "crypto ikev2 sa", "crypto ikev2 sa detailed":
		return api.Response{Data: r.ikev2SAs()}
	case "crypto ikev2 session", "crypto ikev2 session detailed":
		return api.Response{Data: r.ikev2Sessions()}
	case "crypto map":
		return api.Response{Data: r.cryptoMaps()}
	case "crypto socket":
		return api.Response{Data: r.cryptoSockets()}
	}
	if len(args) == 5 && args[0] == "crypto" && args[1] == "ipsec" && args[2] == "sa" && args[3] == "interface" {
		sas := r.ipsecSAs(args[4])
		if len(sas.Tunnels) == 0 {
			return api.Response{Error: fmt.Sprintf("%s is not a protected tunnel", args[4])}
		}
		return api.Response{Data: sas}
	}
	if len(args) == 2 && args[0] == "interfaces" {
		ifs := r.interfaces(args[1])
		if len(ifs) == 0 {
			return api.Response{Error: fmt.Sprintf("no interface %s", args[1])}
		}
		return api.Response{Data: api.Interfaces{Interfaces: ifs}}
	}
	return api.Response{Error: fmt.Sprintf("unknown show command %q", strings.Join(args, " "))}
}

// interfaces describes every interface of the host, or only the one named.
func (r *Router) interfaces(only string) []api.Interface {
	links, err := r.host.Links()
	if err != nil {
		r.log.Warn(err.Error())
	}
	slices.SortFunc(links, func(a, b linux.Link) int { return a.Index - b.Index })
	var out []api.Interface
	for _, l := range links {
		if only != "" && l.Name != only {
			continue
		}
		out = append(out, r.describe(l))
	}
	return out
}

// brief is `show ip interface brief`: names, addresses and states from
// the host state the router keeps, without counters or tunnel details, so
// that a hub with thousands of tunnels answers at once.
func (r *Router) brief() []api.Interface {
	out := make([]api.Interface, 0, len(r.hs.links))
	for _, l := range r.hs.all() {
		ai := r.linkStatus(l)
		if it := r.ifs[l.Name]; it != nil && it.cfg.Kind == config.Tunnel {
			r.tunnelStatus(it, &ai)
		}
		out = append(out, ai)
	}
	return out
}

// linkStatus is what every view says of a link: name, kind, address and
// states.
func (r *Router) linkStatus(l linux.Link) api.Interface {
	ai := api.Interface{Name: l.Name, LinuxName: l.Name, Kind: "physical", MTU: l.MTU}
	if len(l.Addrs) > 0 {
		ai.Address = l.Addrs[0].String()
	}
	r.ipv6Status(l, &ai)
	ai.Status, ai.LineProtocol = "up", "up"
	if !l.AdminUp {
		ai.Status, ai.LineProtocol, ai.DownReason = "administratively down", "down", "shutdown"
	} else if !l.OperUp {
		ai.LineProtocol, ai.DownReason = "down", "no carrier"
	}
	if it := r.ifs[l.Name]; it != nil {
		ai.Description = it.cfg.Description
		switch it.cfg.Kind {
		case config.Loopback:
			ai.Kind = "loopback"
		case config.Tunnel:
			ai.Kind = "tunnel"
		}
	}
	return ai
}

// tunnelStatus gives a tunnel's states as its line protocol has them.
func (r *Router) tunnelStatus(it *iface, ai *api.Interface) {
	ai.MTU = it.mtu
	if it.cfg.Shutdown {
		ai.Status, ai.LineProtocol = "administratively down", "down"
	} else {
		ai.Status, ai.LineProtocol = "up", "down"
		if it.lp.Up() {
			ai.LineProtocol = "up"
		}
	}
	ai.DownReason = it.lp.Reason()
}

func (r *Router) describe(l linux.Link) api.Interface {
	ai := r.linkStatus(l)
	ai.Counters = &api.Counters{
		InPackets: l.Stats.RxPackets, InBytes: l.Stats.RxBytes, InErrors: l.Stats.RxErrors,
		OutPackets: l.Stats.TxPackets, OutBytes: l.Stats.TxBytes, OutErrors: l.Stats.TxErrors,
		OutDrops: l.Stats.TxDropped,
	}
	if it := r.ifs[l.Name]; it != nil && it.cfg.Kind == config.Tunnel {
		r.describeTunnel(it, &ai)
	}
	return ai
}

func (r *Router) describeTunnel(it *iface, ai *api.Interface) {
	tc := it.cfg.Tunnel
	now := r.opts.Now()
	r.tunnelStatus(it, ai)
	t := &api.Tunnel{
		SourceInterface: tc.SourceInterface,
		Destination:     tc.Destination.String(),
		Mode:            tunnelModeName(tc.Mode),
		Sequencing:      tc.Sequence,
		Checksumming:    tc.Checksum,
		Protection:      tc.ProtectionProfile,
		AdjustMSS:       tc.AdjustMSS,
		AdjustMSS6:      tc.IPv6AdjustMSS,
		HoldDown:        int(tc.RecursionHoldDown.Seconds()),
	}
	if it.src.IsValid() {
		t.Source = it.src.String()
	} else if tc.SourceAddr.IsValid() {
		t.Source = tc.SourceAddr.String()
	}
	if tc.HasKey {
		k := tc.Key
		t.Key = &k
	}
	if rv := tc.RouteVia; rv != nil {
		t.RouteVia, t.RouteViaMandatory = rv.Interface, rv.Mandatory
	}
	if it.lookup.Found {
		t.UnderlayPrefix, t.UnderlayProtocol = it.lookup.Prefix.String(), protoName(it.lookup.Protocol)
		t.UnderlayDevice = it.lookup.Device
	}
	t.TransportMTU = r.transportMTU(it)
	t.OverheadMin, t.OverheadMax = r.overhead(it)
	t.MaxInner = t.TransportMTU - t.OverheadMax
	if hd := it.lp.HoldDownUntil(); hd.After(now) {
		t.HoldDownLeft = int(hd.Sub(now).Seconds() + 0.5)
	}
	if ka := it.ka; ka != nil {
		t.Keepalive = &api.Keepalive{
			Period:    int(ka.Period.Seconds()),
			Retries:   ka.Retries,
			Sent:      it.dp.C.Load(dataplane.KeepalivesSent),
			Replies:   it.dp.C.Load(dataplane.KeepaliveReplies),
			Missed:    ka.Missed(),
			LastReply: ka.LastReply(),
		}
	}
	ai.Tunnel = t
	s := it.dp.C.Snapshot()
	ai.Counters = &api.Counters{
		InPackets: s[dataplane.InPackets], InBytes: s[dataplane.InBytes], InErrors: s.InDrops(),
		OutPackets: s[dataplane.OutPackets], OutBytes: s[dataplane.OutBytes], OutDrops: s.OutDrops(), OutErrors: s[dataplane.OutErrors],
		Detail: maps.Collect(s.Detail()),
	}
}

// routeTable is the kernel's main table of one family with IOS codes;
// the IPv6 one lists the router's own addresses as local routes (L), as
// IOS does, and leaves out what IOS does not show (link-local prefixes,
// ::1).
func (r *Router) routeTable(v6 bool) api.RouteTable {
	krs, err := r.host.Routes()
	if err != nil {
		r.log.Warn(err.Error())
	}
	var t api.RouteTable
	for _, kr := range krs {
		if kr.Prefix.Addr().Is6() != v6 {
			continue
		}
		a := kr.Prefix.Addr()
		if v6 && (a.IsLinkLocalUnicast() || a.IsLoopback() || a.IsMulticast()) {
			continue
		}
		code, dist := routeCode(kr)
		ar := api.Route{Code: code, Prefix: kr.Prefix.String(), Distance: dist, Metric: kr.Metric}
		switch {
		case code == "S":
			ar.Distance, ar.Metric = kr.Metric, 0
		case v6 && code == "C":
			ar.Metric = 0 // Linux's 256 is its default metric, no distance
		}
		for _, nh := range kr.Nexthops {
			an := api.Nexthop{Interface: nh.Device}
			if nh.Gateway.IsValid() {
				an.Gateway = nh.Gateway.String()
			}
			ar.Nexthops = append(ar.Nexthops, an)
		}
		t.Routes = append(t.Routes, ar)
	}
	if v6 {
		local := r.localRoutes6()
		// A /128 address brings Linux's prefix route of itself: IOS
		// shows the two as one local and connected route, LC.
		for i := range local {
			if j := slices.IndexFunc(t.Routes, func(ar api.Route) bool { return ar.Code == "C" && ar.Prefix == local[i].Prefix }); j >= 0 {
				t.Routes = slices.Delete(t.Routes, j, j+1)
				local[i].Code = "LC"
			}
		}
		t.Routes = append(t.Routes, local...)
		slices.SortStableFunc(t.Routes, func(a, b api.Route) int {
			pa, pb := netip.MustParsePrefix(a.Prefix), netip.MustParsePrefix(b.Prefix)
			return cmp.Or(pa.Addr().Compare(pb.Addr()), pa.Bits()-pb.Bits())
		})
	}
	return t
}

// localRoutes6 are IOS's L routes: each global IPv6 address of a link that
// is up, as a /128 the router receives.
func (r *Router) localRoutes6() []api.Route {
	var out []api.Route
	for _, l := range r.hs.all() {
		if !l.AdminUp || !l.OperUp {
			continue
		}
		for _, p := range l.Addrs6 {
			if p.Addr().IsLinkLocalUnicast() || p.Addr().IsLoopback() {
				continue
			}
			out = append(out, api.Route{Code: "L", Prefix: netip.PrefixFrom(p.Addr(), 128).String(), Receive: true,
				Nexthops: []api.Nexthop{{Interface: l.Name}}})
		}
	}
	return out
}

// ipv6Status fills in a link's IPv6 addresses: those gresec configured
// (including ones still tentative, or flushed while the link is down, as
// IOS lists what is configured), then the host's others, the link-local
// first.
func (r *Router) ipv6Status(l linux.Link, ai *api.Interface) {
	var addrs []netip.Prefix
	if it := r.ifs[l.Name]; it != nil {
		addrs = slices.Clone(it.addrs6)
		if it.cfg.Kind == config.Tunnel && (it.cfg.IPv6Enabled() || it.cfg.Tunnel.IPv6MTU > 0) {
			ai.IPv6MTU = tunnelIPv6MTU(it.cfg.Tunnel, 1500, it.mtu)
		}
	}
	for _, p := range l.Addrs6 {
		if !slices.Contains(addrs, p) {
			addrs = append(addrs, p)
		}
	}
	slices.SortStableFunc(addrs, func(a, b netip.Prefix) int {
		return cmp.Compare(b2i(!a.Addr().IsLinkLocalUnicast()), b2i(!b.Addr().IsLinkLocalUnicast()))
	})
	for _, p := range addrs {
		ai.IPv6Addresses = append(ai.IPv6Addresses, p.String())
	}
	_, ai.IPv6Enabled = ipv6LinkLocal(linux.Link{Addrs6: addrs})
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// routeCode maps a kernel route to IOS's code letter and default distance.
func routeCode(kr linux.KernelRoute) (string, int) {
	rp, ok := routeProtocols[kr.Protocol]
	switch {
	case !ok:
		return "K", 0
	case kr.Protocol == int(linux.RouteProtocol):
		return rp.code, kr.Metric
	}
	return rp.code, rp.distance
}

// tunnelModeName names a tunnel mode in the views: "gre" over IPv4,
// "gre ipv6" over IPv6, as `tunnel mode` writes them.
func tunnelModeName(m config.TunnelMode) string {
	if m == config.ModeGREIPv6 {
		return "gre ipv6"
	}
	return "gre"
}
