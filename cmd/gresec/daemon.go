package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strings"
	"syscall"

	"github.com/gresec/gresec/internal/api"
	"github.com/gresec/gresec/internal/config"
	"github.com/gresec/gresec/internal/control"
	"github.com/gresec/gresec/internal/logging"
	"github.com/gresec/gresec/internal/router"
)

func cmdRun(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("c", "/etc/gresec/gresec.conf", "configuration `file`")
	socket := fs.String("socket", api.DefaultSocket, "control socket `path`")
	debug := fs.Bool("debug", false, "log debug messages")
	keylog := fs.String("keylog", "", "append every SA's keys to `file` in Wireshark's esp_sa format (debugging aid)")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile to `file` until gresec stops (go tool pprof)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintf(stderr, "gresec: cpu profile: %v\n", err)
			return 1
		}
		defer f.Close()
		defer pprof.StopCPUProfile()
	}
	level := slog.LevelInfo
	if *debug {
		level = slog.LevelDebug
	}
	// The configuration is parsed here, once, and handed to the router;
	// a reload parses it again.
	load := func() (*config.Config, []string) {
		return config.Load(*cfgPath, config.Options{InterfaceExists: linkExists})
	}
	cfg, problems := load()
	if cfg == nil {
		for _, p := range problems {
			fmt.Fprintln(stderr, p)
		}
		fmt.Fprintf(stderr, "gresec: %s: refusing to start with an invalid configuration\n", *cfgPath)
		return 1
	}
	log := slog.New(logging.New(stderr, level, cfg.Hostname))
	for _, p := range problems {
		log.Warn(p)
	}
	if procs, set := dataPlaneProcs(); set {
		log.Debug("GOMAXPROCS lowered for the data plane", "procs", procs)
	}

	r, err := router.New(cfg, router.Options{ConfigPath: *cfgPath, Load: load, Log: log, KeyLog: *keylog})
	if *keylog != "" {
		log.Warn("keylog enabled: IPsec keys are written to " + *keylog)
	}
	if err != nil {
		fmt.Fprintf(stderr, "gresec: %v\n", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := control.Listen(*socket, log)
	if err != nil {
		fmt.Fprintf(stderr, "gresec: %v\n", err)
		return 1
	}
	go srv.Serve(ctx, r.Handle)
	defer os.Remove(*socket)

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				r.Handle(ctx, api.Request{Args: []string{"reload"}})
			}
		}
	}()
	if err := r.Run(ctx); err != nil {
		fmt.Fprintf(stderr, "gresec: %v\n", err)
		return 1
	}
	return 0
}

func cmdCheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("c", "/etc/gresec/gresec.conf", "configuration `file`")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 1 {
		*cfgPath = fs.Arg(0)
	}
	// check also opens the trustpoints' files, so that a missing key
	// shows here rather than when IKE first needs it.
	cfg, problems := config.Load(*cfgPath, config.Options{InterfaceExists: linkExists, FileReadable: fileReadable})
	for _, p := range problems {
		fmt.Fprintln(stderr, p)
	}
	if cfg == nil {
		return 1
	}
	fmt.Fprintf(stdout, "%s: configuration is valid\n", *cfgPath)
	return 0
}

func cmdReload(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("reload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	socket := fs.String("socket", api.DefaultSocket, "control socket `path`")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	rep, err := control.Call(*socket, []string{"reload"})
	if err != nil {
		fmt.Fprintf(stderr, "gresec: %v\n", err)
		return 1
	}
	for _, p := range rep.Problems {
		fmt.Fprintln(stderr, p)
	}
	if rep.Error != "" {
		fmt.Fprintf(stderr, "gresec: %s\n", rep.Error)
		return 1
	}
	fmt.Fprintln(stdout, "configuration reloaded")
	return 0
}

func cmdClear(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("clear", flag.ContinueOnError)
	fs.SetOutput(stderr)
	socket := fs.String("socket", api.DefaultSocket, "control socket `path`")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	words := fs.Args()
	var what []string
	switch {
	case len(words) == 2 && strings.HasPrefix("crypto", words[0]) && strings.HasPrefix("session", words[1]):
		what = []string{"crypto", "session"}
	case len(words) == 2 && strings.HasPrefix("crypto", words[0]) && strings.HasPrefix("isakmp", words[1]):
		what = []string{"crypto", "isakmp"}
	case len(words) == 3 && strings.HasPrefix("crypto", words[0]) && strings.HasPrefix("ikev2", words[1]) && strings.HasPrefix("sa", words[2]):
		what = []string{"crypto", "ikev2", "sa"}
	default:
		fmt.Fprintln(stderr, "usage: gresec clear [--socket PATH] crypto session|isakmp|ikev2 sa")
		return 2
	}
	rep, err := control.Call(*socket, append([]string{"clear"}, what...))
	if err != nil {
		fmt.Fprintf(stderr, "gresec: %v\n", err)
		return 1
	}
	if rep.Error != "" {
		fmt.Fprintf(stderr, "gresec: %s\n", rep.Error)
		return 1
	}
	fmt.Fprintln(stdout, strings.Join(what, " ")+" cleared")
	return 0
}

// dataPlaneProcs gives the Go scheduler half the CPUs (at least one) unless
// GOMAXPROCS says otherwise, and reports the count and whether it changed.
// Most of a tunnel's per-packet cost is kernel work done inside its
// syscalls (TUN and socket copies, the stack, the veth or NIC), which needs
// no P; with a P per CPU the scheduler wakes idle threads each time a
// tunnel goroutine is readied while the others sit in syscalls, and on two
// cores those threads take the cycles the kernel side needs. Measured by
// `make bench` on 2 cores: raw ESP and GRE 10-25 % faster with one P.
func dataPlaneProcs() (int, bool) {
	cur := runtime.GOMAXPROCS(0)
	n := max(1, cur/2)
	if os.Getenv("GOMAXPROCS") != "" || n == cur {
		return cur, false
	}
	runtime.GOMAXPROCS(n)
	return n, true
}

// fileReadable tells `gresec check` whether a file named in the
// configuration can be opened for reading.
func fileReadable(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	return f.Close()
}
