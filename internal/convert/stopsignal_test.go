package convert

import "testing"

func TestStopSignal(t *testing.T) {
	s := convert(t, newState(), "ARG SIG=SIGQUIT\nSTOPSIGNAL $SIG\n")
	if got := s.Img.Config.Config.StopSignal; got != "SIGQUIT" {
		t.Errorf("stop signal %q", got)
	}
	if got := lastHistory(t, s); got != "STOPSIGNAL SIGQUIT" {
		t.Errorf("history %q", got)
	}
}
