package executor

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/kiln-build/kiln/internal/snapshot"
)

// A mode's missing capability fails the step before anything runs, naming
// the mode; nothing is silently run without it.
func TestRunRefusesWhatTheModeCannotDo(t *testing.T) {
	noNet := snapshot.RootCaps
	noNet.Mode, noNet.NetNS = "test", false
	for _, tc := range []struct {
		caps    snapshot.Capabilities
		network string
		want    string
	}{
		{noNet, NetworkNone, "--network=none needs a network namespace, which the test mode"},
	} {
		r := &Runner{caps: tc.caps, bundles: "/nonexistent"}
		err := r.Run(context.Background(), Spec{Rootfs: "/nonexistent", Args: []string{"true"}, Network: tc.network})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("caps %+v, network %s: err = %v, want %q", tc.caps, tc.network, err, tc.want)
		}
	}
	// The host network needs no namespace: allowed without NetNS.
	if err := (&Runner{caps: noNet}).refuse(Spec{Network: NetworkHost}); err != nil {
		t.Errorf("host network refused: %v", err)
	}
}

// Without mknod the step's capability set has no CAP_MKNOD.
func TestSpecDropsMknodWhenTheModeCannot(t *testing.T) {
	files := etcFiles{hosts: "/h", resolvConf: "/r"}
	s := Spec{Rootfs: "/r", Args: []string{"true"}}
	for _, mknod := range []bool{true, false} {
		caps := snapshot.RootCaps
		caps.Mknod = mknod
		spec, err := buildSpec(s, procUser{}, files, caps)
		if err != nil {
			t.Fatal(err)
		}
		if got := slices.Contains(spec.Process.Capabilities.Bounding, "CAP_MKNOD"); got != mknod {
			t.Errorf("Mknod=%v: CAP_MKNOD in the bounding set = %v", mknod, got)
		}
	}
}
