package instr

import (
	"bufio"
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"
)

// The forwarded socket relays to the agent and carries the requested mode.
func TestForwardAgent(t *testing.T) {
	agentSock := filepath.Join(t.TempDir(), "agent")
	l, err := net.Listen("unix", agentSock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		line, _ := bufio.NewReader(c).ReadString('\n')
		c.Write([]byte("agent says " + line))
		c.Close()
	}()
	sock, stop, err := forwardAgent(context.Background(), agentSock, 0o600, os.Getuid(), os.Getgid())
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if fi, err := os.Stat(sock); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode: %v %v", fi.Mode(), err)
	}
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("hello\n"))
	got, _ := bufio.NewReader(c).ReadString('\n')
	if got != "agent says hello\n" {
		t.Fatalf("relayed %q", got)
	}
}
