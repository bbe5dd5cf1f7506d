package integration

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kiln-build/kiln/test/harness"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/*.golden")

// plainGoldenDockerfile needs no base image and no runc: two stages in
// sequence, a metadata-only instruction, and an UndefinedVar warning.
const plainGoldenDockerfile = `FROM scratch AS base
COPY hello.txt /hello.txt
FROM base
ENV GREETING=$GRETING
COPY --from=base /hello.txt /copy.txt
`

var plainNormalise = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`sha256:[0-9a-f]{64}`), "sha256:DIGEST"},
	{regexp.MustCompile(`(?m)^(#\d+) \d+\.\d{3} `), "$1 T "}, // a log line's time
	{regexp.MustCompile(`\b\d+\.\ds\b`), "T.Ts"},             // DONE and summary times
}

// What a user sees of a cold build and of the same build from the cache,
// with plain progress, against testdata/plain-build.golden (-update
// rewrites it). Times, digests and temp paths are normalised.
func TestPlainOutputGolden(t *testing.T) {
	t.Parallel()
	harness.Require(t, prerequisites...)
	tmp := t.TempDir()
	ctx := filepath.Join(tmp, "ctx")
	writeFiles(t, ctx, map[string]string{"hello.txt": "hello\n"})
	df := filepath.Join(tmp, "Dockerfile")
	writeFile(t, df, plainGoldenDockerfile, 0o644)
	root := filepath.Join(tmp, "store") // fresh: the first build is cold
	args := []string{"build", "--progress", "plain", "-f", df, "-o", "type=oci,dest=" + filepath.Join(tmp, "img.tar"), "-t", "golden:test", ctx}
	var got strings.Builder
	for _, run := range []string{"cold", "cached"} {
		r := mustKilnRoot(t, root, nil, args...)
		got.WriteString("=== " + run + " build\n" + r.Stderr)
	}
	out := strings.ReplaceAll(got.String(), tmp, "$TMP")
	for _, n := range plainNormalise {
		out = n.re.ReplaceAllString(out, n.with)
	}
	path := filepath.Join("testdata", "plain-build.golden")
	if *updateGolden {
		writeFile(t, path, out, 0o644)
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if out != string(want) {
		t.Errorf("plain output differs from %s (-update rewrites it):\n got:\n%s\nwant:\n%s", path, out, want)
	}
}
