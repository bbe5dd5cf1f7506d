package integration

import (
	"debug/elf"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/kiln-build/kiln/test/harness"
)

// multiImage is a two-platform index: amd64 from the host's busybox-static,
// arm64 from Debian's busybox-static:arm64.
var multiImage = harness.BusyboxMulti.Name

// requireMulti puts busybox:multi into the test's store, or skips.
func requireMulti(t *testing.T) {
	t.Helper()
	addToSuiteStore(t, harness.BusyboxMulti)
}

// pattern5 is the seed's Pattern 5 Dockerfile, verbatim.
const pattern5 = `FROM --platform=$BUILDPLATFORM golang:1.22-alpine AS builder

# Build arguments for cross-compilation
ARG TARGETOS
ARG TARGETARCH

WORKDIR /app
COPY go.mod go.sum ./
RUN go mod download

COPY . .
RUN CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} \
    go build -o /server

FROM scratch
COPY --from=builder /server /server
ENTRYPOINT ["/server"]
`

func TestMultiPlatformPattern5(t *testing.T) {
	t.Parallel()
	requireSuite(t, harness.GolangWarm)
	requireMulti(t)
	r, tar := build(t, buildSpec{
		Context: goAppContext(t, false), Dockerfile: pattern5, Tag: "app:multi",
		// --no-cache: the go build RUN must run for both platforms.
		Args: []string{"--platform", "linux/amd64,linux/arm64", "--no-cache"},
	})
	if r.Code != 0 {
		t.Fatalf("build failed:\n%s", r)
	}
	a := readOCIArchive(t, tar)
	if got := a.Platforms(); len(got) != 2 || !strSetEq(got, []string{"linux/amd64", "linux/arm64"}) {
		t.Fatalf("archive manifests are for %v, want linux/amd64 and linux/arm64", got)
	}
	if a.TopType != "application/vnd.oci.image.index.v1+json" && len(a.Index.Manifests) != 2 {
		t.Errorf("index.json points at %s, want an image index", a.TopType)
	}
	for plat, machine := range map[string]elf.Machine{"linux/amd64": elf.EM_X86_64, "linux/arm64": elf.EM_AARCH64} {
		pi := a.Image(t, plat)
		files := pi.LayerEntries(t)
		srv, ok := files["/server"]
		if !ok {
			t.Errorf("%s: no /server in the layers (files: %v)", plat, sortedKeys(files))
			continue
		}
		if got := harness.ELFMachine(srv.Data); got != uint16(machine) {
			t.Errorf("%s: /server e_machine = %#x, want %#x (%v)", plat, got, uint16(machine), machine)
		}
		if len(files) != 1 {
			t.Errorf("%s: scratch image holds %v, want only /server", plat, sortedKeys(files))
		}
		if !strSliceEq(pi.Config.Config.Entrypoint, []string{"/server"}) {
			t.Errorf("%s: Entrypoint = %q", plat, pi.Config.Config.Entrypoint)
		}
	}

	// As in BuildKit: the steps whose inputs are the same for both
	// platforms (WORKDIR, COPY go.mod go.sum) execute once; every RUN sees
	// the declared TARGETOS/TARGETARCH in its environment, so it and the
	// steps after it execute once per platform.
	for instr, want := range map[string]int{
		"WORKDIR /app":          1,
		"COPY go.mod go.sum ./": 1,
		"RUN go mod download":   2,
		"COPY . .":              2,
		// Named with TARGETOS and TARGETARCH expanded, as BuildKit does.
		"RUN CGO_ENABLED=0 GOOS=linux GOARCH=amd64     go build -o /server": 1,
		"RUN CGO_ENABLED=0 GOOS=linux GOARCH=arm64     go build -o /server": 1,
		"COPY --from=builder /server /server":                               2,
	} {
		if n := stepExecutions(t, r.Stderr, instr); n != want {
			t.Errorf("progress shows %q executed %d times, want %d:\n%s", instr, n, want, r.Stderr)
		}
	}
	for _, arch := range []string{"amd64", "arm64"} {
		if n, cached := countStepVertices(r.Stderr, "RUN CGO_ENABLED=0 GOOS=linux GOARCH="+arch+"     go build -o /server"); n != 1 || cached != 0 {
			t.Errorf("the %s go build RUN shows %d times (%d cached), want once, uncached", arch, n, cached)
		}
	}

	out, err := exec.Command("skopeo", "inspect", "--raw", "oci-archive:"+tar).CombinedOutput()
	if err != nil {
		t.Fatalf("skopeo inspect --raw: %v\n%s", err, out)
	}
	var idx struct {
		MediaType string
		Manifests []struct {
			Platform struct{ OS, Architecture string }
		}
	}
	if err := json.Unmarshal(out, &idx); err != nil {
		t.Fatalf("skopeo inspect --raw: %v\n%s", err, out)
	}
	// buildx's default provenance: a multi-platform oci output carries one
	// attestation manifest per platform, platform unknown/unknown.
	var ps []string
	unknown := 0
	for _, m := range idx.Manifests {
		if m.Platform.OS == "unknown" && m.Platform.Architecture == "unknown" {
			unknown++
			continue
		}
		ps = append(ps, m.Platform.OS+"/"+m.Platform.Architecture)
	}
	if unknown != 2 || len(a.Attestations) != 2 {
		t.Errorf("the index holds %d unknown/unknown entries (%d attestation manifests), want 2, one per platform:\n%s", unknown, len(a.Attestations), out)
	}
	if !strSetEq(ps, []string{"linux/amd64", "linux/arm64"}) {
		t.Errorf("skopeo inspect --raw shows platforms %v, want linux/amd64 and linux/arm64:\n%s", ps, out)
	}
}

func TestMultiPlatformEmulatedRun(t *testing.T) {
	t.Parallel()
	requireMulti(t)
	df := writeDockerfile(t, "FROM "+multiImage+"\nRUN uname -m > /arch\n")

	t.Run("arm64 only", func(t *testing.T) {
		dest := filepath.Join(t.TempDir(), "out")
		r := mustKiln(t, nil, "build", "--progress", "plain", "-f", df, "--platform", "linux/arm64", "-o", "type=local,dest="+dest, t.TempDir())
		if got := readImageFile(t, dest, "/arch"); got != "aarch64" {
			t.Errorf("/arch = %q, want aarch64\n%s", got, r)
		}
		bb, err := os.ReadFile(filepath.Join(dest, "bin", "busybox"))
		if err != nil {
			t.Fatal(err)
		}
		if m := harness.ELFMachine(bb); m != uint16(elf.EM_AARCH64) {
			t.Errorf("/bin/busybox of the arm64 output has e_machine %#x: the wrong manifest of the index was used", m)
		}
	})

	t.Run("local two platforms", func(t *testing.T) {
		dest := filepath.Join(t.TempDir(), "out")
		r := mustKiln(t, nil, "build", "--progress", "plain", "-f", df, "--platform", "linux/amd64,linux/arm64", "-o", "type=local,dest="+dest, t.TempDir())
		ents, err := os.ReadDir(dest)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		if !strSliceEq(names, []string{"linux_amd64", "linux_arm64"}) {
			t.Fatalf("type=local wrote %v, want [linux_amd64 linux_arm64]\n%s", names, r)
		}
		for dir, want := range map[string]string{"linux_amd64": "x86_64", "linux_arm64": "aarch64"} {
			if got := readImageFile(t, filepath.Join(dest, dir), "/arch"); got != want {
				t.Errorf("%s/arch = %q, want %q", dir, got, want)
			}
		}
	})

	t.Run("docker tar refuses two platforms", func(t *testing.T) {
		dest := filepath.Join(t.TempDir(), "img.tar")
		r := runKiln(t, nil, "build", "--progress", "plain", "-f", df, "--platform", "linux/amd64,linux/arm64", "-o", "type=docker,dest="+dest, t.TempDir())
		if r.Code == 0 {
			t.Fatalf("type=docker with two platforms succeeded:\n%s", r)
		}
		if !strings.Contains(r.Stderr, "type=docker") || !strings.Contains(r.Stderr, "type=oci") {
			t.Errorf("error does not say type=docker holds one platform and to use type=oci:\n%s", r)
		}
		if _, err := os.Stat(dest); err == nil {
			t.Errorf("a failed type=docker export left %s behind", dest)
		}
	})
}

func strSetEq(a, b []string) bool {
	a, b = append([]string(nil), a...), append([]string(nil), b...)
	sort.Strings(a)
	sort.Strings(b)
	return strSliceEq(a, b)
}

func strSliceEq(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func sortedKeys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// executions counts how many times the step instr of plain progress output
// really executed: its vertices that are neither CACHED nor waiting for
// the same step of another platform (kiln logs "ran once for several identical
// steps" on every vertex of such a shared execution, which counts once).
func stepExecutions(t *testing.T, out, instr string) int {
	t.Helper()
	type vtx struct{ cached, shared bool }
	byID := map[string]*vtx{}
	for _, line := range strings.Split(out, "\n") {
		m := vertexLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		v, ok := byID[m[1]]
		if !ok {
			if (&step{name: m[2]}).instruction() == instr {
				byID[m[1]] = &vtx{}
			}
			continue
		}
		switch {
		case m[2] == "CACHED":
			v.cached = true
		case strings.HasSuffix(m[2], " ran once for several identical steps (stages or platforms)"):
			v.shared = true
		}
	}
	n, shared := 0, false
	for _, v := range byID {
		switch {
		case v.cached:
		case v.shared:
			shared = true
		default:
			n++
		}
	}
	if shared {
		n++
	}
	return n
}
