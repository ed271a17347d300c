package linux

import (
	"os"
	"runtime"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// inNewNetns runs setup on a thread moved into a network namespace of its
// own, with only the loopback, up; sockets setup opens stay there (the
// thread is dropped afterwards). It needs root: without it the test is
// skipped, or fails when CI=true.
func inNewNetns(t *testing.T, setup func() error) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("needs root (a network namespace); CI runs as root")
		}
		t.Skip("needs root (a network namespace)")
	}
	done := make(chan error, 1)
	go func() {
		// The thread never returns to the pool: the goroutine ends locked.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			done <- err
			return
		}
		lo, err := netlink.LinkByName("lo")
		if err == nil {
			err = netlink.LinkSetUp(lo)
		}
		if err == nil {
			err = setup()
		}
		done <- err
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
