// Package subrequest writes the answers of `kiln build --call=check|targets`
// in the JSON shape of BuildKit's lint and targets subrequests (its
// frontend/subrequests packages) and in buildx's text, without importing
// those packages: they pull in BuildKit's gRPC client and OpenTelemetry.
package subrequest

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
	pb "github.com/moby/buildkit/solver/pb"
)

// LintResults is the JSON of BuildKit's lint subrequest.
type LintResults struct {
	Warnings []Warning        `json:"warnings"`
	Sources  []*pb.SourceInfo `json:"sources"`
	Error    *BuildError      `json:"buildError,omitempty"`
}

// BuildError is the error that stopped the conversion lint runs in: the
// build would fail there.
type BuildError struct {
	Message  string      `json:"message"`
	Location pb.Location `json:"location"`
}

// Warning is one lint warning.
type Warning struct {
	RuleName    string       `json:"ruleName"`
	Description string       `json:"description,omitempty"`
	URL         string       `json:"url,omitempty"`
	Detail      string       `json:"detail,omitempty"`
	Location    *pb.Location `json:"location,omitempty"`
}

// NewLintResults starts the results for one Dockerfile (source 0).
func NewLintResults(filename string, src []byte) *LintResults {
	return &LintResults{Warnings: []Warning{}, Sources: []*pb.SourceInfo{{Filename: filename, Language: "Dockerfile", Data: src}}}
}

// Add records a warning in source 0.
func (r *LintResults) Add(rule, description, url, detail string, ranges []parser.Range) {
	r.Warnings = append(r.Warnings, Warning{RuleName: rule, Description: description, URL: url, Detail: detail,
		Location: &pb.Location{SourceIndex: 0, Ranges: pbRanges(ranges)}})
}

// SetError records the build's error, at ranges of source 0.
func (r *LintResults) SetError(message string, ranges []parser.Range) {
	r.Error = &BuildError{Message: message, Location: pb.Location{SourceIndex: 0, Ranges: pbRanges(ranges)}}
}

// PrintError writes the build error as buildx does: its message, then the
// lines around it, as a warning's.
func (r *LintResults) PrintError(w io.Writer) {
	if r.Error == nil {
		return
	}
	fmt.Fprintln(w, r.Error.Message)
	if i := int(r.Error.Location.SourceIndex); i < len(r.Sources) {
		printSource(w, r.Sources[i], r.Error.Location.Ranges)
	}
}

func pbRanges(ranges []parser.Range) []*pb.Range {
	out := []*pb.Range{}
	for _, r := range ranges {
		out = append(out, &pb.Range{
			Start: &pb.Position{Line: int32(r.Start.Line), Character: int32(r.Start.Character)},
			End:   &pb.Position{Line: int32(r.End.Line), Character: int32(r.End.Character)},
		})
	}
	return out
}

// PrintText writes the warnings as buildx does: by line, each with its
// rule, URL, message and the lines around it.
func (r *LintResults) PrintText(w io.Writer) {
	sort.SliceStable(r.Warnings, func(i, j int) bool { return firstLine(r.Warnings[i]) < firstLine(r.Warnings[j]) })
	for _, wr := range r.Warnings {
		fmt.Fprintf(w, "\nWARNING: %s", wr.RuleName)
		if wr.URL != "" {
			fmt.Fprintf(w, " - %s", wr.URL)
		}
		fmt.Fprintf(w, "\n%s\n", wr.Detail)
		if wr.Location != nil && int(wr.Location.SourceIndex) < len(r.Sources) {
			printSource(w, r.Sources[wr.Location.SourceIndex], wr.Location.Ranges)
		}
	}
}

func firstLine(w Warning) int32 {
	if w.Location == nil || len(w.Location.Ranges) == 0 {
		return 0
	}
	return w.Location.Ranges[0].Start.Line
}

// printSource shows the warned lines (">>>") with context: four lines in
// all around a single line, two around a span, as BuildKit's error source.
func printSource(w io.Writer, si *pb.SourceInfo, ranges []*pb.Range) {
	if len(ranges) == 0 {
		return
	}
	lines := strings.Split(string(si.Data), "\n")
	first, last := int(ranges[0].Start.Line), 0
	for _, r := range ranges {
		first = min(first, int(r.Start.Line))
		last = max(last, int(r.Start.Line), int(r.End.Line))
	}
	if first < 1 || first > len(lines) {
		return
	}
	last = min(last, len(lines))
	context := 2
	if first == last {
		context = 4
	}
	from, to := first, last
	for n := 0; n < context; n++ {
		if from > 1 {
			from--
			n++
		}
		if to < len(lines) {
			to++
			n++
		}
	}
	fmt.Fprintf(w, "%s:%d\n--------------------\n", si.Filename, first)
	for i := from; i <= to; i++ {
		mark := "   "
		if inRanges(ranges, i) {
			mark = ">>>"
		}
		fmt.Fprintf(w, " %3d | %s %s\n", i, mark, lines[i-1])
	}
	fmt.Fprint(w, "--------------------\n")
}

func inRanges(ranges []*pb.Range, line int) bool {
	for _, r := range ranges {
		if int(r.Start.Line) <= line && line <= max(int(r.Start.Line), int(r.End.Line)) {
			return true
		}
	}
	return false
}

// Targets is the JSON of BuildKit's targets subrequest.
type Targets struct {
	Targets []Target `json:"targets"`
	Sources [][]byte `json:"sources"`
}

// Target is one stage a build can target.
type Target struct {
	Name        string       `json:"name,omitempty"`
	Default     bool         `json:"default,omitempty"`
	Description string       `json:"description,omitempty"`
	Base        string       `json:"base,omitempty"`
	Platform    string       `json:"platform,omitempty"`
	Location    *pb.Location `json:"location,omitempty"`
}

// NewTarget describes one stage; ranges are its FROM's.
func NewTarget(name, description, base, platform string, isDefault bool, ranges []parser.Range) Target {
	return Target{Name: name, Default: isDefault, Description: description, Base: base, Platform: platform,
		Location: &pb.Location{Ranges: pbRanges(ranges)}}
}

// PrintText writes the TARGET/DESCRIPTION table buildx prints.
func (t *Targets) PrintText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	fmt.Fprint(tw, "TARGET\tDESCRIPTION\n")
	for _, tg := range t.Targets {
		name := tg.Name
		switch {
		case name == "" && tg.Default:
			name = "(default)"
		case tg.Default:
			name += " (default)"
		}
		fmt.Fprintf(tw, "%s\t%s\n", name, tg.Description)
	}
	return tw.Flush()
}
