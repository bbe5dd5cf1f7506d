package session

import (
	"strings"
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

// An oci-layout:// base is recorded by its directory's base name, never
// the machine path, in a form provenance can spell as pkg:oci.
func TestLayoutName(t *testing.T) {
	d := "sha256:b6747b9a644d76e12662de44016837d935cd72a3b180c5bef52d57e8f6c87735"
	for ref, want := range map[string]string{
		"oci-layout:///tmp/x/30668.639266-bake-1/link-web@" + d: "link-web@" + d,
		"oci-layout:///srv/Layouts/App:v1":                      "app:v1",
	} {
		got := layoutName(ref)
		if got != want {
			t.Errorf("layoutName(%s) = %s, want %s", ref, got, want)
		}
		b := attest.Build{Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"},
			Images: []attest.ImageSource{{Ref: got, Local: true, Digest: d}}}
		if _, err := attest.Provenance(b, attest.ProvenanceOpts{Mode: attest.ModeMin, Version: attest.VersionSLSA1}); err != nil {
			t.Errorf("layoutName(%s) = %s: provenance refuses it: %v", ref, got, err)
		}
		if strings.Contains(got, "/") {
			t.Errorf("layoutName(%s) = %s keeps a path", ref, got)
		}
	}
}
