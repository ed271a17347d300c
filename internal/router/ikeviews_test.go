package router

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gresec/gresec/internal/api"
)

// ikev2Crypto is issue 12's IKEv2 configuration with profile P.
const ikev2Crypto = "crypto ikev2 proposal PROP\n encryption aes-cbc-256\n integrity sha256\n group 19\n" +
	"crypto ikev2 policy POL\n proposal PROP\n" +
	"crypto ikev2 keyring KEYS\n peer ANY\n  address 0.0.0.0 0.0.0.0\n  pre-shared-key SecretPassword12\n" +
	"crypto ikev2 profile IKEV2\n match identity remote address 0.0.0.0\n authentication remote pre-share\n" +
	" authentication local pre-share\n keyring local KEYS\n dpd 10 3 periodic\n" +
	"crypto ipsec transform-set TS esp-aes 256 esp-sha384-hmac\n mode transport\n" +
	"crypto ipsec profile P\n set transform-set TS\n set ikev2-profile IKEV2\n!\n"

// ikev2Pair is two routers whose IKE sockets the test joins: the hub of
// tunnelConf (203.0.113.1) and its peer 198.51.100.10, both protecting
// their Tunnel0 with ikev2Crypto.
func ikev2Pair(t *testing.T) (hub, peer *testRouter) {
	hub = startRouter(t, physicalHost(), ikev2Crypto+tunnelConf(threeTunnels[:1], " tunnel protection ipsec profile P\n", ""))
	h := newFakeHost()
	h.addLink("eth0")
	h.addAddr("eth0", "198.18.0.2/24")
	h.addRoute("0.0.0.0/0", "eth0", "198.18.0.1", 0, protoStatic)
	peer = startRouter(t, h, ikev2Crypto+"hostname peer\n!\ninterface Loopback0\n ip address 198.51.100.10 255.255.255.255\n!\n"+
		"interface Tunnel0\n ip address 10.0.0.2 255.255.255.252\n tunnel source Loopback0\n tunnel destination 203.0.113.1\n"+
		" tunnel protection ipsec profile P\n!\n")
	return hub, peer
}

// exchangeIKE carries the IKE datagrams between the routers' sockets, has
// each router take what it received and make a pass, and moves their
// clocks on by 100 ms a round (for retransmissions and retries), until
// done holds; it fails the test after five seconds.
func exchangeIKE(t *testing.T, a, b *testRouter, done func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !done() {
		if time.Now().After(deadline) {
			t.Fatal("IKE did not get there in 5 s")
		}
		for _, pair := range [][2]*testRouter{{a, b}, {b, a}} {
			from, to := pair[0], pair[1]
			from.h.mu.Lock()
			outs := append([]*fakeIKE(nil), from.h.ikes...)
			from.h.mu.Unlock()
			to.h.mu.Lock()
			ins := append([]*fakeIKE(nil), to.h.ikes...)
			to.h.mu.Unlock()
			for _, o := range outs {
			drain:
				for {
					select {
					case d := <-o.Out:
						for _, in := range ins {
							if in.local == d.Addr {
								in.In <- fakeDatagram{Data: d.Data, Addr: o.local}
							}
						}
					default:
						break drain
					}
				}
			}
		}
		time.Sleep(5 * time.Millisecond)
		for _, tr := range []*testRouter{a, b} {
			tr.r.mu.Lock()
		take:
			for {
				select {
				case d := <-tr.r.ikeIn:
					tr.r.receiveIKE(d)
				default:
					break take
				}
			}
			tr.r.passLocked()
			tr.r.mu.Unlock()
			tr.clock.advance(100 * time.Millisecond)
		}
	}
}

func (tr *testRouter) show(words ...string) any {
	tr.t.Helper()
	resp := tr.r.Handle(context.Background(), api.Request{Args: append([]string{"show"}, words...)})
	if resp.Error != "" {
		tr.t.Fatalf("show %s: %s", strings.Join(words, " "), resp.Error)
	}
	return resp.Data
}

// ikev2SA returns the router's one IKE SA once it is up with its
// CHILD_SA and alone (a collision of both ends initiating resolved).
func (tr *testRouter) ikev2SA() (api.IKEv2SA, bool) {
	sas := tr.show("crypto", "ikev2", "sa").(api.IKEv2SAs).SAs
	if len(sas) != 1 || sas[0].Status != "READY" || len(sas[0].Children) != 1 {
		return api.IKEv2SA{}, false
	}
	return sas[0], true
}

// bothUp reports whether both routers have their one IKE SA up.
func bothUp(a, b *testRouter) bool {
	_, okA := a.ikev2SA()
	_, okB := b.ikev2SA()
	return okA && okB
}

// TestIKEv2Views: two routers negotiate issue 12's configuration; show
// crypto ikev2 sa, session and crypto session describe it alike on both
// ends (SPIs mirrored), and clear crypto ikev2 sa replaces the IKE SA.
func TestIKEv2Views(t *testing.T) {
	hub, peer := ikev2Pair(t)
	exchangeIKE(t, hub, peer, func() bool { return bothUp(hub, peer) })

	sa, _ := hub.ikev2SA()
	psa, _ := peer.ikev2SA()
	if sa.Local != "203.0.113.1" || sa.LocalPort != 500 || sa.Remote != "198.51.100.10" || sa.RemotePort != 500 ||
		sa.Encryption != "AES-CBC" || sa.KeyBits != 256 || sa.PRF != "SHA256" || sa.Integrity != "SHA256" || sa.Group != 19 ||
		sa.AuthSign != "PSK" || sa.LifetimeSeconds != 86400 || sa.DPDInterval != 10 || sa.DPDRetry != 3 || sa.Window != 1 ||
		sa.LocalID != "203.0.113.1" || sa.RemoteID != "198.51.100.10" || sa.SessionID != 1 || len(sa.Children) != 1 {
		t.Errorf("hub's IKE SA %+v", sa)
	}
	if sa.LocalSPI != psa.RemoteSPI || sa.RemoteSPI != psa.LocalSPI || sa.Initiator == psa.Initiator {
		t.Errorf("the ends disagree: hub SPIs %s/%s initiator %v, peer %s/%s initiator %v",
			sa.LocalSPI, sa.RemoteSPI, sa.Initiator, psa.LocalSPI, psa.RemoteSPI, psa.Initiator)
	}
	c, pc := sa.Children[0], psa.Children[0]
	wantLocal := api.TrafficRange{StartAddr: "203.0.113.1", EndAddr: "203.0.113.1", EndPort: 65535, Protocol: 47}
	if c.Interface != "Tunnel0" || c.LocalSelector != wantLocal || c.RemoteSelector != pc.LocalSelector ||
		c.InSPI != pc.OutSPI || c.OutSPI != pc.InSPI || c.Encryption != "AES-CBC" || c.KeyBits != 256 ||
		c.Integrity != "SHA384" || c.Mode != "transport" || c.UDPEncap {
		t.Errorf("hub's CHILD_SA %+v, peer's %+v", c, pc)
	}
	if d := hub.show("crypto", "ikev2", "sa", "detailed").(api.IKEv2SAs); len(d.SAs) != 1 || d.SAs[0].LocalSPI != sa.LocalSPI {
		t.Errorf("show crypto ikev2 sa detailed: %+v", d)
	}

	ss := hub.show("crypto", "ikev2", "session").(api.IKEv2Sessions)
	if len(ss.Sessions) != 1 || ss.Sessions[0].Status != "UP-ACTIVE" || len(ss.Sessions[0].SAs) != 1 || ss.Sessions[0].SessionID != 1 {
		t.Errorf("show crypto ikev2 session: %+v", ss)
	}
	if d := hub.show("crypto", "ikev2", "session", "detailed").(api.IKEv2Sessions); len(d.Sessions) != 1 {
		t.Errorf("show crypto ikev2 session detailed: %+v", d)
	}

	cs := hub.show("crypto", "session").(api.CryptoSessions)
	want := api.SessionIKE{Local: "203.0.113.1", LocalPort: 500, Remote: "198.51.100.10", RemotePort: 500, Active: true}
	if len(cs.Sessions) != 1 || cs.Sessions[0].IKEVersion != 2 || cs.Sessions[0].Status != "UP-ACTIVE" ||
		len(cs.Sessions[0].IKEv2SAs) != 1 || cs.Sessions[0].IKEv2SAs[0] != want {
		t.Errorf("show crypto session: %+v", cs)
	}

	// The control socket sends the views as JSON.
	b, err := json.Marshal(api.Response{Data: hub.show("crypto", "ikev2", "session")})
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"session_id":1`, `"status":"UP-ACTIVE"`, `"local_spi":"` + sa.LocalSPI + `"`, `"local_selector":{"start_addr":"203.0.113.1"`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("JSON lacks %s: %s", key, b)
		}
	}

	resp := hub.r.Handle(context.Background(), api.Request{Args: []string{"clear", "crypto", "ikev2", "sa"}})
	if resp.Error != "" {
		t.Fatalf("clear crypto ikev2 sa: %s", resp.Error)
	}
	exchangeIKE(t, hub, peer, func() bool {
		now, _ := hub.ikev2SA()
		return bothUp(hub, peer) && now.LocalSPI != sa.LocalSPI
	})
}

// TestIKEv2ViewsEmpty: without IKEv2 the views answer with empty lists,
// which JSON shows as [] rather than null.
func TestIKEv2ViewsEmpty(t *testing.T) {
	tr := startRouter(t, physicalHost(), tunnelConf(threeTunnels[:1], "", ""))
	for _, words := range [][]string{{"crypto", "ikev2", "sa"}, {"crypto", "ikev2", "session", "detailed"}} {
		b, err := json.Marshal(tr.show(words...))
		if err != nil {
			t.Fatal(err)
		}
		if s := string(b); s != `{"sas":[]}` && s != `{"sessions":[]}` {
			t.Errorf("show %s: %s", strings.Join(words, " "), s)
		}
	}
}
