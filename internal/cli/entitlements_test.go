package cli

import "testing"

// --allow grants BuildKit's entitlements by name, refuses others, and the
// build's own --network=host grants network.host, as buildx does.
func TestEntitlements(t *testing.T) {
	got, err := entitlements([]string{"security.insecure"}, "host")
	if err != nil || !got["security.insecure"] || !got["network.host"] || len(got) != 2 {
		t.Fatalf("entitlements = %v, %v", got, err)
	}
	if got, err := entitlements(nil, "default"); err != nil || len(got) != 0 {
		t.Fatalf("no --allow: %v, %v", got, err)
	}
	if _, err := entitlements([]string{"device"}, "default"); err == nil {
		t.Fatal("--allow device: want an error (kiln grants network.host and security.insecure)")
	}
}
