package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/gresec/gresec/internal/lab"
)

func cmdLab(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("lab", flag.ContinueOnError)
	fs.SetOutput(stderr)
	prefix := fs.String("prefix", "gresec-", "prefix of the lab's namespace names")
	if err := fs.Parse(args); err != nil {
		return 2
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

	fmt.Fprintf(stdout, "== Building the lab: namespaces %sleft, %sright, %score1, %score2 and a host on each LAN\n", *prefix, *prefix, *prefix, *prefix)
	l, err := lab.Start(ctx, lab.Options{Binary: self, Prefix: *prefix, Dir: dir, Out: stdout})
	if err != nil {
		fmt.Fprintf(stderr, "gresec lab: %v\n", err)
		return 1
	}
	defer func() {
		fmt.Fprintln(stdout, "\n== Removing the lab")
		l.Close()
	}()
	if err := l.Demo(ctx); err != nil {
		fmt.Fprintf(stderr, "gresec lab: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, "\n== The lab works: LAN to LAN across a loopback-sourced GRE tunnel")
	return 0
}
