package testhook

import "testing"

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want spec
	}{
		{"", spec{}},
		{"trace", spec{phase: "*"}},
		{"commit:3", spec{phase: "commit", n: 3}},
		{"commit:0", spec{}},
		{"commit", spec{}},
		{"commit:x", spec{}},
	} {
		if got := parse(tc.in); got != tc.want {
			t.Errorf("parse(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

// Without KILN_TEST_KILLPOINT, Point returns at once.
func TestPointOff(t *testing.T) {
	want = spec{}
	for i := 0; i < 3; i++ {
		Point(Commit)
	}
	if len(counts) != 0 {
		t.Fatalf("counted %v with the hook off", counts)
	}
}
