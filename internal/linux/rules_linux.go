package linux

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Policy routing that pins a tunnel's underlay for `tunnel route-via`.
// Each pinned tunnel gets a slot, which chooses a firewall mark and a
// routing table:
//
//	4747: from all fwmark MARK lookup TABLE   (every pin)
//	4748: from all fwmark MARK unreachable    (mandatory pins only)
//
// The tunnel's underlay sockets carry MARK (SO_MARK), and TABLE holds the
// /32 (or /128) to the destination through the chosen interface. A lookup that finds
// nothing in TABLE falls through to the next rule: the unreachable one
// (fail closed) or, for preferred, eventually main. Rules and table routes
// carry RouteProtocol, so that gresec finds and removes exactly its own.
const (
	pinRulePriority       = 4747
	pinFailClosedPriority = 4748
	pinTableBase          = 4700
	pinMarkBase           = 0x470000
	// MaxPins is the number of slots: tunnels that can use route-via.
	MaxPins = 256
)

// Pin is the policy routing of one tunnel's underlay.
type Pin struct {
	// Slot chooses the mark and the table (0 <= Slot < MaxPins).
	Slot int
	Dst  netip.Addr
	// Nexthops of the /32 to Dst in the slot's table; with none the table
	// stays empty and lookups fall through to the next rule.
	Nexthops []Nexthop
	// FailClosed adds the unreachable rule (route-via mandatory).
	FailClosed bool
}

// PinMark is the firewall mark of a slot's underlay sockets and lookups.
func PinMark(slot int) uint32 { return pinMarkBase + uint32(slot) }

// PinTable is the routing table of a slot.
func PinTable(slot int) int { return pinTableBase + slot }

func ownRule(r netlink.Rule) bool {
	return r.Protocol == uint8(RouteProtocol) && (r.Priority == pinRulePriority || r.Priority == pinFailClosedPriority)
}

// pinFamilies are the address families a pin's rules may be of: the
// destination's.
var pinFamilies = []int{unix.AF_INET, unix.AF_INET6}

func familyOf(a netip.Addr) int {
	if a.Is6() && !a.Is4In6() {
		return unix.AF_INET6
	}
	return unix.AF_INET
}

func pinRule(slot int, failClosed bool, family int) *netlink.Rule {
	r := netlink.NewRule()
	r.Family = family
	r.Mark = PinMark(slot)
	r.Protocol = uint8(RouteProtocol)
	if failClosed {
		r.Priority = pinFailClosedPriority
		r.Type = unix.RTN_UNREACHABLE
	} else {
		r.Priority = pinRulePriority
		r.Table = PinTable(slot)
	}
	return r
}

// SetPin makes the host's rules and the slot's table match p. It compares
// with what the kernel holds, so it repairs what an operator removed.
func (x *Host) SetPin(p Pin) error {
	if p.Slot < 0 || p.Slot >= MaxPins {
		return fmt.Errorf("route-via slot %d out of range", p.Slot)
	}
	family := familyOf(p.Dst)
	for _, f := range pinFamilies {
		if f == family {
			continue
		}
		// The destination changed family: the slot's other rules go.
		for _, fc := range []bool{false, true} {
			if err := x.h.RuleDel(pinRule(p.Slot, fc, f)); err != nil && !errors.Is(err, unix.ENOENT) {
				return fmt.Errorf("delete rule fwmark %#x: %w", PinMark(p.Slot), err)
			}
		}
	}
	rules, err := x.h.RuleList(family)
	if err != nil && !errors.Is(err, netlink.ErrDumpInterrupted) {
		return fmt.Errorf("list rules: %w", err)
	}
	var haveLookup, haveUnreachable bool
	for _, r := range rules {
		if !ownRule(r) || r.Mark != PinMark(p.Slot) {
			continue
		}
		switch {
		case r.Priority == pinRulePriority && r.Table == PinTable(p.Slot):
			haveLookup = true
		case r.Priority == pinFailClosedPriority:
			haveUnreachable = true
		}
	}
	if !haveLookup {
		if err := x.h.RuleAdd(pinRule(p.Slot, false, family)); err != nil {
			return fmt.Errorf("add rule fwmark %#x lookup %d: %w", PinMark(p.Slot), PinTable(p.Slot), err)
		}
	}
	switch {
	case p.FailClosed && !haveUnreachable:
		if err := x.h.RuleAdd(pinRule(p.Slot, true, family)); err != nil {
			return fmt.Errorf("add rule fwmark %#x unreachable: %w", PinMark(p.Slot), err)
		}
	case !p.FailClosed && haveUnreachable:
		if err := x.h.RuleDel(pinRule(p.Slot, true, family)); err != nil && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("delete rule fwmark %#x unreachable: %w", PinMark(p.Slot), err)
		}
	}
	return x.setPinTable(p)
}

// setPinTable leaves in the slot's table only the /32 to p.Dst through
// p.Nexthops (or nothing).
func (x *Host) setPinTable(p Pin) error {
	table := PinTable(p.Slot)
	have, err := x.tableRoutes(table)
	if err != nil {
		return err
	}
	want := Route{Prefix: netip.PrefixFrom(p.Dst, p.Dst.BitLen()), Nexthops: p.Nexthops}
	found := false
	var errs []error
	for _, h := range have {
		if len(p.Nexthops) > 0 && h.r.Prefix == want.Prefix && sameNexthopSet(h.r.Nexthops, want.Nexthops) {
			found = true
			continue
		}
		if err := x.h.RouteDel(h.nr); err != nil && !errors.Is(err, unix.ESRCH) {
			errs = append(errs, fmt.Errorf("table %d: delete route %s: %w", table, h.r.Prefix, err))
		}
	}
	if len(p.Nexthops) > 0 && !found {
		nr := want.netlink()
		nr.Table = table
		if err := x.h.RouteReplace(nr); err != nil {
			errs = append(errs, fmt.Errorf("table %d: route %s: %w", table, want.Prefix, err))
		}
	}
	return errors.Join(errs...)
}

// DeletePin removes a slot's rules and table routes.
func (x *Host) DeletePin(slot int) error {
	var errs []error
	for _, f := range pinFamilies {
		for _, fc := range []bool{false, true} {
			if err := x.h.RuleDel(pinRule(slot, fc, f)); err != nil && !errors.Is(err, unix.ENOENT) {
				errs = append(errs, fmt.Errorf("delete rule fwmark %#x: %w", PinMark(slot), err))
			}
		}
	}
	routes, err := x.tableRoutes(PinTable(slot))
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	for _, r := range routes {
		if err := x.h.RouteDel(r.nr); err != nil && !errors.Is(err, unix.ESRCH) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// flushPins removes every pin: left-overs of a daemon that did not exit
// cleanly.
func (x *Host) flushPins() error {
	var errs []error
	for _, f := range pinFamilies {
		rules, err := x.h.RuleList(f)
		if err != nil && !errors.Is(err, netlink.ErrDumpInterrupted) {
			return fmt.Errorf("list rules: %w", err)
		}
		for i := range rules {
			if ownRule(rules[i]) {
				if err := x.h.RuleDel(&rules[i]); err != nil && !errors.Is(err, unix.ENOENT) {
					errs = append(errs, err)
				}
			}
		}
	}
	filter := &netlink.Route{Protocol: RouteProtocol, Table: unix.RT_TABLE_UNSPEC}
	rs, err := x.h.RouteListFiltered(unix.AF_UNSPEC, filter, netlink.RT_FILTER_PROTOCOL|netlink.RT_FILTER_TABLE)
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("list routes: %w", err))...)
	}
	for i := range rs {
		if rs[i].Table >= pinTableBase && rs[i].Table < pinTableBase+MaxPins {
			if err := x.h.RouteDel(&rs[i]); err != nil && !errors.Is(err, unix.ESRCH) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

type tableRoute struct {
	r  Route
	nr *netlink.Route
}

// tableRoutes lists gresec's routes in one table.
func (x *Host) tableRoutes(table int) ([]tableRoute, error) {
	filter := &netlink.Route{Protocol: RouteProtocol, Table: table}
	rs, err := x.h.RouteListFiltered(unix.AF_UNSPEC, filter, netlink.RT_FILTER_PROTOCOL|netlink.RT_FILTER_TABLE)
	if err != nil {
		return nil, fmt.Errorf("table %d: list routes: %w", table, err)
	}
	out := make([]tableRoute, 0, len(rs))
	for i := range rs {
		out = append(out, tableRoute{r: routeOf(rs[i]), nr: &rs[i]})
	}
	return out, nil
}

// routeOf converts a kernel route to a Route.
func routeOf(nr netlink.Route) Route {
	r := Route{Metric: nr.Priority}
	if p, ok := prefixOf(nr.Dst); ok {
		r.Prefix = p
	}
	add := func(gw []byte, idx int) {
		nh := Nexthop{LinkIndex: idx}
		if a, ok := netip.AddrFromSlice(gw); ok {
			nh.Gateway = a.Unmap()
		}
		r.Nexthops = append(r.Nexthops, nh)
	}
	if len(nr.MultiPath) > 0 {
		for _, nh := range nr.MultiPath {
			add(nh.Gw, nh.LinkIndex)
		}
	} else {
		add(nr.Gw, nr.LinkIndex)
	}
	return r
}

func sameNexthopSet(a, b []Nexthop) bool {
	cmp := func(x, y Nexthop) int {
		if c := x.Gateway.Compare(y.Gateway); c != 0 {
			return c
		}
		return x.LinkIndex - y.LinkIndex
	}
	a, b = slices.Clone(a), slices.Clone(b)
	slices.SortFunc(a, cmp)
	slices.SortFunc(b, cmp)
	return slices.Equal(a, b)
}
