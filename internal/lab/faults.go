package lab

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Faults the tests inject: a daemon that dies without a word, and an IKE
// path that drops everything while ESP still crosses.

// KillDaemon kills a router's daemon with SIGKILL, as a crash or a power
// cut does: no DELETE, no cleanup. It waits for the process to be reaped
// and removes the control socket it left behind, so that StartDaemon waits
// for the next daemon's own socket.
func (l *Lab) KillDaemon(router string) error {
	cmd := l.daemons[router]
	if cmd == nil || cmd.Process == nil {
		return fmt.Errorf("%s: no daemon running", router)
	}
	delete(l.daemons, router)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return fmt.Errorf("%s: SIGKILL: %w", router, err)
	}
	_ = cmd.Wait()
	if err := os.Remove(l.Socket(router)); err != nil && !os.IsNotExist(err) {
		return err
	}
	return nil
}

// ikeBlockTable is the nftables table BlockIKE installs in a node.
const ikeBlockTable = "gresec_lab_ikeblock"

// BlockIKE drops IKE (UDP 500 and 4500, both directions) in a node's
// namespace when block is set, and removes the rules again when it is not.
// Raw ESP (IP protocol 50) still crosses, so SAs already installed keep
// carrying traffic while no negotiation can complete.
func (l *Lab) BlockIKE(ctx context.Context, node string, block bool) error {
	text := "table inet " + ikeBlockTable + "\ndelete table inet " + ikeBlockTable + "\n"
	if block {
		text += "table inet " + ikeBlockTable + " {\n" +
			" chain in {\n  type filter hook input priority filter; policy accept;\n  udp dport { 500, 4500 } drop\n  udp sport { 500, 4500 } drop\n }\n" +
			" chain out {\n  type filter hook output priority filter; policy accept;\n  udp dport { 500, 4500 } drop\n  udp sport { 500, 4500 } drop\n }\n}\n"
	}
	path := filepath.Join(l.opts.Dir, node+"-ikeblock.nft")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		return err
	}
	if out, err := l.Exec(ctx, node, "nft", "-f", path); err != nil {
		return fmt.Errorf("%s: nft -f: %v: %s", node, err, strings.TrimSpace(out))
	}
	return nil
}
