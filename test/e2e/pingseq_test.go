package e2e

import "testing"

// icmpSeqs numbers ping's replies past 65535: icmp_seq is 16 bits, and
// ping prints 65535, then 0 (the one-hour soak's 72000 pings counted the
// last 6465 as lost). Replies come in order but for the odd late one, so a
// number far below the highest seen starts the next round.
type icmpSeqs struct{ round, last int }

func (s *icmpSeqs) unwrap(printed int) int {
	n := printed + s.round*65536
	if n < s.last-32768 {
		s.round++
		n += 65536
	}
	s.last = max(s.last, n)
	return n
}

func TestICMPSeqUnwrap(t *testing.T) {
	var s icmpSeqs
	for _, c := range []struct{ printed, want int }{
		{1, 1}, {2, 2}, {65535, 65535}, {65534, 65534}, // a late reply
		{0, 65536}, {1, 65537}, {65535, 131071}, {2, 131074}, {40000, 171072},
	} {
		if got := s.unwrap(c.printed); got != c.want {
			t.Errorf("icmp_seq %d: numbered %d, want %d", c.printed, got, c.want)
		}
	}
}
