package gre

// SeqTracker decides whether received sequence numbers are in order, for a
// tunnel with sequence-datagrams on (RFC 2890 section 2.2). Its zero value
// accepts any first number. It is not safe for concurrent use.
type SeqTracker struct {
	last  uint32
	valid bool
}

// Accept reports whether seq follows the last accepted sequence number and,
// if so, makes it the last. Numbers compare in 32-bit serial number
// arithmetic (RFC 1982), as RFC 2890 requires, so the counter wraps: seq is
// in order when it is 1 to 2^31-1 ahead of the last. The caller drops the
// packets it rejects, duplicates included.
func (t *SeqTracker) Accept(seq uint32) bool {
	if t.valid && int32(seq-t.last) <= 0 {
		return false
	}
	t.last, t.valid = seq, true
	return true
}

// Reset forgets the last sequence number, so that the next one is accepted
// whatever it is. Call it when the peer may have restarted its counter,
// such as when the line protocol comes back up.
func (t *SeqTracker) Reset() {
	*t = SeqTracker{}
}
