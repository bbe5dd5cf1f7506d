package convert

import (
	"strings"
	"testing"
)

func TestExpose(t *testing.T) {
	s := convert(t, newState(), "ENV PORTS=\"80 443/UDP\"\nEXPOSE 3000 $PORTS 53/sctp\n")
	ports := s.Img.Config.Config.ExposedPorts
	for _, p := range []string{"3000/tcp", "80/tcp", "443/udp", "53/sctp"} {
		if _, ok := ports[p]; !ok {
			t.Errorf("%s not exposed: %v", p, ports)
		}
	}
	if len(ports) != 4 {
		t.Errorf("ports %v", ports)
	}
	// The parser sorts the words ("$PORTS" first); kiln keeps that order.
	// BuildKit prints the port map sorted by port string instead.
	if got := lastHistory(t, s); got != "EXPOSE map[80/tcp:{} 443/udp:{} 3000/tcp:{} 53/sctp:{}]" {
		t.Errorf("history %q", got)
	}
	for _, bad := range []string{"EXPOSE 80/http\n", "EXPOSE abc\n"} {
		if err := tryConvert(t, newState(), bad); err == nil || !strings.Contains(err.Error(), "invalid EXPOSE") {
			t.Errorf("%q: err %v", bad, err)
		}
	}
}
