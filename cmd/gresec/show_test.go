package main

import (
	"slices"
	"testing"
)

// TestMatchShowIPAndIPv6: `ip` typed in full is the keyword ip, not an
// abbreviation of ipv6, so the IPv4 views keep their short forms; ipv6 and
// its abbreviations reach the IPv6 views.
func TestMatchShowIPAndIPv6(t *testing.T) {
	for _, c := range []struct {
		words []string
		want  []string
	}{
		{[]string{"ip", "route"}, []string{"ip", "route"}},
		{[]string{"ip", "int", "br"}, []string{"ip", "interface", "brief"}},
		{[]string{"ipv6", "route"}, []string{"ipv6", "route"}},
		{[]string{"ipv", "ro"}, []string{"ipv6", "route"}},
		{[]string{"ipv6", "int", "br"}, []string{"ipv6", "interface", "brief"}},
	} {
		_, canon, err := matchShow(c.words)
		if err != nil || !slices.Equal(canon, c.want) {
			t.Errorf("matchShow(%q) = %q, %v; want %q", c.words, canon, err, c.want)
		}
	}
	if _, _, err := matchShow([]string{"i", "route"}); err == nil {
		t.Error("`i route` (ip or ipv6) is not ambiguous")
	}
}
