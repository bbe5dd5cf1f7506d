package build

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiln-build/kiln/internal/image"
	"github.com/kiln-build/kiln/internal/instr"
	"github.com/kiln-build/kiln/internal/registry"
	"github.com/kiln-build/kiln/internal/store"
	"github.com/kiln-build/kiln/internal/testhook"
)

func export(ctx context.Context, env *instr.Env, client *registry.Client, out Output, tags []string, b built) error {
	v := env.Progress.Start(fmt.Sprintf("exporting to %s %s", out.Type, out.Dest))
	err := exportOne(ctx, env, client, out, tags, b)
	v.Done(err)
	return err
}

func exportOne(ctx context.Context, env *instr.Env, client *registry.Client, out Output, tags []string, b built) error {
	desc := b.desc
	switch out.Type {
	case "oci":
		named := []image.Named{{Name: nameOf(tags, out.Attrs), Descriptor: desc}}
		if out.Attrs["tar"] == "false" {
			return image.WriteOCIDir(out.Dest, env.Store, named)
		}
		return writeFileAtomic(out.Dest, func(f *os.File) error {
			return image.WriteOCITar(f, env.Store, named, env.Epoch)
		})
	case "docker":
		named := image.Named{Name: nameOf(tags, out.Attrs), Descriptor: desc}
		return writeFileAtomic(out.Dest, func(f *os.File) error {
			return image.WriteDockerTar(f, env.Store, named, dockerTags(tags, out.Attrs), env.Epoch)
		})
	case "local":
		return exportLocal(ctx, env, b, out.Dest)
	case "tar":
		if len(b.images) > 1 {
			return fmt.Errorf("output type=tar with several platforms is not supported yet; use type=local or type=oci")
		}
		return exportFSTar(ctx, env, b.images[0], out.Dest)
	case "image":
		names := tags
		if n := out.Attrs["name"]; n != "" {
			names = strings.Split(n, ",")
		}
		for _, n := range names {
			if err := env.Store.Tag(n, desc); err != nil {
				return err
			}
			if out.Attrs["push"] == "true" {
				if err := client.Push(ctx, env.Store, desc, n); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return fmt.Errorf("output type=%s is not supported yet", out.Type)
}

// writeFileAtomic writes an export next to its destination and renames it
// into place, so an interrupted build never leaves a half-written file. It
// does not fsync: that doubled the time of a 1 GiB export (bench row 7b),
// and an export lost to a power cut is rebuilt from the store in seconds.
func writeFileAtomic(dest string, write func(*os.File) error) error {
	if dest == "-" {
		return write(os.Stdout)
	}
	prefix := "." + filepath.Base(dest) + ".tmp-"
	removeDeadTemps(filepath.Dir(dest), prefix)
	f, err := os.CreateTemp(filepath.Dir(dest), prefix+store.OwnerPrefix())
	if err != nil {
		return fmt.Errorf("creating %s: %w", dest, err)
	}
	defer os.Remove(f.Name())
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", dest, err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return err
	}
	testhook.Point(testhook.Export)
	return os.Rename(f.Name(), dest)
}

// removeDeadTemps removes what a killed build left while exporting to the
// same destination: temp files whose owner process is gone.
func removeDeadTemps(dir, prefix string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if rest, ok := strings.CutPrefix(e.Name(), prefix); ok && !store.OwnerAlive(rest) {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

func push(ctx context.Context, env *instr.Env, client *registry.Client, desc ocispec.Descriptor, name string) error {
	v := env.Progress.Start("pushing " + name)
	err := client.Push(registry.WithProgress(ctx, counterOf(v)), env.Store, desc, name)
	v.Done(err)
	return err
}

// dockerTags are the RepoTags of a docker tar: the image names, short form.
func dockerTags(tags []string, attrs map[string]string) []string {
	names := tags
	if n := attrs["name"]; n != "" {
		names = strings.Split(n, ",")
	}
	var out []string
	for _, n := range names {
		if c, err := store.CanonicalName(n); err == nil {
			out = append(out, store.FamiliarName(c))
		}
	}
	return out
}
