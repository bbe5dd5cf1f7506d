package convert

import (
	"strings"
	"testing"
)

func TestExpose(t *testing.T) {
	s := convert(t, newState(), "ENV PORTS=\"80 443/UDP\"\nEXPOSE 3000 $PORTS 53/sctp 127.0.0.1:8080-8081:8000-8001\n")
	ports := s.Img.Config.Config.ExposedPorts
	for _, p := range []string{"3000/tcp", "80/tcp", "443/udp", "53/sctp", "8000/tcp", "8001/tcp"} {
		if _, ok := ports[p]; !ok {
			t.Errorf("%s not exposed: %v", p, ports)
		}
	}
	if len(ports) != 6 {
		t.Errorf("ports %v", ports)
	}
	// The parser sorts the words ("$PORTS" first, then by byte); the
	// history lists the ports in that order, as BuildKit.
	if got := lastHistory(t, s); got != "EXPOSE [80/tcp 443/udp 8000/tcp 8001/tcp 3000/tcp 53/sctp]" {
		t.Errorf("history %q", got)
	}
	for bad, want := range map[string]string{
		"EXPOSE 80/http\n":  "invalid proto: http",
		"EXPOSE abc\n":      "invalid port number",
		"EXPOSE 9-8\n":      "invalid port range",
		"EXPOSE x:1:2:80\n": "invalid IP address",
	} {
		if err := tryConvert(t, newState(), bad); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err %v, want %q", bad, err, want)
		}
	}
}
