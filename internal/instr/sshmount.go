package instr

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"

	"github.com/kiln-build/kiln/internal/cachekey"
	"github.com/kiln-build/kiln/internal/executor"
)

// sshMount is RUN --mount=type=ssh: the agent given with --ssh, forwarded
// through a private socket (so mode, uid and gid apply to it, not to the
// user's own socket) and named by SSH_AUTH_SOCK. Missing and not required:
// skipped, as in BuildKit.
func (e *Worker) sshMount(m *instructions.Mount, target string, n int) (*preparedMount, error) {
	id := m.CacheID
	if id == "" {
		id = "default"
	}
	agent, ok := e.SSH[id]
	if !ok {
		if m.Required {
			return nil, fmt.Errorf("ssh agent %q is required but was not given: add --ssh %s", id, id)
		}
		return nil, nil
	}
	if target == "" {
		target = fmt.Sprintf("/run/buildkit/ssh_agent.%d", n)
	}
	mode, uid, gid := uint64(0o600), 0, 0
	if m.Mode != nil {
		mode = *m.Mode
	}
	if m.UID != nil {
		uid = int(*m.UID)
	}
	if m.GID != nil {
		gid = int(*m.GID)
	}
	return &preparedMount{
		key: cachekey.Mount{Type: "ssh", Target: target, Options: []string{"id=" + id}},
		env: []string{"SSH_AUTH_SOCK=" + target},
		setup: func(ctx context.Context) (*executor.Mount, func(), error) {
			sock, stop, err := forwardAgent(ctx, agent, os.FileMode(mode), uid, gid)
			if err != nil {
				return nil, nil, err
			}
			return &executor.Mount{Type: "bind", Source: sock, Destination: target, Options: []string{"rbind"}}, stop, nil
		},
	}, nil
}

// forwardAgent listens on a new socket and relays each connection to the agent.
func forwardAgent(ctx context.Context, agent string, mode os.FileMode, uid, gid int) (string, func(), error) {
	dir, err := os.MkdirTemp("", "kiln-ssh-")
	if err != nil {
		return "", nil, err
	}
	sock := filepath.Join(dir, "agent.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("forwarding the ssh agent: %w", err)
	}
	stop := func() { l.Close(); os.RemoveAll(dir) }
	// The RUN user must own the socket to connect, as with BuildKit's
	// uid/gid/mode options: a socket it cannot use fails the step here.
	if err := os.Chown(sock, uid, gid); err != nil {
		stop()
		return "", nil, fmt.Errorf("forwarding the ssh agent: %w", err)
	}
	if err := os.Chmod(sock, mode); err != nil {
		stop()
		return "", nil, fmt.Errorf("forwarding the ssh agent: %w", err)
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go relay(c, agent)
		}
	}()
	return sock, stop, nil
}

func relay(c net.Conn, agent string) {
	defer c.Close()
	a, err := net.Dial("unix", agent)
	if err != nil {
		return
	}
	defer a.Close()
	go io.Copy(a, c)
	io.Copy(c, a)
}
