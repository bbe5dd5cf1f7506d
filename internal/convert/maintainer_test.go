package convert

import "testing"

func TestMaintainer(t *testing.T) {
	s := convert(t, newState(), "MAINTAINER Jane <jane@example.com>\n")
	if got := s.Img.Config.Author; got != "Jane <jane@example.com>" {
		t.Errorf("author %q", got)
	}
	if got := lastHistory(t, s); got != "MAINTAINER Jane <jane@example.com>" {
		t.Errorf("history %q", got)
	}
}
