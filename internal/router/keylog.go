package router

import (
	"fmt"
	"os"
	"syscall"
)

// openKeyLog opens the --keylog file for appending, creating it mode 0600.
// The file holds every SA's keys, so it is refused when it is a symbolic
// link (O_NOFOLLOW: a link planted in a shared directory would send the
// keys elsewhere), not a regular file, or owned by another user; an
// existing file is set to mode 0600 through the open descriptor (fchmod,
// no race with a rename).
func openKeyLog(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, fmt.Errorf("keylog: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("keylog: %w", err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("keylog %s: not a regular file (%v)", path, fi.Mode().Type())
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		f.Close()
		return nil, fmt.Errorf("keylog %s: owned by uid %d, not by this process (uid %d); refusing to write keys into it", path, st.Uid, os.Geteuid())
	}
	if fi.Mode().Perm() != 0o600 {
		if err := f.Chmod(0o600); err != nil {
			f.Close()
			return nil, fmt.Errorf("keylog: %w", err)
		}
	}
	return f, nil
}

// keylog appends lines to the --keylog file, if there is one.
func (r *Router) keylog(lines ...string) {
	if r.keyLog == nil {
		return
	}
	for _, ln := range lines {
		if _, err := fmt.Fprintln(r.keyLog, ln); err != nil {
			r.log.Warn(fmt.Sprintf("keylog: %v", err))
			return
		}
	}
}
