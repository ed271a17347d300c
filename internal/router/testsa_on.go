//go:build gresec_testsa

package router

import (
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/gresec/gresec/internal/api"
	"github.com/gresec/gresec/internal/esp"
)

// This file exists only in binaries built with -tags gresec_testsa (the
// namespace tests build one): it lets a test install static SAs before
// IKE does. A production build has no way to install keys but IKE.

func (r *Router) testCommand(args []string) (api.Response, bool) {
	if len(args) != 4 || args[0] != "test" || args[1] != "install-sa" {
		return api.Response{}, false
	}
	var t TestSA
	if err := json.Unmarshal([]byte(args[3]), &t); err != nil {
		return api.Response{Error: err.Error()}, true
	}
	keys := make([][]byte, 4)
	for i, h := range []string{t.InEnc, t.InAuth, t.OutEnc, t.OutAuth} {
		k, err := hex.DecodeString(h)
		if err != nil {
			return api.Response{Error: fmt.Sprintf("key %d: %v", i, err)}, true
		}
		keys[i] = k
	}
	s := PairSpec{
		Suite:      esp.Suite{Cipher: t.Cipher, Integrity: t.Integrity},
		TunnelMode: t.TunnelMode,
		InSPI:      t.InSPI, OutSPI: t.OutSPI,
		InEncKey: keys[0], InAuthKey: keys[1], OutEncKey: keys[2], OutAuthKey: keys[3],
	}
	if t.UDP {
		s.Encap = &UDPEncap{LocalPort: t.LocalPort, RemotePort: t.RemotePort}
	}
	if err := r.InstallPair(args[2], s); err != nil {
		return api.Response{Error: err.Error()}, true
	}
	return api.Response{Data: "installed"}, true
}
