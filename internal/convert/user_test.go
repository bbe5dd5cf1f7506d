package convert

import "testing"

func TestUser(t *testing.T) {
	s := convert(t, newState(), "ARG U=app\nUSER $U:staff\n")
	if got := s.Img.Config.Config.User; got != "app:staff" {
		t.Errorf("user %q (kept as written, resolved by RUN)", got)
	}
	if got := lastHistory(t, s); got != "USER app:staff" {
		t.Errorf("history %q", got)
	}
}
