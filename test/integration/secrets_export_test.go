package integration

import (
	"path/filepath"
	"testing"

	"github.com/kiln-build/kiln/test/harness"
)

// The seed's Pattern 8 exported every way a build writes outside the store:
// a local and a registry cache (mode=max, so every layer travels) and an
// OCI tar with max-mode provenance. None holds the secret value or its
// base64, blobs decompressed. The secret's sha256, which /app/file.sha
// holds, is found in each: the search reads the layers it claims to read.
func TestSecretsDoNotLeakIntoCachesOrProvenance(t *testing.T) {
	t.Parallel()
	harness.Require(t, prerequisites...)
	reg := harness.StartRegistry(t)
	s := harness.NewStore(t, harness.Busybox).WithConfig(reg.Config(t, false))
	secret := randomSecret(t)
	ctx := t.TempDir()
	writeFiles(t, ctx, map[string]string{"package.json": `{"name":"app"}`, ".dockerignore": ".npm_token\n"})
	secretFile := filepath.Join(ctx, ".npm_token")
	writeFile(t, secretFile, secret, 0o600)
	df := filepath.Join(t.TempDir(), "Dockerfile")
	writeFile(t, df, pattern8Busybox, 0o644)
	localCache, ociTar := t.TempDir(), filepath.Join(t.TempDir(), "p8.tar")
	r := s.MustRun(t, "build", "--progress", "plain", "-f", df, "--target", "builder",
		"--secret", "id=npm_token,src="+secretFile,
		"--cache-to", "type=local,dest="+localCache+",mode=max",
		"--cache-to", "type=registry,ref="+reg.Addr+"/p8/app:cache,mode=max",
		"--provenance=mode=max", "-o", "type=oci,dest="+ociTar, ctx)
	extracted := untarToTemp(t, ociTar)
	if len(findBytes(t, extracted, []byte("https://slsa.dev/provenance/"))) == 0 {
		t.Fatalf("the OCI tar holds no provenance attestation:\n%s", r)
	}
	registryData := filepath.Join(reg.Dir, "data")
	for what, dir := range map[string]string{"the local cache": localCache, "the registry cache": registryData, "the OCI tar with provenance": extracted} {
		if len(findBytes(t, dir, []byte(sha256Hex(secret)))) == 0 {
			t.Errorf("%s does not hold /app/file.sha's layer: the search would not see a leak there", what)
		}
		assertNoSecret(t, what, dir, secret)
	}
	assertNoSecret(t, "the progress output", writeTemp(t, r.Stdout+r.Stderr), secret)
}

// writeTemp writes data to a file of a fresh directory and returns the directory.
func writeTemp(t *testing.T, data string) string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "out"), data, 0o644)
	return dir
}
