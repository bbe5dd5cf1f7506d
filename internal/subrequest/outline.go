package subrequest

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
	pb "github.com/moby/buildkit/solver/pb"
)

// Outline is the JSON of BuildKit's outline subrequest: the parameters
// the target (and the stages it needs) takes.
type Outline struct {
	Name        string       `json:"name,omitempty"`
	Description string       `json:"description,omitempty"`
	Args        []OutlineArg `json:"args,omitempty"`
	Secrets     []Needed     `json:"secrets,omitempty"`
	SSH         []Needed     `json:"ssh,omitempty"`
	Sources     [][]byte     `json:"sources,omitempty"`
}

// OutlineArg is a build argument, its default (or --build-arg value) and
// its doc comment.
type OutlineArg struct {
	Name        string       `json:"name"`
	Description string       `json:"description,omitempty"`
	Value       string       `json:"value,omitempty"`
	Location    *pb.Location `json:"location,omitempty"`
}

// Needed is a secret or an ssh socket a RUN mounts.
type Needed struct {
	Name     string       `json:"name"`
	Required bool         `json:"required,omitempty"`
	Location *pb.Location `json:"location,omitempty"`
}

// Location is the JSON form of source ranges.
func Location(ranges []parser.Range) *pb.Location {
	if len(ranges) == 0 {
		return nil
	}
	return &pb.Location{Ranges: pbRanges(ranges)}
}

// PrintText writes the tables buildx prints for --call=outline.
func (o *Outline) PrintText(w io.Writer) error {
	if o.Name != "" || o.Description != "" {
		tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
		name := o.Name
		if name == "" {
			name = "(default)"
		}
		fmt.Fprintf(tw, "TARGET:\t%s\n", name)
		if o.Description != "" {
			fmt.Fprintf(tw, "DESCRIPTION:\t%s\n", o.Description)
		}
		tw.Flush()
		fmt.Fprintln(w)
	}
	if len(o.Args) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
		fmt.Fprint(tw, "BUILD ARG\tVALUE\tDESCRIPTION\n")
		for _, a := range o.Args {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", a.Name, a.Value, a.Description)
		}
		tw.Flush()
		fmt.Fprintln(w)
	}
	for _, t := range []struct {
		title string
		list  []Needed
	}{{"SECRET", o.Secrets}, {"SSH", o.SSH}} {
		if len(t.list) == 0 {
			continue
		}
		tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
		fmt.Fprintf(tw, "%s\tREQUIRED\n", t.title)
		for _, s := range t.list {
			req := ""
			if s.Required {
				req = "true"
			}
			fmt.Fprintf(tw, "%s\t%s\n", s.Name, req)
		}
		tw.Flush()
		fmt.Fprintln(w)
	}
	return nil
}
