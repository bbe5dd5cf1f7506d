package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/kiln-build/kiln/internal/image"
	"github.com/kiln-build/kiln/internal/store"
)

func newDuCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "du",
		Short: "Show the store's disk usage by kind",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := openStore(g)
			if err != nil {
				return err
			}
			u, err := s.DiskUsage()
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "blobs (layers, configs, manifests)  %d  %s\n", u.BlobCount, units.HumanSize(float64(u.Blobs)))
			fmt.Fprintf(w, "unpacked layers                     %d  %s\n", u.LayerCount, units.HumanSize(float64(u.Layers)))
			fmt.Fprintf(w, "step cache entries                  %d\n", u.CacheEntries)
			fmt.Fprintf(w, "cache mounts                           %s\n", units.HumanSize(float64(u.CacheMounts)))
			return nil
		},
	}
}

func newPruneCmd(g *globalFlags) *cobra.Command {
	var all bool
	var filters []string
	var keep string
	cmd := &cobra.Command{
		Use:   "prune",
		Short: "Remove build cache that no image name needs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o := store.PruneOptions{All: all}
			for _, f := range filters {
				v, ok := cutPrefix(f, "until=")
				if !ok {
					return usageError{fmt.Errorf("unknown --filter %q (until=DURATION)", f)}
				}
				d, err := time.ParseDuration(v)
				if err != nil {
					return usageError{err}
				}
				o.Until = d
			}
			if keep != "" {
				n, err := units.RAMInBytes(keep)
				if err != nil {
					return usageError{err}
				}
				o.KeepStorage = n
			}
			s, err := openStore(g)
			if err != nil {
				return err
			}
			unlock, err := s.Lock(store.Exclusive)
			if err != nil {
				return err
			}
			defer unlock()
			r, err := s.Prune(o, func() (map[digestT]bool, error) { return image.Reachable(s) })
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "removed %d cache entries, %d blobs, %d layers, %d cache mounts; freed %s\n",
				r.CacheEntries, r.Blobs, r.Layers, r.CacheMounts, units.HumanSize(float64(r.Freed)))
			return nil
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "remove cache mounts too")
	cmd.Flags().StringArrayVar(&filters, "filter", nil, "until=24h: keep cache used more recently")
	cmd.Flags().StringVar(&keep, "keep-storage", "", "stop once the store is under this size (10GB)")
	return cmd
}

func newStoreCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "store", Short: "Check the local store"}
	cmd.AddCommand(&cobra.Command{
		Use:   "verify",
		Short: "Check every blob's digest, every image's blobs, the step cache and the unpacked layers",
		Long: `Check the store without changing it (opening the store removes only what
dead kiln processes left in tmp/ and mnt/, as every command does).

Errors make verify fail: a blob whose content does not match its digest, an
image that lacks a blob, a step-cache record that does not decode or whose
layer blob is corrupt or of another size than recorded.

Warnings are printed but do not fail verify, as builds are not harmed: a
step-cache record whose layer blob is missing (a lookup treats it as a
miss), and an unpacked layer directory (l/<id>) that no image config or
cache record names (nothing uses it; kiln prune removes it).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// Opening creates a store: a mistyped --root must not verify as
			// an empty, consistent one.
			if err := storeExists(g); err != nil {
				return err
			}
			s, err := openStore(g)
			if err != nil {
				return err
			}
			// Shared, as builds: prune cannot remove things while they are checked.
			unlock, err := s.Lock(store.Shared)
			if err != nil {
				return err
			}
			defer unlock()
			problems, err := image.Verify(s)
			if err != nil {
				return err
			}
			return printVerify(cmd.OutOrStdout(), problems)
		},
	})
	return cmd
}

func storeExists(g *globalFlags) error {
	root := g.root
	if root == "" {
		root = store.DefaultRoot()
	}
	if _, err := os.Stat(filepath.Join(root, "blobs")); err != nil {
		return fmt.Errorf("no kiln store at %s", root)
	}
	return nil
}

// printVerify prints verify's findings and fails if one is an error.
func printVerify(w io.Writer, problems []image.Problem) error {
	errs, warns := 0, 0
	for _, p := range problems {
		fmt.Fprintln(w, p)
		if p.Warning {
			warns++
		} else {
			errs++
		}
	}
	switch {
	case errs > 0 && warns > 0:
		return fmt.Errorf("store has %s and %s", plural(errs, "problem"), plural(warns, "warning"))
	case errs > 0:
		return fmt.Errorf("store has %s", plural(errs, "problem"))
	case warns > 0:
		fmt.Fprintf(w, "store is consistent (%s)\n", plural(warns, "warning"))
	default:
		fmt.Fprintln(w, "store is consistent")
	}
	return nil
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func cutPrefix(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && s[:len(prefix)] == prefix {
		return s[len(prefix):], true
	}
	return "", false
}
