// Package e2e runs gresec daemons in network namespaces and checks what
// crosses the wire with independent tools (ping, iperf3, tcpdump, tshark).
// These tests need root; when CI=true a missing prerequisite fails the
// test instead of skipping it.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gresec/gresec/internal/lab"
)

// binary is the gresec executable built once for all tests, with the
// test-only static SA command; productionBinary is built without it.
var binary, productionBinary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gresec-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// The tests' binary can install static SAs (-tags gresec_testsa); the
	// production binary, built too, cannot.
	binary = filepath.Join(dir, "gresec")
	productionBinary = filepath.Join(dir, "gresec-production")
	for bin, tags := range map[string]string{binary: "gresec_testsa", productionBinary: ""} {
		out, err := exec.Command("go", "build", "-tags", tags, "-o", bin, "github.com/gresec/gresec/cmd/gresec").CombinedOutput()
		if err != nil {
			fmt.Fprintf(os.Stderr, "building gresec: %v\n%s", err, out)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// require fails (in CI) or skips (elsewhere) when a prerequisite is missing.
func require(t testing.TB, ok bool, what string) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("prerequisite missing in CI: %s", what)
	}
	t.Skipf("prerequisite missing: %s", what)
}

func requireRoot(t *testing.T) {
	t.Helper()
	require(t, os.Geteuid() == 0, "root (network namespaces and TUN devices)")
}

func requireTools(t testing.TB, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		_, err := exec.LookPath(tool)
		require(t, err == nil, tool+" (run the README's test command as root to install it)")
	}
}

var labSeq atomic.Int32

// syncWriter lets daemons' log lines go to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// startLab builds the lab topology with the given configurations under a
// namespace prefix unique to this test, removed when the test ends.
func startLab(t *testing.T, config func(lab.Router) string) *lab.Lab {
	t.Helper()
	return startLabWith(t, lab.Options{Config: config})
}

// startLabWith is startLab with more options (Binary, Prefix, Dir and Out
// are filled in).
func startLabWith(t *testing.T, opts lab.Options) *lab.Lab {
	t.Helper()
	requireRoot(t)
	requireTools(t, "ip", "ping")
	prefix := fmt.Sprintf("gt%d-%d-", os.Getpid()%10000, labSeq.Add(1))
	var out io.Writer = testWriter{t}
	if opts.Out != nil {
		out = io.MultiWriter(opts.Out, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if opts.Binary == "" {
		opts.Binary = binary
	}
	opts.Prefix, opts.Dir, opts.Out = prefix, t.TempDir(), out
	l, err := lab.Start(ctx, opts)
	if err != nil {
		t.Fatalf("lab: %v", err)
	}
	t.Cleanup(l.Close)
	return l
}

// waitUp waits for Tunnel0 to come up on both routers.
func waitUp(t *testing.T, l *lab.Lab) {
	t.Helper()
	for _, r := range []string{"left", "right"} {
		if _, err := l.WaitLineProtocol(context.Background(), r, "up", 20*time.Second); err != nil {
			t.Fatal(err)
		}
	}
}

// run runs a command in a lab node and fails the test on error.
func run(t *testing.T, l *lab.Lab, node string, args ...string) string {
	t.Helper()
	out, err := l.Exec(context.Background(), node, args...)
	if err != nil {
		t.Fatalf("%s: %s: %v\n%s", node, strings.Join(args, " "), err, out)
	}
	return out
}

// gresec runs the gresec binary with args and returns its exit code and output.
func gresec(t testing.TB, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("gresec %s: %v", strings.Join(args, " "), err)
	}
	return code, stdout.String(), stderr.String()
}

// logBuffer collects daemon logs for a test to read while they are written.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
