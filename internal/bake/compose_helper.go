package bake

import (
	"bytes"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"

	composetypes "github.com/compose-spec/compose-go/v2/types"
)

// ComposeLoader loads compose files as one project (composeload.Load).
// kiln-compose sets it; kiln leaves it nil and asks a kiln-compose process
// instead, so that kiln itself does not link compose-go's loader: its
// schema validation brings jsonschema, whose init costs every kiln start
// about 4 ms, a fifth of a no-op build.
var ComposeLoader func(files []composetypes.ConfigFile, env map[string]string, skipConsistency bool) (*composetypes.Project, error)

// composeProtocol changes whenever the request or the reply does.
const composeProtocol = 1

// composeRequest is what kiln sends kiln-compose: the files that may be
// compose files, and --var. The environment and working directory (.env)
// are the process's own, inherited.
type composeRequest struct {
	Protocol int
	Files    []File
	Vars     map[string]string
}

// composeReply says of each requested file whether it is a compose file
// (with the error loading it), and holds the Config of those that are, or
// the error making it.
type composeReply struct {
	Protocol int
	Files    []composeClass
	Targets  []wireTarget
	Groups   []*Group
	Err      string
}

type composeClass struct {
	IsCompose bool
	Err       string
}

// wireTarget is a Target as gob carries it. gob drops a field whose value
// is zero, so a pointer to false or an empty but set list would arrive
// unset; Zeros names those fields, to set again.
type wireTarget struct {
	T     *Target
	Zeros []string
}

// readCompose classifies and loads the compose files among files, in this
// process when ComposeLoader is set, else through kiln-compose.
func readCompose(files []File, vars map[string]string) (*composeReply, error) {
	req := composeRequest{Protocol: composeProtocol, Files: files, Vars: vars}
	if ComposeLoader != nil {
		return answerCompose(req), nil
	}
	rep, err := askComposeHelper(req)
	if !errors.Is(err, errNoComposeHelper) {
		return rep, err
	}
	// Without kiln-compose, a file not named .yml/.yaml is read as HCL.
	rep = &composeReply{Protocol: composeProtocol}
	for _, f := range files {
		if yamlName(f.Name) {
			return nil, fmt.Errorf("%s: %w", f.Name, err)
		}
		rep.Files = append(rep.Files, composeClass{Err: err.Error()})
	}
	return rep, nil
}

var errNoComposeHelper = errors.New("reading compose files needs kiln-compose, beside kiln or on PATH " +
	"(go install github.com/kiln-build/kiln/cmd/kiln-compose, the version of kiln)")

// answerCompose does kiln-compose's work: composeFile on each file, then
// parseCompose on the compose files when all of them loaded.
func answerCompose(req composeRequest) *composeReply {
	rep := &composeReply{Protocol: composeProtocol}
	var compose []File
	loaded := true
	for _, f := range req.Files {
		is, err := composeFile(f, req.Vars)
		c := composeClass{IsCompose: is}
		if err != nil {
			c.Err = err.Error()
			loaded = loaded && !is
		}
		if is {
			compose = append(compose, f)
		}
		rep.Files = append(rep.Files, c)
	}
	if !loaded || len(compose) == 0 {
		return rep
	}
	cfg, err := parseCompose(compose, req.Vars)
	if err != nil {
		rep.Err = err.Error()
		return rep
	}
	rep.Groups = cfg.Groups
	for _, t := range cfg.Targets {
		rep.Targets = append(rep.Targets, wireTarget{T: t, Zeros: gobZeros(reflect.ValueOf(t).Elem())})
	}
	return rep
}

// config is the reply's Config, the fields gob dropped set again.
func (rep *composeReply) config() *Config {
	c := &Config{Groups: rep.Groups}
	for _, w := range rep.Targets {
		restoreZeros(reflect.ValueOf(w.T).Elem(), w.Zeros)
		c.Targets = append(c.Targets, w.T)
	}
	return c
}

// ServeCompose answers one composeRequest read from r on w: kiln-compose's
// main.
func ServeCompose(r io.Reader, w io.Writer) error {
	var req composeRequest
	if err := gob.NewDecoder(r).Decode(&req); err != nil {
		return fmt.Errorf("reading the request: %w", err)
	}
	if req.Protocol != composeProtocol {
		return fmt.Errorf("kiln sent protocol %d, this kiln-compose speaks %d: install the kiln-compose of kiln's own version", req.Protocol, composeProtocol)
	}
	if ComposeLoader == nil {
		return errors.New("ComposeLoader is unset")
	}
	return gob.NewEncoder(w).Encode(answerCompose(req))
}

func askComposeHelper(req composeRequest) (*composeReply, error) {
	helper, err := composeHelper()
	if err != nil {
		return nil, err
	}
	var in, out, stderr bytes.Buffer
	if err := gob.NewEncoder(&in).Encode(req); err != nil {
		return nil, err
	}
	cmd := exec.Command(helper)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = &in, &out, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s: %v: %s", helper, err, strings.TrimSpace(stderr.String()))
	}
	var rep composeReply
	if err := gob.NewDecoder(&out).Decode(&rep); err != nil {
		return nil, fmt.Errorf("%s: reading its reply: %w", helper, err)
	}
	if rep.Protocol != composeProtocol || len(rep.Files) != len(req.Files) {
		return nil, fmt.Errorf("%s answers protocol %d about %d files, want %d about %d: install the kiln-compose of kiln's own version",
			helper, rep.Protocol, len(rep.Files), composeProtocol, len(req.Files))
	}
	return &rep, nil
}

// composeHelper finds kiln-compose: beside the running kiln, else on PATH.
func composeHelper() (string, error) {
	exe, err := os.Executable()
	if err == nil {
		p := filepath.Join(filepath.Dir(exe), "kiln-compose")
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p, nil
		}
	}
	if p, err := exec.LookPath("kiln-compose"); err == nil {
		return p, nil
	}
	return "", errNoComposeHelper
}

// gobZeros names the exported pointer, slice and map fields of the struct
// v that are set to a value gob would not send (a pointer to a zero value,
// an empty list or map).
func gobZeros(v reflect.Value) []string {
	var names []string
	for i := range v.NumField() {
		f, fv := v.Type().Field(i), v.Field(i)
		if !f.IsExported() {
			continue
		}
		switch fv.Kind() {
		case reflect.Pointer:
			if !fv.IsNil() && fv.Elem().IsZero() {
				names = append(names, f.Name)
			}
		case reflect.Slice, reflect.Map:
			if !fv.IsNil() && fv.Len() == 0 {
				names = append(names, f.Name)
			}
		}
	}
	return names
}

// restoreZeros sets the named fields of the struct v that gob left unset.
func restoreZeros(v reflect.Value, names []string) {
	for _, n := range names {
		fv := v.FieldByName(n)
		if !fv.IsValid() || !fv.IsNil() {
			continue
		}
		switch fv.Kind() {
		case reflect.Pointer:
			fv.Set(reflect.New(fv.Type().Elem()))
		case reflect.Slice:
			fv.Set(reflect.MakeSlice(fv.Type(), 0, 0))
		case reflect.Map:
			fv.Set(reflect.MakeMap(fv.Type()))
		}
	}
}
