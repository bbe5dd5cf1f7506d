package bake

import (
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// FileError is bad input at a line of a definition file.
type FileError struct {
	File string
	Line int
	Msg  string
}

func (e *FileError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// diagError turns HCL's diagnostics into errors naming file and line.
func diagError(diags hcl.Diagnostics) error {
	var errs []error
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		msg := d.Summary
		if d.Detail != "" {
			msg += ": " + strings.TrimSuffix(d.Detail, ".")
		}
		if d.Subject == nil {
			errs = append(errs, errors.New(msg))
			continue
		}
		errs = append(errs, &FileError{File: d.Subject.Filename, Line: d.Subject.Start.Line, Msg: msg})
	}
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}

func diagErrorOrNil(diags hcl.Diagnostics) error {
	if diags.HasErrors() {
		return diagError(diags)
	}
	return nil
}

// at names where a target is defined, for errors about it.
func (t *Target) at(format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if t.def.Filename == "" {
		return errors.New(msg)
	}
	return &FileError{File: t.def.Filename, Line: t.def.Start.Line, Msg: msg}
}
