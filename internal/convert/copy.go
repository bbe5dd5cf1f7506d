package convert

import (
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// Copy is what a COPY (or an ADD) means before any file is read: the
// selection, the destination resolved against WORKDIR, the flags, and how
// the step is shown and recorded.
type Copy struct {
	Srcs        []string // as written; a heredoc's file name for COPY <<EOF
	Dest        string   // absolute; a trailing slash means a directory
	Chown       string
	Chmod       string
	Excludes    []string
	From        string                       // --from, "" for the context or heredocs
	FromContext bool                         // the sources are the build context's
	Inline      []instructions.SourceContent // COPY <<EOF heredocs
	Link        bool                         // --link: a layer independent of the ones below
	Parents     bool                         // --parents: keep the source paths below the pivot
	Name        string                       // progress line
	History     string                       // BuildKit's created_by
}

// CopyOf converts an expanded COPY in the stage's state.
func CopyOf(s *State, c *instructions.CopyCommand) (Copy, error) {
	cp, err := fileOp(s, c)
	if err != nil {
		return Copy{}, err
	}
	cp.Name = "COPY " + copyDisplay(c)
	cp.History = fileOpHistory("COPY", c.SourcesAndDest, c.Parents, c.Chown, c.Chmod) + " # buildkit"
	return cp, nil
}

// AddOf converts an expanded ADD's copy part (its sources are then read,
// fetched or extracted as ADD says).
func AddOf(s *State, c *instructions.AddCommand) (Copy, error) {
	cp, err := fileOp(s, &instructions.CopyCommand{
		SourcesAndDest: c.SourcesAndDest, Chown: c.Chown, Chmod: c.Chmod, Link: c.Link,
		ExcludePatterns: c.ExcludePatterns,
	})
	if err != nil {
		return Copy{}, err
	}
	cp.Name = "ADD " + strings.Join(append(append([]string(nil), c.SourcePaths...), c.DestPath), " ")
	cp.History = fileOpHistory("ADD", c.SourcesAndDest, false, c.Chown, c.Chmod) + " # buildkit"
	return cp, nil
}

// KeyOptions are the flags that enter the step's key.
func (c Copy) KeyOptions() []string {
	var f []string
	if c.Link {
		f = append(f, "link")
	}
	if c.Parents {
		f = append(f, "parents")
	}
	return f
}

func fileOp(s *State, c *instructions.CopyCommand) (Copy, error) {
	if c.Link && chownByName(c.Chown) {
		return Copy{}, fmt.Errorf("--chown=%s: user and group names can't be resolved when used with --link, use numeric uid[:gid] instead", c.Chown)
	}
	if c.Chmod != "" {
		if err := checkChmod(c.Chmod); err != nil {
			return Copy{}, err
		}
	}
	cp := Copy{
		Srcs: c.SourcePaths, Dest: s.ResolvePath(c.DestPath), Chown: c.Chown, Chmod: c.Chmod,
		Excludes: c.ExcludePatterns, From: c.From, FromContext: c.From == "" && len(c.SourceContents) == 0,
		Inline: c.SourceContents, Link: c.Link, Parents: c.Parents,
	}
	for _, sc := range c.SourceContents {
		cp.Srcs = append(cp.Srcs, path.Base(sc.Path))
	}
	// Several sources (or a wildcard's matches) onto a destination without
	// a trailing slash are each copied onto it, as BuildKit does: the last
	// file wins (COPY a b /dest makes the file /dest holding b).
	return cp, nil
}

// HasWildcard says a source is a pattern.
func HasWildcard(p string) bool { return strings.ContainsAny(p, "*?[") }

func checkChmod(m string) error {
	if p, err := strconv.ParseUint(m, 8, 32); err == nil {
		if p > 0o7777 {
			return fmt.Errorf("invalid chmod parameter: '%v'. it should be octal string and between 0 and 07777", m)
		}
		return nil
	}
	if strings.Trim(m, "0123456789") == "" {
		return fmt.Errorf("invalid chmod parameter: '%v'. it should be octal string and between 0 and 07777", m)
	}
	return nil // symbolic modes are checked by the copier
}

func chownByName(chown string) bool {
	u, g, _ := strings.Cut(chown, ":")
	_, errU := strconv.Atoi(u)
	_, errG := strconv.Atoi(g)
	return chown != "" && (errU != nil || (g != "" && errG != nil))
}

func copyDisplay(c *instructions.CopyCommand) string {
	parts := []string{}
	if c.From != "" {
		parts = append(parts, "--from="+c.From)
	}
	return strings.Join(append(append(parts, c.SourcePaths...), c.DestPath), " ")
}

// fileOpHistory is BuildKit's created_by for COPY and ADD: the flags it
// records, the sources, the heredocs as <<NAME, and the destination as the
// Dockerfile wrote it (expanded, not resolved against WORKDIR).
func fileOpHistory(op string, c instructions.SourcesAndDest, parents bool, chown, chmod string) string {
	msg := op
	if parents {
		msg += " --parents"
	}
	if chown != "" {
		msg += " --chown=" + chown
	}
	if chmod != "" {
		msg += " --chmod=" + chmod
	}
	for _, src := range c.SourcePaths {
		msg += " " + src
	}
	for _, sc := range c.SourceContents {
		msg += " <<" + sc.Path
	}
	return msg + " " + c.DestPath
}
