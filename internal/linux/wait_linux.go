package linux

import (
	"errors"
	"syscall"

	"golang.org/x/sys/unix"
)

// readWaiter waits until a descriptor has something to read without
// reading it (poll(2) with no timeout inside the runtime's poller), so
// that the data plane takes a read batch from its pool only then: an
// idle tunnel holds no buffer. A pending socket error counts as
// something to read (the read returns it).
type readWaiter struct {
	rc  syscall.RawConn
	pfd [1]unix.PollFd
	err error
	f   func(fd uintptr) bool
}

func newReadWaiter(rc syscall.RawConn) *readWaiter {
	w := &readWaiter{rc: rc}
	w.f = w.ready
	return w
}

// ready reports whether fd is readable now; false makes the runtime wait
// for the poller's next readiness event and ask again.
func (w *readWaiter) ready(fd uintptr) bool {
	w.pfd[0] = unix.PollFd{Fd: int32(fd), Events: unix.POLLIN}
	n, err := unix.Poll(w.pfd[:], 0)
	switch {
	case errors.Is(err, unix.EINTR):
		return false
	case err != nil:
		w.err = err
		return true
	}
	return n > 0
}

// sawError reports whether the last wait ended on an error condition
// (POLLERR: a socket error or a report in the error queue).
func (w *readWaiter) sawError() bool { return w.pfd[0].Revents&unix.POLLERR != 0 }

// wait blocks until the descriptor is readable or closed (net.ErrClosed or
// os.ErrClosed). Not safe for concurrent use: one reading goroutine.
func (w *readWaiter) wait() error {
	w.err = nil
	if err := w.rc.Read(w.f); err != nil {
		return err
	}
	return w.err
}
