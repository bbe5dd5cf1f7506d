package bake

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"
)

func parseTestFile(t *testing.T, name string, vars map[string]string) *Config {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := Parse([]File{{Name: name, Data: data}}, nil, vars)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestPrintShape(t *testing.T) {
	c := parseTestFile(t, "full.hcl", map[string]string{"TAG": "1.0"})
	r, err := c.Resolve([]string{"all"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := r.Print(&buf); err != nil {
		t.Fatal(err)
	}
	t.Log(buf.String())
	var got map[string]map[string]map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
}
