package instr

// Remote is a source a build fetched from outside the context: an ADD URL
// with the sha256 of what it downloaded, or an ADD git source with the
// commit it resolved to. Provenance lists them (resolvedDependencies).
type Remote struct {
	URL    string // as the Dockerfile wrote it (a git source keeps its #ref)
	Digest string // sha256:… of the download, or the git commit
	Git    bool
}

// record notes a fetched source in the build's result, if the stage has one.
func (s *State) record(r Remote) {
	if s.rec != nil {
		s.rec.remote(r)
	}
}
