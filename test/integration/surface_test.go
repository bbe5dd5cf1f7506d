package integration

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
)

// The rest of BuildKit's stable Dockerfile surface (issue 4): each case one
// instruction or flag, checked on the image it made.
func TestDockerfileSurface(t *testing.T) {
	t.Parallel()
	remote := "remote content\n"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Last-Modified", "Mon, 02 Jan 2006 15:04:05 GMT")
		w.Write([]byte(remote))
	}))
	defer srv.Close()
	sum := sha256.Sum256([]byte(remote))
	checksum := "sha256:" + hex.EncodeToString(sum[:])
	other := t.TempDir()
	writeFiles(t, other, map[string]string{"named.txt": "from a named context\n"})
	runBasics(t, []basicCase{
		{
			name:       "run heredoc with and without shebang",
			dockerfile: "FROM busybox:test\nRUN <<EOF\necho one > /one\necho two >> /one\nEOF\nRUN <<EOT\n#!/bin/sh\necho \"ran $0\" > /script\nEOT\n",
			check: func(t *testing.T, b *built) {
				b.fileIs(t, "/one", "one\ntwo")
				b.fileIs(t, "/script", "ran /dev/pipes/EOT")
				b.present(t, map[string]bool{"/dev/pipes": false})
			},
		},
		{
			name:       "copy heredoc with chmod",
			dockerfile: "FROM busybox:test\nCOPY --chmod=0755 <<run.sh <<note.txt /opt/\n#!/bin/sh\necho hi\nrun.sh\na note\nnote.txt\n",
			check: func(t *testing.T, b *built) {
				b.fileIs(t, "/opt/run.sh", "#!/bin/sh\necho hi")
				b.ownedBy(t, "/opt/run.sh", 0, 0, 0o755)
				b.fileIs(t, "/opt/note.txt", "a note")
			},
		},
		{
			name:       "copy link exclude parents",
			files:      map[string]string{"src/a/x.go": "x", "src/a/x_test.go": "t", "src/b/y.txt": "y"},
			dockerfile: "FROM busybox:test\nCOPY --link --exclude=*_test.go src/a/ /linked/\nCOPY --parents src/a/x.go src/b/*.txt /p/\nCOPY --parents ./src/./b/y.txt /q/\n",
			check: func(t *testing.T, b *built) {
				b.present(t, map[string]bool{"/linked/x.go": true, "/linked/x_test.go": false,
					"/p/src/a/x.go": true, "/p/src/b/y.txt": true, "/q/b/y.txt": true, "/q/src": false})
			},
		},
		{
			name:       "add url with checksum and local tar",
			files:      map[string]string{"app.tar": tarOf(t, map[string]string{"sub/f": "in tar"})},
			dockerfile: "FROM busybox:test\nADD --checksum=" + checksum + " " + srv.URL + "/remote.txt /r/\nADD --chmod=0644 " + srv.URL + "/remote.txt /r2\nADD app.tar /x/\n",
			check: func(t *testing.T, b *built) {
				b.fileIs(t, "/r/remote.txt", strings.TrimSpace(remote))
				b.ownedBy(t, "/r/remote.txt", 0, 0, 0o600)
				b.ownedBy(t, "/r2", 0, 0, 0o644)
				b.fileIs(t, "/x/sub/f", "in tar")
			},
		},
		{
			name:       "add tar with chown keeps implied directories root",
			files:      map[string]string{"app.tar": tarOf(t, map[string]string{"implied/dir/f": "in tar"})},
			dockerfile: "FROM busybox:test\nADD --chown=3:4 app.tar /new/dest/\n",
			check: func(t *testing.T, b *built) {
				b.ownedBy(t, "/new/dest/implied/dir/f", 3, 4, 0o644)
				b.ownedBy(t, "/new/dest/implied/dir", 0, 0, 0o755)
				b.ownedBy(t, "/new/dest/implied", 0, 0, 0o755)
				b.ownedBy(t, "/new/dest", 3, 4, 0o755)
				b.ownedBy(t, "/new", 3, 4, 0o755)
			},
		},
		{
			name:       "proxy args reach RUN but not the image",
			args:       []string{"--build-arg", "HTTP_PROXY=http://proxy.invalid:3128"},
			dockerfile: "FROM busybox:test\nRUN echo \"$HTTP_PROXY\" > /proxy\n",
			check: func(t *testing.T, b *built) {
				b.fileIs(t, "/proxy", "http://proxy.invalid:3128")
				cfg, _ := os.ReadFile(b.img.Blob(b.img.Manifest.Config.Digest))
				if strings.Contains(string(cfg), "proxy.invalid") {
					t.Errorf("the proxy reached the image config or history:\n%s", cfg)
				}
			},
		},
		{
			name:       "add-host shm-size ulimit",
			args:       []string{"--add-host", "kiln-host:10.9.8.7", "--shm-size", "96m", "--ulimit", "nofile=512:1024"},
			dockerfile: "FROM busybox:test\nRUN grep kiln-host /etc/hosts > /hosts && df -k /dev/shm | tail -1 | awk '{print $2}' > /shm && ulimit -n > /nofile\n",
			check: func(t *testing.T, b *built) {
				b.fileIs(t, "/hosts", "10.9.8.7\tkiln-host")
				b.fileIs(t, "/shm", "98304")
				b.fileIs(t, "/nofile", "512")
			},
		},
		{
			name:       "healthcheck maintainer onbuild recorded",
			dockerfile: "FROM busybox:test\nMAINTAINER kiln <k@example>\nHEALTHCHECK --interval=5s --timeout=2s --retries=4 CMD [\"true\"]\nONBUILD RUN echo child\n",
			check: func(t *testing.T, b *built) {
				var c dockerspec.DockerOCIImage
				data, _ := os.ReadFile(b.img.Blob(b.img.Manifest.Config.Digest))
				if err := json.Unmarshal(data, &c); err != nil {
					t.Fatal(err)
				}
				if c.Author != "kiln <k@example>" {
					t.Errorf("Author %q", c.Author)
				}
				h := c.Config.Healthcheck
				if h == nil || h.Interval.Seconds() != 5 || h.Timeout.Seconds() != 2 || h.Retries != 4 || strings.Join(h.Test, " ") != "CMD true" {
					t.Errorf("Healthcheck %+v", h)
				}
				if strings.Join(c.Config.OnBuild, "|") != "RUN echo child" {
					t.Errorf("OnBuild %q", c.Config.OnBuild)
				}
			},
		},
		{
			name: "annotations on the manifest and its descriptor",
			args: []string{"--annotation", "org.opencontainers.image.title=kiln test",
				"--annotation", "manifest-descriptor:org.example.kind=desc", "--annotation", "manifest[linux/arm64]:only.arm=1"},
			dockerfile: "FROM busybox:test\n",
			check: func(t *testing.T, b *built) {
				ann := b.img.Manifest.Annotations
				if ann["org.opencontainers.image.title"] != "kiln test" || ann["only.arm"] != "" || ann["org.example.kind"] != "" {
					t.Errorf("manifest annotations %v", ann)
				}
				data, err := os.ReadFile(filepath.Join(b.img.Layout, "index.json"))
				if err != nil || !strings.Contains(string(data), `"org.example.kind":"desc"`) {
					t.Errorf("index.json lacks the descriptor annotation: %s %v", data, err)
				}
			},
		},
		{
			name:       "named build context",
			args:       []string{"--build-context", "extra=" + other, "--build-context", "base=docker-image://busybox:test"},
			dockerfile: "FROM base\nCOPY --from=extra named.txt /named.txt\n",
			check: func(t *testing.T, b *built) {
				b.fileIs(t, "/named.txt", "from a named context")
			},
		},
	})
}

// -f - and a context tar on standard input.
func TestStdinInputs(t *testing.T) {
	t.Parallel()
	requireSuite(t)
	ctx := t.TempDir()
	writeFiles(t, ctx, map[string]string{"Dockerfile.in": "FROM busybox:test\nCOPY f /f\n", "f": "from the tar\n"})
	iid := filepath.Join(t.TempDir(), "iid")
	cmd := exec.Command(kilnBin(t), "--root", suiteRoot(t), "build", "--progress", "plain", "--iidfile", iid, "-f", "-", ctx)
	cmd.Stdin = strings.NewReader("FROM busybox:test\nCOPY f /from-stdin-dockerfile\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("-f -: %v\n%s", err, out)
	}
	cmd = exec.Command(kilnBin(t), "--root", suiteRoot(t), "build", "--progress", "plain", "-f", "Dockerfile.in", "-o", "type=local,dest="+filepath.Join(t.TempDir(), "out"), "-")
	cmd.Stdin = strings.NewReader(tarOf(t, map[string]string{"Dockerfile.in": "FROM busybox:test\nCOPY f /f\n", "f": "from the tar\n"}))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("- as context: %v\n%s", err, out)
	}
}

// tarOf makes a tar holding files.
func tarOf(t *testing.T, files map[string]string) string {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, content := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(content))
	}
	tw.Close()
	return buf.String()
}
