package bake

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kiln-build/kiln/internal/composeload"
)

// The package's tests read compose files in process, as kiln-compose does.
func init() { ComposeLoader = composeload.Load }

// composeWireCases are compose files whose Config has what gob alone
// would lose: a pointer to false, empty but set lists.
var composeWireCases = map[string]string{
	"x-bake-false": `services:
  app:
    image: app:1
    build:
      context: .
      tags: []
      x-bake:
        no-cache: false
        pull: false
        platforms: [linux/amd64, linux/arm64]
        cache-from: ["type=registry,ref=r/app:cache"]
        output: ["type=oci,dest=out.tar"]
`,
	"args-labels": `services:
  web:
    build:
      context: web
      dockerfile: Dockerfile.web
      args: {A: "", B: "b"}
      labels: {l: ""}
      secrets: [tok]
secrets:
  tok:
    file: tok.txt
`,
}

// TestComposeReplyCrossesTheProcessBoundary: the Config kiln gets from
// kiln-compose's gob reply is the one parseCompose made, for every compose
// file of testdata and the cases above; a file that is not a compose file
// is classified so, with its load error.
func TestComposeReplyCrossesTheProcessBoundary(t *testing.T) {
	files := []File{{Name: "notes", Data: []byte("target \"x\" {}\n")}}
	for name, data := range composeWireCases {
		files = append(files, File{Name: name + ".yaml", Data: []byte(data)})
	}
	data, err := os.ReadFile(filepath.Join("testdata", "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, File{Name: "compose.yaml", Data: data})
	for _, f := range files[1:] {
		req := composeRequest{Protocol: composeProtocol, Files: []File{files[0], f}}
		direct := answerCompose(req)
		if direct.Err != "" || !direct.Files[1].IsCompose || direct.Files[0].IsCompose || direct.Files[0].Err == "" {
			t.Fatalf("%s: %+v", f.Name, direct)
		}
		var in, out bytes.Buffer
		if err := gob.NewEncoder(&in).Encode(req); err != nil {
			t.Fatal(err)
		}
		if err := ServeCompose(&in, &out); err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		var rep composeReply
		if err := gob.NewDecoder(&out).Decode(&rep); err != nil {
			t.Fatal(err)
		}
		want, got := direct.config(), rep.config()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: across gob\n got %s\nwant %s", f.Name, dumpConfig(got), dumpConfig(want))
		}
		if !reflect.DeepEqual(rep.Files, direct.Files) {
			t.Errorf("%s: classes %+v, want %+v", f.Name, rep.Files, direct.Files)
		}
	}
}

func dumpConfig(c *Config) string {
	var b strings.Builder
	for _, tg := range c.Targets {
		fmt.Fprintf(&b, "%+v ", *tg)
	}
	return b.String()
}

// TestComposeWithoutHelper: where no kiln-compose can be found, a compose
// file is an error naming the file and what to install; a file named
// neither .yml/.yaml nor .hcl/.json is still read as HCL.
func TestComposeWithoutHelper(t *testing.T) {
	loader := ComposeLoader
	ComposeLoader = nil
	t.Cleanup(func() { ComposeLoader = loader })
	t.Setenv("PATH", t.TempDir())
	_, _, err := Parse([]File{{Name: "compose.yaml", Data: []byte("services:\n  app:\n    build: .\n")}}, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "compose.yaml: reading compose files needs kiln-compose") {
		t.Errorf("a compose file without kiln-compose: %v", err)
	}
	c, _, err := Parse([]File{{Name: "mybake", Data: []byte("target \"x\" {\n  context = \"ctx\"\n}\n")}}, nil, nil)
	if err != nil || len(c.Targets) != 1 || c.Targets[0].Name != "x" {
		t.Fatalf("an HCL file without an extension, without kiln-compose: %+v, %v", c, err)
	}
}
