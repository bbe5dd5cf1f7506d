package integration

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/kiln-build/kiln/test/harness"
)

// kiln version names the BuildKit release whose behaviour kiln follows:
// the buildkit module version in go.mod, as the binary's build info has it.
func TestVersionNamesBuildkitOfGoMod(t *testing.T) {
	gomod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*github\.com/moby/buildkit (v\S+)`).FindSubmatch(gomod)
	if m == nil {
		t.Fatal("go.mod requires no github.com/moby/buildkit")
	}
	out, err := exec.Command(harness.Kiln(t), "version").CombinedOutput()
	if err != nil {
		t.Fatalf("kiln version: %v\n%s", err, out)
	}
	if want := "buildkit " + string(m[1]) + " "; !strings.Contains(string(out), want) {
		t.Errorf("kiln version printed %q, want a line starting %q", out, want)
	}
	if !strings.HasPrefix(string(out), "kiln ") {
		t.Errorf("kiln version printed %q, want kiln's own version first", out)
	}
}
