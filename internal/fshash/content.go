package fshash

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"
)

// testHookReadFile, if set, is called each time a file's content is read.
var testHookReadFile func(abs string)

// now is the clock for racy-clean checks; tests move it.
var now = time.Now

// hashContents fills in the content digest of every regular file of the
// match at base, reading in parallel the ones the cache cannot vouch for.
func hashContents(ctx context.Context, base string, entries []entry, opts Options) error {
	cache := opts.Cache
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i := range entries {
		en := &entries[i]
		if en.typ != typeFile {
			continue
		}
		abs := filepath.Join(base, filepath.FromSlash(en.rel))
		if sum, ok := cache.lookup(abs, en.stat); ok {
			en.sum = sum
			continue
		}
		g.Go(func() error {
			if err := ctx.Err(); err != nil {
				return err
			}
			sum, key, err := hashFile(abs)
			if err != nil {
				return err
			}
			key.mapOwners(opts.Owners)
			en.sum = sum
			cache.store(abs, key, sum, now())
			return nil
		})
	}
	return g.Wait()
}

// hashFile returns the sha256 of a file and the stat of the descriptor it
// read, so the cache records the file that was actually hashed.
func hashFile(abs string) ([sha256.Size]byte, statKey, error) {
	var sum [sha256.Size]byte
	if testHookReadFile != nil {
		testHookReadFile(abs)
	}
	// O_NOFOLLOW: the path was a regular file when walked; never let a swap
	// to a symlink lead the read elsewhere.
	f, err := os.OpenFile(abs, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return sum, statKey{}, fmt.Errorf("hashing file: %w", err)
	}
	defer f.Close()
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		return sum, statKey{}, fmt.Errorf("hashing file %s: %w", abs, err)
	}
	h := sha256.New()
	buf := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(buf)
	if _, err := io.CopyBuffer(h, struct{ io.Reader }{f}, *buf); err != nil { // plain Reader: use buf
		return sum, statKey{}, fmt.Errorf("hashing file %s: %w", abs, err)
	}
	h.Sum(sum[:0])
	return sum, keyOf(&st), nil
}

// copyBufs reuses read buffers across files: a 50,000-file context would
// otherwise allocate one per file.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}
