package executor

import (
	"os"
	"strings"
	"testing"
)

// Without a seccomp filter, root is refused neither keyctl nor pivot_root:
// runc keeps its session keyring and pivot_root. (Under Docker's default
// profile both are refused: test/integration TestRecipesInSandbox.)
func TestProbesAllowWithoutSeccomp(t *testing.T) {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() != 0 || !strings.Contains(string(status), "\nSeccomp:\t0\n") {
		t.Skip("needs root without a seccomp filter")
	}
	if keyringRefused() {
		t.Error("keyctl reported refused without a seccomp filter")
	}
	if pivotRootRefused() {
		t.Error("pivot_root reported refused without a seccomp filter")
	}
}
