package packet

import "testing"

func TestDSCP(t *testing.T) {
	for _, c := range []struct {
		name string
		b    []byte
		want byte
	}{
		{"IPv4 EF", []byte{0x45, 0xb8}, 46},
		{"IPv4 AF41 with ECN CE", []byte{0x45, 0x8b}, 34},
		{"IPv6 EF", []byte{0x6b, 0x80, 0, 0}, 46},
		{"IPv6 CS1 with ECT(0)", []byte{0x62, 0x20, 0, 0}, 8},
		{"empty", nil, 0},
		{"not IP", []byte{0x00, 0xff}, 0},
	} {
		if got := DSCP(c.b); got != c.want {
			t.Errorf("%s: DSCP %d, want %d", c.name, got, c.want)
		}
	}
}
