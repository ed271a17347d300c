package gre

import "testing"

func TestSeqTracker(t *testing.T) {
	type step struct {
		seq uint32
		ok  bool
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"in order", []step{{0, true}, {1, true}, {2, true}}},
		{"first number is arbitrary", []step{{0x7fff0000, true}, {0x7fff0001, true}}},
		{"gaps are in order", []step{{1, true}, {5, true}, {1000, true}}},
		{"duplicate", []step{{1, true}, {1, false}, {2, true}}},
		{"older", []step{{5, true}, {3, false}, {4, false}, {6, true}}},
		{"wraparound", []step{{0xfffffffe, true}, {0xffffffff, true}, {0, true}, {1, true}, {0xffffffff, false}}},
		// RFC 1982: s2 is later than s1 when 1 <= s2-s1 <= 2^31-1.
		{"largest jump ahead", []step{{10, true}, {10 + 0x7fffffff, true}}},
		{"half the space is behind", []step{{10, true}, {10 + 0x80000000, false}, {11, true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tr SeqTracker
			for i, s := range tt.steps {
				if got := tr.Accept(s.seq); got != s.ok {
					t.Errorf("step %d: Accept(%#x) = %v, want %v", i, s.seq, got, s.ok)
				}
			}
		})
	}
}

func TestSeqTrackerReset(t *testing.T) {
	var tr SeqTracker
	tr.Accept(1000)
	if tr.Accept(0) {
		t.Fatal("restarted counter accepted before Reset")
	}
	tr.Reset()
	if !tr.Accept(0) || !tr.Accept(1) {
		t.Fatal("restarted counter rejected after Reset")
	}
}
