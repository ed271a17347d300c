package e2e

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gresec/gresec/internal/lab"
)

// ikeSockets lists the UDP sockets on the IKE ports in a lab node.
func ikeSockets(t *testing.T, l *lab.Lab, node string) []string {
	t.Helper()
	out, err := l.Exec(t.Context(), node, "ss", "-uanH", "( sport = :500 or sport = :4500 )")
	if err != nil {
		t.Fatalf("ss in %s: %v\n%s", node, err, out)
	}
	var socks []string
	for _, ln := range strings.Split(strings.TrimSpace(out), "\n") {
		if ln != "" {
			socks = append(socks, strings.Join(strings.Fields(ln), " "))
		}
	}
	return socks
}

// TestReloadClosesUnusedIKESockets: a reload that gives the tunnel a
// route-via mark opens IKE sockets with that mark and closes the ones the
// tunnel no longer uses (they used to stay open until the daemon exited).
func TestReloadClosesUnusedIKESockets(t *testing.T) {
	l := startLab(t, func(r lab.Router) string { return r.Config(true) })
	waitUp(t, l)
	waitSAs(t, l, "left", 20*time.Second)
	before := ikeSockets(t, l, "left")
	if len(before) != 2 {
		t.Fatalf("%d IKE sockets before the reload, want 2 (ports 500 and 4500):\n%s", len(before), strings.Join(before, "\n"))
	}
	path := l.ConfigPath("left")
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pinned := withTunnelLines(string(orig), "tunnel route-via "+l.Routers()[0].Core[0].Dev+" preferred")
	if err := os.WriteFile(path, []byte(pinned), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, stderr := gresec(t, "reload", "--socket", l.Socket("left")); code != 0 {
		t.Fatalf("reload: exit %d\n%s%s", code, out, stderr)
	}
	var after []string
	waitFor(t, 10*time.Second, "the unmarked IKE sockets to close", func() bool {
		after = ikeSockets(t, l, "left")
		return len(after) == 2
	})
	clearAndRenegotiate(t, l, "left", ipsecSAs(t, l, "left").OutboundSPI)
	if now := ikeSockets(t, l, "left"); len(now) != 2 {
		t.Errorf("%d IKE sockets after renegotiating, want 2:\n%s", len(now), strings.Join(now, "\n"))
	}
	run(t, l, "left-host", "ping", "-c", "3", "-i", "0.2", "-W", "2", "10.2.0.10")
}
