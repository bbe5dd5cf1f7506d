package session

import (
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiln-build/kiln/internal/attest"
	"github.com/kiln-build/kiln/internal/dockerfile"
)

// Provenance lists the ids of the secrets and SSH sockets RUN mounts
// (required or not), and whether any RUN has the network.
func TestRunNeeds(t *testing.T) {
	src := "FROM busybox\nARG ID=tok\nRUN --mount=type=secret,id=$ID,required --mount=type=ssh true\nRUN --network=none true\n"
	df, err := dockerfile.Parse("Dockerfile", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	plans, err := makePlans(df, Options{}, []ocispec.Platform{{OS: "linux", Architecture: "amd64"}})
	if err != nil {
		t.Fatal(err)
	}
	secrets, ssh, network := runNeeds(plans[0], "")
	if len(secrets) != 1 || secrets[0] != (attest.Secret{ID: "tok", Optional: false}) {
		t.Errorf("secrets = %+v, want the required tok", secrets)
	}
	if len(ssh) != 1 || ssh[0] != (attest.SSH{ID: "default", Optional: true}) {
		t.Errorf("ssh = %+v, want the optional default", ssh)
	}
	if !network {
		t.Error("the first RUN has the network: want network true")
	}
	if _, _, network := runNeeds(plans[0], "none"); network {
		t.Error("--network=none: want network false")
	}
}
