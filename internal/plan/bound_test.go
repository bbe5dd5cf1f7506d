// An external test package: convert imports plan.
package plan_test

import (
	"strings"
	"testing"
	"time"

	"github.com/kiln-build/kiln/internal/convert"
	"github.com/kiln-build/kiln/internal/dockerfile"
	"github.com/kiln-build/kiln/internal/plan"
)

// tenfold is an ARG chain that grows tenfold per line: 10^8 bytes at a8.
func tenfold(prefix string) string {
	var b strings.Builder
	b.WriteString(prefix + "ARG a0=xxxxxxxxxx\n")
	for i := 1; i <= 8; i++ {
		ref := "$a" + string(rune('0'+i-1))
		b.WriteString("ARG a" + string(rune('0'+i)) + "=" + strings.Repeat(ref, 10) + "\n")
	}
	return b.String()
}

// TestExpansionBounded: expanded values are bounded, with an error naming
// the Dockerfile line, long before memory runs out.
func TestExpansionBounded(t *testing.T) {
	for _, src := range []string{
		tenfold("") + "FROM scratch\n",
		tenfold("") + "FROM scratch\nARG a8\nENV x=$a8\n",
	} {
		start := time.Now()
		df, err := dockerfile.Parse("Dockerfile", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		p, err := plan.New(df, plan.Options{})
		if err == nil {
			env := p.GlobalArgs
			for _, c := range p.Stages[0].Commands {
				if err = convert.Expand(p.File, p.Escape, c, env); err != nil {
					break
				}
			}
		}
		if err == nil || !strings.Contains(err.Error(), "more than the 1048576 allowed") || !strings.Contains(err.Error(), "Dockerfile:") {
			t.Fatalf("tenfold ARGs: %v", err)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("failing took %s", took)
		}
	}
}
