// Package router is the gresec daemon's core: it applies a configuration to
// the host (interfaces, addresses, tunnels, static routes), follows the
// host's changes through netlink events, runs each tunnel's line protocol,
// and answers the control socket with the state it keeps. Decisions live in
// pure packages (lineproto, rib); this package wires them to Linux.
package router

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"reflect"
	"sync"
	"time"

	"github.com/gresec/gresec/internal/config"
	"github.com/gresec/gresec/internal/dataplane"
	"github.com/gresec/gresec/internal/ike"
	"github.com/gresec/gresec/internal/ikev2"
	"github.com/gresec/gresec/internal/linux"
)

// resolveInterval is how often every tunnel is evaluated afresh even
// without an event that concerns it: netlink reports no change of policy
// routing rules, and the kernel removes the IPv4 routes of a link that goes
// down without reporting each. Between these passes a pass evaluates only
// the tunnels whose inputs changed.
const resolveInterval = 30 * time.Second

// settle is how long the main loop lets a burst of host events gather
// before it evaluates what they changed.
const settle = 20 * time.Millisecond

// Options configure a Router.
type Options struct {
	// ConfigPath names where the configuration comes from, for the logs.
	ConfigPath string
	// Load reads the configuration again for the control socket's reload
	// (the caller parses; nil: reload is refused). It returns the
	// problems found, and a nil Config when the file is refused.
	Load func() (*config.Config, []string)
	Log  *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// KeyLog, when set, is a file that gets every SA's keys in Wireshark's
	// format (a debugging aid; off by default).
	KeyLog string
	// Host is the machine; nil means Linux (the daemon). Tests pass an
	// in-memory host.
	Host Host
}

// Router is one gresec daemon's state.
type Router struct {
	opts Options
	log  *slog.Logger
	host Host

	mu sync.Mutex
	// hs is the host's links and addresses as the events tell them.
	hs *hostState
	// dirty names the tunnels to evaluate afresh at the next pass (all of
	// them with dirtyAll); routesDirty asks for the static routes to be
	// synchronised.
	dirty    map[string]bool
	dirtyAll bool
	pend     pending
	// more is set when a pass left devices to create to the next one.
	more        bool
	routesDirty bool
	lastFull    time.Time

	cfg *config.Config
	// pkiCache holds the trust points loaded for pkiCfg, by IKEv2
	// profile: read once per configuration.
	pkiCfg   *config.Config
	pkiCache map[string]*ikev2.Credentials
	ifs      map[string]*iface // by canonical name, for configured interfaces
	routes   map[netip.Prefix]linux.Route
	fwd      bool
	fwd6     bool     // IPv6 forwarding is on (`ipv6 unicast-routing`)
	ike      *ikeSide // nil while no tunnel is protected
	ports    map[portKey]*portShare
	// bufs pools the read batches of every tunnel and port.
	bufs *dataplane.Buffers
	// portsWake is when a lingering port is next due to close.
	portsWake time.Time
	// fullAt is when every tunnel is due to be evaluated after a line
	// protocol changed (zero: not scheduled); see updateLineProtocol.
	fullAt time.Time

	kick  chan struct{}
	ikeIn chan ike.Datagram
	// kaIn carries the names of tunnels that got a keepalive reply; softIn
	// those whose SAs reached a soft limit.
	kaIn, softIn chan string
	// mtuIn carries the names of tunnels whose underlay refused a packet
	// as too big for the path; mtuDst the destinations a socket learned a
	// path MTU to.
	mtuIn  chan string
	mtuDst chan netip.Addr
	// keyLog is the open --keylog file (nil without one).
	keyLog *os.File
}

// New makes the router for a parsed, valid configuration; nothing is
// applied yet.
func New(cfg *config.Config, opts Options) (*Router, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	host := opts.Host
	if host == nil {
		var err error
		if host, err = NewLinuxHost(func(err error) { opts.Log.Warn(err.Error()) }); err != nil {
			return nil, err
		}
	}
	r := &Router{
		opts:   opts,
		log:    opts.Log,
		host:   host,
		hs:     newHostState(),
		dirty:  map[string]bool{},
		pend:   newPending(),
		ifs:    map[string]*iface{},
		routes: map[netip.Prefix]linux.Route{},
		ports:  map[portKey]*portShare{},
		bufs:   dataplane.NewBuffers(),
		kick:   make(chan struct{}, 1),
		ikeIn:  make(chan ike.Datagram, 256),
		kaIn:   make(chan string, 64),
		softIn: make(chan string, 64),
		mtuIn:  make(chan string, 64),
		mtuDst: make(chan netip.Addr, 64),
	}
	r.cfg = cfg
	if opts.KeyLog != "" {
		f, err := openKeyLog(opts.KeyLog)
		if err != nil {
			host.Close()
			return nil, err
		}
		r.keyLog = f
	}
	return r, nil
}

// ConfigError lists the problems of a configuration that was refused.
type ConfigError struct{ Problems []string }

func (e *ConfigError) Error() string {
	return fmt.Sprintf("invalid configuration (%d problems)", len(e.Problems))
}

// Run applies the configuration and keeps it applied until ctx ends; then
// it removes what it created.
func (r *Router) Run(ctx context.Context) error {
	defer r.host.Close()
	if r.keyLog != nil {
		defer r.keyLog.Close()
	}
	if err := r.host.FlushRoutes(); err != nil {
		r.log.Warn("removing stale gresec routes", "err", err)
	}
	events := make(chan linux.Event, 4096)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := r.host.Watch(wctx, events); err != nil {
		return err
	}
	r.mu.Lock()
	r.drainEventsLocked(events) // the snapshot
	r.log.Info(fmt.Sprintf("%%SYS-5-CONFIG_I: Configured from %s", r.opts.ConfigPath), "hostname", r.cfg.Hostname)
	r.passLocked()
	r.mu.Unlock()

	tick := time.NewTicker(resolveInterval)
	defer tick.Stop()
	wake := time.NewTimer(time.Hour)
	defer wake.Stop()
	for {
		r.mu.Lock()
		next := r.nextWakeLocked()
		r.mu.Unlock()
		if !next.IsZero() {
			wake.Reset(max(next.Sub(r.opts.Now()), 0))
		}
		select {
		case <-ctx.Done():
			r.shutdown()
			return nil
		case ev := <-events:
			// Let a burst of events settle into one pass.
			time.Sleep(settle)
			r.mu.Lock()
			r.noteEventLocked(ev)
			r.drainEventsLocked(events)
			r.passLocked()
			more := r.more
			r.mu.Unlock()
			if more {
				r.Kick()
			}
			continue
		case <-tick.C:
		case <-wake.C:
		case <-r.kick:
		case d := <-r.ikeIn:
			r.mu.Lock()
			r.receiveIKE(d)
			r.mu.Unlock()
			continue
		case name := <-r.kaIn:
			r.mu.Lock()
			r.keepaliveReplyLocked(name)
			r.mu.Unlock()
			continue
		case name := <-r.mtuIn:
			// Evaluated in this pass: the lookup brings the path MTU.
			r.mu.Lock()
			r.dirty[name] = true
			r.mu.Unlock()
		case dst := <-r.mtuDst:
			r.mu.Lock()
			for name, it := range r.ifs {
				if it.cfg.Kind == config.Tunnel && it.cfg.Tunnel.Destination == dst {
					r.dirty[name] = true
				}
			}
			r.mu.Unlock()
		case name := <-r.softIn:
			r.mu.Lock()
			if it := r.ifs[name]; it != nil && it.dp != nil {
				it.saNext = r.expireSAs(r.opts.Now(), it)
			}
			r.mu.Unlock()
			continue
		}
		r.mu.Lock()
		r.passLocked()
		more := r.more
		r.mu.Unlock()
		if more {
			r.Kick() // the next batch of devices
		}
	}
}

// passLocked is one pass: the configured interfaces, the tunnels whose
// inputs changed or whose timers are due, the static routes when anything
// they depend on changed, and IKE. Every resolveInterval it evaluates
// every tunnel.
func (r *Router) passLocked() {
	now := r.opts.Now()
	if now.Sub(r.lastFull) >= resolveInterval || dueAt(r.fullAt, now) {
		r.dirtyAll = true
	}
	if r.dirtyAll {
		r.lastFull, r.fullAt = now, time.Time{}
	}
	r.reconcileLocked(now)
	r.syncIKE(now)
	r.portsWake = r.closeIdlePorts(now, false)
}

// drainEventsLocked applies the events already queued.
func (r *Router) drainEventsLocked(events <-chan linux.Event) {
	for {
		select {
		case ev := <-events:
			r.noteEventLocked(ev)
		default:
			return
		}
	}
}

// Reload replaces the running configuration with cfg (parsed and valid).
func (r *Router) Reload(cfg *config.Config) {
	r.mu.Lock()
	r.applyLocked(cfg)
	r.mu.Unlock()
	r.Kick() // the main loop's timers follow the new configuration
	r.log.Info(fmt.Sprintf("%%SYS-5-CONFIG_I: Configured from %s", r.opts.ConfigPath), "hostname", cfg.Hostname)
}

// reloadFile reads the configuration again (Options.Load) and applies it.
// A refused file changes nothing: the running configuration stays and the
// problems are returned.
func (r *Router) reloadFile() ([]string, error) {
	if r.opts.Load == nil {
		return nil, errors.New("this router cannot read its configuration again")
	}
	cfg, problems := r.opts.Load()
	if cfg == nil {
		r.log.Error("%PARSER-3-RELOAD: configuration not reloaded, the running configuration stays", "file", r.opts.ConfigPath, "problems", len(problems))
		for _, p := range problems {
			r.log.Error(p)
		}
		return problems, &ConfigError{Problems: problems}
	}
	r.Reload(cfg)
	return problems, nil
}

// keepaliveReply tells the main loop that a tunnel got a GRE keepalive
// reply. It runs on the tunnel's reading goroutine and never blocks: with
// the queue full, the next pass sees the reply in the counters.
func (r *Router) keepaliveReply(name string) {
	select {
	case r.kaIn <- name:
	default:
	}
}

// softLimit tells the main loop that a tunnel's SAs reached a soft limit,
// so that IKE negotiates their replacement at once. It runs on a data
// plane goroutine and never blocks (a full queue: the next pass sees it).
func (r *Router) softLimit(name string) {
	select {
	case r.softIn <- name:
	default:
	}
}

// pathMTU tells the main loop that a tunnel's underlay refused a packet
// above the path MTU. It runs on a data plane goroutine and never blocks.
func (r *Router) pathMTU(name string) {
	select {
	case r.mtuIn <- name:
	default:
	}
}

// pathMTUTo tells the main loop that a socket learned the path MTU to
// dst. It runs on a socket's reading goroutine and never blocks.
func (r *Router) pathMTUTo(dst netip.Addr) {
	select {
	case r.mtuDst <- dst:
	default:
	}
}

// Kick asks the main loop for a reconciliation pass.
func (r *Router) Kick() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

func (r *Router) nextWakeLocked() time.Time {
	now := r.opts.Now()
	var next time.Time
	for _, w := range []time.Time{r.ikeWake(), r.portsWake, r.fullAt} {
		if !w.IsZero() && (next.IsZero() || w.Before(next)) {
			next = w
		}
	}
	for _, it := range r.ifs {
		if it.tun == nil {
			continue
		}
		for _, w := range []time.Time{it.lp.NextWake(now), it.keepaliveWake(), it.saWake()} {
			if !w.IsZero() && (next.IsZero() || w.Before(next)) {
				next = w
			}
		}
	}
	return next
}

// applyLocked replaces the configuration: interfaces that left it are torn
// down, the rest is reconciled.
func (r *Router) applyLocked(cfg *config.Config) {
	keep := map[string]bool{}
	for _, ic := range cfg.Interfaces {
		keep[ic.Name] = true
	}
	for name, it := range r.ifs {
		if !keep[name] {
			r.teardown(it)
			delete(r.ifs, name)
			r.dirtyAll = true // tunnels may have run through it
		}
	}
	// Only the tunnels whose configuration changed are evaluated again.
	for _, ic := range cfg.Interfaces {
		if it := r.ifs[ic.Name]; it != nil && !sameInterface(it.cfg, ic) {
			r.dirty[ic.Name] = true
			if ic.Kind != config.Tunnel {
				r.dirtyAll = true // a source or a way to a destination
			}
		}
	}
	r.routesDirty = true
	r.cfg = cfg
	if r.ike != nil {
		if err := r.ike.engine.SetConfig(r.ikeConfig(cfg)); err != nil {
			r.log.Warn(fmt.Sprintf("IKE: %v", err))
		}
		if err := r.ike.v2.SetConfig(r.ikev2Config(cfg)); err != nil {
			r.log.Warn(fmt.Sprintf("IKEv2: %v", err))
		}
	}
	r.passLocked()
}

// sameInterface reports whether two configurations of an interface are
// the same, wherever they stand in the file.
func sameInterface(a, b *config.Interface) bool {
	x, y := *a, *b
	x.Pos, y.Pos = config.Pos{}, config.Pos{}
	return reflect.DeepEqual(x, y)
}

func (r *Router) shutdown() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ike != nil {
		// Tell the peers (DELETE) before the sockets go.
		now := r.opts.Now()
		for _, name := range r.ike.names() {
			r.handleIKE(r.ike.engineFor(name).Stop(now, name))
		}
		r.closeIKE()
	}
	for p, rt := range r.routes {
		if err := r.host.DeleteRoute(p, rt.Metric); err != nil {
			r.log.Warn("removing route", "err", err)
		}
	}
	r.routes = map[netip.Prefix]linux.Route{}
	var devs []io.Closer
	for name, it := range r.ifs {
		devs = append(devs, r.release(it)...)
		delete(r.ifs, name)
	}
	closeAll(devs)
	r.closeIdlePorts(r.opts.Now(), true)
}

// closeAll closes devices from a few goroutines at once: the kernel
// removes a network device in tens of milliseconds, mostly waiting, and
// removals that overlap share the wait (a hub of 10000 tunnels took five
// minutes to stop one by one).
func closeAll(devs []io.Closer) {
	const workers = 32
	work := make(chan io.Closer)
	var wg sync.WaitGroup
	for range min(workers, len(devs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range work {
				_ = c.Close()
			}
		}()
	}
	for _, c := range devs {
		work <- c
	}
	close(work)
	wg.Wait()
}
