package differential

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// pendingFile lists the cases where kiln still diverges, as work to do:
// "case | cause | the divergence in one line". DIVERGENCES.md groups them
// by cause.
const pendingFile = "pending.txt"

// allowlistFile lists divergences kept on purpose: "case | reason".
const allowlistFile = "allowlist.txt"

// maxAllowed bounds the allowlist (issue 15: at most 10 documented entries).
const maxAllowed = 10

type listEntry struct {
	cause string // pending only
	text  string
}

func readList(t *testing.T, path string) map[string]listEntry {
	t.Helper()
	want := 3
	if path == allowlistFile {
		want = 2
	}
	return readListFile(t, path, want)
}

// readListFile reads lines of want fields separated by |, keyed by the first.
func readListFile(t *testing.T, path string, want int) map[string]listEntry {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	list := map[string]listEntry{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		parts := strings.SplitN(line, "|", want)
		for i := range parts {
			parts[i] = strings.TrimSpace(parts[i])
		}
		if len(parts) != want || parts[len(parts)-1] == "" {
			t.Fatalf("%s:%d: want %d fields separated by |: %q", path, n, want, line)
		}
		if _, dup := list[parts[0]]; dup {
			t.Fatalf("%s:%d: %s is listed twice", path, n, parts[0])
		}
		e := listEntry{text: parts[len(parts)-1]}
		if want == 3 {
			e.cause = parts[1]
		}
		list[parts[0]] = e
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return list
}

// TestLists keeps the lists true without building anything: every entry
// names a case, no case is on both, the allowlist stays short, and
// DIVERGENCES.md names every pending case under its cause.
func TestLists(t *testing.T) {
	pending, allowed := readList(t, pendingFile), readList(t, allowlistFile)
	if len(allowed) > maxAllowed {
		t.Errorf("%s has %d entries, at most %d", allowlistFile, len(allowed), maxAllowed)
	}
	doc, err := os.ReadFile("DIVERGENCES.md")
	if err != nil {
		t.Fatal(err)
	}
	for name, e := range pending {
		if _, err := os.Stat(filepath.Join(casesDir, name, "Dockerfile")); err != nil {
			t.Errorf("%s: %s is not a case", pendingFile, name)
		}
		if _, ok := allowed[name]; ok {
			t.Errorf("%s is both pending and allowed", name)
		}
		if !strings.Contains(string(doc), "`"+name+"`") || !strings.Contains(string(doc), "## "+e.cause) {
			t.Errorf("DIVERGENCES.md must name `%s` under \"## %s\"", name, e.cause)
		}
	}
	for name := range allowed {
		if _, err := os.Stat(filepath.Join(casesDir, name, "Dockerfile")); err != nil {
			t.Errorf("%s: %s is not a case", allowlistFile, name)
		}
	}
	for _, c := range loadCases(t) {
		if _, err := os.Stat(filepath.Join(goldenDir, c.name+".json")); err != nil {
			t.Errorf("case %s has no golden file", c.name)
		}
	}
}
