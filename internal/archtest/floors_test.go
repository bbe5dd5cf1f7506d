package archtest

import (
	"bufio"
	"go/build"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/kiln-build/kiln/"

// root is the repository, two levels up from this package.
var root = filepath.Join("..", "..")

// row is a package row of the architecture's table: "| 5 | `internal/lint` | …";
// "–" floors (test fixtures) are not checked.
var row = regexp.MustCompile("^\\| (\\d+) \\| (`[^|]+`) \\|")

// floors reads the table of docs/architecture.md: package → floor.
func floors(t *testing.T) map[string]int {
	t.Helper()
	f, err := os.Open(filepath.Join(root, "docs", "architecture.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := row.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		floor, _ := strconv.Atoi(m[1])
		for _, name := range strings.Split(m[2], ",") {
			out[strings.Trim(strings.TrimSpace(name), "`")] = floor
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// imports is every package of the module under internal/ and cmd/ (build
// constraints applied, tests left out), with the module's packages it
// imports, both relative to the module.
func imports(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, top := range []string{"internal", "cmd"} {
		err := filepath.WalkDir(filepath.Join(root, top), func(path string, d os.DirEntry, err error) error {
			if err != nil || !d.IsDir() {
				return err
			}
			if d.Name() == "testdata" {
				return filepath.SkipDir
			}
			pkg, err := build.ImportDir(path, 0)
			if err != nil {
				if _, none := err.(*build.NoGoError); none {
					return nil
				}
				return err
			}
			rel, _ := filepath.Rel(root, path)
			var own []string
			for _, imp := range pkg.Imports {
				if after, ok := strings.CutPrefix(imp, module); ok {
					own = append(own, after)
				}
			}
			out[filepath.ToSlash(rel)] = own
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// Every package is on a floor, and imports only packages on lower floors:
// no import climbs back up.
func TestImportsFollowTheFloors(t *testing.T) {
	fl := floors(t)
	pkgs := imports(t)
	names := make([]string, 0, len(pkgs))
	for p := range pkgs {
		names = append(names, p)
	}
	sort.Strings(names)
	for _, p := range names {
		if p == "internal/archtest" || p == "internal/testutil" || strings.HasPrefix(p, "internal/testutil/") {
			continue // this test and the fixtures: no code on the build's path
		}
		floor, ok := fl[p]
		if !ok {
			t.Errorf("%s is not in docs/architecture.md's table of packages", p)
			continue
		}
		for _, imp := range pkgs[p] {
			if f, ok := fl[imp]; ok && f >= floor {
				t.Errorf("%s (floor %d) imports %s (floor %d): imports go down only", p, floor, imp, f)
			}
		}
	}
	for p := range fl {
		if _, ok := pkgs[p]; !ok {
			t.Errorf("docs/architecture.md lists %s, which does not exist", p)
		}
	}
}

// The rules the floors alone do not say (docs/architecture.md, Rules).
func TestImportRules(t *testing.T) {
	pkgs := imports(t)
	forbidden := map[string][]string{
		// Pure: nothing that performs I/O.
		"internal/convert": {"internal/store", "internal/snapshot", "internal/executor", "internal/registry", "internal/layer", "internal/buildctx"},
		// The solver knows ops only through its Op interface.
		"internal/solver": {"internal/instr", "internal/convert", "internal/plan"},
		// Exporters get a narrow session, never the build's worker.
		"internal/exporter": {"internal/instr", "internal/session"},
	}
	for p, bad := range forbidden {
		for _, imp := range pkgs[p] {
			for _, b := range bad {
				if imp == b {
					t.Errorf("%s imports %s", p, b)
				}
			}
		}
	}
}
