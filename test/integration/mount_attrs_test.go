package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiln-build/kiln/test/harness"
)

// mountAttrsDockerfile uses every RUN --mount attribute BuildKit documents
// for bind, cache, tmpfs and secret mounts (ssh's are in
// internal/instr/sshmount_test.go), each with an effect the image records.
const mountAttrsDockerfile = `FROM busybox:test AS src
RUN mkdir /data && echo fromstage > /data/f
FROM busybox:test
RUN --mount=type=bind,from=src,source=/data,target=/b cat /b/f > /bind-from
RUN --mount=type=bind,source=ctxdir,target=/b,readonly cat /b/c > /bind-src && (touch /b/x 2>/dev/null && echo writable || echo readonly) > /bind-ro
RUN --mount=type=bind,src=ctxdir,dst=/b,rw touch /b/x && echo writable > /bind-rw
RUN --mount=type=bind,source=ctxdir,destination=/b,ro=true (touch /b/y 2>/dev/null && echo writable || echo readonly) > /bind-ro-true
RUN --mount=type=cache,id=c1,target=/c,sharing=locked,mode=0750,uid=12,gid=34 stat -c '%a %u %g' /c > /cache-perms && echo kept > /c/k
RUN --mount=type=cache,id=c1,target=/c,sharing=shared,mode=0750,uid=12,gid=34,readonly cat /c/k > /cache-shared && (touch /c/z 2>/dev/null && echo writable || echo readonly) > /cache-ro
RUN --mount=type=cache,id=c2,target=/c,sharing=private,from=src,source=/data cat /c/f > /cache-from
RUN --mount=type=tmpfs,target=/t,size=1m df -k /t | tail -1 | awk '{print $2}' > /tmpfs-size
RUN --mount=type=secret,id=tok,target=/s,mode=0440,uid=7,gid=8,required=true stat -c '%a %u %g' /s > /secret-perms
RUN --mount=type=secret,id=tok,env=TOKV sh -c 'test -n "$TOKV" && echo set' > /secret-env
RUN --mount=type=secret,id=absent,required=false echo ok > /secret-optional
`

// TestMountAttrTable: every attribute of RUN --mount is used (each row has
// an effect in the image), and attributes BuildKit refuses for a type, or
// does not know, are errors naming the line.
func TestMountAttrTable(t *testing.T) {
	t.Parallel()
	s := harness.NewStore(t, harness.Busybox)
	ctx := t.TempDir()
	harness.WriteFiles(t, ctx, map[string]string{"ctxdir/c": "incontext", "tok": "s3cr3t-value"})
	harness.WriteFile(t, filepath.Join(ctx, "Dockerfile"), mountAttrsDockerfile, 0o644)
	out := filepath.Join(t.TempDir(), "out")
	s.MustRun(t, "build", "--progress", "plain", "--secret", "id=tok,src="+filepath.Join(ctx, "tok"), "-o", "type=local,dest="+out, ctx)
	for file, want := range map[string]string{
		"bind-from": "fromstage", "bind-src": "incontext", "bind-ro": "readonly", "bind-rw": "writable", "bind-ro-true": "readonly",
		"cache-perms": "750 12 34", "cache-shared": "kept", "cache-ro": "readonly", "cache-from": "fromstage",
		"tmpfs-size": "1024", "secret-perms": "440 7 8", "secret-env": "set", "secret-optional": "ok",
	} {
		b, err := os.ReadFile(filepath.Join(out, file))
		if got := strings.TrimSpace(string(b)); err != nil || got != want {
			t.Errorf("/%s = %q (%v), want %q", file, got, err, want)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "b", "x")); err == nil {
		t.Error("a rw bind mount's write reached the image")
	}
	for _, bad := range []string{
		"RUN --mount=type=bind,target=/b,nosuch=1 true",
		"RUN --mount=type=tmpfs,target=/t,mode=0700 true",
		"RUN --mount=type=bind,target=/b,size=1m true",
		"RUN --mount=type=secret,id=absent,required=true true",
		"RUN --mount=type=nosuch,target=/x true",
	} {
		harness.WriteFile(t, filepath.Join(ctx, "Dockerfile"), "FROM busybox:test\n"+bad+"\n", 0o644)
		r := s.Run(t, "build", "--progress", "plain", ctx)
		if r.Code == 0 || !strings.Contains(r.Stderr, "Dockerfile:2") {
			t.Errorf("%s: want an error naming Dockerfile:2:\n%s", bad, r)
		}
	}
}
