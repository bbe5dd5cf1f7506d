package session

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSecretAttrTable tests every --secret attribute buildx documents (id,
// src or source, env, type=file|env): each is used, and anything else is an
// error, never ignored.
func TestSecretAttrTable(t *testing.T) {
	f := filepath.Join(t.TempDir(), "tok")
	if err := os.WriteFile(f, []byte("from-file"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KILN_SECRET_TEST", "from-env")
	t.Setenv("tok", "from-id")
	for _, tc := range []struct{ in, want string }{
		{"id=tok,src=" + f, "from-file"},
		{"id=tok,source=" + f, "from-file"},
		{"id=tok,type=file,src=" + f, "from-file"},
		{"id=tok,env=KILN_SECRET_TEST", "from-env"},
		{"id=tok,type=env,src=KILN_SECRET_TEST", "from-env"},
		{"id=tok,type=env,env=KILN_SECRET_TEST", "from-env"},
		{"id=tok", "from-id"},
		{"ID=tok,SRC=" + f, "from-file"},
	} {
		id, v, err := ParseSecret(tc.in)
		if err != nil || id != "tok" || string(v) != tc.want {
			t.Errorf("--secret %s: %q %q %v, want tok %q", tc.in, id, v, err, tc.want)
		}
	}
	for _, in := range []string{"id=tok,srcc=" + f, "id=tok,required=true", "src=" + f, "id=tok,novalue"} {
		if _, _, err := ParseSecret(in); err == nil {
			t.Errorf("--secret %s: accepted, want an error", in)
		} else if strings.Contains(in, "srcc") && !strings.Contains(err.Error(), `unknown --secret field "srcc"`) {
			t.Errorf("--secret %s: %v", in, err)
		}
	}
}
