package store

import (
	"fmt"
	"os"
	"syscall"
)

// Lock modes. Builds and other readers hold the store lock shared; prune
// holds it exclusive, so it never removes what a running build uses.
const (
	Shared    = syscall.LOCK_SH
	Exclusive = syscall.LOCK_EX
)

// Lock takes the store-wide lock; the returned func releases it.
func (s *Store) Lock(mode int) (func(), error) {
	f, err := os.OpenFile(s.path("lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening store lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), mode); err != nil {
		f.Close()
		return nil, fmt.Errorf("locking store: %w", err)
	}
	return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}
