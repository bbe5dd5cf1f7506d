package integration

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiln-build/kiln/test/harness"
)

// pattern8Busybox is the seed's Pattern 8 with busybox standing in for npm:
// the .npmrc holding the token is written, read and removed in one RUN.
// The other RUNs echo the secret, record its hash and its mount's
// mode/owner, use env= and target=, and mount a secret that is not given.
const pattern8Busybox = `FROM busybox:test AS builder
WORKDIR /app

COPY package.json ./

# Mount secret - NOT stored in layer
RUN --mount=type=secret,id=npm_token \
    NPM_TOKEN=$(cat /run/secrets/npm_token) && \
    echo "//registry.example/:_authToken=${NPM_TOKEN}" > .npmrc && \
    cat .npmrc >/dev/null && \
    rm .npmrc

RUN --mount=type=secret,id=npm_token echo "echoed: $(cat /run/secrets/npm_token)"
RUN --mount=type=secret,id=npm_token sha256sum /run/secrets/npm_token | cut -d' ' -f1 > /app/file.sha && stat -c '%a %u %g' /run/secrets/npm_token > /app/file.stat
RUN --mount=type=secret,id=npm_token,env=NPM_TOKEN printf %s "$NPM_TOKEN" | sha256sum | cut -d' ' -f1 > /app/env.sha && test ! -e /run/secrets/npm_token
RUN --mount=type=secret,id=npm_token,target=/etc/tok,mode=0440,uid=1000,gid=2000 stat -c '%a %u %g' /etc/tok > /app/custom.stat
RUN --mount=type=secret,id=kiln_it_absent test ! -e /run/secrets/kiln_it_absent && echo absent-ok > /app/absent

COPY . .
RUN echo built > /app/dist

FROM busybox:test AS production
WORKDIR /app
COPY --from=builder /app /app
CMD ["cat", "/app/dist"]
`

// randomSecret returns a value no file of the suite holds by chance.
func randomSecret(t *testing.T) string {
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "kIlNsEcReT" + hex.EncodeToString(b)
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// assertNoSecret fails for every place under dir holding secret, as it is
// or base64-encoded (as an auth header or a JSON []byte would carry it).
func assertNoSecret(t *testing.T, what, dir, secret string) {
	t.Helper()
	for _, form := range []string{secret, base64.StdEncoding.EncodeToString([]byte(secret)), base64.RawURLEncoding.EncodeToString([]byte(secret))} {
		for _, hit := range findBytes(t, dir, []byte(form)) {
			t.Errorf("secret value found in %s: %s", what, hit)
		}
	}
}

func TestSecretsDoNotLeak(t *testing.T) {
	t.Parallel()
	requireSuite(t)
	fileSecret, envSecret := randomSecret(t), randomSecret(t)
	// As in the seed: the token file is in the context, which
	// .dockerignore keeps out of COPY . .
	ctx := t.TempDir()
	writeFiles(t, ctx, map[string]string{"package.json": `{"name":"app"}`, "index.js": "console.log(1)\n", ".dockerignore": ".npm_token\n"})
	secretFile := filepath.Join(ctx, ".npm_token")
	writeFile(t, secretFile, fileSecret, 0o600)
	var outputs []string // every progress output, searched at the end

	// The Pattern 8 build, to an OCI tar.
	r, ociTar := build(t, buildSpec{Context: ctx, Dockerfile: pattern8Busybox, Tag: "secrets:p8",
		Args: []string{"--secret", "id=npm_token,src=" + secretFile}})
	outputs = append(outputs, r.Stdout, r.Stderr)
	if r.Code != 0 {
		t.Fatalf("build failed:\n%s", r)
	}
	if !strings.Contains(r.Stderr, "echoed: ****") {
		t.Errorf("progress does not show the echoed secret masked as ****:\n%s", r.Stderr)
	}
	a := readOCIArchive(t, ociTar)
	files := a.Images[0].LayerEntries(t)
	for path, want := range map[string]string{
		"/app/file.sha":     sha256Hex(fileSecret),
		"/app/file.stat":    "400 0 0", // BuildKit's default mode and owner
		"/app/env.sha":      sha256Hex(fileSecret),
		"/app/custom.stat":  "440 1000 2000",
		"/app/absent":       "absent-ok",
		"/app/dist":         "built",
		"/app/package.json": `{"name":"app"}`,
	} {
		e, ok := files[path]
		if !ok {
			t.Errorf("image lacks %s (files %v)", path, sortedKeys(files))
		} else if got := strings.TrimSpace(string(e.Data)); got != want {
			t.Errorf("%s = %q, want %q", path, got, want)
		}
	}

	// The builder stage's layers: no .npmrc (nor its whiteout), no mount
	// point stubs for the secrets.
	r, builderTar := build(t, buildSpec{Context: ctx, Dockerfile: pattern8Busybox, Target: "builder", Tag: "secrets:builder",
		Args: []string{"--secret", "id=npm_token,src=" + secretFile}})
	outputs = append(outputs, r.Stdout, r.Stderr)
	if r.Code != 0 {
		t.Fatalf("build --target builder failed:\n%s", r)
	}
	b := readOCIArchive(t, builderTar)
	for _, l := range b.Images[0].Manifest.Layers {
		for name := range harness.ReadLayer(t, b.Blob(l.Digest)) {
			if strings.Contains(name, "npmrc") || strings.HasPrefix(name, "/run") || strings.HasPrefix(name, "/etc/tok") {
				t.Errorf("builder layer %s holds %s", l.Digest, name)
			}
		}
	}

	// A docker tar of the same image (all cached), and the same build with
	// another secret value from env=: secret values are not in cache keys,
	// so every step is cached and the image is the same.
	dockerTar := filepath.Join(t.TempDir(), "docker.tar")
	df := writeDockerfile(t, pattern8Busybox)
	r = mustKiln(t, []string{"KILN_IT_NPM_TOKEN=" + envSecret}, "build", "--progress", "plain", "-f", df,
		"--secret", "id=npm_token,env=KILN_IT_NPM_TOKEN", "-o", "type=docker,dest="+dockerTar, ctx)
	outputs = append(outputs, r.Stdout, r.Stderr)
	for _, s := range parseSteps(r.Stderr) {
		if k := s.keyword(); (k == "RUN" || k == "COPY") && !s.cached {
			t.Errorf("with another secret value, step %q was not cached (secret values must not enter cache keys)", s.name)
		}
	}

	// env= as the source, with steps that really run.
	envDF := "FROM busybox:test\n" +
		"RUN --mount=type=secret,id=npm_token sha256sum /run/secrets/npm_token | cut -d' ' -f1 > /from-env.sha && echo \"env echoed: $(cat /run/secrets/npm_token)\"\n"
	r, envTar := build(t, buildSpec{Context: t.TempDir(), Dockerfile: envDF, Tag: "secrets:env",
		Env: []string{"KILN_IT_NPM_TOKEN=" + envSecret}, Args: []string{"--secret", "id=npm_token,env=KILN_IT_NPM_TOKEN"}})
	outputs = append(outputs, r.Stdout, r.Stderr)
	if r.Code != 0 {
		t.Fatalf("env= build failed:\n%s", r)
	}
	if !strings.Contains(r.Stderr, "env echoed: ****") {
		t.Errorf("progress does not show the env secret masked:\n%s", r.Stderr)
	}
	e := readOCIArchive(t, envTar)
	if got := strings.TrimSpace(string(e.Images[0].LayerEntries(t)["/from-env.sha"].Data)); got != sha256Hex(envSecret) {
		t.Errorf("/from-env.sha = %q, want the hash of the env secret", got)
	}

	// As in BuildKit, a secret that is not required does not shape the key:
	// the same build without --secret reuses the result made with it.
	givenDF := "FROM busybox:test\nRUN --mount=type=secret,id=npm_token if test -e /run/secrets/npm_token; then echo given; else echo absent; fi > /secret-was\n"
	r, _ = build(t, buildSpec{Context: t.TempDir(), Dockerfile: givenDF, Args: []string{"--secret", "id=npm_token,src=" + secretFile}})
	outputs = append(outputs, r.Stdout, r.Stderr)
	if r.Code != 0 {
		t.Fatalf("build with the optional secret failed:\n%s", r)
	}
	r, withoutTar := build(t, buildSpec{Context: t.TempDir(), Dockerfile: givenDF, Tag: "secrets:without"})
	outputs = append(outputs, r.Stdout, r.Stderr)
	if r.Code != 0 {
		t.Fatalf("build without the optional secret failed:\n%s", r)
	}
	for _, s := range parseSteps(r.Stderr) {
		if s.keyword() == "RUN" && !s.cached {
			t.Errorf("without the optional secret, step %q was not cached", s.name)
		}
	}
	w := readOCIArchive(t, withoutTar)
	if got := strings.TrimSpace(string(w.Images[0].LayerEntries(t)["/secret-was"].Data)); got != "given" {
		t.Errorf("/secret-was = %q, want the cached result of the build that had the secret (given)", got)
	}

	// A RUN that prints the secret and fails: its error excerpt masks it.
	failDF := "FROM busybox:test\nRUN --mount=type=secret,id=npm_token echo \"leaked: $(cat /run/secrets/npm_token)\"; exit 7\n"
	r, _ = build(t, buildSpec{Context: t.TempDir(), Dockerfile: failDF, Args: []string{"--secret", "id=npm_token,src=" + secretFile}})
	outputs = append(outputs, r.Stdout, r.Stderr)
	if r.Code == 0 {
		t.Errorf("failing RUN: build succeeded:\n%s", r)
	}
	if _, excerpt, ok := strings.Cut(r.Stderr, "------"); !ok || !strings.Contains(excerpt, "leaked: ****") {
		t.Errorf("failing RUN: the error excerpt does not show the masked output:\n%s", r.Stderr)
	}

	// Search everything.
	outDir := t.TempDir()
	for i, o := range outputs {
		writeFile(t, filepath.Join(outDir, "output"+string(rune('a'+i))), o, 0o644)
	}
	for _, secret := range []string{fileSecret, envSecret} {
		assertNoSecret(t, "the progress output", outDir, secret)
		assertNoSecret(t, "the store", suiteRoot(t), secret)
		for what, tarPath := range map[string]string{"the oci tar": ociTar, "the builder oci tar": builderTar, "the docker tar": dockerTar, "the env oci tar": envTar} {
			assertNoSecret(t, what+" (as a file)", filepath.Dir(tarPath), secret)
			assertNoSecret(t, what+" (extracted, layers decompressed)", untarToTemp(t, tarPath), secret)
		}
		for _, img := range []*ociArchive{a, b, e} {
			for _, pi := range img.Images {
				cfg, err := os.ReadFile(img.Blob(pi.Manifest.Config.Digest))
				if err != nil {
					t.Fatal(err)
				}
				if strings.Contains(string(cfg), secret) {
					t.Errorf("image config/history holds the secret: %s", cfg)
				}
			}
		}
	}
	assertNoLeaks(t)
}

func TestSecretMountErrors(t *testing.T) {
	t.Parallel()
	requireSuite(t)
	t.Run("required without --secret", func(t *testing.T) {
		df := "FROM busybox:test\nRUN true\nRUN --mount=type=secret,id=kiln_it_needed,required=true cat /run/secrets/kiln_it_needed\n"
		r, _ := build(t, buildSpec{Context: t.TempDir(), Dockerfile: df})
		if r.Code == 0 {
			t.Fatalf("build succeeded without the required secret:\n%s", r)
		}
		for _, w := range []string{"Dockerfile:3", "kiln_it_needed"} {
			if !strings.Contains(r.Stderr, w) {
				t.Errorf("error lacks %q:\n%s", w, r)
			}
		}
	})
	t.Run("missing secret file", func(t *testing.T) {
		missing := filepath.Join(t.TempDir(), "no-such-token")
		df := "FROM busybox:test\nRUN --mount=type=secret,id=tok cat /run/secrets/tok\n"
		r, _ := build(t, buildSpec{Context: t.TempDir(), Dockerfile: df, Args: []string{"--secret", "id=tok,src=" + missing}})
		if r.Code == 0 {
			t.Fatalf("build succeeded with --secret src= naming no file:\n%s", r)
		}
		if !strings.Contains(r.Stderr, missing) {
			t.Errorf("error does not name %s:\n%s", missing, r)
		}
	})
	t.Run("missing secret env var", func(t *testing.T) {
		df := "FROM busybox:test\nRUN --mount=type=secret,id=tok cat /run/secrets/tok\n"
		r, _ := build(t, buildSpec{Context: t.TempDir(), Dockerfile: df, Args: []string{"--secret", "id=tok,env=KILN_IT_NO_SUCH_VAR"}})
		if r.Code == 0 {
			t.Fatalf("build succeeded with --secret env= naming an unset variable:\n%s", r)
		}
		if !strings.Contains(r.Stderr, "KILN_IT_NO_SUCH_VAR") {
			t.Errorf("error does not name KILN_IT_NO_SUCH_VAR:\n%s", r)
		}
	})
	assertNoLeaks(t)
}
