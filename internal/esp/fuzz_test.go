package esp

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// FuzzOpen feeds arbitrary packets to an inbound SA of every suite: Open
// must never panic, and what it accepts must be consistent. With forge set
// the input is taken as a plaintext (payload, padding, trailer) and given a
// valid ICV with the SA's keys first, so that the fuzzer reaches the
// padding and trailer checks behind the integrity check; there Open's
// verdict is compared with an independent reading of the padding.
//
// The corpus in testdata/fuzz/FuzzOpen holds a valid packet of each suite,
// with and without ESN, and a few forged plaintexts.
func FuzzOpen(f *testing.F) {
	type key struct {
		suite int
		esn   bool
	}
	suites := Suites()
	outs, ins := map[key]*SA{}, map[key]*SA{}
	for i, s := range suites {
		for _, esn := range []bool{false, true} {
			outs[key{i, esn}], ins[key{i, esn}] = newPair(f, s, esn)
			pkt := seal(f, outs[key{i, esn}], []byte("\x00\x00\x08\x00gre payload"), NextHeaderGRE)
			f.Add(uint8(i), esn, false, pkt)
		}
	}
	f.Add(uint8(0), false, true, []byte("0123456789abcdef\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0e\x2f"))
	f.Add(uint8(12), true, true, []byte("\x01\x02\x02\x04"))

	f.Fuzz(func(t *testing.T, suite uint8, esn, forge bool, data []byte) {
		k := key{int(suite) % len(suites), esn}
		in, out := ins[k], outs[k]
		in.window.Init(64)
		in.life = Lifetime{}

		pkt := bytes.Clone(data)
		var plain []byte
		if forge {
			n := len(data) / in.bs * in.bs
			if n == 0 || n > 4096 {
				return
			}
			plain = data[:n]
			pkt = craft(out, 1, plain)
		}
		payload, nh, seq, err := in.Open(pkt)
		if err != nil && err != ErrDummy {
			if forge && err != ErrBadPadding {
				t.Fatalf("forged packet with a valid ICV: %v", err)
			}
			if forge && validPadding(plain) {
				t.Fatalf("valid padding refused: %x", plain)
			}
			return
		}
		if err == nil && len(payload) > len(pkt)-in.headroom-in.icvLen-trailerLen {
			t.Fatalf("payload of %d bytes from a %d-byte packet", len(payload), len(pkt))
		}
		if in.window.Check(seq) {
			t.Fatalf("accepted seq %d not in the window", seq)
		}
		if forge {
			if !validPadding(plain) {
				t.Fatalf("bad padding accepted: %x", plain)
			}
			padLen := int(plain[len(plain)-2])
			if nh != plain[len(plain)-1] || (err == nil && !bytes.Equal(payload, plain[:len(plain)-2-padLen])) {
				t.Fatalf("opened %x next header %d from %x", payload, nh, plain)
			}
		}
	})
}

// validPadding reads the trailer of a plaintext the slow way.
func validPadding(plain []byte) bool {
	padLen := int(plain[len(plain)-2])
	if padLen+2 > len(plain) {
		return false
	}
	pad := plain[len(plain)-2-padLen : len(plain)-2]
	for i := range pad {
		if pad[i] != byte(i+1) {
			return false
		}
	}
	return true
}

// TestFuzzCorpusOpens keeps the committed corpus meaningful: every valid-*
// seed still opens with the test keys.
func TestFuzzCorpusOpens(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "fuzz", "FuzzOpen", "valid-*"))
	if err != nil || len(files) != 2*len(Suites()) {
		t.Fatalf("%d valid seeds, %v", len(files), err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		suite, err1 := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "byte("), ")"))
		pkt, err2 := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[4], "[]byte("), ")"))
		if len(lines) != 5 || err1 != nil || err2 != nil {
			t.Fatalf("%s: cannot parse: %v %v", file, err1, err2)
		}
		s := Suites()[int(suite[0])%len(Suites())]
		_, in := newPair(t, s, lines[2] == "bool(true)")
		if _, nh, _, err := in.Open([]byte(pkt)); err != nil || nh != NextHeaderGRE {
			t.Errorf("%s: next header %d, %v", file, nh, err)
		}
	}
}
