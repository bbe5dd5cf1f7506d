package dockerfile

import (
	"errors"
	"fmt"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// Location is a position in a Dockerfile. Line numbers start at 1; 0 means
// unknown.
type Location struct {
	File    string // the Dockerfile path as the user gave it
	Line    int    // first line of the instruction
	EndLine int    // last line (continuations included); equal to Line for one-liners
}

// String formats the location as "file:line".
func (l Location) String() string {
	if l.Line <= 0 {
		return l.File
	}
	return fmt.Sprintf("%s:%d", l.File, l.Line)
}

// LocationError is an error tied to a place in a Dockerfile.
// Its message reads "Dockerfile:12: unknown instruction: FORM".
type LocationError struct {
	File   string
	Line   int // 0 if unknown
	Column int // 0 if unknown
	Err    error
}

func (e *LocationError) Error() string {
	switch {
	case e.Line <= 0:
		return fmt.Sprintf("%s: %v", e.File, e.Err)
	case e.Column > 0:
		return fmt.Sprintf("%s:%d:%d: %v", e.File, e.Line, e.Column, e.Err)
	default:
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	}
}

func (e *LocationError) Unwrap() error { return e.Err }

// Locate converts BuildKit parser ranges into a Location in file.
func Locate(file string, ranges []parser.Range) Location {
	loc := Location{File: file}
	for _, r := range ranges {
		if loc.Line == 0 || r.Start.Line < loc.Line {
			loc.Line = r.Start.Line
		}
		if r.End.Line > loc.EndLine {
			loc.EndLine = r.End.Line
		}
	}
	if loc.EndLine < loc.Line {
		loc.EndLine = loc.Line
	}
	return loc
}

// ErrorAt wraps err in a *LocationError at loc. An err that already is a
// *LocationError is returned unchanged.
func ErrorAt(loc Location, err error) error {
	if err == nil {
		return nil
	}
	var le *LocationError
	if errors.As(err, &le) {
		return err
	}
	return &LocationError{File: loc.File, Line: loc.Line, Err: err}
}

// FromBuildKit converts an error from BuildKit's parser or instructions
// packages into a *LocationError for file, using the first (innermost)
// location BuildKit attached. BuildKit's "dockerfile parse error on line N:"
// prefix is dropped, as the location already says it.
func FromBuildKit(file string, err error) error {
	if err == nil {
		return nil
	}
	var le *LocationError
	if errors.As(err, &le) {
		return err
	}
	var ble *parser.LocationError
	if !errors.As(err, &ble) {
		return &LocationError{File: file, Err: err}
	}
	out := &LocationError{File: file, Err: ble.Unwrap()}
	if len(ble.Locations) > 0 && len(ble.Locations[0]) > 0 {
		start := ble.Locations[0][0].Start
		out.Line = start.Line
		out.Column = start.Character
	}
	return out
}
