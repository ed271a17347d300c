package esp

import "testing"

func TestClassifyUDP(t *testing.T) {
	for _, tc := range []struct {
		name      string
		payload   []byte
		want      UDPPayload
		marker    bool
		keepalive bool
	}{
		{"NAT keepalive", []byte{0xff}, UDPKeepalive, false, true},
		{"IKE behind the non-ESP marker", []byte{0, 0, 0, 0, 0x11, 0x22, 0x33, 0x44}, UDPIKE, true, false},
		{"bare marker", []byte{0, 0, 0, 0}, UDPIKE, true, false},
		{"ESP header", []byte{0, 0, 0x43, 0x21, 0, 0, 0, 1}, UDPESP, false, false},
		{"empty", nil, UDPInvalid, false, false},
		{"one zero byte", []byte{0}, UDPInvalid, false, false},
		{"two 0xff", []byte{0xff, 0xff}, UDPInvalid, false, false},
		{"short non-zero", []byte{1, 2, 3, 4, 5}, UDPInvalid, false, false},
		{"marker-like with a non-zero byte", []byte{0, 0, 0, 1, 0, 0, 0, 1}, UDPESP, false, false},
	} {
		if got := ClassifyUDP(tc.payload); got != tc.want {
			t.Errorf("%s: ClassifyUDP = %d, want %d", tc.name, got, tc.want)
		}
		if got := IsNonESPMarker(tc.payload); got != tc.marker {
			t.Errorf("%s: IsNonESPMarker = %v", tc.name, got)
		}
		if got := IsNATKeepalive(tc.payload); got != tc.keepalive {
			t.Errorf("%s: IsNATKeepalive = %v", tc.name, got)
		}
	}
}
