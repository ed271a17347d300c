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
// unique prefix, as on IOS), the optional words that may follow (NAME
// stands for an interface name), and how its data is rendered.
type showCommand struct {
	words    []string
	optional []string
	render   func(w io.Writer, data json.RawMessage) error
}

var showCommands = []showCommand{
	{[]string{"interfaces"}, []string{"NAME"}, renderAs(show.Interfaces)},
	{[]string{"ip", "interface", "brief"}, nil, renderAs(show.Brief)},
	{[]string{"ip", "route"}, nil, renderAs(show.Routes)},
	{[]string{"ipv6", "interface", "brief"}, nil, renderAs(show.IPv6Brief)},
	{[]string{"ipv6", "route"}, nil, renderAs(show.IPv6Routes)},
	{[]string{"running-config"}, nil, renderAs(func(w io.Writer, rc api.RunningConfig) { io.WriteString(w, rc.Text) })},
	{[]string{"crypto", "ipsec", "sa"}, []string{"interface", "NAME"}, renderAs(show.IPsecSAs)},
	{[]string{"crypto", "isakmp", "sa"}, nil, renderAs(show.ISAKMPSAs)},
	{[]string{"crypto", "isakmp", "sa", "detail"}, nil, renderAs(show.ISAKMPSAsDetail)},
	{[]string{"crypto", "ikev2", "sa"}, nil, renderAs(show.IKEv2SAs)},
	{[]string{"crypto", "ikev2", "sa", "detailed"}, nil, renderAs(show.IKEv2SAsDetailed)},
	{[]string{"crypto", "ikev2", "session"}, nil, renderAs(show.IKEv2Sessions)},
	{[]string{"crypto", "ikev2", "session", "detailed"}, nil, renderAs(show.IKEv2SessionsDetailed)},
	{[]string{"crypto", "session"}, nil, renderAs(show.Sessions)},
	{[]string{"crypto", "map"}, nil, renderAs(show.CryptoMaps)},
	{[]string{"crypto", "socket"}, nil, renderAs(show.Sockets)},
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

// matchWords matches user words against keywords (unique prefixes, any
// case) and NAME placeholders (interface names, normalised); it returns
// the canonical words and how many words were typed in full (`ip` is
// the keyword ip, not an abbreviation of ipv6, as on IOS).
func matchWords(words, pattern []string) ([]string, int, bool, error) {
	if len(words) != len(pattern) {
		return nil, 0, false, nil
	}
	exact := 0
	out := make([]string, len(words))
	for i, p := range pattern {
		if p == "NAME" {
			name, _, err := config.ParseInterfaceName(words[i])
			if err != nil {
				return nil, 0, false, err
			}
			out[i] = name
			continue
		}
		if !strings.HasPrefix(p, strings.ToLower(words[i])) {
			return nil, 0, false, nil
		}
		if p == strings.ToLower(words[i]) {
			exact++
		}
		out[i] = p
	}
	return out, exact, true, nil
}

// matchShow finds the command the words name, and its canonical words.
func matchShow(words []string) (*showCommand, []string, error) {
	var found *showCommand
	var canon []string
	bestExact, tie := -1, false
	for i := range showCommands {
		c := &showCommands[i]
		for _, pattern := range [][]string{c.words, append(append([]string{}, c.words...), c.optional...)} {
			args, exact, ok, err := matchWords(words, pattern)
			if err != nil {
				return nil, nil, err
			}
			if !ok || found == c {
				continue
			}
			switch {
			case exact > bestExact:
				found, canon, bestExact, tie = c, args, exact, false
			case exact == bestExact:
				tie = true
			}
		}
	}
	if tie {
		return nil, nil, fmt.Errorf("ambiguous show command %q", strings.Join(words, " "))
	}
	if found == nil {
		return nil, nil, fmt.Errorf("unknown show command %q (try: interfaces, ip interface brief, ip route, ipv6 interface brief, ipv6 route, running-config, crypto ipsec sa, crypto isakmp sa [detail], crypto ikev2 sa [detailed], crypto ikev2 session [detailed], crypto session, crypto map, crypto socket)", strings.Join(words, " "))
	}
	return found, canon, nil
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
