package instr

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"time"

	digest "github.com/opencontainers/go-digest"
)

// downloaded is ADD's remote sources fetched into a private directory.
type downloaded struct {
	dir     string
	names   []string
	sums    []digest.Digest // each URL's content, in order
	digest  digest.Digest   // over every file's name and content
	release func()
}

// download fetches each URL into a file named after the URL path (mode
// 0600 and the server's Last-Modified time, as BuildKit sets them).
func (e *Worker) download(ctx context.Context, urls []string, checksum string) (*downloaded, error) {
	dir, err := e.Store.TempDir("add")
	if err != nil {
		return nil, err
	}
	dl := &downloaded{dir: dir, release: func() { os.RemoveAll(dir) }}
	all := sha256.New()
	for _, u := range urls {
		name, sum, err := fetch(ctx, u, dir)
		if err != nil {
			dl.release()
			return nil, fmt.Errorf("ADD %s: %w", u, err)
		}
		if checksum != "" && sum.String() != checksum {
			dl.release()
			return nil, fmt.Errorf("ADD %s: checksum mismatch: got %s, want %s", u, sum, checksum)
		}
		fmt.Fprintf(all, "%d:%s%s", len(name), name, sum)
		dl.names, dl.sums = append(dl.names, name), append(dl.sums, sum)
	}
	dl.digest = digest.NewDigestFromEncoded(digest.SHA256, hex.EncodeToString(all.Sum(nil)))
	return dl, nil
}

func fetch(ctx context.Context, rawURL, dir string) (string, digest.Digest, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", "", err
	}
	name := path.Base(u.Path)
	if name == "." || name == "/" || name == "" {
		name = "__unnamed__"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return "", "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", "", fmt.Errorf("server answered %s", resp.Status)
	}
	file := filepath.Join(dir, name)
	f, err := os.OpenFile(file, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return "", "", err
	}
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(f, h), resp.Body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", "", fmt.Errorf("downloading: %w", err)
	}
	if lm, err := http.ParseTime(resp.Header.Get("Last-Modified")); err == nil {
		_ = os.Chtimes(file, time.Now(), lm)
	}
	return name, digest.NewDigestFromEncoded(digest.SHA256, hex.EncodeToString(h.Sum(nil))), nil
}
