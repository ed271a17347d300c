package lab

import (
	"testing"

	"github.com/gresec/gresec/internal/config"
)

// TestDualStackConfigParses: both routers' configurations over the IPv6
// core, plain and protected, are valid and draw no warning.
func TestDualStackConfigParses(t *testing.T) {
	for _, r := range Routers() {
		for _, protect := range []bool{false, true} {
			text := r.DualStackConfig(protect)
			cfg, diags := config.Parse(r.Name+".conf", []byte(text), config.Options{})
			if cfg == nil || len(diags) > 0 {
				t.Errorf("%s (protect %v): %v\n%s", r.Name, protect, diags, text)
			}
		}
	}
}
