// Command gresec is a GRE-over-IPsec router for Linux, configured in Cisco
// IOS syntax: `gresec run` is the daemon, `gresec show` its IOS-style views,
// `gresec check` validates a configuration, `gresec lab` is the demo.
package main

import (
	"fmt"
	"io"
	"os"
)

const usage = `usage: gresec COMMAND [options]

commands:
  run     -c FILE [--socket PATH] [--debug] [--keylog FILE]
                                                run the router (foreground)
  check   -c FILE                               validate a configuration
  show    [--socket PATH] [--json] WHAT...      IOS-style views, e.g.
          show interfaces [TunnelN] | show ip interface brief |
          show ip route | show ipv6 interface brief | show ipv6 route |
          show running-config |
          show crypto ipsec sa [interface TunnelN] |
          show crypto isakmp sa [detail] | show crypto ikev2 sa [detailed] |
          show crypto ikev2 session [detailed] | show crypto session |
          show crypto map | show crypto socket
  clear   [--socket PATH] crypto session|isakmp|ikev2 sa
                                                tear down and renegotiate
  reload  [--socket PATH]                       re-read the configuration
  lab     [SCENARIO]                            the demo topology (needs root)
  version                                       print the version
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	if code, ok := testCommand(cmd, rest, stdout, stderr); ok {
		return code
	}
	switch cmd {
	case "run":
		return cmdRun(rest, stderr)
	case "check":
		return cmdCheck(rest, stdout, stderr)
	case "show":
		return cmdShow(rest, stdout, stderr)
	case "reload":
		return cmdReload(rest, stdout, stderr)
	case "clear":
		return cmdClear(rest, stdout, stderr)
	case "lab":
		return cmdLab(rest, stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, versionString())
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "gresec: unknown command %q\n\n%s", cmd, usage)
	return 2
}
