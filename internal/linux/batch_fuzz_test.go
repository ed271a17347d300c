package linux

import (
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// groCmsg builds a control buffer with one cmsg of level, type and a
// 4-byte value, as the kernel lays it out.
func groCmsg(level, typ int32, v int32) []byte {
	b := make([]byte, unix.CmsgSpace(4))
	cm := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	cm.Level, cm.Type = level, typ
	cm.SetLen(unix.CmsgLen(4))
	*(*int32)(unsafe.Pointer(&b[unix.CmsgLen(0)])) = v
	return b
}

func TestUDPGROSize(t *testing.T) {
	gro := groCmsg(unix.SOL_UDP, unix.UDP_GRO, 1436)
	other := groCmsg(unix.SOL_IP, unix.IP_TOS, 0)
	for _, c := range []struct {
		name string
		oob  []byte
		want int
	}{
		{"none", nil, 0},
		{"gro", gro, 1436},
		{"after another cmsg", append(append([]byte(nil), other...), gro...), 1436},
		{"other only", other, 0},
		{"truncated", gro[:unix.CmsgLen(0)+2], 0},
	} {
		if got := udpGROSize(c.oob); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
}

// FuzzUDPGROSize: whatever the control buffer holds, the parser neither
// panics nor reads past it.
func FuzzUDPGROSize(f *testing.F) {
	f.Add(groCmsg(unix.SOL_UDP, unix.UDP_GRO, 1436))
	f.Add(append(groCmsg(unix.SOL_IP, unix.IP_TOS, 0), groCmsg(unix.SOL_UDP, unix.UDP_GRO, 9000)...))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 17, 0, 0, 0, 104, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		// The kernel's control buffers are 8-byte aligned; so is this copy.
		words := make([]uint64, (len(data)+7)/8)
		oob := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(words))), len(words)*8)[:len(data)]
		copy(oob, data)
		_ = udpGROSize(oob)
	})
}
