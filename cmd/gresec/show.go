package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/gresec/gresec/internal/api"
	"github.com/gresec/gresec/internal/config"
	"github.com/gresec/gresec/internal/control"
	"github.com/gresec/gresec/internal/show"
)

// showCommand is one `show` view: its words (each may be abbreviated to a
// unique prefix, as on IOS), whether it takes an interface name, and how
// its data is rendered.
type showCommand struct {
	words  []string
	ifname bool
	render func(w io.Writer, data json.RawMessage) error
}

var showCommands = []showCommand{
	{[]string{"interfaces"}, true, renderAs(show.Interfaces)},
	{[]string{"ip", "interface", "brief"}, false, renderAs(show.Brief)},
	{[]string{"ip", "route"}, false, renderAs(show.Routes)},
	{[]string{"running-config"}, false, renderAs(func(w io.Writer, rc api.RunningConfig) { io.WriteString(w, rc.Text) })},
}

func renderAs[T any](f func(io.Writer, T)) func(io.Writer, json.RawMessage) error {
	return func(w io.Writer, data json.RawMessage) error {
		var v T
		if err := json.Unmarshal(data, &v); err != nil {
			return fmt.Errorf("bad answer from the daemon: %w", err)
		}
		f(w, v)
		return nil
	}
}

// matchShow finds the command the words name, and its canonical words.
func matchShow(words []string) (*showCommand, []string, error) {
	var matches []*showCommand
	var canon [][]string
	for i := range showCommands {
		c := &showCommands[i]
		if len(words) < len(c.words) || (len(words) > len(c.words) && !(c.ifname && len(words) == len(c.words)+1)) {
			continue
		}
		ok := true
		for j, w := range c.words {
			if !strings.HasPrefix(w, strings.ToLower(words[j])) {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		args := append([]string{}, c.words...)
		if len(words) > len(c.words) {
			name, _, err := config.ParseInterfaceName(words[len(c.words)])
			if err != nil {
				return nil, nil, err
			}
			args = append(args, name)
		}
		matches = append(matches, c)
		canon = append(canon, args)
	}
	switch len(matches) {
	case 0:
		return nil, nil, fmt.Errorf("unknown show command %q (try: interfaces, ip interface brief, ip route, running-config)", strings.Join(words, " "))
	case 1:
		return matches[0], canon[0], nil
	}
	return nil, nil, fmt.Errorf("ambiguous show command %q", strings.Join(words, " "))
}

func cmdShow(args []string, stdout, stderr io.Writer) int {
	socket := api.DefaultSocket
	asJSON := false
	var words []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--json" || a == "-json":
			asJSON = true
		case a == "--socket" || a == "-socket":
			if i+1 >= len(args) {
				fmt.Fprintln(stderr, "gresec: --socket needs a path")
				return 2
			}
			i++
			socket = args[i]
		case strings.HasPrefix(a, "--socket="):
			socket = strings.TrimPrefix(a, "--socket=")
		default:
			words = append(words, a)
		}
	}
	if len(words) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, canon, err := matchShow(words)
	if err != nil {
		fmt.Fprintf(stderr, "gresec: %v\n", err)
		return 2
	}
	rep, err := control.Call(socket, append([]string{"show"}, canon...))
	if err != nil {
		fmt.Fprintf(stderr, "gresec: %v\n", err)
		return 1
	}
	if rep.Error != "" {
		fmt.Fprintf(stderr, "gresec: %s\n", rep.Error)
		return 1
	}
	if asJSON {
		var buf bytes.Buffer
		if err := json.Indent(&buf, rep.Data, "", "  "); err != nil {
			fmt.Fprintf(stderr, "gresec: %v\n", err)
			return 1
		}
		buf.WriteByte('\n')
		stdout.Write(buf.Bytes())
		return 0
	}
	if err := cmd.render(stdout, rep.Data); err != nil {
		fmt.Fprintf(stderr, "gresec: %v\n", err)
		return 1
	}
	return 0
}
