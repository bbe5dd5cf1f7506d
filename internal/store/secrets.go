package store

import (
	"os"
	"path/filepath"
	"strings"
)

// SecretDirPrefix starts the tmpfs directories RUN secrets are written to:
// "kiln-secret-" then the owner (OwnerPrefix), so any kiln can tell a dead
// build's secrets (SIGKILL, a crash) from a live one's and remove them.
const SecretDirPrefix = "kiln-secret-"

// SecretDirBases are where secret directories are made: tmpfs at /dev/shm,
// else the temp dir.
func SecretDirBases() []string {
	return []string{"/dev/shm", os.TempDir()}
}

// SecretDirPattern is the os.MkdirTemp pattern of this process's secret
// directories.
func SecretDirPattern() string { return SecretDirPrefix + OwnerPrefix() }

// reapSecretDirs removes the secret directories of dead kiln processes.
// Names without an owner (older kilns' "kiln-secret-<random>") are left
// alone: nothing tells whether their kiln is alive.
func reapSecretDirs() {
	for _, base := range SecretDirBases() {
		dirs, _ := filepath.Glob(filepath.Join(base, SecretDirPrefix+"*"))
		for _, d := range dirs {
			owner := strings.TrimPrefix(filepath.Base(d), SecretDirPrefix)
			if !strings.Contains(owner, "-") || OwnerAlive(owner) {
				continue
			}
			_ = os.RemoveAll(d)
		}
	}
}
