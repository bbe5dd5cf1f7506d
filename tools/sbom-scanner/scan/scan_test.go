package scan

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

type spdxDoc struct {
	SPDXVersion string `json:"spdxVersion"`
	Name        string `json:"name"`
	Creation    struct {
		Creators []string `json:"creators"`
	} `json:"creationInfo"`
	Packages []struct {
		Name    string `json:"name"`
		Version string `json:"versionInfo"`
		Refs    []struct {
			Type    string `json:"referenceType"`
			Locator string `json:"referenceLocator"`
		} `json:"externalRefs"`
	} `json:"packages"`
}

func packages(t *testing.T, doc []byte) (spdxDoc, map[string]string) {
	t.Helper()
	var d spdxDoc
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatalf("not SPDX JSON: %v", err)
	}
	purls := map[string]string{}
	for _, p := range d.Packages {
		for _, r := range p.Refs {
			if r.Type == "purl" {
				purls[p.Name+"@"+p.Version] = r.Locator
			}
		}
	}
	return d, purls
}

// One scan of a small image finds a package of every kind: apk and dpkg
// databases, an npm lockfile and node_modules, a Go binary's build
// information, Python's site-packages; and the dpkg database behind an
// absolute symlink is the image's, not the host's.
func TestDirFindsEveryEcosystem(t *testing.T) {
	root := t.TempDir()
	writeRootfs(t, root)
	doc, err := Dir(context.Background(), root, Options{Name: "sbom"})
	if err != nil {
		t.Fatal(err)
	}
	d, purls := packages(t, doc)
	if d.SPDXVersion != "SPDX-2.3" || d.Name != "sbom" {
		t.Errorf("document %s named %q", d.SPDXVersion, d.Name)
	}
	want := map[string]string{
		"kiln-fixture-apk@1.2.3-r0":                  "pkg:apk/debian/kiln-fixture-apk@1.2.3-r0?arch=x86_64&distro=debian-11",
		"kiln-fixture-dpkg@4.5.6-1":                  "pkg:deb/debian/kiln-fixture-dpkg@4.5.6-1?arch=amd64&distro=debian-11",
		"left-pad@1.3.0":                             "pkg:npm/left-pad@1.3.0",
		"is-odd@3.0.1":                               "pkg:npm/is-odd@3.0.1",
		"lodash.kiln@4.17.21":                        "pkg:npm/lodash.kiln@4.17.21",
		"github.com/opencontainers/go-digest@v1.0.0": "pkg:golang/github.com/opencontainers/go-digest@v1.0.0",
		"requests@2.31.0":                            "pkg:pypi/requests@2.31.0",
	}
	var missing []string
	for pkg, purl := range want {
		if got, ok := purls[pkg]; !ok || got != purl {
			missing = append(missing, pkg+" ("+purl+", got "+got+")")
		}
	}
	if len(missing) > 0 {
		var all []string
		for p := range purls {
			all = append(all, p)
		}
		sort.Strings(all)
		t.Errorf("missing %s\nfound %s", strings.Join(missing, ", "), strings.Join(all, ", "))
	}
	if !strings.Contains(strings.Join(d.Creation.Creators, " "), "Tool: syft-") {
		t.Errorf("creators %v do not name syft", d.Creation.Creators)
	}
}

// BuildKit v0.34.2 running this scanner as generator= over the same
// synthetic image (testdata/README.md) listed these packages besides Go
// modules (whose Go binary differs): the in-process scan lists the same.
func TestDirMatchesOracle(t *testing.T) {
	root := t.TempDir()
	writeRootfs(t, root)
	doc, err := Dir(context.Background(), root, Options{Name: "sbom"})
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Packages []struct {
			Name    string `json:"name"`
			Version string `json:"versionInfo"`
			Refs    []struct {
				Type    string `json:"referenceType"`
				Locator string `json:"referenceLocator"`
			} `json:"externalRefs"`
		} `json:"packages"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, p := range d.Packages {
		purl, version := "-", p.Version
		for _, r := range p.Refs {
			if r.Type == "purl" {
				purl = r.Locator
			}
		}
		if version == "" {
			version = "None"
		}
		if !strings.HasPrefix(purl, "pkg:golang/") {
			seen[p.Name+" "+version+" "+purl] = true
		}
	}
	var got []string
	for l := range seen {
		got = append(got, l)
	}
	sort.Strings(got)
	want, err := os.ReadFile(filepath.Join("testdata", "oracle-packages.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if g := strings.Join(got, "\n") + "\n"; g != string(want) {
		t.Errorf("packages\n%s\nwant the oracle's\n%s", g, want)
	}
}
