package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/gresec/gresec/internal/lab"
)

func cmdLab(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("lab", flag.ContinueOnError)
	fs.SetOutput(stderr)
	prefix := fs.String("prefix", "gresec-", "prefix of the lab's namespace names")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: gresec lab [--prefix P] [SCENARIO]\n\nscenarios:\n")
		for _, s := range lab.Scenarios() {
			fmt.Fprintf(stderr, "  %-18s %s\n", s.Name, s.Summary)
		}
		fs.PrintDefaults()
	}
	// Flags may follow the scenario's name too (gresec lab dead-peer --prefix x-).
	var names []string
	rest := args
	for {
		if err := fs.Parse(rest); err != nil {
			return 2
		}
		if fs.NArg() == 0 {
			break
		}
		names = append(names, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	var sc *lab.Scenario
	switch len(names) {
	case 0:
	case 1:
		s, ok := lab.FindScenario(names[0])
		if !ok {
			fmt.Fprintf(stderr, "gresec lab: unknown scenario %q\n", names[0])
			fs.Usage()
			return 2
		}
		sc = &s
	default:
		fmt.Fprintf(stderr, "gresec lab: one scenario at a time, not %s\n", strings.Join(names, " "))
		return 2
	}
	if sc != nil && sc.Unavailable != "" {
		fmt.Fprintf(stdout, "gresec lab %s: %s\n", sc.Name, sc.Unavailable)
		return 0
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(stderr, "gresec lab: needs root (it creates network namespaces and TUN devices); run it as root, e.g. sudo gresec lab")
		return 1
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "gresec lab: %v\n", err)
		return 1
	}
	dir, err := os.MkdirTemp("", "gresec-lab-")
	if err != nil {
		fmt.Fprintf(stderr, "gresec lab: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	opts := lab.Options{Binary: self, Prefix: *prefix, Dir: dir, Out: stdout}
	if sc == nil {
		// The demo runs the reference configuration unchanged, protection
		// included: IKE negotiates the SAs by itself.
		opts.Config = func(r lab.Router) string { return r.Config(true) }
	}
	if sc != nil {
		fmt.Fprintf(stdout, "== Scenario %s: %s\n", sc.Name, sc.Summary)
		if sc.Options != nil {
			sc.Options(&opts)
		}
	}
	fmt.Fprintf(stdout, "== Building the lab: namespaces %sleft, %sright, %score1, %score2 and a host on each LAN\n", *prefix, *prefix, *prefix, *prefix)
	l, err := lab.Start(ctx, opts)
	if err != nil {
		fmt.Fprintf(stderr, "gresec lab: %v\n", err)
		return 1
	}
	defer func() {
		fmt.Fprintln(stdout, "\n== Removing the lab")
		l.Close()
	}()
	if sc != nil {
		if err := sc.Run(ctx, l); err != nil {
			fmt.Fprintf(stderr, "gresec lab %s: %v\n", sc.Name, err)
			return 1
		}
		fmt.Fprintf(stdout, "\n== Scenario %s done\n", sc.Name)
		return 0
	}
	if err := l.Demo(ctx); err != nil {
		fmt.Fprintf(stderr, "gresec lab: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, "\n== The lab works: LAN to LAN across a loopback-sourced, IPsec-protected GRE tunnel")
	return 0
}
