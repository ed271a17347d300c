package config

import (
	"os"
	"reflect"
	"testing"
)

// FuzzParse checks that Parse never panics, that it returns a Config
// exactly when there are no errors, and that every Config it returns
// survives Format and Parse unchanged. The seed corpus (reference config,
// every statement, broken variants) is in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"testdata/reference.conf", "testdata/everything.conf", overlayFile, underlayFile, ikev2File, ikev2CertFile} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		exists := func(name string) bool { return len(name)%2 == 0 }
		c, diags := Parse("fuzz.conf", src, Options{InterfaceExists: exists})
		if (c == nil) != diags.HasErrors() {
			t.Fatalf("Config %v with diagnostics:\n%s", c != nil, diags)
		}
		for _, d := range diags {
			if d.Pos.Line < 1 || d.Pos.Col < 1 || d.Msg == "" {
				t.Fatalf("bad diagnostic %+v", d)
			}
		}
		if c == nil {
			return
		}
		// Reparse with the same host view: the formatted text must be valid
		// under the same conditions.
		text := c.Format(FormatOptions{})
		again, diags := Parse("formatted.conf", []byte(text), Options{InterfaceExists: exists})
		if again == nil {
			t.Fatalf("formatted config does not parse:\n%s\ntext:\n%s", diags, text)
		}
		zeroPos(c)
		zeroPos(again)
		if !reflect.DeepEqual(c, again) {
			t.Fatalf("round trip changed the config; text:\n%s\nreparsed:\n%s", text, again.Format(FormatOptions{}))
		}
		_ = c.Format(FormatOptions{MaskKeys: true})
	})
}
