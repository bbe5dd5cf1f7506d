package progress

import (
	"bytes"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"
)

// Plain output numbers steps and prefixes their output, masking secrets.
func TestPlainMasksSecrets(t *testing.T) {
	var out bytes.Buffer
	r, err := New(&out, "plain")
	if err != nil {
		t.Fatal(err)
	}
	r.Mask("hunter2")
	v := r.Start("[build 2/3] RUN echo")
	v.Write([]byte("token is hunter2\npartial"))
	v.Done(nil)
	c := r.Start("[build 3/3] COPY . .")
	c.Cached()
	e := r.Start("[build 4/4] RUN false")
	e.Done(errors.New("exit code: 1 (hunter2)"))
	got := regexp.MustCompile(`\d+\.\d+`).ReplaceAllString(out.String(), "T")
	want := "#1 [build 2/3] RUN echo\n#1 T token is ****\n#1 T partial\n#1 DONE Ts\n" +
		"#2 [build 3/3] COPY . .\n#2 CACHED\n#3 [build 4/4] RUN false\n#3 ERROR: exit code: 1 (****)\n"
	if got != want {
		t.Fatalf("plain output:\n%s\nwant:\n%s", got, want)
	}
	if tail := strings.Join(v.Tail(), "|"); tail != "token is ****|partial" {
		t.Fatalf("tail = %q", tail)
	}
}

// rawjson writes one event per line, with secrets masked.
func TestRawJSON(t *testing.T) {
	var out bytes.Buffer
	r, _ := New(&out, "rawjson")
	r.Mask("s3cret")
	v := r.Start("RUN x")
	v.Write([]byte("s3cret\n"))
	v.Done(nil)
	r.Finish(Summary{Digest: "sha256:x"})
	var types []string
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var e event
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		types = append(types, e.Type)
	}
	if strings.Join(types, ",") != "start,log,done,summary" {
		t.Fatalf("events %v", types)
	}
	if strings.Contains(out.String(), "s3cret") {
		t.Fatal("secret leaked into rawjson output")
	}
}
