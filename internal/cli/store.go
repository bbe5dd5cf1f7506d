package cli

import (
	"fmt"
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
		Short: "Check every blob's digest and every image's blobs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := openStore(g)
			if err != nil {
				return err
			}
			problems, err := image.Verify(s)
			if err != nil {
				return err
			}
			for _, p := range problems {
				fmt.Fprintln(cmd.OutOrStdout(), p)
			}
			if len(problems) > 0 {
				return fmt.Errorf("store has %d problems", len(problems))
			}
			fmt.Fprintln(cmd.OutOrStdout(), "store is consistent")
			return nil
		},
	})
	return cmd
}

func cutPrefix(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && s[:len(prefix)] == prefix {
		return s[len(prefix):], true
	}
	return "", false
}
