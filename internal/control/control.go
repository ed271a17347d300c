// Package control is the daemon's local control socket: one JSON request
// and one JSON response per connection over a Unix socket, so that `gresec
// show` and `gresec reload` talk to the daemon of their namespace.
package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/gresec/gresec/internal/api"
)

// maxRequest bounds a request line: commands are short.
const maxRequest = 64 << 10

// Handler answers one request.
type Handler func(ctx context.Context, req api.Request) api.Response

// Server listens on a Unix socket.
type Server struct {
	ln  net.Listener
	log *slog.Logger
}

// Listen creates the socket (mode 0600: the control socket is root's), and
// removes a stale one left by a daemon that died.
func Listen(path string, log *slog.Logger) (*Server, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("control socket %s: another gresec daemon is listening there (use --socket)", path)
	}
	_ = os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	return &Server{ln: ln, log: log}, nil
}

// Serve answers connections until ctx ends; then it removes the socket.
func (s *Server) Serve(ctx context.Context, h Handler) {
	go func() {
		<-ctx.Done()
		s.ln.Close()
	}()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			s.log.Warn("control socket accept", "err", err)
			continue
		}
		go s.serveConn(ctx, c, h)
	}
}

func (s *Server) serveConn(ctx context.Context, c net.Conn, h Handler) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(&limitedReader{r: c, n: maxRequest})
	var req api.Request
	resp := api.Response{}
	if err := json.NewDecoder(r).Decode(&req); err != nil {
		resp.Error = fmt.Sprintf("bad request: %v", err)
	} else {
		resp = h(ctx, req)
	}
	if err := json.NewEncoder(c).Encode(resp); err != nil {
		s.log.Debug("control socket write", "err", err)
	}
}

type limitedReader struct {
	r net.Conn
	n int
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, errors.New("request too large")
	}
	if len(p) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= n
	return n, err
}

// Reply is a response whose data is still JSON.
type Reply struct {
	Error    string          `json:"error,omitempty"`
	Problems []string        `json:"problems,omitempty"`
	Data     json.RawMessage `json:"data,omitempty"`
}

// Call sends one request to the daemon at path.
func Call(path string, args []string) (Reply, error) {
	c, err := net.DialTimeout("unix", path, 5*time.Second)
	if err != nil {
		return Reply{}, fmt.Errorf("no gresec daemon at %s (is `gresec run` running? use --socket): %w", path, err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(60 * time.Second))
	if err := json.NewEncoder(c).Encode(api.Request{Args: args}); err != nil {
		return Reply{}, fmt.Errorf("control socket %s: %w", path, err)
	}
	var rep Reply
	if err := json.NewDecoder(c).Decode(&rep); err != nil {
		return Reply{}, fmt.Errorf("control socket %s: %w", path, err)
	}
	return rep, nil
}
