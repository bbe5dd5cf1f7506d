package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiln-build/kiln/internal/testhook"
)

// Ref is a named image in the store: a tag pointing at a manifest or index.
type Ref struct {
	Name       string             `json:"name"` // canonical, e.g. index.docker.io/library/app:latest
	Descriptor ocispec.Descriptor `json:"descriptor"`
}

// CanonicalName turns "app" into "index.docker.io/library/app:latest" so that
// every spelling of one image names the same record.
func CanonicalName(s string) (string, error) {
	ref, err := name.ParseReference(s, name.WithDefaultTag("latest"))
	if err != nil {
		return "", fmt.Errorf("invalid image name %q: %w", s, err)
	}
	return ref.Name(), nil
}

// FullName is the form Docker and BuildKit write in image annotations:
// docker.io/library/app:latest.
func FullName(canonical string) string {
	if strings.HasPrefix(canonical, name.DefaultRegistry+"/") {
		return "docker.io/" + strings.TrimPrefix(canonical, name.DefaultRegistry+"/")
	}
	return canonical
}

// FamiliarName is the short form users type: app:latest, localhost:5000/x:1.
func FamiliarName(canonical string) string {
	s := strings.TrimPrefix(canonical, name.DefaultRegistry+"/")
	return strings.TrimPrefix(s, "library/")
}

func (s *Store) refPath(canonical string) string {
	return s.path(dirRefs, url.PathEscape(canonical))
}

// Tag points name at desc, replacing what it pointed at.
func (s *Store) Tag(imageName string, desc ocispec.Descriptor) error {
	c, err := CanonicalName(imageName)
	if err != nil {
		return err
	}
	data, err := json.Marshal(Ref{Name: c, Descriptor: desc})
	if err != nil {
		return err
	}
	path := s.refPath(c)
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return nil // already this record: a rebuild that changed nothing writes no file

	}
	return s.writeFileAtomic(path, data)
}

// ErrNotFound is returned for an image name the store does not hold.
var ErrNotFound = errors.New("not found in the store")

// Lookup finds an image by name.
func (s *Store) Lookup(imageName string) (Ref, error) {
	c, err := CanonicalName(imageName)
	if err != nil {
		return Ref{}, err
	}
	data, err := os.ReadFile(s.refPath(c))
	if errors.Is(err, fs.ErrNotExist) {
		return Ref{}, fmt.Errorf("image %s: %w", imageName, ErrNotFound)
	}
	if err != nil {
		return Ref{}, fmt.Errorf("reading image record: %w", err)
	}
	var r Ref
	if err := json.Unmarshal(data, &r); err != nil {
		return Ref{}, fmt.Errorf("reading image record %s: %w", imageName, err)
	}
	return r, nil
}

// Untag removes a name; the blobs stay until prune.
func (s *Store) Untag(imageName string) error {
	c, err := CanonicalName(imageName)
	if err != nil {
		return err
	}
	testhook.Point(testhook.Store)
	if err := os.Remove(s.refPath(c)); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("image %s: %w", imageName, ErrNotFound)
	} else if err != nil {
		return err
	}
	return nil
}

// Refs lists every named image, sorted by name.
func (s *Store) Refs() ([]Ref, error) {
	entries, err := os.ReadDir(s.path(dirRefs))
	if err != nil {
		return nil, fmt.Errorf("listing images: %w", err)
	}
	var refs []Ref
	for _, e := range entries {
		data, err := os.ReadFile(s.path(dirRefs, e.Name()))
		if err != nil {
			continue // removed meanwhile by another process
		}
		var r Ref
		if json.Unmarshal(data, &r) == nil {
			refs = append(refs, r)
		}
	}
	sort.Slice(refs, func(i, j int) bool { return refs[i].Name < refs[j].Name })
	return refs, nil
}
