// Package logging formats gresec's log as a router's console does: one
// event a line, IOS mnemonics first (%LINEPROTO-5-UPDOWN: ...), then
// key=value details. Keys never reach it: callers log names, not secrets.
package logging

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Handler is a slog.Handler writing one line per record.
type Handler struct {
	mu    *sync.Mutex
	w     io.Writer
	level slog.Leveler
	host  string
	attrs string
}

// New returns a handler writing to w records at level or above, each
// prefixed with host (the router's hostname) when not empty.
func New(w io.Writer, level slog.Leveler, host string) *Handler {
	return &Handler{mu: &sync.Mutex{}, w: w, level: level, host: host}
}

// Enabled implements slog.Handler.
func (h *Handler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level.Level() }

// Handle implements slog.Handler.
func (h *Handler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	t := r.Time
	if t.IsZero() {
		t = time.Now()
	}
	b.WriteString(t.UTC().Format("2006-01-02T15:04:05.000Z"))
	if h.host != "" {
		b.WriteString(" ")
		b.WriteString(h.host)
	}
	b.WriteString(" ")
	if !strings.HasPrefix(r.Message, "%") {
		b.WriteString(r.Level.String())
		b.WriteString(": ")
	}
	b.WriteString(r.Message)
	b.WriteString(h.attrs)
	r.Attrs(func(a slog.Attr) bool {
		writeAttr(&b, "", a)
		return true
	})
	b.WriteString("\n")
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := io.WriteString(h.w, b.String())
	return err
}

func writeAttr(b *strings.Builder, prefix string, a slog.Attr) {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return
	}
	if a.Value.Kind() == slog.KindGroup {
		for _, g := range a.Value.Group() {
			writeAttr(b, prefix+a.Key+".", g)
		}
		return
	}
	v := a.Value.String()
	if strings.ContainsAny(v, " \"=") || v == "" {
		v = strconv.Quote(v)
	}
	fmt.Fprintf(b, " %s%s=%s", prefix, a.Key, v)
}

// WithAttrs implements slog.Handler.
func (h *Handler) WithAttrs(as []slog.Attr) slog.Handler {
	var b strings.Builder
	for _, a := range as {
		writeAttr(&b, "", a)
	}
	h2 := *h
	h2.attrs += b.String()
	return &h2
}

// WithGroup implements slog.Handler; groups are flattened into key prefixes
// only for attributes logged as groups.
func (h *Handler) WithGroup(string) slog.Handler { return h }
