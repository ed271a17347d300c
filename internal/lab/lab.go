package lab

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Options configure a lab run.
type Options struct {
	// Binary is the gresec executable run inside each router namespace.
	Binary string
	// Prefix is put in front of every namespace name.
	Prefix string
	// Dir holds configurations, sockets and logs.
	Dir string
	Out io.Writer
	// Config returns a router's configuration; nil means Router.Config.
	Config func(Router) string
	// KeyLog runs the daemons with --keylog (see Lab.KeyLogPath).
	KeyLog bool
	// Article builds the addressing of the article's recursive-routing
	// story (ArticleRouters) instead of Routers.
	Article bool
	// NAT puts left behind a NAT namespace (NATRouters): its private
	// tunnel source is translated to the public NATPublic.
	NAT bool
	// NATPorts, with NAT, makes the NAT rewrite UDP source ports to a
	// random port in this range ("20000-20099"); "" keeps them where it
	// can, as a plain masquerade does.
	NATPorts string
	// IPv6Core makes the core IPv6 only (IPv6Of has the addressing) and
	// gives the LAN hosts IPv6 addresses too; Config then defaults to
	// Router.DualStackConfig.
	IPv6Core bool
}

// Lab is a running lab topology.
type Lab struct {
	opts    Options
	netns   []string
	daemons map[string]*exec.Cmd
	// frr lists the routers that run FRR daemons (see StartFRR).
	frr []string
	wg  sync.WaitGroup

	outMu sync.Mutex // guards Out and logs
	logs  map[string][]string
}

// NS is the namespace of a lab node.
func (l *Lab) NS(node string) string { return l.opts.Prefix + node }

// Socket is the control socket of a router's daemon.
func (l *Lab) Socket(router string) string { return filepath.Join(l.opts.Dir, router+".sock") }

// Start builds the topology and starts the daemons. On error, what was
// built is removed again.
func Start(ctx context.Context, opts Options) (*Lab, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("gresec lab needs root (network namespaces and TUN devices): run it as root, e.g. with sudo")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return nil, errors.New("gresec lab needs iproute2's `ip` command (apt-get install iproute2)")
	}
	l := &Lab{opts: opts, daemons: map[string]*exec.Cmd{}, logs: map[string][]string{}}
	if err := l.build(ctx); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

func (l *Lab) printf(format string, args ...any) {
	l.outMu.Lock()
	defer l.outMu.Unlock()
	fmt.Fprintf(l.opts.Out, format, args...)
}

// ip runs an iproute2 command, in namespace ns unless ns is "".
func (l *Lab) ip(ns string, args ...string) error {
	if ns != "" {
		args = append([]string{"-n", ns}, args...)
	}
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Exec runs a command inside a node's namespace and returns its output.
func (l *Lab) Exec(ctx context.Context, node string, args ...string) (string, error) {
	full := append([]string{"netns", "exec", l.NS(node)}, args...)
	out, err := exec.CommandContext(ctx, "ip", full...).CombinedOutput()
	return string(out), err
}

func (l *Lab) sysctl(node, key, val string) error {
	_, err := l.Exec(context.Background(), node, "sysctl", "-qw", key+"="+val)
	if err != nil {
		return fmt.Errorf("%s: sysctl %s=%s: %w", node, key, val, err)
	}
	return nil
}

func (l *Lab) addNS(node string) error {
	ns := l.NS(node)
	_ = exec.Command("ip", "netns", "del", ns).Run() // a left-over of a killed run
	if err := l.ip("", "netns", "add", ns); err != nil {
		return err
	}
	l.netns = append(l.netns, ns)
	return l.ip(ns, "link", "set", "lo", "up")
}

// veth joins two nodes; addresses are set by the caller (or by gresec).
func (l *Lab) veth(a, aDev, b, bDev string) error {
	if err := l.ip("", "link", "add", aDev, "netns", l.NS(a), "type", "veth", "peer", "name", bDev, "netns", l.NS(b)); err != nil {
		return err
	}
	if err := l.ip(l.NS(a), "link", "set", aDev, "up"); err != nil {
		return err
	}
	return l.ip(l.NS(b), "link", "set", bDev, "up")
}

// Routers are the lab's two routers, left first, with the addressing in use.
func (l *Lab) Routers() [2]Router {
	if l.opts.Article {
		return ArticleRouters()
	}
	if l.opts.NAT {
		return NATRouters()
	}
	return Routers()
}

func (l *Lab) build(ctx context.Context) error {
	routers := l.Routers()
	nodes := []string{"core1", "core2", "left", "right", "left-host", "right-host"}
	if l.opts.NAT {
		nodes = append(nodes, natNode)
	}
	for _, n := range nodes {
		if err := l.addNS(n); err != nil {
			return err
		}
	}
	for _, c := range []string{"core1", "core2"} {
		if err := l.sysctl(c, "net.ipv4.ip_forward", "1"); err != nil {
			return err
		}
	}
	for _, r := range routers {
		for _, c := range r.Core {
			if err := l.veth(r.Name, c.Dev, c.CoreNS, c.CoreDev); err != nil {
				return err
			}
			if l.opts.IPv6Core {
				continue // buildIPv6Core
			}
			// The core routes each loopback back through the link it came in.
			if err := l.ip(l.NS(c.CoreNS), "addr", "add", c.NextHop+"/30", "dev", c.CoreDev); err != nil {
				return err
			}
			// (append: with NAT, both of left's links end in the NAT.)
			if err := l.ip(l.NS(c.CoreNS), "route", "append", r.Loopback+"/32", "via", c.Addr); err != nil {
				return err
			}
		}
		host := r.Name + "-host"
		if err := l.veth(r.Name, r.Name+"-lan", host, "eth0"); err != nil {
			return err
		}
		if err := l.ip(l.NS(host), "addr", "add", r.LANHost+"/24", "dev", "eth0"); err != nil {
			return err
		}
		if err := l.ip(l.NS(host), "route", "add", "default", "via", r.LAN); err != nil {
			return err
		}
		if l.opts.IPv6Core {
			if err := l.addHostIPv6(r); err != nil {
				return err
			}
		}
	}
	if l.opts.IPv6Core {
		if err := l.buildIPv6Core(); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(l.opts.Dir, 0o700); err != nil {
		return err
	}
	if l.opts.NAT {
		if err := l.buildNAT(); err != nil {
			return err
		}
	}
	for _, r := range routers {
		path := filepath.Join(l.opts.Dir, r.Name+".conf")
		text := r.Config(false)
		if l.opts.IPv6Core {
			text = r.DualStackConfig(false)
		}
		if l.opts.Config != nil {
			text = l.opts.Config(r)
		}
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			return err
		}
		if err := l.StartDaemon(ctx, r.Name); err != nil {
			return err
		}
	}
	return nil
}

// ConfigPath is where a router's configuration is.
func (l *Lab) ConfigPath(router string) string { return filepath.Join(l.opts.Dir, router+".conf") }

// KeyLogPath is where a router's daemon writes its keys with Options.KeyLog.
func (l *Lab) KeyLogPath(router string) string { return filepath.Join(l.opts.Dir, router+".keys") }

// StartDaemon runs `gresec run` in a router's namespace, its log lines
// prefixed with the router's name.
func (l *Lab) StartDaemon(ctx context.Context, router string) error {
	args := []string{"netns", "exec", l.NS(router), l.opts.Binary, "run", "-c", l.ConfigPath(router), "--socket", l.Socket(router)}
	if l.opts.KeyLog {
		args = append(args, "--keylog", l.KeyLogPath(router))
	}
	cmd := exec.Command("ip", args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	cmd.Stdout = cmd.Stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start gresec in %s: %w", router, err)
	}
	l.daemons[router] = cmd
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			l.outMu.Lock()
			l.logs[router] = append(l.logs[router], sc.Text())
			fmt.Fprintf(l.opts.Out, "  [%s] %s\n", router, sc.Text())
			l.outMu.Unlock()
		}
	}()
	// Wait for the control socket.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(l.Socket(router)); err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("gresec in %s did not open its control socket", router)
}

// Log returns the log lines a router's daemons wrote so far (across
// restarts), oldest first.
func (l *Lab) Log(router string) []string {
	l.outMu.Lock()
	defer l.outMu.Unlock()
	return slices.Clone(l.logs[router])
}

// Pid is the process ID of a router's daemon (0 if it is not running).
func (l *Lab) Pid(router string) int {
	if cmd := l.daemons[router]; cmd != nil && cmd.Process != nil {
		return cmd.Process.Pid
	}
	return 0
}

// StopDaemon stops a router's daemon (SIGTERM, then SIGKILL).
func (l *Lab) StopDaemon(router string) {
	cmd := l.daemons[router]
	if cmd == nil || cmd.Process == nil {
		return
	}
	delete(l.daemons, router)
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// Close stops the daemons and removes the namespaces.
func (l *Lab) Close() {
	l.stopFRR()
	for r := range l.daemons {
		l.StopDaemon(r)
	}
	l.wg.Wait()
	for i := len(l.netns) - 1; i >= 0; i-- {
		_ = exec.Command("ip", "netns", "del", l.netns[i]).Run()
	}
	l.netns = nil
}
