package router

import "github.com/gresec/gresec/internal/esp"

// TestSA is the JSON a test sends with `test install-sa TUNNEL` to a
// daemon built with -tags gresec_testsa (testsa_on.go). Production builds
// know the type but have no command that takes it.
type TestSA struct {
	Cipher     esp.Cipher    `json:"cipher"`
	Integrity  esp.Integrity `json:"integrity"`
	TunnelMode bool          `json:"tunnel_mode"`
	InSPI      uint32        `json:"in_spi"`
	OutSPI     uint32        `json:"out_spi"`
	InEnc      string        `json:"in_enc"`
	InAuth     string        `json:"in_auth"`
	OutEnc     string        `json:"out_enc"`
	OutAuth    string        `json:"out_auth"`
	UDP        bool          `json:"udp"`
	LocalPort  uint16        `json:"local_port"`
	RemotePort uint16        `json:"remote_port"`
}
