package show

import (
	"bytes"
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/gresec/gresec/internal/api"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares what render writes with testdata/name, byte for byte
// (IOS's trailing blanks included).
func golden(t *testing.T, name string, render func(io.Writer)) {
	t.Helper()
	var b bytes.Buffer
	render(&b)
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != string(want) {
		t.Errorf("%s: got\n%s\nwant\n%s", name, got, want)
	}
}

// The IKE SAs of the views' tests: the reference tunnel, initiated here,
// with its CHILD_SA; a responder SA with AES-GCM behind a NAT; an IPv6 one
// still negotiating.
var (
	saReference = api.IKEv2SA{
		TunnelID: 1, SessionID: 1, Local: "192.0.2.1", LocalPort: 500, Remote: "192.0.2.2", RemotePort: 500,
		Status: "READY", Encryption: "AES-CBC", KeyBits: 256, PRF: "SHA256", Integrity: "SHA256", Group: 19,
		AuthSign: "PSK", AuthVerify: "PSK", LifetimeSeconds: 86400, ActiveSeconds: 120,
		LocalSPI: "8d1f2e3c4b5a6978", RemoteSPI: "0a1b2c3d4e5f6071", LocalID: "192.0.2.1", RemoteID: "192.0.2.2",
		LocalNextMID: 2, RemoteNextMID: 0, Window: 1, DPDInterval: 10, DPDRetry: 3, Initiator: true,
		Tunnels: []string{"Tunnel0"},
		Children: []api.IKEv2Child{{
			Interface:      "Tunnel0",
			LocalSelector:  api.TrafficRange{StartAddr: "192.0.2.1", EndAddr: "192.0.2.1", EndPort: 65535, Protocol: 47},
			RemoteSelector: api.TrafficRange{StartAddr: "192.0.2.2", EndAddr: "192.0.2.2", EndPort: 65535, Protocol: 47},
			InSPI:          0xc3a1b2d4, OutSPI: 0x0e5f6a7b, Encryption: "AES-CBC", KeyBits: 256, Integrity: "SHA384", Mode: "transport",
		}},
	}
	saGCMNAT = api.IKEv2SA{
		TunnelID: 2, SessionID: 2, Local: "192.0.2.1", LocalPort: 4500, Remote: "198.51.100.7", RemotePort: 34012,
		Status: "READY", Encryption: "AES-GCM", KeyBits: 128, PRF: "SHA384", Group: 20,
		AuthSign: "PSK", AuthVerify: "PSK", LifetimeSeconds: 3600, ActiveSeconds: 7,
		LocalSPI: "00000000000000ff", RemoteSPI: "ffeeddccbbaa9988", LocalID: "192.0.2.1", RemoteID: "10.9.9.9",
		LocalNextMID: 0, RemoteNextMID: 14, Window: 1, NATT: true, RemoteBehindNAT: true,
	}
	saNegotiatingV6 = api.IKEv2SA{
		TunnelID: 3, SessionID: 3, Local: "2001:db8::1", LocalPort: 500, Remote: "2001:db8::2", RemotePort: 500,
		Status: "IN-NEG", AuthSign: "PSK", AuthVerify: "PSK", LifetimeSeconds: 86400,
		LocalSPI: "1122334455667788", RemoteSPI: "0000000000000000", LocalID: "2001:db8::1", RemoteID: "2001:db8::2",
		Window: 1, Initiator: true,
	}
	testIKEv2SAs      = api.IKEv2SAs{SAs: []api.IKEv2SA{saReference, saGCMNAT, saNegotiatingV6}}
	testIKEv2Sessions = api.IKEv2Sessions{Sessions: []api.IKEv2Session{
		{SessionID: 1, Status: "UP-ACTIVE", SAs: []api.IKEv2SA{saReference}},
		{SessionID: 2, Status: "UP-IDLE", SAs: []api.IKEv2SA{saGCMNAT}},
		{SessionID: 3, Status: "DOWN-NEGOTIATING", SAs: []api.IKEv2SA{saNegotiatingV6}},
	}}
)

func TestIKEv2SAs(t *testing.T) {
	golden(t, "ikev2_sa.txt", func(w io.Writer) { IKEv2SAs(w, testIKEv2SAs) })
}

func TestIKEv2SAsDetailed(t *testing.T) {
	golden(t, "ikev2_sa_detailed.txt", func(w io.Writer) { IKEv2SAsDetailed(w, testIKEv2SAs) })
}

func TestIKEv2SAsNone(t *testing.T) {
	golden(t, "ikev2_sa_none.txt", func(w io.Writer) { IKEv2SAs(w, api.IKEv2SAs{}) })
}

func TestIKEv2Sessions(t *testing.T) {
	golden(t, "ikev2_session.txt", func(w io.Writer) { IKEv2Sessions(w, testIKEv2Sessions) })
}

func TestIKEv2SessionsDetailed(t *testing.T) {
	golden(t, "ikev2_session_detailed.txt", func(w io.Writer) { IKEv2SessionsDetailed(w, testIKEv2Sessions) })
}

// TestSessionsIKEVersions: `show crypto session` writes an IKEv1 tunnel as
// before and an IKEv2 tunnel with its IKE SAs, as IOS does.
func TestSessionsIKEVersions(t *testing.T) {
	golden(t, "crypto_session.txt", func(w io.Writer) {
		Sessions(w, api.CryptoSessions{Sessions: []api.CryptoSession{
			{Interface: "Tunnel0", Peer: "192.0.2.2", PeerPort: 500, Status: "UP-ACTIVE", ISAKMPSAs: 1, ActiveSAs: 2,
				Local: "192.0.2.1", Remote: "192.0.2.2", IKEVersion: 1},
			{Interface: "Tunnel1", Peer: "192.0.2.3", PeerPort: 4500, Status: "UP-ACTIVE", ISAKMPSAs: 1, ActiveSAs: 2,
				Local: "192.0.2.1", Remote: "192.0.2.3", IKEVersion: 2, IKEv2SAs: []api.SessionIKE{
					{Local: "192.0.2.1", LocalPort: 4500, Remote: "192.0.2.3", RemotePort: 4500, Active: true},
					{Local: "192.0.2.1", LocalPort: 500, Remote: "192.0.2.3", RemotePort: 500},
				}},
		}})
	})
}
