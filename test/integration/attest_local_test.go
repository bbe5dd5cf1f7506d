package integration

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiln-build/kiln/test/harness"
)

const attestScratch = "FROM scratch\nARG GREETING=hello\nCOPY hello.txt /hello.txt\n"

type statement struct {
	PredicateType string `json:"predicateType"`
	Subject       []struct {
		Name   string            `json:"name"`
		Digest map[string]string `json:"digest"`
	} `json:"subject"`
	Predicate struct {
		BuildDefinition struct {
			ExternalParameters struct {
				Request struct {
					Args map[string]string `json:"args"`
				} `json:"request"`
			} `json:"externalParameters"`
		} `json:"buildDefinition"`
		RunDetails struct {
			Metadata struct {
				InvocationID string `json:"invocationID"`
				StartedOn    string `json:"startedOn"`
			} `json:"metadata"`
		} `json:"runDetails"`
	} `json:"predicate"`
}

// Provenance without a registry: local and tar outputs write
// provenance.json at their root only when asked (buildx's default is
// inline-only), about the files they hold; kiln inspect lists it; kiln
// save keeps it; SOURCE_DATE_EPOCH makes it reproducible.
func TestProvenanceLocalOutputs(t *testing.T) {
	t.Parallel()
	harness.Require(t)
	root, ctx := t.TempDir(), t.TempDir()
	writeFiles(t, ctx, map[string]string{"Dockerfile": attestScratch, "hello.txt": "hi\n"})
	kiln := func(args ...string) result {
		return harness.MustRun(t, harness.Opts{Root: root}, append([]string{"build", "--progress", "plain"}, args...)...)
	}

	plain := filepath.Join(t.TempDir(), "plain")
	kiln("-o", "type=local,dest="+plain, ctx)
	if _, err := os.Stat(filepath.Join(plain, "provenance.json")); !os.IsNotExist(err) {
		t.Errorf("buildx's default provenance is inline-only, but type=local wrote provenance.json (%v)", err)
	}

	local := filepath.Join(t.TempDir(), "local")
	kiln("--provenance=mode=max", "--build-arg", "GREETING=hi", "--build-arg", "SOURCE_DATE_EPOCH=1700000000", "-o", "type=local,dest="+local, ctx)
	var st statement
	harness.ReadJSON(t, filepath.Join(local, "provenance.json"), &st)
	sum := sha256.Sum256([]byte("hi\n"))
	if len(st.Subject) != 1 || st.Subject[0].Name != "hello.txt" || st.Subject[0].Digest["sha256"] != hex.EncodeToString(sum[:]) {
		t.Errorf("provenance.json subjects = %+v, want hello.txt with its sha256", st.Subject)
	}
	if st.Predicate.BuildDefinition.ExternalParameters.Request.Args["build-arg:GREETING"] != "hi" {
		t.Errorf("mode=max args = %v, want build-arg:GREETING=hi", st.Predicate.BuildDefinition.ExternalParameters.Request.Args)
	}
	if st.Predicate.RunDetails.Metadata.StartedOn != "2023-11-14T22:13:20Z" || st.Predicate.RunDetails.Metadata.InvocationID == "" {
		t.Errorf("with SOURCE_DATE_EPOCH, startedOn = %q and invocationID = %q; want the epoch and a derived id",
			st.Predicate.RunDetails.Metadata.StartedOn, st.Predicate.RunDetails.Metadata.InvocationID)
	}

	tarOut := filepath.Join(t.TempDir(), "fs.tar")
	kiln("--attest", "type=provenance,mode=min,filename=prov.json", "-o", "type=tar,dest="+tarOut, ctx)
	dir := harness.Untar(t, tarOut)
	harness.ReadJSON(t, filepath.Join(dir, "prov.json"), &st)
	if st.PredicateType != "https://slsa.dev/provenance/v1" {
		t.Errorf("prov.json in the tar: predicateType %q", st.PredicateType)
	}
	if data, err := os.ReadFile(filepath.Join(dir, "hello.txt")); err != nil || string(data) != "hi\n" {
		t.Errorf("the tar lost hello.txt next to its provenance: %q, %v", data, err)
	}

	// In the store: inspect lists it, save keeps it, and the same inputs
	// give the same attestation bytes (--verify-reproducible covers them).
	// A store of its own: a COPY cached by a build with another epoch keeps
	// that build's file times (a cache matter, not the attestations').
	root = t.TempDir()
	kiln("--provenance=mode=max", "--build-arg", "SOURCE_DATE_EPOCH=1700000000", "--verify-reproducible", "-t", "app:prov", ctx)
	r := harness.MustRun(t, harness.Opts{Root: root}, "inspect", "app:prov")
	if !strings.Contains(r.Stdout, "Attestations:") || !strings.Contains(r.Stdout, "https://slsa.dev/provenance/v1") {
		t.Errorf("kiln inspect shows no provenance:\n%s", r.Stdout)
	}
	saved := filepath.Join(t.TempDir(), "saved.tar")
	harness.MustRun(t, harness.Opts{Root: root}, "save", "-o", saved, "app:prov")
	a := harness.ReadArchive(t, saved)
	if len(a.Images) != 1 || len(a.Attestations) != 1 {
		t.Fatalf("kiln save: %d images and %d attestation manifests, want 1 and 1", len(a.Images), len(a.Attestations))
	}
	var m struct {
		Subject struct{ Digest string }
		Layers  []struct{ Annotations map[string]string }
	}
	data, err := os.ReadFile(a.Blob(a.Attestations[0].Digest))
	if err != nil || json.Unmarshal(data, &m) != nil {
		t.Fatalf("reading the saved attestation manifest: %v", err)
	}
	if m.Subject.Digest != a.Images[0].Digest.String() || len(m.Layers) != 1 || m.Layers[0].Annotations["in-toto.io/predicate-type"] != "https://slsa.dev/provenance/v1" {
		t.Errorf("saved attestation manifest: %s", data)
	}
}
