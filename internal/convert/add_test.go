package convert

import (
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

func TestAdd(t *testing.T) {
	s := newState()
	c := lastCommand(t, s, "WORKDIR /srv\nADD --chown=1:1 app.tar.gz https://example.com/x.txt ./\n").(*instructions.AddCommand)
	cp, err := AddOf(s, c)
	if err != nil {
		t.Fatal(err)
	}
	if cp.Dest != "/srv/" || !cp.FromContext || cp.Chown != "1:1" || cp.Link {
		t.Errorf("add %+v", cp)
	}
	if cp.Name != "ADD app.tar.gz https://example.com/x.txt ./" || cp.History != "ADD --chown=1:1 app.tar.gz https://example.com/x.txt ./ # buildkit" {
		t.Errorf("name %q history %q", cp.Name, cp.History)
	}
	c = lastCommand(t, newState(), "ADD --link --chown=app a /d/\n").(*instructions.AddCommand)
	if _, err := AddOf(newState(), c); err == nil {
		t.Error("ADD --link with a user name was accepted")
	}
}
