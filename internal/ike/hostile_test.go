package ike

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gresec/gresec/internal/isakmp"
	"github.com/gresec/gresec/internal/loglimit"
)

// fingerprint describes everything an engine keeps about its peers, so
// that a test can tell whether a message changed anything. (The log rate
// limiter is left out: it is not protocol state.)
func fingerprint(e *Engine) string {
	var b strings.Builder
	for _, p := range e.peerOrder {
		fmt.Fprintf(&b, "peer %v seen %v dpd %+v ka %v mm %d %v\n", p.key, p.lastSeen, p.dpd, p.keepaliveAt, p.mmFailures, p.mmRetryAt)
		for _, sa := range p.sas {
			fmt.Fprintf(&b, " sa %d %x %x step %d %v %v %v iv %x p2 %x local %v remote %v nat %v%v%v doomed %v xmit %d %v mids %d dpd %d/%v\n",
				sa.connID, sa.ckyI, sa.ckyR, sa.step, sa.established, sa.expires, sa.rekeyAt, sa.iv, sa.p2base,
				sa.local, sa.remote, sa.natt, sa.natLocal, sa.natRemote, sa.doomed, sa.xmit.Sent, sa.xmit.Next, len(sa.mids), sa.peerDPDSeq, sa.peerDPDSeen)
			mids := make([]uint32, 0, len(sa.qms))
			for m := range sa.qms {
				mids = append(mids, m)
			}
			slices.Sort(mids)
			for _, m := range mids {
				qm := sa.qms[m]
				fmt.Fprintf(&b, "  qm %08x step %d iv %x spi %08x/%08x xmit %d %v\n", m, qm.step, qm.iv, qm.inSPI, qm.outSPI, qm.xmit.Sent, qm.xmit.Next)
			}
		}
		for _, t := range p.tunnels {
			fmt.Fprintf(&b, " tunnel %s up %v qm %v fail %d %v\n", t.p.Name, t.up, t.qm != nil, t.failures, t.retryAt)
			for _, c := range t.children {
				fmt.Fprintf(&b, "  child %08x/%08x %v %v %v\n", c.inSPI, c.outSPI, c.rekeyAt, c.expires, c.deleteAt)
			}
		}
	}
	fmt.Fprintf(&b, "spis %d next %v\n", len(e.spis), e.NextWake())
	return b.String()
}

// recorded runs A (initiator) and B (passive) to an established SA pair and
// returns the IKE messages each sent, in order, without NAT-T markers.
func recorded(t *testing.T) (*network, *node, *node, [][]byte, [][]byte) {
	n, a, b := oneWay(t, quiet(refConfig()), quiet(refConfig()))
	n.run(time.Minute)
	established(t, a, b)
	msgs := func(nd *node) [][]byte {
		var out [][]byte
		for _, s := range nd.sends {
			if _, ok := ikeHeader(s.s); ok {
				out = append(out, s.s.Data)
			}
		}
		return out
	}
	return n, a, b, msgs(a), msgs(b)
}

func modify(b []byte, f func([]byte)) []byte {
	c := bytes.Clone(b)
	f(c)
	return c
}

// withMID returns msg with another message ID.
func withMID(msg []byte, mid uint32) []byte {
	return modify(msg, func(c []byte) { binary.BigEndian.PutUint32(c[20:], mid) })
}

// TestHostile feeds malformed, replayed and forged messages to an
// established responder and initiator: none may change any state or cause
// anything but (rate-limited) logs and the odd retransmission or notify.
func TestHostile(t *testing.T) {
	n, a, b, fromA, fromB := recorded(t)
	// fromA: MM1 MM3 MM5 QM1 QM3; fromB: MM2 MM4 MM6 QM2.
	mm1, mm3, mm5, qm1, qm3 := fromA[0], fromA[1], fromA[2], fromA[3], fromA[4]
	mm2, mm4, mm6, qm2 := fromB[0], fromB[1], fromB[2], fromB[3]
	cky := mm5[:16]
	hdr := func(x isakmp.ExchangeType, flags isakmp.Flags, mid uint32, body []byte) []byte {
		h := isakmp.Header{Exchange: x, Flags: flags, MessageID: mid, Length: uint32(isakmp.HeaderLen + len(body))}
		copy(h.InitiatorCookie[:], cky[:8])
		copy(h.ResponderCookie[:], cky[8:])
		out, err := h.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return append(out, body...)
	}
	garbage := bytes.Repeat([]byte{0x5a}, 64)
	cases := []struct {
		name string
		to   *node
		port uint16
		data []byte
	}{
		{"empty", b, 500, nil},
		{"one byte", b, 500, []byte{1}},
		{"short header", b, 500, mm1[:27]},
		{"truncated", b, 500, mm1[:len(mm1)-1]},
		{"trailing data", b, 500, append(bytes.Clone(mm1), 0)},
		{"IKEv2", b, 500, modify(mm1, func(c []byte) { c[17] = 0x20 })},
		{"undefined flag", b, 500, modify(mm1, func(c []byte) { c[19] = 0x80 })},
		{"length below header", b, 500, modify(mm1, func(c []byte) { binary.BigEndian.PutUint32(c[24:], 10) })},
		{"payload length overflow", b, 500, modify(mm1, func(c []byte) { c[30], c[31] = 0xff, 0xff })},
		{"payload length zero", b, 500, modify(mm1, func(c []byte) { c[30], c[31] = 0, 0 })},
		{"MM1 encrypted flag", b, 500, modify(mm1, func(c []byte) { c[19] = 1 })},
		{"MM1 with message ID", b, 500, withMID(mm1, 7)},
		{"replayed MM1", b, 500, mm1},
		{"replayed MM3", b, 500, mm3},
		{"replayed MM5", b, 500, mm5},
		{"replayed QM1", b, 500, qm1},
		{"replayed QM3", b, 500, qm3},
		{"QM1 under a new message ID", b, 500, withMID(qm1, 0x01020304)},
		{"QM1 bit flip", b, 500, modify(withMID(qm1, 0x0a0b0c0d), func(c []byte) { c[len(c)-20] ^= 1 })},
		{"QM garbage", b, 500, hdr(isakmp.ExchangeQuickMode, isakmp.FlagEncryption, 99, garbage)},
		{"QM partial block", b, 500, hdr(isakmp.ExchangeQuickMode, isakmp.FlagEncryption, 99, garbage[:17])},
		{"QM message ID 0", b, 500, hdr(isakmp.ExchangeQuickMode, isakmp.FlagEncryption, 0, garbage)},
		{"QM in clear", b, 500, hdr(isakmp.ExchangeQuickMode, 0, 99, nil)},
		{"informational garbage", b, 500, hdr(isakmp.ExchangeInformational, isakmp.FlagEncryption, 98, garbage)},
		{"informational clear DELETE", b, 500, hdr(isakmp.ExchangeInformational, 0, 98,
			mustPayloads(t, isakmp.DeleteISAKMP([8]byte(cky[:8]), [8]byte(cky[8:]))))},
		{"informational clear error", b, 500, hdr(isakmp.ExchangeInformational, 0, 98,
			mustPayloads(t, &isakmp.Notification{DOI: 1, Protocol: 1, Type: isakmp.NotifyInvalidHashInformation}))},
		{"Aggressive Mode", b, 500, modify(mm1, func(c []byte) { c[18] = byte(isakmp.ExchangeAggressive) })},
		{"unknown exchange", b, 500, modify(mm1, func(c []byte) { c[18] = 200 })},
		{"unknown cookies", b, 500, modify(mm3, func(c []byte) { c[3] ^= 0xff })},
		{"garbage MM on 4500", b, 4500, append([]byte{0, 0, 0, 0}, garbage...)},
		{"ESP on 4500", b, 4500, append([]byte{0, 0, 1, 0}, garbage...)},
		{"keepalive on 4500", b, 4500, []byte{0xff}},
		{"marker only on 4500", b, 4500, []byte{0, 0, 0, 0}},
		{"replayed MM2", a, 500, mm2},
		{"replayed MM4", a, 500, mm4},
		{"replayed MM6", a, 500, mm6},
		{"replayed QM2", a, 500, qm2},
		{"QM2 under a new message ID", a, 500, withMID(qm2, 0x0f0f0f0f)},
		{"MM4 forged for an established SA", a, 500, modify(mm4, func(c []byte) { c[40] ^= 1 })},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := fingerprint(c.to.e)
			from := a
			if c.to == a {
				from = b
			}
			acts := c.to.e.Receive(n.now, Datagram{
				Local:  netip.AddrPortFrom(c.to.addr, c.port),
				Remote: netip.AddrPortFrom(from.addr, c.port),
				Data:   c.data,
			})
			if after := fingerprint(c.to.e); after != before {
				t.Errorf("state changed:\nbefore:\n%s\nafter:\n%s", before, after)
			}
			for _, act := range acts {
				switch act.(type) {
				case Send, Log:
				default:
					t.Errorf("unexpected action %T", act)
				}
			}
			if len(actionsOf[Send](acts)) > 1 {
				t.Errorf("%d messages sent in answer", len(actionsOf[Send](acts)))
			}
		})
	}
}

func mustPayloads(t *testing.T, ps ...isakmp.Payload) []byte {
	b, err := isakmp.MarshalPayloads(ps)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestHostileMidExchange forges the messages an initiator and a responder
// wait for, with the right cookies: nothing changes until the genuine
// message comes.
func TestHostileMidExchange(t *testing.T) {
	n, a, b := oneWay(t, quiet(refConfig()), quiet(refConfig()))
	// Deliver MM1 and MM2 and MM3: A waits for MM4, B for MM5.
	for range 3 {
		n.step()
	}
	if len(n.queue) != 1 {
		t.Fatalf("%d messages in flight", len(n.queue))
	}
	mm4 := n.queue[0].Data
	mm3 := a.sends[len(a.sends)-1].s.Data
	// A's next message, MM5, is what B waits for; forge it from MM4's header.
	forged := []struct {
		name string
		to   *node
		data []byte
	}{
		{"MM4 degenerate KE", a, modify(mm4, func(c []byte) {
			// KE is the first payload: zero its public value.
			l := int(binary.BigEndian.Uint16(c[30:]))
			clear(c[32 : 28+l])
		})},
		{"MM4 truncated nonce", a, modify(mm4, func(c []byte) { c[len(c)-1] ^= 0; binary.BigEndian.PutUint32(c[24:], uint32(len(c)+4)) })},
		{"MM5 garbage", b, modify(mm3, func(c []byte) { c[19] = 1 })},
		{"MM4 to the responder", b, mm4},
		{"MM3 to the initiator", a, mm3},
	}
	for _, f := range forged {
		before := fingerprint(f.to.e)
		from := a
		if f.to == a {
			from = b
		}
		acts := f.to.e.Receive(n.now, Datagram{Local: netip.AddrPortFrom(f.to.addr, 500), Remote: netip.AddrPortFrom(from.addr, 500), Data: f.data})
		if fingerprint(f.to.e) != before {
			t.Errorf("%s: state changed", f.name)
		}
		if len(actionsOf[InstallPair](acts)) > 0 {
			t.Errorf("%s: installed", f.name)
		}
	}
	n.run(time.Minute)
	established(t, a, b)
}

// TestHalfOpenCaps floods a responder with MM1s. Addresses that are no
// tunnel destination and have no key of their own get no state. A tunnel
// destination's half-open SAs stay capped, the oldest making room for
// the newest, except one past MM3; addresses of a keyed range count
// against the overall cap; a repeated MM1 is answered once a second; and
// everything times out.
func TestHalfOpenCaps(t *testing.T) {
	_, _, _, fromA, _ := recorded(t)
	mm1 := fromA[0]
	cfg := quiet(refConfig())
	keyed := netip.MustParsePrefix("10.1.0.0/16")
	cfg.KeyedPeer = keyed.Contains
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	pb := protect(addrB, addrA)
	pb.Passive = true
	if _, err := e.Start(t0, pb); err != nil {
		t.Fatal(err)
	}
	local := netip.AddrPortFrom(addrB, 500)
	withCookie := func(i int) []byte {
		return modify(mm1, func(c []byte) { binary.BigEndian.PutUint32(c[:4], uint32(i)) })
	}
	from := func(a netip.Addr, i int) []Action {
		return e.Receive(t0, Datagram{Local: local, Remote: netip.AddrPortFrom(a, 500), Data: withCookie(i)})
	}
	for i := range 1000 {
		if acts := from(netip.AddrFrom4([4]byte{203, 0, 113, byte(i)}), i); len(actionsOf[Send](acts)) != 0 {
			t.Fatal("answered a Main Mode from an address that is no tunnel destination")
		}
	}
	if got := e.halfOpen(); got != 0 || len(e.peers) != 1 {
		t.Fatalf("strangers: %d half-open SAs, %d peers", got, len(e.peers))
	}
	p := e.peers[peerKey{addrB, addrA}]
	cookies := func() map[uint32]*ikeSA {
		m := map[uint32]*ikeSA{}
		for _, sa := range p.sas {
			m[binary.BigEndian.Uint32(sa.ckyI[:4])] = sa
		}
		return m
	}
	for i := range maxHalfOpenPerPeer {
		from(addrA, i)
	}
	// The oldest has answered our MM2: it must outlive the flood.
	cookies()[0].step = stepRSentMM4
	for i := maxHalfOpenPerPeer; i < 3*maxHalfOpenPerPeer; i++ {
		if acts := from(addrA, i); len(actionsOf[Send](acts)) != 1 {
			t.Fatalf("MM1 %d from the peer not answered", i)
		}
	}
	if got := e.halfOpen(); got != maxHalfOpenPerPeer {
		t.Errorf("one peer: %d half-open SAs, want %d", got, maxHalfOpenPerPeer)
	}
	c := cookies()
	if c[0] == nil || c[1] != nil || c[3*maxHalfOpenPerPeer-1] == nil || c[2*maxHalfOpenPerPeer+1] == nil || c[2*maxHalfOpenPerPeer] != nil {
		t.Errorf("eviction did not keep the entry past MM3 and the newest %d", maxHalfOpenPerPeer-1)
	}
	for i := range 2 * maxHalfOpen {
		from(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), i)
	}
	if got := e.halfOpen(); got != maxHalfOpen {
		t.Errorf("many peers: %d half-open SAs, want %d", got, maxHalfOpen)
	}
	if cookies()[0] == nil {
		t.Error("the entry past MM3 was evicted")
	}
	// A repeated MM1 gets the same MM2 again, once a second.
	k := 2*maxHalfOpen - 1
	last := withCookie(k)
	src := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, byte(k >> 8), byte(k)}), 500)
	sent := 0
	for ms := range 2001 {
		acts := e.Receive(t0.Add(time.Duration(ms)*time.Millisecond), Datagram{Local: local, Remote: src, Data: last})
		sent += len(actionsOf[Send](acts))
	}
	if sent != 2 {
		t.Errorf("a repeated MM1 for 2 s answered %d times", sent)
	}
	e.Tick(t0.Add(halfOpenTimeout))
	if got := e.halfOpen(); got != 0 || len(e.peers) != 1 {
		t.Errorf("after the timeout: %d half-open SAs, %d peers", got, len(e.peers))
	}
}

// TestLogRateLimit: a flood of malformed messages from one peer logs once
// a minute, then says how many were suppressed.
func TestLogRateLimit(t *testing.T) {
	e, _ := New(quiet(refConfig()))
	d := Datagram{Local: netip.AddrPortFrom(addrB, 500), Remote: netip.AddrPortFrom(addrA, 500), Data: []byte("garbage")}
	var logs []Log
	for i := range 100 {
		logs = append(logs, actionsOf[Log](e.Receive(t0.Add(time.Duration(i)*100*time.Millisecond), d))...)
	}
	if len(logs) != 1 || !strings.Contains(logs[0].Msg, "192.0.2.1") {
		t.Fatalf("logs: %+v", logs)
	}
	logs = actionsOf[Log](e.Receive(t0.Add(time.Minute), d))
	if len(logs) != 1 || !strings.Contains(logs[0].Msg, "99 similar suppressed") {
		t.Fatalf("logs after a minute: %+v", logs)
	}
	// Another peer is not silenced by the first.
	d.Remote = netip.AddrPortFrom(netip.MustParseAddr("192.0.2.3"), 500)
	if logs := actionsOf[Log](e.Receive(t0.Add(time.Minute), d)); len(logs) != 1 {
		t.Fatalf("second peer: %+v", logs)
	}
}

// TestLogLimiterFull: garbage from more addresses than the limiter has
// room for neither silences the logs nor floods them. Addresses that are
// no tunnel destination share a budget of first lines a minute; a full
// table evicts its oldest entry; the first event of a configured peer is
// always logged.
func TestLogLimiterFull(t *testing.T) {
	e, _ := New(quiet(refConfig()))
	if _, err := e.Start(t0, Protect{Name: "Tunnel0", Local: addrB, Remote: addrA, Protocol: 47,
		TransformSets: protect(addrB, addrA).TransformSets, Passive: true}); err != nil {
		t.Fatal(err)
	}
	garbage := func(at time.Time, from netip.Addr) []Log {
		return actionsOf[Log](e.Receive(at, Datagram{Local: netip.AddrPortFrom(addrB, 500), Remote: netip.AddrPortFrom(from, 500), Data: []byte("garbage")}))
	}
	stranger := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}) }
	// Over ten minutes, fill the table with more entries than it holds.
	logged, i := 0, 0
	for m := range 10 * loglimit.MaxEntries / loglimit.StrangerLines {
		at := t0.Add(time.Duration(m) * 100 * time.Millisecond)
		for range 5 {
			logged += len(garbage(at, stranger(i)))
			i++
		}
	}
	if maxLogged := 11 * loglimit.StrangerLines; logged > maxLogged || logged < loglimit.StrangerLines {
		t.Errorf("%d lines for a flood from %d addresses in %v, want at most %d", logged, i, 10*loglimit.MaxEntries/loglimit.StrangerLines*100*time.Millisecond, maxLogged)
	}
	if e.limiter.Len() > loglimit.MaxEntries {
		t.Errorf("limiter holds %d entries", e.limiter.Len())
	}
	now := t0.Add(time.Duration(10*loglimit.MaxEntries/loglimit.StrangerLines) * 100 * time.Millisecond)
	// The table is full of entries younger than a minute.
	for e.limiter.Len() < loglimit.MaxEntries {
		e.limiter.Allow("filler", stranger(i), now, true)
		i++
	}
	// The configured peer gets its line although the strangers' budget is
	// spent and the table full.
	for range 20 {
		garbage(now, stranger(i))
		i++
	}
	if logs := garbage(now, addrA); len(logs) != 1 || !strings.Contains(logs[0].Msg, addrA.String()) {
		t.Fatalf("configured peer with a full table: %+v", logs)
	}
	// A minute on, strangers are heard again, with the count of what was
	// suppressed.
	logs := garbage(now.Add(time.Minute), stranger(i))
	if len(logs) != 1 || !strings.Contains(logs[0].Msg, "similar from other addresses suppressed") {
		t.Fatalf("stranger a minute later: %+v", logs)
	}
	if e.limiter.Len() > loglimit.MaxEntries {
		t.Errorf("limiter holds %d entries", e.limiter.Len())
	}
}
