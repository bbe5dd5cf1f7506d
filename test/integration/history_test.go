package integration

import (
	"strings"
	"testing"
)

// historyWant is one expected history entry: its instruction keyword and
// whether it is an empty layer (metadata-only instruction).
type historyWant struct {
	keyword string
	empty   bool
}

// assertHistory checks the image's last history entries against want (one
// per instruction of the final stage after FROM), and that the non-empty
// entries match the layers one to one.
func assertHistory(t *testing.T, img *ociImage, want []historyWant) {
	t.Helper()
	h := img.Config.History
	if len(h) < len(want) {
		t.Fatalf("history has %d entries, want at least %d: %+v", len(h), len(want), h)
	}
	layers := 0
	for _, e := range h {
		if !e.EmptyLayer {
			layers++
		}
	}
	if layers != len(img.Manifest.Layers) {
		t.Errorf("history has %d non-empty entries, manifest has %d layers", layers, len(img.Manifest.Layers))
	}
	tail := h[len(h)-len(want):]
	for i, w := range want {
		e := tail[i]
		if !strings.Contains(e.CreatedBy, w.keyword) || e.EmptyLayer != w.empty {
			t.Errorf("history[%d] = {created_by %q empty_layer %v}, want %s with empty_layer %v",
				len(h)-len(want)+i, e.CreatedBy, e.EmptyLayer, w.keyword, w.empty)
		}
	}
}

// hasPorts reports whether exposed is exactly want.
func hasPorts(exposed map[string]struct{}, want ...string) bool {
	if len(exposed) != len(want) {
		return false
	}
	for _, p := range want {
		if _, ok := exposed[p]; !ok {
			return false
		}
	}
	return true
}
