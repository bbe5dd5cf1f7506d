package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// --build-context name=DIR as a base image and name=oci-layout://PATH as
// FROM and COPY --from (issue 4).
func TestNamedContexts(t *testing.T) {
	t.Parallel()
	requireSuite(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"app/run.sh":    "#!/bin/sh\necho hi\n",
		"secret.env":    "TOKEN=nope\n",
		".dockerignore": "secret.env\n",
	})
	if err := os.Chmod(filepath.Join(dir, "app", "run.sh"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.Lchown(filepath.Join(dir, "app", "run.sh"), 1234, 1234); err != nil {
		t.Fatal(err)
	}

	// An OCI layout made by kiln itself, tagged "v2".
	layoutCtx := t.TempDir()
	writeFiles(t, layoutCtx, map[string]string{"Dockerfile": "FROM busybox:test\nRUN echo from-layout > /layout.txt\nENV FROM_LAYOUT=yes\n"})
	layout := filepath.Join(t.TempDir(), "layout")
	mustKiln(t, nil, "build", "-t", "layoutimg:v2", "-o", "type=oci,tar=false,dest="+layout, layoutCtx)

	runBasics(t, []basicCase{
		{
			name:       "directory context as the base image",
			args:       []string{"--build-context", "base=" + dir},
			dockerfile: "FROM base\nCOPY --from=base app/run.sh /copied.sh\n",
			check: func(t *testing.T, b *built) {
				b.fileIs(t, "/app/run.sh", "#!/bin/sh\necho hi")
				b.ownedBy(t, "/app/run.sh", 0, 0, 0o750)
				b.ownedBy(t, "/copied.sh", 0, 0, 0o750)
				b.present(t, map[string]bool{"/secret.env": false, "/.dockerignore": true})
				if b.img.Config.Config.WorkingDir != "/" || !b.envHas("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin") {
					t.Errorf("a directory base should get scratch's config, got %+v", b.img.Config.Config)
				}
			},
		},
		{
			name:       "oci layout context",
			args:       []string{"--build-context", "lay=oci-layout://" + layout + ":v2"},
			dockerfile: "FROM lay\nCOPY --from=lay /layout.txt /again.txt\nRUN cat /again.txt > /ran.txt\n",
			check: func(t *testing.T, b *built) {
				b.fileIs(t, "/layout.txt", "from-layout")
				b.fileIs(t, "/ran.txt", "from-layout")
				if !b.envHas("FROM_LAYOUT=yes") {
					t.Errorf("the layout image's config was not used: %v", b.img.Config.Config.Env)
				}
			},
		},
	})

	ctx := t.TempDir()
	writeFiles(t, ctx, map[string]string{"Dockerfile": "FROM lay\n"})
	r := runKiln(t, nil, "build", "--build-context", "lay=oci-layout://"+layout+":nosuchtag", ctx)
	if r.Code == 0 || !strings.Contains(r.Stderr, "no image nosuchtag") {
		t.Fatalf("a missing layout tag should fail clearly:\n%s", r)
	}
}
