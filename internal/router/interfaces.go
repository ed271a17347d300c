package router

import (
	"fmt"
	"io"
	"net/netip"
	"slices"
	"time"

	"github.com/gresec/gresec/internal/config"
	"github.com/gresec/gresec/internal/dataplane"
	"github.com/gresec/gresec/internal/gre"
	"github.com/gresec/gresec/internal/keepalive"
	"github.com/gresec/gresec/internal/lineproto"
	"github.com/gresec/gresec/internal/linux"
	"github.com/gresec/gresec/internal/packet"
)

// createBatch is how many tunnel devices a pass creates at most.
const createBatch = 256

// fullDelay is how soon after the kernel reports a tunnel's carrier every
// tunnel is evaluated again.
const fullDelay = 500 * time.Millisecond

// iface is the runtime state of one configured interface.
type iface struct {
	cfg *config.Interface

	// loop holds a LoopbackN device open; tun is a TunnelN device.
	loop io.Closer
	tun  TunnelDevice
	dp   *dataplane.Tunnel

	// addr is the address gresec put on the interface (to remove it later);
	// addrs6 the IPv6 ones, the link-local first; added6 those of them
	// added since the host last reported them gone (or tentative), which
	// need no adding again.
	addr   netip.Prefix
	addrs6 []netip.Prefix
	added6 []netip.Prefix
	// warned remembers the last problem logged, so it is logged once.
	warned string
	// adminShutdown is the shutdown state last applied (when adminApplied).
	adminApplied  bool
	adminShutdown bool

	// Tunnel state.
	lp        lineproto.Machine
	lpIn      lineproto.Inputs // the inputs of the last evaluation
	ka        *keepalive.Machine
	kaReplies uint64 // dp.C's KeepaliveReplies seen so far
	src       netip.Addr
	underlay  underlayKey
	lookup    linux.Lookup
	// viaTunnel is the last gresec tunnel the underlay ran through: when
	// that tunnel's carrier comes back, the route through it may too.
	viaTunnel  string
	srcProblem string
	mtu        int
	// mtu6 is the tunnel's IPv6 MTU as the host has it.
	mtu6 int
	// pin is the policy routing installed for `tunnel route-via` (nil
	// without it); its slot gives the underlay sockets' mark.
	pin *linux.Pin

	// IPsec: installed SA pairs, newest first, and the ESP socket.
	sas     []*saPair
	retired saTotals
	grePort portKey // the ports the tunnel is on
	espPort portKey
	saNext  time.Time // next SA expiry or retirement
	outPair *saPair   // the pair whose outbound SA carries traffic
}

// underlayKey identifies the socket a tunnel's underlay needs.
type underlayKey struct {
	src, dst netip.Addr
	opts     linux.UnderlayOptions
}

func (it *iface) keepaliveWake() time.Time {
	if it.ka == nil {
		return time.Time{}
	}
	return it.ka.NextWake()
}

func (it *iface) saWake() time.Time { return it.saNext }

// refreshLink reads a link afresh into the host state.
func (r *Router) refreshLink(name string) {
	l, err := r.host.Link(name)
	if err != nil {
		r.log.Warn(err.Error())
		return
	}
	r.hs.replace(l)
}

// reconcileLocked makes the host match the configuration, evaluates the
// tunnels that are marked dirty (all of them with dirtyAll) and runs the
// timers of the others, and synchronises the static routes when something
// they depend on changed.
func (r *Router) reconcileLocked(now time.Time) {
	if !r.fwd && (len(r.cfg.Routes) > 0 || hasTunnel(r.cfg)) {
		// A router with routes to serve forwards; a bare host does not.
		if err := r.host.EnableForwarding(); err != nil {
			r.log.Warn(err.Error())
		}
		r.fwd = true
	}
	if !r.fwd6 && r.cfg.IPv6UnicastRouting {
		// As on IOS, nothing turns it off again but a restart.
		if err := r.host.EnableIPv6Forwarding(); err != nil {
			r.log.Warn(err.Error())
		}
		r.fwd6 = true
	}
	// Devices are created a batch per pass, so that the show commands
	// are answered while a hub of thousands of tunnels starts.
	created := 0
	r.more = false
	for _, ic := range r.cfg.Interfaces {
		it := r.ifs[ic.Name]
		if it == nil {
			it = &iface{}
			r.ifs[ic.Name] = it
			r.dirty[ic.Name] = true
		}
		it.cfg = ic
		if ic.Kind == config.Tunnel && it.tun == nil {
			if created >= createBatch {
				r.more = true
				continue
			}
			created++
		}
		if err := r.ensureInterface(it); err != nil {
			r.warnOnce(it, err.Error())
		}
	}
	// Evaluating a tunnel may change what others depend on (its underlay
	// runs into another tunnel, its line protocol changed); a few rounds
	// settle chains of tunnels, the rest waits for the next pass.
	for round := 0; round < 4; round++ {
		r.sweepLocked(now)
		all, dirty := r.dirtyAll, r.dirty
		r.dirtyAll, r.dirty = false, map[string]bool{}
		for _, ic := range r.cfg.Interfaces {
			if ic.Kind != config.Tunnel {
				continue
			}
			it := r.ifs[ic.Name]
			if it.dp == nil {
				continue // no device (yet, or it failed: warned)
			}
			switch {
			case all || dirty[ic.Name] || dueAt(it.lp.HoldDownUntil(), now):
				r.evaluateTunnel(now, it)
			case dueAt(it.keepaliveWake(), now):
				r.refreshTunnel(now, it)
			}
			if round == 0 {
				it.saNext = r.expireSAs(now, it)
			}
		}
		if !r.dirtyAll && len(r.dirty) == 0 && len(r.pend.links) == 0 {
			break
		}
	}
	if r.routesDirty {
		r.routesDirty = false
		r.syncRoutes()
	}
}

// dueAt reports whether a timer set for t (zero: none) is due at now.
func dueAt(t, now time.Time) bool { return !t.IsZero() && !now.Before(t) }

func (r *Router) warnOnce(it *iface, msg string) {
	if it.warned == msg {
		return
	}
	it.warned = msg
	r.log.Warn(msg)
}

// ensureInterface creates the interface's device if gresec owns it and
// applies MTU, address and shutdown.
func (r *Router) ensureInterface(it *iface) error {
	ic := it.cfg
	// A change to a loopback or physical interface is read back at once,
	// not from its events: tunnels sourced from it are evaluated in this
	// very pass.
	changed := false
	defer func() {
		if changed && ic.Kind != config.Tunnel {
			r.refreshLink(ic.Name)
		}
	}()
	switch ic.Kind {
	case config.Loopback:
		if it.loop == nil {
			f, err := r.host.CreateLoopbackDevice(ic.Name)
			if err != nil {
				return err
			}
			it.loop = f
			changed = true
		}
	case config.Tunnel:
		if err := r.ensureTunnel(it); err != nil {
			return err
		}
	case config.Physical:
		if !r.hs.has(ic.Name) {
			return fmt.Errorf("interface %s: no such Linux interface", ic.Name)
		}
	}
	if ic.Address != it.addr {
		if err := r.host.SetAddress(ic.Name, ic.Address, it.addr); err != nil {
			return err
		}
		it.addr = ic.Address
		changed = true
	}
	if c, err := r.applyIPv6(it); err != nil {
		return err
	} else if c {
		changed = true
	}
	if ic.Kind == config.Tunnel {
		if err := r.applyIPv6MTU(it); err != nil {
			return err
		}
	}
	// The admin state is applied when the configuration sets or changes
	// it, not enforced on every pass: an operator's `ip link set down` on
	// a physical interface is a failure to react to, not to undo.
	if it.adminApplied && it.adminShutdown == ic.Shutdown {
		return nil
	}
	if err := r.host.SetUp(ic.Name, !ic.Shutdown); err != nil {
		return err
	}
	it.adminApplied, it.adminShutdown = true, ic.Shutdown
	changed = true
	return nil
}

// tunnelMTU is the tunnel's IP MTU: configured, or what fits the underlay.
func tunnelMTU(tc *config.TunnelConfig, underlayMTU int) int {
	if tc.IPMTU > 0 {
		return tc.IPMTU
	}
	return underlayMTU - overhead(tc)
}

// overhead is the GRE overhead of a tunnel's packets: the outer IP header
// of the underlay's family and GRE.
func overhead(tc *config.TunnelConfig) int {
	h := gre.Header{HasKey: tc.HasKey, HasSeq: tc.Sequence, HasChecksum: tc.Checksum}
	return outerHeaderLen(tc) + h.Len()
}

// outerHeaderLen is the length of the underlay's IP header.
func outerHeaderLen(tc *config.TunnelConfig) int {
	if tc.Mode == config.ModeGREIPv6 {
		return packet.IPv6HeaderLen
	}
	return packet.IPv4HeaderLen
}

func (r *Router) tunnelParams(it *iface) dataplane.Params {
	tc := it.cfg.Tunnel
	p := dataplane.Params{
		Name:        it.cfg.Name,
		Local:       it.src,
		Remote:      tc.Destination,
		HasKey:      tc.HasKey,
		Key:         tc.Key,
		Sequence:    tc.Sequence,
		Checksum:    tc.Checksum,
		MTU:         it.mtu,
		MTU6:        tunnelIPv6MTU(tc, 1500, it.mtu),
		AdjustMSS:   tc.AdjustMSS,
		AdjustMSS6:  tc.IPv6AdjustMSS,
		Protected:   tc.ProtectionProfile != "",
		ICMPSource:  it.cfg.Address.Addr(),
		ICMPSource6: r.icmpSource6(it.cfg),
	}
	if pm := r.pathMTU6(it); pm > 0 {
		// An IPv6 underlay never fragments: what the path carries, less
		// the most the tunnel adds, is the most an inner packet may be;
		// larger ones get Packet Too Big or fragmentation needed.
		_, hi := r.overhead(it)
		p.MTU = min(p.MTU, pm-hi)
		p.MTU6 = min(p.MTU6, pm-hi)
	}
	return p
}

// pathMTU6 is the path MTU of an IPv6 underlay, when the kernel learned
// one below the link's: from the lookup of the destination, or from the
// tunnel's socket (whose report follows the very path its packets take,
// where a lookup may hash onto another of several equal-cost paths); the
// smaller. 0: none, or an IPv4 underlay (whose outer packets may be
// fragmented).
func (r *Router) pathMTU6(it *iface) int {
	tc := it.cfg.Tunnel
	if tc.Mode != config.ModeGREIPv6 {
		return 0
	}
	pm := it.lookup.MTU
	port := it.grePort
	if tc.ProtectionProfile != "" {
		port = it.espPort
	}
	if sh := r.ports[port]; sh != nil {
		s := 0
		switch {
		case sh.raw != nil:
			s = sh.raw.PathMTU(tc.Destination)
		case sh.udp != nil:
			s = sh.udp.PathMTU()
		}
		if s > 0 && (pm == 0 || s < pm) {
			pm = s
		}
	}
	return pm
}

// icmpSource6 is where a tunnel's ICMPv6 errors come from: its own first
// global address, as IOS answers from the interface, else the router's.
func (r *Router) icmpSource6(ic *config.Interface) netip.Addr {
	for _, a := range ic.IPv6Addresses {
		if !a.EUI64 {
			return a.Prefix.Addr()
		}
	}
	return r.hs.ipv6Source()
}

func (r *Router) ensureTunnel(it *iface) error {
	tc := it.cfg.Tunnel
	mtu := tunnelMTU(tc, 1500)
	if tc.IPMTU == 0 && tc.Mode == config.ModeGREIPv6 && tc.ProtectionProfile != "" {
		// Over IPv6 nothing fragments the outer packet: without `ip
		// mtu` a protected tunnel's MTU leaves room for ESP as well.
		_, hi := r.overhead(it)
		mtu = 1500 - hi
	}
	if it.tun == nil {
		dev, err := r.host.CreateTunnelDevice(it.cfg.Name, mtu)
		if err != nil {
			return err
		}
		it.tun = dev
		if err := r.host.IgnoreLinkdownRoutes(it.cfg.Name); err != nil {
			r.log.Warn(err.Error())
		}
		// The carrier stays off until the line protocol comes up.
		if err := dev.SetCarrier(false); err != nil {
			return fmt.Errorf("%s: %w", it.cfg.Name, err)
		}
		it.mtu, it.mtu6 = mtu, mtu
		name := it.cfg.Name
		it.dp = dataplane.New(dev, r.tunnelParams(it), dataplane.Env{
			Buffers:        r.bufs,
			KeepaliveReply: func() { r.keepaliveReply(name) },
			SoftLimit:      func() { r.softLimit(name) },
			PathMTU:        func() { r.pathMTU(name) },
		}, r.log.With("interface", name))
		it.lp = lineproto.Machine{}
		it.dp.Start()
	}
	it.lp.HoldDown = tc.RecursionHoldDown
	if mtu != it.mtu {
		if err := r.host.SetMTU(it.cfg.Name, mtu); err != nil {
			return err
		}
		it.mtu, it.mtu6 = mtu, mtu // the kernel resets the IPv6 MTU
	}
	switch {
	case tc.Keepalive == nil:
		it.ka = nil
	case it.ka == nil || it.ka.Period != tc.Keepalive.Period || it.ka.Retries != tc.Keepalive.Retries:
		it.ka = &keepalive.Machine{Period: tc.Keepalive.Period, Retries: tc.Keepalive.Retries}
	}
	return nil
}

// resolveSource finds the tunnel's source address, or says why it has none.
func (r *Router) resolveSource(it *iface) (netip.Addr, string) {
	tc := it.cfg.Tunnel
	if tc.SourceInterface != "" {
		l, ok := r.hs.link(tc.SourceInterface)
		switch {
		case !ok:
			return netip.Addr{}, fmt.Sprintf("tunnel source %s does not exist", tc.SourceInterface)
		case !l.AdminUp || !l.OperUp:
			return netip.Addr{}, fmt.Sprintf("tunnel source %s is down", tc.SourceInterface)
		}
		if tc.Mode == config.ModeGREIPv6 {
			// As IOS: the source interface's first global IPv6 address
			// (a link-local one reaches no remote peer).
			for _, p := range l.Addrs6 {
				if !p.Addr().IsLinkLocalUnicast() {
					return p.Addr(), ""
				}
			}
			return netip.Addr{}, fmt.Sprintf("tunnel source %s has no global IPv6 address", tc.SourceInterface)
		}
		if len(l.Addrs) == 0 {
			return netip.Addr{}, fmt.Sprintf("tunnel source %s has no IP address", tc.SourceInterface)
		}
		return l.Addrs[0].Addr(), ""
	}
	if l, ok := r.hs.owner(tc.SourceAddr); ok {
		if !l.AdminUp {
			return netip.Addr{}, fmt.Sprintf("tunnel source %s is on %s, which is down", tc.SourceAddr, l.Name)
		}
		return tc.SourceAddr, ""
	}
	return netip.Addr{}, fmt.Sprintf("tunnel source %s is not an address of this router", tc.SourceAddr)
}

// underlayOptions are the socket selectors for `tunnel route-via`: the
// pin's mark, which policy routing sends through the chosen interface.
// Not SO_BINDTODEVICE: with a bound device the kernel takes a destination
// that no rule or table reaches as on-link, so mandatory could not fail
// closed.
func (r *Router) underlayOptions(it *iface) linux.UnderlayOptions {
	if it.pin == nil {
		return linux.UnderlayOptions{}
	}
	return linux.UnderlayOptions{Mark: linux.PinMark(it.pin.Slot)}
}

// pinUnderlay keeps the policy routing of `tunnel route-via`: a slot (mark
// and table) while it is configured, and in the slot's table the route to
// the destination through the interface, copied from the main table. It
// returns a problem that keeps a mandatory tunnel down.
func (r *Router) pinUnderlay(it *iface) string {
	tc := it.cfg.Tunnel
	rv := tc.RouteVia
	if rv == nil || !tc.Destination.IsValid() {
		r.unpin(it)
		return ""
	}
	p := linux.Pin{Dst: tc.Destination, FailClosed: rv.Mandatory}
	if it.pin != nil {
		p.Slot = it.pin.Slot
	} else {
		slot, ok := r.freePinSlot()
		if !ok {
			return fmt.Sprintf("tunnel route-via %s: more than %d tunnels use route-via", rv.Interface, linux.MaxPins)
		}
		p.Slot = slot
	}
	routes, err := r.host.Routes()
	if err != nil {
		return fmt.Sprintf("tunnel route-via %s: %v", rv.Interface, err)
	}
	if l, ok := r.hs.link(rv.Interface); ok && l.AdminUp && l.OperUp {
		for _, nh := range routeVia(routes, tc.Destination, rv.Interface) {
			p.Nexthops = append(p.Nexthops, linux.Nexthop{Gateway: nh.Gateway, LinkIndex: l.Index})
		}
	}
	// Remember the slot before installing: a half-installed pin is still
	// gresec's to remove.
	it.pin = &p
	if err := r.host.SetPin(p); err != nil {
		return fmt.Sprintf("tunnel route-via %s: %v", rv.Interface, err)
	}
	return ""
}

// unpin removes a tunnel's route-via policy routing.
func (r *Router) unpin(it *iface) {
	if it.pin == nil {
		return
	}
	if err := r.host.DeletePin(it.pin.Slot); err != nil {
		r.log.Warn(fmt.Sprintf("%s: removing route-via policy routing: %v", it.cfg.Name, err))
	}
	it.pin = nil
}

// freePinSlot is the lowest slot no tunnel uses.
func (r *Router) freePinSlot() (int, bool) {
	used := make([]bool, linux.MaxPins)
	for _, o := range r.ifs {
		if o.pin != nil {
			used[o.pin.Slot] = true
		}
	}
	slot := slices.Index(used, false)
	return slot, slot >= 0
}

// routeVia picks what `tunnel route-via dev` copies from the main table:
// among the usable routes that contain dst and leave (at least partly)
// through dev, the longest prefix, then the lowest metric; it returns that
// route's nexthops through dev, or none.
func routeVia(routes []linux.KernelRoute, dst netip.Addr, dev string) []linux.KernelNexthop {
	var best *linux.KernelRoute
	var nhs []linux.KernelNexthop
	for i := range routes {
		kr := &routes[i]
		if kr.Linkdown || !kr.Prefix.Contains(dst) {
			continue
		}
		if best != nil && (kr.Prefix.Bits() < best.Prefix.Bits() ||
			kr.Prefix.Bits() == best.Prefix.Bits() && kr.Metric >= best.Metric) {
			continue
		}
		var through []linux.KernelNexthop
		for _, nh := range kr.Nexthops {
			if nh.Device == dev {
				through = append(through, nh)
			}
		}
		if len(through) > 0 {
			best, nhs = kr, through
		}
	}
	return nhs
}

// evaluateTunnel re-resolves a tunnel's source and underlay route, runs
// keepalives, and updates its line protocol.
func (r *Router) evaluateTunnel(now time.Time, it *iface) {
	tc := it.cfg.Tunnel
	name := it.cfg.Name
	src, srcProblem := r.resolveSource(it)
	if it.cfg.Shutdown {
		srcProblem = ""
	}
	it.srcProblem = srcProblem
	oldOpts := r.underlayOptions(it)
	pinProblem := r.pinUnderlay(it)
	if pinProblem != "" {
		r.warnOnce(it, fmt.Sprintf("%s: %s", name, pinProblem))
	}
	opts := r.underlayOptions(it)
	key := underlayKey{src: src, dst: tc.Destination, opts: opts}
	if it.cfg.Shutdown || srcProblem != "" {
		key = underlayKey{}
	}
	if key != it.underlay {
		it.underlay = key
		it.src = key.src
		it.dp.SetParams(r.tunnelParams(it)) // the port files it under its destination
		if err := r.attachPort(it, portKey{src: key.src, opts: key.opts}); err != nil {
			srcProblem = err.Error()
			it.underlay = underlayKey{}
		}
		if it.ka != nil {
			it.ka.Reset()
		}
	}
	it.dp.SetParams(r.tunnelParams(it))
	if len(it.sas) > 0 && (it.espPort.src != it.src || opts != oldOpts) {
		r.applyProtection(it) // the ESP socket follows the source address and the mark
	}

	in := lineproto.Inputs{AdminDown: it.cfg.Shutdown, SourceProblem: srcProblem}
	if srcProblem == "" && !it.cfg.Shutdown {
		pathMTU := r.pathMTU6(it)
		in.DestProblem, in.Recursion = r.resolveDestination(it)
		if r.pathMTU6(it) != pathMTU {
			it.dp.SetParams(r.tunnelParams(it))
		}
		if pinProblem != "" && tc.RouteVia != nil && tc.RouteVia.Mandatory {
			// Without its rules a mandatory pin cannot fail closed.
			in.DestProblem, in.Recursion = pinProblem, ""
		}
		in.KeepaliveProblem = r.runKeepalive(now, it)
	}
	it.lpIn = in
	r.updateLineProtocol(now, it, in)
}

// keepaliveReplyLocked records a GRE keepalive reply on one tunnel: its
// keepalive machine and line protocol move at once, without a pass over
// the host.
func (r *Router) keepaliveReplyLocked(name string) {
	it := r.ifs[name]
	if it == nil || it.dp == nil || it.ka == nil || it.cfg.Kind != config.Tunnel {
		return
	}
	r.refreshTunnel(r.opts.Now(), it)
	if r.routesDirty {
		r.routesDirty = false
		r.syncRoutes()
	}
}

// refreshTunnel runs a tunnel's keepalives and line protocol on the
// inputs of its last evaluation: what a keepalive timer or reply needs,
// without asking the host anything.
func (r *Router) refreshTunnel(now time.Time, it *iface) {
	in := it.lpIn
	if in.AdminDown || in.SourceProblem != "" {
		return
	}
	in.KeepaliveProblem = r.runKeepalive(now, it)
	it.lpIn = in
	r.updateLineProtocol(now, it, in)
}

// updateLineProtocol runs the tunnel's line protocol on its inputs and
// carries out a change (log, carrier, data plane).
func (r *Router) updateLineProtocol(now time.Time, it *iface, in lineproto.Inputs) {
	name, tc := it.cfg.Name, it.cfg.Tunnel
	res := it.lp.Update(now, in)
	if res.RecursionDetected {
		r.log.Warn(fmt.Sprintf("%%TUN-5-RECURDOWN: %s temporarily disabled due to recursive routing", name),
			"route", in.Recursion, "hold_down", tc.RecursionHoldDown)
	}
	if res.Changed {
		state := "down"
		if it.lp.Up() {
			state = "up"
		}
		args := []any{}
		if !it.lp.Up() {
			args = append(args, "reason", it.lp.Reason())
		}
		r.log.Info(fmt.Sprintf("%%LINEPROTO-5-UPDOWN: Line protocol on Interface %s, changed state to %s", name, state), args...)
		// Static routes through the tunnel, and tunnels whose underlay
		// runs through it, follow its state (and again when the kernel
		// reports its carrier: noteEventLocked).
		r.routesDirty = true
		r.pend.links[name] = true
		if err := it.tun.SetCarrier(it.lp.Up()); err != nil {
			r.log.Warn(err.Error())
		}
		it.dp.SetUp(it.lp.Up())
	}
}

// resolveDestination looks up the underlay route to the destination with
// the selectors of the underlay socket, and says whether it is missing or
// runs through a gresec tunnel (recursive routing).
func (r *Router) resolveDestination(it *iface) (problem, recursion string) {
	tc := it.cfg.Tunnel
	opts := linux.LookupOptions{Src: it.src, BindDevice: it.underlay.opts.BindDevice, Mark: it.underlay.opts.Mark}
	lk, err := r.host.RouteGet(tc.Destination, opts)
	if err != nil {
		return err.Error(), ""
	}
	if lk.Device != it.lookup.Device {
		// Tunnels whose underlay runs through this one see a new chain.
		r.pend.links[it.cfg.Name] = true
	}
	it.lookup = lk
	if o := r.ifs[lk.Device]; o != nil && o.cfg.Kind == config.Tunnel {
		it.viaTunnel = lk.Device
	}
	rv := tc.RouteVia
	mandatory := rv != nil && rv.Mandatory
	if mandatory && (!lk.Found || lk.Device != rv.Interface) {
		return fmt.Sprintf("no route to tunnel destination %s via %s (route-via mandatory)", tc.Destination, rv.Interface), ""
	}
	if !lk.Found {
		return fmt.Sprintf("no route to tunnel destination %s", tc.Destination), ""
	}
	if chain := r.tunnelChain(lk.Device, it.cfg.Name); chain != "" {
		return "", fmt.Sprintf("%s via %s, proto %s", lk.Prefix, chain, protoName(lk.Protocol))
	}
	if tc.RecursionHoldDown == 0 && it.lpIn.Recursion != "" && it.pin == nil {
		return "", r.hiddenRecursion(it)
	}
	return "", ""
}

// hiddenRecursion looks, for a tunnel down for recursive routing, for the
// route that the kernel ignores while the tunnel's carrier is off: the
// best route to the destination in the main table, in use or not, when it
// runs through a tunnel that leads back to this one. With a zero
// hold-down the tunnel stays down for as long as that route lasts; if the
// lookup alone decided, the tunnel would come up, the route would come
// back into use, and the tunnel would flap at every pass.
func (r *Router) hiddenRecursion(it *iface) string {
	dst := it.cfg.Tunnel.Destination
	routes, err := r.host.Routes()
	if err != nil {
		r.log.Warn(err.Error())
		return ""
	}
	var best *linux.KernelRoute
	for i := range routes {
		kr := &routes[i]
		if !kr.Prefix.Contains(dst) {
			continue
		}
		if best == nil || kr.Prefix.Bits() > best.Prefix.Bits() ||
			kr.Prefix.Bits() == best.Prefix.Bits() && kr.Metric < best.Metric {
			best = kr
		}
	}
	if best == nil || !best.Linkdown {
		return "" // the lookup saw the best route
	}
	for _, nh := range best.Nexthops {
		if chain := r.tunnelChain(nh.Device, it.cfg.Name); chain != "" {
			return fmt.Sprintf("%s via %s, proto %s", best.Prefix, chain, protoName(best.Protocol))
		}
	}
	return ""
}

// tunnelChain reports whether the underlay through device dev runs into
// tunnel self: directly (dev is self) or through other tunnels whose own
// underlays do. It returns the chain of tunnels, or "".
func (r *Router) tunnelChain(dev, self string) string {
	seen := []string{}
	for dev != "" && !slices.Contains(seen, dev) {
		it := r.ifs[dev]
		if it == nil || it.cfg.Kind != config.Tunnel {
			return ""
		}
		seen = append(seen, dev)
		if dev == self {
			return joinChain(seen)
		}
		dev = it.lookup.Device
	}
	return ""
}

func joinChain(names []string) string {
	s := names[0]
	for _, n := range names[1:] {
		s += " -> " + n
	}
	return s
}

// runKeepalive sends keepalives when due and says whether they failed.
func (r *Router) runKeepalive(now time.Time, it *iface) string {
	if it.ka == nil {
		return ""
	}
	if n := it.dp.C.Load(dataplane.KeepaliveReplies); n != it.kaReplies {
		it.kaReplies = n
		it.ka.Reply(now)
	}
	if it.ka.Tick(now) {
		if err := it.dp.SendKeepalive(); err != nil {
			r.log.Debug("keepalive", "interface", it.cfg.Name, "err", err)
		}
	}
	return it.ka.Problem()
}

// teardown removes what gresec created for an interface.
func (r *Router) teardown(it *iface) {
	for _, c := range r.release(it) {
		_ = c.Close()
	}
}

// release undoes what gresec did for an interface but closing its
// devices, which it returns: the kernel takes a while to remove each, and
// shutdown closes a hub's thousands of devices at once.
func (r *Router) release(it *iface) []io.Closer {
	name := it.cfg.Name
	if it.cfg.Kind == config.Physical && it.addr.IsValid() {
		if err := r.host.SetAddress(name, netip.Prefix{}, it.addr); err != nil {
			r.log.Warn(err.Error())
		}
	}
	if it.cfg.Kind == config.Physical {
		for _, p := range it.addrs6 {
			if err := r.host.SetAddress(name, netip.Prefix{}, p); err != nil {
				r.log.Warn(err.Error())
			}
		}
	}
	r.unpin(it)
	if it.dp != nil {
		_ = r.attachPort(it, portKey{})
		_ = r.attachPort(it, portKey{esp: true})
		it.dp.Close()
	}
	var devs []io.Closer
	if it.tun != nil {
		devs = append(devs, it.tun)
	}
	if it.loop != nil {
		devs = append(devs, it.loop)
	}
	return devs
}

// routeProtocol is how IOS shows routes of one kernel route protocol:
// its name, its code letter in `show ip route`, its administrative
// distance.
type routeProtocol struct {
	name     string
	code     string
	distance int
}

// routeProtocols are the kernel's route protocols as FRR sets them; the
// rest are kernel routes ("K").
var routeProtocols = map[int]routeProtocol{
	2:                        {"connected", "C", 0},
	3:                        {"kernel", "K", 0},
	4:                        {"kernel", "K", 0},
	11:                       {"zebra", "K", 0},
	int(linux.RouteProtocol): {"static", "S", 0}, // the distance is the metric
	186:                      {"bgp", "B", 20},
	187:                      {"isis", "i", 115},
	188:                      {"ospf", "O", 110},
	189:                      {"rip", "R", 120},
	192:                      {"eigrp", "D", 90},
}

// protoName names a kernel route protocol as IOS and FRR do.
func protoName(p int) string {
	if rp, ok := routeProtocols[p]; ok {
		return rp.name
	}
	return fmt.Sprintf("%d", p)
}

func hasTunnel(cfg *config.Config) bool {
	for _, ic := range cfg.Interfaces {
		if ic.Kind == config.Tunnel {
			return true
		}
	}
	return false
}
