package dataplane

import (
	"maps"
	"regexp"
	"testing"
)

// distinct gives every counter its own bit, so a sum says which it added.
func distinct() Snapshot {
	var c Counters
	for k := range numCounters {
		c.Add(k, 1<<k)
	}
	return c.Snapshot()
}

func TestCounterNames(t *testing.T) {
	seen := map[string]Counter{}
	snake := regexp.MustCompile(`^[a-z]+(_[a-z0-9]+)*$`)
	for k := range numCounters {
		name := k.String()
		if !snake.MatchString(name) {
			t.Errorf("counter %d is named %q", k, name)
		}
		if j, dup := seen[name]; dup {
			t.Errorf("counters %d and %d are both named %q", j, k, name)
		}
		seen[name] = k
	}
}

// The Detail map is `show interfaces` JSON: its keys are an interface.
func TestDetailKeys(t *testing.T) {
	s := distinct()
	want := map[string]uint64{
		"out_line_protocol_down": s[OutDownDrops],
		"out_no_ipsec_sa":        s[OutNoSADrops],
		"out_recursive":          s[OutRecursionDrops],
		"out_too_big_icmp_sent":  s[OutTooBig],
		"out_not_ip":             s[OutMalformed],
		"out_path_mtu_exceeded":  s[OutPathTooBig],
		"in_malformed":           s[InMalformed],
		"in_key_mismatch":        s[InKeyMismatch],
		"in_checksum_errors":     s[InChecksumError],
		"in_out_of_sequence":     s[InSeqDrops],
		"in_clear_on_protected":  s[InClearDrops],
		"in_unknown_protocol":    s[InUnknownProto],
		"in_line_protocol_down":  s[InDownDrops],
		"in_overlay_errors":      s[InErrors],
		"mss_clamped":            s[MSSClamped],
		"keepalives_reflected":   s[KeepalivesReflected],
	}
	if got := maps.Collect(s.Detail()); !maps.Equal(got, want) {
		t.Errorf("Detail = %v, want %v", got, want)
	}
}

func TestDropSums(t *testing.T) {
	s := distinct()
	if got, want := s.OutDrops(), s[OutDownDrops]+s[OutNoSADrops]+s[OutRecursionDrops]+s[OutTooBig]+s[OutMalformed]; got != want {
		t.Errorf("OutDrops = %#x, want %#x", got, want)
	}
	want := s[InMalformed] + s[InKeyMismatch] + s[InChecksumError] + s[InSeqDrops] +
		s[InClearDrops] + s[InUnknownProto] + s[InDownDrops] + s[InErrors] +
		s[InNoSA] + s[InAuthFailures] + s[InReplayDrops] + s[InPolicyDrops]
	if got := s.InDrops(); got != want {
		t.Errorf("InDrops = %#x, want %#x", got, want)
	}
}

func TestCountersDoNotAllocate(t *testing.T) {
	var c Counters
	if n := testing.AllocsPerRun(100, func() { c.Add(InPackets, 1); _ = c.Load(InPackets) }); n != 0 {
		t.Errorf("Add and Load allocate %v times", n)
	}
}
