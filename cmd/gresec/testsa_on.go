//go:build gresec_testsa

package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/gresec/gresec/internal/api"
	"github.com/gresec/gresec/internal/control"
)

// testCommand adds `gresec test-sa [--socket PATH] TUNNEL JSON` to test
// builds only: it installs static SAs (router.TestSA) before IKE exists.
func testCommand(cmd string, args []string, stdout, stderr io.Writer) (int, bool) {
	if cmd != "test-sa" {
		return 0, false
	}
	fs := flag.NewFlagSet("test-sa", flag.ContinueOnError)
	fs.SetOutput(stderr)
	socket := fs.String("socket", api.DefaultSocket, "control socket `path`")
	if err := fs.Parse(args); err != nil || fs.NArg() != 2 {
		fmt.Fprintln(stderr, "usage: gresec test-sa [--socket PATH] TUNNEL JSON")
		return 2, true
	}
	rep, err := control.Call(*socket, []string{"test", "install-sa", fs.Arg(0), fs.Arg(1)})
	if err != nil {
		fmt.Fprintf(stderr, "gresec: %v\n", err)
		return 1, true
	}
	if rep.Error != "" {
		fmt.Fprintf(stderr, "gresec: %s\n", rep.Error)
		return 1, true
	}
	fmt.Fprintln(stdout, "installed")
	return 0, true
}
