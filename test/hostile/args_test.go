package hostile

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiln-build/kiln/test/harness"
)

// TestArgExpansionBounded: ARGs that repeat the previous one tenfold per
// line (100 MB and 1.4 GB of memory in 36 s) fail with a clear error naming
// the Dockerfile line, in the global scope and in a stage.
func TestArgExpansionBounded(t *testing.T) {
	t.Parallel()
	s := harness.NewStore(t)
	chain := "ARG a0=xxxxxxxxxx\n"
	for i := 1; i <= 8; i++ {
		chain += "ARG a" + string(rune('0'+i)) + "=" + strings.Repeat("${a"+string(rune('0'+i-1))+"}", 10) + "\n"
	}
	for name, df := range map[string]string{
		"global": chain + "FROM scratch\n",
		"stage":  "FROM scratch\n" + chain + "COPY Dockerfile /\n",
	} {
		ctx := t.TempDir()
		harness.WriteFile(t, filepath.Join(ctx, "Dockerfile"), df, 0o644)
		r := s.Run(t, "build", "--progress", "plain", ctx)
		if r.Code != 1 || !strings.Contains(r.Stderr, "more than the 1048576 allowed") || !strings.Contains(r.Stderr, "Dockerfile:") {
			t.Errorf("%s tenfold ARGs: want a bounded-expansion error naming the line:\n%s", name, r)
		}
	}
}
