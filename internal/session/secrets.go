package session

import (
	"fmt"
	"os"
	"strings"
)

// ParseSecret reads one --secret value as buildx does:
// id=KEY[,src=FILE|,env=VAR][,type=file|env]. Without src and env the
// variable named like the id is used.
func ParseSecret(s string) (id string, value []byte, err error) {
	var src, env, typ string
	for _, field := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(field, "=")
		if !ok {
			return "", nil, fmt.Errorf("invalid --secret field %q: want key=value", field)
		}
		switch strings.ToLower(k) {
		case "id":
			id = v
		case "src", "source":
			src = v
		case "env":
			env = v
		case "type":
			typ = v
		default:
			return "", nil, fmt.Errorf("unknown --secret field %q", k)
		}
	}
	if id == "" {
		return "", nil, fmt.Errorf("--secret %q has no id=", s)
	}
	if typ == "env" && env == "" {
		env, src = src, ""
	}
	if src == "" && env == "" {
		env = id
	}
	if src != "" {
		value, err = os.ReadFile(src)
		if err != nil {
			return "", nil, fmt.Errorf("reading --secret id=%s: %w", id, err)
		}
		return id, value, nil
	}
	v, ok := os.LookupEnv(env)
	if !ok {
		return "", nil, fmt.Errorf("--secret id=%s: environment variable %s is not set", id, env)
	}
	return id, []byte(v), nil
}
