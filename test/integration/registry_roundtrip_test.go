package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiln-build/kiln/test/harness"
)

// regDockerfile writes df into a fresh directory and returns its path.
func regDockerfile(t *testing.T, df string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "Dockerfile")
	writeFile(t, p, df, 0o644)
	return p
}

// remoteDigest is the manifest digest skopeo reads from the registry.
func remoteDigest(t *testing.T, ref string) string {
	t.Helper()
	out := skopeoOut(t, "inspect", "--tls-verify=false", "docker://"+ref)
	var info struct{ Digest string }
	if err := json.Unmarshal([]byte(out), &info); err != nil || info.Digest == "" {
		t.Fatalf("skopeo inspect docker://%s: no digest (%v):\n%s", ref, err, out)
	}
	return info.Digest
}

// remoteImage is ref's image manifest in the registry and its digest: the
// manifest itself, or an index's first platform manifest (a pushed build
// is an index: its attestation manifests follow the image's).
func remoteImage(t *testing.T, ref string) (ocispec.Manifest, string) {
	t.Helper()
	raw := skopeoOut(t, "inspect", "--raw", "--tls-verify=false", "docker://"+ref)
	var idx ocispec.Index
	if err := json.Unmarshal([]byte(raw), &idx); err != nil {
		t.Fatalf("docker://%s: %v", ref, err)
	}
	d := remoteDigest(t, ref)
	if idx.MediaType == ocispec.MediaTypeImageIndex {
		if len(idx.Manifests) == 0 || idx.Manifests[0].Platform == nil || idx.Manifests[0].Platform.OS == "unknown" {
			t.Fatalf("docker://%s: the index does not start with a platform manifest:\n%s", ref, raw)
		}
		d = idx.Manifests[0].Digest.String()
		repo := ref[:strings.LastIndex(ref, ":")]
		raw = skopeoOut(t, "inspect", "--raw", "--tls-verify=false", "docker://"+repo+"@"+d)
	}
	var m ocispec.Manifest
	if err := json.Unmarshal([]byte(raw), &m); err != nil || len(m.Layers) == 0 {
		t.Fatalf("docker://%s: not an image manifest (%v):\n%s", ref, err, raw)
	}
	return m, d
}

// storeDigest is the manifest digest of name in the store root, as
// `kiln save` writes it.
func storeDigest(t *testing.T, root, name string) string {
	t.Helper()
	tar := filepath.Join(t.TempDir(), "saved.tar")
	mustKilnIn(t, root, "", "save", "-o", tar, name)
	dir := t.TempDir()
	extract(t, tar, dir)
	var index ocispec.Index
	harness.ReadJSON(t, filepath.Join(dir, "index.json"), &index)
	if len(index.Manifests) != 1 {
		t.Fatalf("kiln save %s: index.json has %d manifests, want 1", name, len(index.Manifests))
	}
	return index.Manifests[0].Digest.String()
}

func extract(t *testing.T, tar, dir string) {
	t.Helper()
	if out, err := exec.Command("tar", "-xf", tar, "-C", dir).CombinedOutput(); err != nil {
		t.Fatalf("extracting %s: %v\n%s", tar, err, out)
	}
}

const pushDockerfile = `FROM busybox:test
RUN echo pushed > /pushed
`

// TestRegistryPushPullRoundTrip pushes a build, pulls it into a fresh store
// and compares digests; pushing again uploads nothing; kiln push publishes a
// tag of the store under another name, mounting the blobs the registry has.
func TestRegistryPushPullRoundTrip(t *testing.T) {
	t.Parallel()
	requireSuite(t)
	reg := harness.StartRegistry(t)
	cfg := reg.Config(t, false)
	ref := reg.Addr + "/team/app:1"
	ctx := t.TempDir()
	df := regDockerfile(t, pushDockerfile)
	iid := filepath.Join(t.TempDir(), "iid")

	mustKilnIn(t, suiteRoot(t), cfg, "build", "--progress", "plain", "-f", df, "-t", ref, "--push", "--iidfile", iid, ctx)
	pushed := remoteDigest(t, ref)
	if data, err := os.ReadFile(iid); err != nil || strings.TrimSpace(string(data)) != pushed {
		t.Errorf("--iidfile holds %q (err %v), the registry has %s", data, err, pushed)
	}
	if got := storeDigest(t, suiteRoot(t), ref); got != pushed {
		t.Errorf("the build's store has %s at %s, the registry %s", got, ref, pushed)
	}
	blobs := reg.BlobCount(t)
	if blobs < 3 {
		t.Errorf("the registry holds %d blobs after the push, want at least 3 (config and two layers)", blobs)
	}

	// Into a fresh store: same digest, and the image runs.
	fresh := t.TempDir()
	mustKilnIn(t, fresh, cfg, "pull", ref)
	if got := storeDigest(t, fresh, ref); got != pushed {
		t.Errorf("kiln pull %s into a fresh store gave %s, the registry has %s", ref, got, pushed)
	}
	r := mustKilnIn(t, fresh, cfg, "run", "--rm", ref, "cat", "/pushed")
	if got := strings.TrimSpace(r.Stdout); got != "pushed" {
		t.Errorf("running the pulled image printed %q, want %q", got, "pushed")
	}

	// Pushing again, by a cached build and by kiln push, uploads nothing.
	before := len(reg.Uploads())
	r = mustKilnIn(t, suiteRoot(t), cfg, "build", "--progress", "plain", "-f", df, "-t", ref, "--push", ctx)
	mustKilnIn(t, suiteRoot(t), cfg, "push", ref)
	if ups := reg.Uploads()[before:]; len(ups) != 0 {
		t.Errorf("pushing %s again uploaded blobs:\n%s\n%s", ref, strings.Join(ups, "\n"), r)
	}
	if got := reg.BlobCount(t); got != blobs {
		t.Errorf("the registry holds %d blobs after pushing again, %d before", got, blobs)
	}
	if got := remoteDigest(t, ref); got != pushed {
		t.Errorf("pushing again changed %s from %s to %s", ref, pushed, got)
	}

	// -o type=image,name=...,push=true: the same image, none of its blobs
	// uploaded again. The index differs, as buildx's does: its provenance
	// names the image (subject pkg:docker/…/app@2), so only the statement,
	// its attestation manifest and the index are new.
	ref2 := reg.Addr + "/team/app:2"
	before = len(reg.Uploads())
	mustKilnIn(t, suiteRoot(t), cfg, "build", "--progress", "plain", "-f", df, "-o", "type=image,name="+ref2+",push=true", ctx)
	first, firstDigest := remoteImage(t, ref)
	_, secondDigest := remoteImage(t, ref2)
	if secondDigest != firstDigest {
		t.Errorf("-o type=image,name=%s,push=true pushed the image %s, --push of the same build %s", ref2, secondDigest, firstDigest)
	}
	imageBlobs := map[string]bool{first.Config.Digest.String(): true}
	for _, l := range first.Layers {
		imageBlobs[l.Digest.String()] = true
	}
	for _, u := range reg.Uploads()[before:] {
		if _, d, ok := strings.Cut(u, "digest="); ok && imageBlobs[strings.ReplaceAll(d, "%3A", ":")] {
			t.Errorf("pushing the same image as %s uploaded its blob %s again", ref2, d)
		}
	}

	// kiln push of a store tag to another repository: busybox:test's layer
	// is already in team/app, so it is mounted, not uploaded again.
	base := reg.Addr + "/team/base:1"
	before = len(reg.Uploads())
	mustKilnIn(t, suiteRoot(t), cfg, "push", busyboxImage, base)
	if got, want := remoteDigest(t, base), storeDigest(t, suiteRoot(t), busyboxImage); got != want {
		t.Errorf("kiln push %s %s: the registry has %s, the store %s", busyboxImage, base, got, want)
	}
	have := map[string]bool{}
	m, _ := remoteImage(t, ref)
	for _, l := range m.Layers {
		have[l.Digest.String()] = true
	}
	var mounted, reuploaded []string
	for _, u := range reg.Uploads()[before:] {
		if strings.Contains(u, "mount=") {
			mounted = append(mounted, u)
		}
		if _, d, ok := strings.Cut(u, "digest="); ok && strings.HasPrefix(u, "PUT ") {
			d = strings.ReplaceAll(d, "%3A", ":")
			if have[d] {
				reuploaded = append(reuploaded, d)
			}
		}
	}
	if len(reuploaded) != 0 || len(mounted) == 0 {
		t.Errorf("kiln push %s %s uploaded again the layers %v that %s already has (%d cross-repository mounts); want them mounted:\n%s",
			busyboxImage, base, reuploaded, ref, len(mounted), strings.Join(reg.Uploads()[before:], "\n"))
	}
}

// TestRegistryPullErrors: a missing tag, an unreachable registry and a
// push to one each fail with a message naming the image (and, for FROM,
// the Dockerfile line).
func TestRegistryPullErrors(t *testing.T) {
	t.Parallel()
	requireSuite(t)
	reg := harness.StartRegistry(t)
	closed := harness.FreeLoopbackAddr(t)
	cfg := filepath.Join(t.TempDir(), "kiln.toml")
	writeFile(t, cfg, fmt.Sprintf("[registry.%q]\n  http = true\n[registry.%q]\n  http = true\n", reg.Addr, closed), 0o644)
	ctx := t.TempDir()

	for _, c := range []struct{ name, image string }{
		{"missing tag", reg.Addr + "/team/nothere:1"},
		{"closed port", closed + "/team/app:1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			df := "# syntax check\n\nFROM " + c.image + " AS base\nRUN true\n"
			line := dockerfileLine(t, df, "FROM "+c.image+" AS base")
			start := time.Now()
			r := kilnIn(t, t.TempDir(), cfg, "build", "--progress", "plain", "-f", regDockerfile(t, df), ctx)
			took := time.Since(start)
			if r.Code == 0 {
				t.Fatalf("build from %s succeeded:\n%s", c.image, r)
			}
			msg := r.Stderr
			if !strings.Contains(msg, c.image) {
				t.Errorf("the error does not name the image %s:\n%s", c.image, r)
			}
			if !strings.Contains(msg, fmt.Sprintf("Dockerfile:%d", line)) {
				t.Errorf("the error does not name the line Dockerfile:%d:\n%s", line, r)
			}
			if took > 60*time.Second {
				t.Errorf("failing took %v, want a quick failure", took)
			}
			t.Logf("%s: failed in %v with:\n%s", c.name, took.Round(time.Millisecond), lastLines(msg, 6))

			r = kilnIn(t, t.TempDir(), cfg, "pull", c.image)
			if r.Code == 0 || !strings.Contains(r.Stderr, c.image) {
				t.Errorf("kiln pull %s: want a failure naming the image:\n%s", c.image, r)
			}
		})
	}

	t.Run("push to closed port", func(t *testing.T) {
		dest := closed + "/team/app:1"
		r := kilnIn(t, suiteRoot(t), cfg, "push", busyboxImage, dest)
		if r.Code == 0 || !strings.Contains(r.Stderr, closed) {
			t.Errorf("kiln push to %s: want a failure naming the registry:\n%s", dest, r)
		}
	})
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// TestRegistryBaseInStoreNeedsNoRegistry: once a build has pulled its base
// image, rebuilding asks the registry nothing, and works with the registry
// gone, every step cached; a changed step still builds.
func TestRegistryBaseInStoreNeedsNoRegistry(t *testing.T) {
	t.Parallel()
	requireSuite(t)
	reg := harness.StartRegistry(t)
	cfg := reg.Config(t, false)
	base := reg.Addr + "/team/base:1"
	mustKilnIn(t, suiteRoot(t), cfg, "push", busyboxImage, base)

	ctx := t.TempDir()
	// Unique content, so the first build runs its steps even in a store
	// another test has filled.
	writeFiles(t, ctx, map[string]string{"a.txt": fmt.Sprintf("%s %d", t.Name(), time.Now().UnixNano())})
	df := regDockerfile(t, "FROM "+base+"\nCOPY a.txt /a\nRUN cat /a > /a2\n")
	root := t.TempDir()
	buildArgs := []string{"build", "--progress", "plain", "-f", df, "-t", "offline:1", ctx}

	r := mustKilnIn(t, root, cfg, buildArgs...)
	assertCached(t, r, false, false)
	if !strings.Contains(strings.Join(reg.Requests(), "\n"), "/v2/team/base/manifests/1") {
		t.Errorf("the first build did not pull %s; registry requests:\n%s", base, strings.Join(reg.Requests(), "\n"))
	}

	before := len(reg.Requests())
	r = mustKilnIn(t, root, cfg, buildArgs...)
	assertCached(t, r, true, true)
	if reqs := reg.Requests()[before:]; len(reqs) != 0 {
		t.Errorf("a rebuild with %s in the store asked the registry:\n%s", base, strings.Join(reqs, "\n"))
	}

	reg.Stop()
	r = mustKilnIn(t, root, cfg, buildArgs...)
	assertCached(t, r, true, true)
	changed := regDockerfile(t, "FROM "+base+"\nCOPY a.txt /a\nRUN cat /a > /a3\n")
	r = mustKilnIn(t, root, cfg, "build", "--progress", "plain", "-f", changed, "-t", "offline:2", ctx)
	assertCached(t, r, true, false)
}
