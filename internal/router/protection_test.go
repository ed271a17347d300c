package router

import (
	"io"
	"log/slog"
	"net/netip"
	"testing"
	"time"

	"github.com/gresec/gresec/internal/config"
	"github.com/gresec/gresec/internal/dataplane"
	"github.com/gresec/gresec/internal/dataplane/dataplanetest"
	"github.com/gresec/gresec/internal/esp"
)

// protectedRouter is a router with one protected tunnel that has no source
// yet (so no socket is opened) and a clock the test moves.
func protectedRouter(t *testing.T) (*Router, *iface, *time.Time) {
	t.Helper()
	now := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	r := &Router{
		opts:  Options{Now: func() time.Time { return now }},
		log:   log,
		cfg:   &config.Config{ReplayWindow: 64},
		ifs:   map[string]*iface{},
		ports: map[portKey]*portShare{},
		bufs:  dataplane.NewBuffers(),
	}
	it := &iface{cfg: &config.Interface{Name: "Tunnel0", Kind: config.Tunnel,
		Tunnel: &config.TunnelConfig{Destination: netip.MustParseAddr("192.0.2.2"), ProtectionProfile: "P"}}}
	it.dp = dataplane.New(dataplanetest.NewOverlay(1), dataplane.Params{Name: "Tunnel0", Protected: true}, dataplane.Env{}, log)
	r.ifs["Tunnel0"] = it
	return r, it, &now
}

func gcmSpec(in, out uint32) PairSpec {
	k := make([]byte, 36)
	return PairSpec{Suite: esp.Suite{Cipher: esp.AES256GCM}, InSPI: in, OutSPI: out, InEncKey: k, OutEncKey: k}
}

// TestCrossingPairsSurvivorKept: both ends negotiate at once, so two new
// pairs are installed a moment apart (the first set to retire as the
// second comes), and the engine keeps one of them, here the first: it must
// stay installed after the others' grace, not retire and leave the
// tunnel without SAs (the soak's 90 s black hole).
func TestCrossingPairsSurvivorKept(t *testing.T) {
	r, it, now := protectedRouter(t)
	for _, s := range []PairSpec{gcmSpec(0x100, 0x200), gcmSpec(0x101, 0x201), gcmSpec(0x102, 0x202)} {
		if err := r.installPairLocked("Tunnel0", s); err != nil {
			t.Fatal(err)
		}
		*now = now.Add(time.Millisecond)
	}
	*now = now.Add(10 * time.Second)
	r.deletePairLocked("Tunnel0", 0x100) // the old pair
	r.deletePairLocked("Tunnel0", 0x102) // the loser of the two crossing pairs
	*now = now.Add(5 * time.Minute)
	r.expireSAs(*now, it)
	if len(it.sas) != 1 || it.sas[0].spec.InSPI != 0x101 {
		t.Fatalf("after the grace: %d pairs installed, want the survivor 0x101", len(it.sas))
	}
	if prot := it.dp.Protection(); prot == nil || prot.Out == nil || prot.Out.SPI() != 0x201 {
		t.Fatalf("the data plane does not send on the survivor: %+v", prot)
	}
}

// TestDeletedPairAcceptsInFlight: a pair IKE deletes (here the loser of two
// crossing Quick Modes, while it carries traffic) sends nothing more at
// once, but its inbound SA accepts what the peer sent before it deleted the
// pair too, for deleteGrace; then it goes.
func TestDeletedPairAcceptsInFlight(t *testing.T) {
	r, it, now := protectedRouter(t)
	for _, s := range []PairSpec{gcmSpec(0x100, 0x200), gcmSpec(0x101, 0x201)} {
		if err := r.installPairLocked("Tunnel0", s); err != nil {
			t.Fatal(err)
		}
		*now = now.Add(time.Millisecond)
	}
	*now = now.Add(switchDelay)
	it.saNext = r.expireSAs(*now, it)
	if out := it.dp.Protection().Out.SPI(); out != 0x201 {
		t.Fatalf("sending on 0x%x before the delete, want the new pair's 0x201", out)
	}
	r.deletePairLocked("Tunnel0", 0x101)
	prot := it.dp.Protection()
	if prot.Out.SPI() != 0x200 {
		t.Errorf("after the delete: sending on 0x%x, want the remaining pair's 0x200", prot.Out.SPI())
	}
	if len(prot.In) != 2 {
		t.Errorf("after the delete: %d inbound SAs, want 2 (the deleted one for its grace)", len(prot.In))
	}
	*now = now.Add(deleteGrace)
	it.saNext = r.expireSAs(*now, it)
	if prot := it.dp.Protection(); len(prot.In) != 1 || prot.In[0].SPI() != 0x100 || prot.Out.SPI() != 0x200 {
		t.Errorf("after the grace: in %d SAs, out 0x%x; want only the pair 0x100/0x200", len(prot.In), prot.Out.SPI())
	}
}

// TestOutboundHardLimitKeepsInbound: the outbound SA of the pair in use
// reaches its hard volume limit while its replacement waits out
// switchDelay (a fast sender crosses the last tenth of the volume within
// it). Outbound moves to the replacement at once, and the old inbound SA
// stays: the peer may still send on it (strongSwan, as responder of the
// rekey, until the old pair is deleted); removing it black-holed the
// peer's traffic for the whole overlap.
func TestOutboundHardLimitKeepsInbound(t *testing.T) {
	r, it, now := protectedRouter(t)
	if err := r.installPairLocked("Tunnel0", gcmSpec(0x100, 0x200)); err != nil {
		t.Fatal(err)
	}
	old := it.sas[0]
	old.out.SetLifetime(esp.Lifetime{HardPackets: 1})
	*now = now.Add(time.Minute)
	if err := r.installPairLocked("Tunnel0", gcmSpec(0x101, 0x201)); err != nil {
		t.Fatal(err)
	}
	if out := it.dp.Protection().Out.SPI(); out != 0x200 {
		t.Fatalf("within switchDelay: sending on 0x%x, want the old pair's 0x200", out)
	}
	buf := make([]byte, esp.MaxHeadroom+64, esp.MaxHeadroom+64+esp.MaxTailroom)
	if _, err := old.out.Seal(buf, esp.MaxHeadroom, esp.NextHeaderGRE); err != nil {
		t.Fatal(err)
	}
	if !old.out.Expired() {
		t.Fatal("the old outbound SA did not expire")
	}
	*now = now.Add(time.Millisecond)
	it.saNext = r.expireSAs(*now, it)
	prot := it.dp.Protection()
	if prot.Out == nil || prot.Out.SPI() != 0x201 {
		t.Fatalf("after the hard limit: sending on %+v, want the new pair's 0x201", prot.Out)
	}
	var in []uint32
	for _, sa := range prot.In {
		in = append(in, sa.SPI())
	}
	if len(in) != 2 {
		t.Errorf("after the old outbound SA's hard limit: inbound SAs %x, want 101 and 100", in)
	}
}
