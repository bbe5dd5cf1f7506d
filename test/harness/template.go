package harness

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
)

// storeRuntimeDirs are the parts of a store that belong to its running
// processes (temp files, mount points, runc state, cache mounts and their
// locks): a clone never shares them, kiln makes them anew.
var storeRuntimeDirs = map[string]bool{"tmp": true, "mnt": true, "run": true, "cachemounts": true}

// cloneStore makes dst (made if missing) hold everything the store src
// holds, its files hard-linked. Top-level files (the store lock) and the
// runtime directories are left out.
func cloneStore(src, dst string) error {
	if err := os.MkdirAll(dst, 0o700); err != nil {
		return fmt.Errorf("making store %s: %w", dst, err)
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		return fmt.Errorf("cloning store %s: %w", src, err)
	}
	for _, e := range entries {
		if !e.IsDir() || storeRuntimeDirs[e.Name()] {
			continue
		}
		if err := cloneTree(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// templates are the bases made so far, with what their template stores held
// when made: every clone shares their files, so a test that changed one in
// place (instead of replacing it, as kiln's store always does) would change
// every other test's base image.
var templates struct {
	mu    sync.Mutex
	bases []*Base
	print map[*Base]map[string]string
}

func recordTemplate(b *Base) error {
	fp, err := fingerprint(b.store)
	if err != nil {
		return err
	}
	templates.mu.Lock()
	defer templates.mu.Unlock()
	if templates.print == nil {
		templates.print = map[*Base]map[string]string{}
	}
	templates.bases = append(templates.bases, b)
	templates.print[b] = fp
	return nil
}

// checkTemplates reports the first template whose files changed since they
// were made.
func checkTemplates() error {
	templates.mu.Lock()
	defer templates.mu.Unlock()
	for _, b := range templates.bases {
		now, err := fingerprint(b.store)
		if err != nil {
			return err
		}
		if diff := firstDiff(templates.print[b], now); diff != "" {
			return fmt.Errorf("a test changed the shared base image %s in place through a hard link (%s): its stores' files are not to be written", b.Name, diff)
		}
	}
	return nil
}

// fingerprint describes every entry of the store's shared part (type, mode,
// owner, size, mtime, link target) by path.
func fingerprint(store string) (map[string]string, error) {
	fp := map[string]string{}
	err := filepath.WalkDir(store, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(store, p)
		top, _, _ := strings.Cut(rel, string(filepath.Separator))
		if rel != "." && (storeRuntimeDirs[top] || !strings.Contains(rel, string(filepath.Separator)) && !d.IsDir()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		desc := fmt.Sprintf("%v %d:%d %d %d", fi.Mode(), st.Uid, st.Gid, fi.Size(), fi.ModTime().UnixNano())
		if fi.Mode()&fs.ModeSymlink != 0 {
			target, _ := os.Readlink(p)
			desc += " -> " + target
		}
		fp[rel] = desc
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("fingerprinting %s: %w", store, err)
	}
	return fp, nil
}

// firstDiff names the first path (sorted) that differs between a and b.
func firstDiff(a, b map[string]string) string {
	paths := map[string]bool{}
	for p := range a {
		paths[p] = true
	}
	for p := range b {
		paths[p] = true
	}
	sorted := make([]string, 0, len(paths))
	for p := range paths {
		sorted = append(sorted, p)
	}
	sort.Strings(sorted)
	for _, p := range sorted {
		if a[p] != b[p] {
			return fmt.Sprintf("%s: was %q, is %q", p, a[p], b[p])
		}
	}
	return ""
}
