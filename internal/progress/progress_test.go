package progress

import (
	"bytes"
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

// A secret file ending in a newline, or of several lines, is masked in
// every mode's output and in the tail the error box prints: output reaches
// the reporter line by line, so the value is never seen whole.
func TestMasksSecretsWithNewlines(t *testing.T) {
	for _, secret := range []string{"tok-4f1d9\n", "tok-4f1d9\r\n", "first-line-7c2\nsecond-line-9a1\n", "-----BEGIN KEY-----\nMIIEkey9a1\n-----END KEY-----\n"} {
		for _, mode := range []string{"plain", "rawjson", "quiet", "tty"} {
			var out bytes.Buffer
			r, err := New(&out, mode)
			if err != nil {
				t.Fatal(err)
			}
			r.Mask(secret)
			v := r.Start("[build 2/2] RUN cat /run/secrets/s")
			v.Write([]byte("leaked: " + secret + "more\n"))
			v.Done(errors.New("exit code: 1"))
			tail := strings.Join(v.Tail(), "\n")
			r.Close()
			text := out.String()
			if mode == "rawjson" { // log data is base64: look at it decoded
				text = rawjsonText(t, text)
				if !strings.Contains(text, "leaked: ****") {
					t.Errorf("rawjson: log data lacks the masked line:\n%s", text)
				}
			}
			for _, l := range strings.Split(strings.TrimSpace(secret), "\n") {
				l = strings.TrimSpace(l)
				if strings.Contains(text, l) || strings.Contains(tail, l) {
					t.Errorf("%s: secret line %q of %q leaked:\n%s\ntail:\n%s", mode, l, secret, out.String(), tail)
				}
			}
			if !strings.Contains(tail, "leaked: ****") {
				t.Errorf("%s: tail %q lacks the masked line", mode, tail)
			}
		}
	}
}

// Short lines of a multi-line secret are not masked on their own (it would
// garble all output), but the whole value still is.
func TestMaskFormsSkipShortLines(t *testing.T) {
	got := maskForms("{\n  \"key\": \"v4lue\"\n}\n")
	want := []string{"{\n  \"key\": \"v4lue\"\n}\n", "{\n  \"key\": \"v4lue\"\n}", "\"key\": \"v4lue\""}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("maskForms = %q, want %q", got, want)
	}
}
