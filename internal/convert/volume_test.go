package convert

import "testing"

func TestVolume(t *testing.T) {
	s := convert(t, newState(), "ENV D=/data\nVOLUME [\"$D\", \"/logs\"]\n")
	vols := s.Img.Config.Config.Volumes
	if _, ok := vols["/data"]; !ok || len(vols) != 2 {
		t.Errorf("volumes %v", vols)
	}
	if got := lastHistory(t, s); got != "VOLUME [/data /logs]" {
		t.Errorf("history %q", got)
	}
	// The parser refuses a literal empty VOLUME; one that expands empty is
	// refused here.
	if err := tryConvert(t, newState(), "VOLUME [\"$EMPTY\"]\n"); err == nil {
		t.Error("an empty VOLUME was accepted")
	}
}
