package convert

import (
	"slices"
	"testing"
	"time"
)

func TestHealthcheck(t *testing.T) {
	s := convert(t, newState(), "HEALTHCHECK --interval=5s --retries=3 CMD curl -f http://localhost/\n")
	h := s.Img.Config.Config.Healthcheck
	if h == nil || !slices.Equal(h.Test, []string{"CMD-SHELL", "curl -f http://localhost/"}) || h.Interval != 5*time.Second || h.Retries != 3 {
		t.Fatalf("healthcheck %+v", h)
	}
	s = convert(t, s, "HEALTHCHECK NONE\n")
	if h := s.Img.Config.Config.Healthcheck; h == nil || !slices.Equal(h.Test, []string{"NONE"}) {
		t.Errorf("HEALTHCHECK NONE gave %+v", h)
	}
}
