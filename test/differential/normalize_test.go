package differential

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/kiln-build/kiln/test/harness"
)

// Result is one build, normalized: what a case compares, as its golden
// file records it.
type Result struct {
	Input  string  `json:"input"`           // the case's inputDigest when the oracle ran
	Fails  bool    `json:"fails,omitempty"` // the build failed
	Error  string  `json:"error,omitempty"` // the oracle's error, to read (builders word errors differently)
	Images []Image `json:"images,omitempty"`
}

// Image is one platform's image of a build.
type Image struct {
	Platform string         `json:"platform"`
	Config   map[string]any `json:"config"`  // the compared runtime config fields
	History  []string       `json:"history"` // created_by, "(empty)" marking empty layers
	Layers   []string       `json:"layers"`  // layer media types
	// Base is set when the file system is described against the busybox
	// test base: Files then lists only what differs from it, Removed what
	// of it is gone. Otherwise Files lists every path.
	Base    string   `json:"base,omitempty"`
	Files   []string `json:"files"`
	Removed []string `json:"removed,omitempty"`
}

// comparedConfig are the runtime config fields the suite compares.
var comparedConfig = []string{"Env", "Cmd", "Entrypoint", "WorkingDir", "User", "ExposedPorts", "Volumes",
	"Labels", "StopSignal", "Healthcheck", "OnBuild", "Shell", "ArgsEscaped"}

// injectedEnv are prefixes of what BuildKit injects into RUN's environment
// (its OTEL trace context); left out wherever an environment is compared.
var injectedEnv = []string{"OTEL_", "TRACEPARENT="}

// normalize reads an OCI tar and describes each image it holds.
func normalize(t *testing.T, tarPath string, base *baseSet) []Image {
	t.Helper()
	a := harness.ReadArchive(t, tarPath)
	var out []Image
	for _, img := range a.Images {
		if img.Descriptor.Annotations["vnd.docker.reference.type"] == "attestation-manifest" {
			continue // buildx's provenance, not an image
		}
		out = append(out, describe(t, img, base))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Platform < out[j].Platform })
	return out
}

func describe(t *testing.T, img *harness.Image, base *baseSet) Image {
	t.Helper()
	d := Image{Platform: img.Platform, Config: map[string]any{}, History: []string{}, Layers: []string{}}
	if img.Config.Variant != "" {
		d.Platform += "/" + img.Config.Variant
	}
	cfg, _ := img.RawConfig["config"].(map[string]any)
	for _, k := range comparedConfig {
		if v, ok := cfg[k]; ok && !isEmpty(v) {
			d.Config[k] = v
		}
	}
	if env, ok := d.Config["Env"].([]any); ok {
		d.Config["Env"] = dropInjected(env)
	}
	if hist, ok := img.RawConfig["history"].([]any); ok {
		for _, h := range hist {
			m, _ := h.(map[string]any)
			s, _ := m["created_by"].(string)
			if e, _ := m["empty_layer"].(bool); e {
				s += " (empty)"
			}
			d.History = append(d.History, s)
		}
	}
	for _, l := range img.Manifest.Layers {
		d.Layers = append(d.Layers, l.MediaType)
	}
	d.Base, d.Files, d.Removed = describeFiles(img.Files(t), base)
	return d
}

// isEmpty: an absent field and an empty one mean the same to a runtime
// (BuildKit writes "WorkingDir": "" where others leave it out).
func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	case bool:
		return !x
	}
	return false
}

func dropInjected(env []any) []any {
	out := []any{}
	for _, e := range env {
		s, _ := e.(string)
		keep := true
		for _, p := range injectedEnv {
			if strings.HasPrefix(s, p) {
				keep = false
			}
		}
		if keep {
			out = append(out, e)
		}
	}
	return out
}

// describeFiles lists the final file system. When most of the busybox
// base is there unchanged, only the differences are listed (the base's
// content, its busybox applet list, comes from this machine's
// busybox-static, not from the case). A regular file whose content is a
// base file's names that file instead of its digest, for the same reason.
func describeFiles(files map[string]harness.File, bs *baseSet) (string, []string, []string) {
	base := bs.files
	same := 0
	for p, f := range files {
		if b, ok := base[p]; ok && fileLine(b, nil) == fileLine(f, nil) {
			same++
		}
	}
	useBase := len(base) > 0 && same*2 > len(base)
	var lines, removed []string
	for p, f := range files {
		if useBase {
			if b, ok := base[p]; ok && fileLine(b, nil) == fileLine(f, nil) {
				continue
			}
		}
		lines = append(lines, fileLine(f, bs.content))
	}
	if useBase {
		for p := range base {
			if _, ok := files[p]; !ok {
				removed = append(removed, p)
			}
		}
	}
	sort.Strings(lines)
	sort.Strings(removed)
	if lines == nil {
		lines = []string{}
	}
	if useBase {
		return "busybox:test", lines, removed
	}
	return "", lines, removed
}

// fileLine is one path in one line. Left out: times (neither builder
// promises them) and whether a path is a hard link of another (a layer
// encoding: each differ decides when to write a link; both paths' content
// and metadata are compared). content names the base files by digest.
func fileLine(f harness.File, content map[string]string) string {
	s := fmt.Sprintf("%s %s %04o %d:%d", f.Path, f.Type, f.Mode, f.UID, f.GID)
	switch f.Type {
	case "file":
		if label, ok := content[string(f.Digest)]; ok {
			s += " =" + label
		} else {
			s += fmt.Sprintf(" %dB %s", f.Size, f.Digest)
		}
	case "symlink":
		s += " -> " + f.Link
	case "char", "block":
		s += fmt.Sprintf(" %d:%d", f.Major, f.Minor)
	}
	keys := make([]string, 0, len(f.Xattrs))
	for k := range f.Xattrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		s += fmt.Sprintf(" %s=%q", k, f.Xattrs[k])
	}
	return s
}

// baseSet is what file systems are described against: busybox:test's
// files, and the content of the test bases' files by digest ("base:/bin/busybox",
// "multi-arm64:/bin/busybox" for the arm64 side of busybox:multi), which
// this machine's packages decide.
type baseSet struct {
	files   map[string]harness.File
	content map[string]string
}

var bases struct {
	once sync.Once
	set  *baseSet
}

// testBases reads the test base images once.
func testBases(t *testing.T) *baseSet {
	t.Helper()
	bases.once.Do(func() {
		bs := &baseSet{files: harness.ReadImage(t, harness.Busybox.OCITar(t)).Files(t), content: map[string]string{}}
		addContent(bs.content, "base:", bs.files)
		if harness.Missing("qemu-aarch64-static", "dpkg-deb") == "" {
			if _, why := harness.Arm64BusyboxDeb(t); why == "" {
				arm := harness.ReadArchive(t, harness.BusyboxMulti.OCITar(t)).Image(t, "linux/arm64")
				addContent(bs.content, "multi-arm64:", arm.Files(t))
			}
		}
		bases.set = bs
	})
	if bases.set == nil {
		t.Fatal("reading the test bases failed (see the first test)")
	}
	return bases.set
}

// addContent names each non-empty file's digest by its smallest path, a
// name already given (an earlier base) staying.
func addContent(content map[string]string, prefix string, files map[string]harness.File) {
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		if f := files[p]; f.Type == "file" && f.Size > 0 {
			if _, ok := content[string(f.Digest)]; !ok {
				content[string(f.Digest)] = prefix + p
			}
		}
	}
}

// diffResults lists how got differs from want, one line each ("" when
// they match). Input and Error are not compared.
func diffResults(want, got Result) []string {
	if want.Fails || got.Fails {
		switch {
		case want.Fails && got.Fails:
			return nil
		case want.Fails:
			return []string{"BuildKit fails (" + firstLine(want.Error) + "), kiln builds"}
		default:
			return []string{"kiln fails (" + firstLine(got.Error) + "), BuildKit builds"}
		}
	}
	if len(want.Images) != len(got.Images) {
		return []string{fmt.Sprintf("images: BuildKit %s, kiln %s", platforms(want.Images), platforms(got.Images))}
	}
	var diffs []string
	for i := range want.Images {
		w, g := want.Images[i], got.Images[i]
		p := w.Platform
		if w.Platform != g.Platform {
			diffs = append(diffs, fmt.Sprintf("platform: BuildKit %s, kiln %s", w.Platform, g.Platform))
		}
		for _, k := range comparedConfig {
			if !reflect.DeepEqual(jsonOf(w.Config[k]), jsonOf(g.Config[k])) {
				diffs = append(diffs, fmt.Sprintf("%s config %s: BuildKit %s, kiln %s", p, k, jsonOf(w.Config[k]), jsonOf(g.Config[k])))
			}
		}
		diffs = append(diffs, listDiff(p+" history", w.History, g.History, false)...)
		diffs = append(diffs, listDiff(p+" layer media types", w.Layers, g.Layers, false)...)
		if w.Base != g.Base {
			diffs = append(diffs, fmt.Sprintf("%s: BuildKit's file system is %q-based, kiln's %q", p, w.Base, g.Base))
		}
		diffs = append(diffs, listDiff(p+" files", w.Files, g.Files, true)...)
		diffs = append(diffs, listDiff(p+" removed base files", w.Removed, g.Removed, true)...)
	}
	return diffs
}

func jsonOf(v any) string {
	if v == nil {
		return "(none)"
	}
	data, _ := json.Marshal(v)
	return string(data)
}

// listDiff compares two lists: as sets of lines (sorted file lists) or in
// order (history, layers).
func listDiff(what string, want, got []string, set bool) []string {
	if !set {
		if reflect.DeepEqual(want, got) {
			return nil
		}
		if len(want) != len(got) {
			return []string{fmt.Sprintf("%s: %d entries, kiln %d:\n    BuildKit %q\n    kiln     %q", what, len(want), len(got), want, got)}
		}
		var diffs []string
		for i := range want {
			if want[i] != got[i] {
				diffs = append(diffs, fmt.Sprintf("%s[%d]: BuildKit %q, kiln %q", what, i, want[i], got[i]))
			}
		}
		return diffs
	}
	in := map[string]int{}
	for _, w := range want {
		in[w]++
	}
	for _, g := range got {
		in[g]--
	}
	var diffs []string
	for _, w := range want {
		if in[w] > 0 {
			diffs = append(diffs, fmt.Sprintf("%s: BuildKit only: %s", what, w))
		}
	}
	for _, g := range got {
		if in[g] < 0 {
			diffs = append(diffs, fmt.Sprintf("%s: kiln only:     %s", what, g))
		}
	}
	return diffs
}

func platforms(imgs []Image) string {
	var ps []string
	for _, i := range imgs {
		ps = append(ps, i.Platform)
	}
	return "[" + strings.Join(ps, " ") + "]"
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}
