package buildctx

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// MaxFileSize bounds the Dockerfile and ignore files kiln loads into memory:
// BuildKit's limit (the gRPC message size, 16 MiB), with its error.
const MaxFileSize = 16 << 20

// FileTooLargeError is BuildKit's "exceeds maximum allowed size".
type FileTooLargeError struct{ Name string }

func (e *FileTooLargeError) Error() string {
	return fmt.Sprintf("%s exceeds maximum allowed size of %d bytes", e.Name, MaxFileSize)
}

// ReadDockerfile reads the Dockerfile at path confined to its directory, as
// BuildKit reads it from the "dockerfile" local (the Dockerfile's directory,
// symlinks followed only inside it): a symlink to /proc/self/environ or
// /dev/zero is refused, a symlink to a file next to it is followed. A -f
// outside the context is allowed, as in buildx: it is the user's explicit
// path, still held to its directory and the size limit. name is the
// Dockerfile as the user gave it, for errors.
func ReadDockerfile(path, name string) ([]byte, error) {
	data, err := ReadConfined(filepath.Dir(path), filepath.Base(path), name)
	if err != nil {
		return nil, fmt.Errorf("loading Dockerfile: %w", err)
	}
	return data, nil
}

// ReadConfined reads the regular file rel inside dir, following symlinks
// only while they stay inside dir, and at most MaxFileSize bytes. It never
// blocks on a FIFO and never reads a device. name is rel as the user knows
// it, for errors.
func ReadConfined(dir, rel, name string) ([]byte, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, renamed(err, name)
	}
	defer root.Close()
	// O_NONBLOCK: opening a FIFO for reading must not wait for a writer.
	f, err := root.OpenFile(rel, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		if isEscape(err) {
			return nil, fmt.Errorf("%s is a symlink that leaves %s: refused", name, dir)
		}
		return nil, renamed(err, name)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, renamed(err, name)
	}
	switch {
	case fi.IsDir():
		return nil, fmt.Errorf("%s is a directory", name)
	case !fi.Mode().IsRegular():
		return nil, fmt.Errorf("%s is not a regular file (%s): refused", name, fi.Mode().Type())
	case fi.Size() > MaxFileSize:
		return nil, &FileTooLargeError{Name: name}
	}
	// The size is checked again on what is read: the file may grow.
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, renamed(err, name)
	}
	if len(data) > MaxFileSize {
		return nil, &FileTooLargeError{Name: name}
	}
	return data, nil
}

// isEscape reports os.Root's refusal of a path (or symlink) leaving the root.
func isEscape(err error) bool {
	var pe *fs.PathError
	return errors.As(err, &pe) && pe.Err != nil && pe.Err.Error() == "path escapes from parent"
}

// renamed names the file as the user gave it, not as kiln resolved it.
func renamed(err error, name string) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return &fs.PathError{Op: "open", Path: name, Err: pe.Err}
	}
	return err
}
