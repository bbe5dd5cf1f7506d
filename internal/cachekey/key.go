// Package cachekey defines the typed, canonical encoding of a build step's
// cache key. A key is the digest of a struct, never of a joined string, so
// that two different steps can never encode to the same bytes.
package cachekey

import (
	"encoding/json"

	digest "github.com/opencontainers/go-digest"
)

// version changes whenever the meaning of a key's fields or the way a step
// executes changes, so old cache entries are never reused by mistake.
const version = 1

// Input is one content input of a step, such as the files a COPY selects.
type Input struct {
	Name   string        `json:"name"`   // what it is, e.g. "context:src/" or "stage:builder:/app"
	Digest digest.Digest `json:"digest"` // fshash digest of content and metadata
}

// Mount is the part of a RUN --mount that shapes the result. Secret values
// and cache-mount contents never appear here.
type Mount struct {
	Type     string        `json:"type"`
	Target   string        `json:"target"`
	Source   digest.Digest `json:"source,omitempty"` // content of a bind mount
	Options  []string      `json:"options,omitempty"`
	Readonly bool          `json:"readonly,omitempty"`
}

// Step holds every input that can change a filesystem-changing step's result.
type Step struct {
	Parent   digest.Digest `json:"parent"`   // previous step's key, or the base image's
	Platform string        `json:"platform"` // os/arch[/variant] the step runs for
	Op       string        `json:"op"`       // "run", "copy", "add", "workdir"
	Args     []string      `json:"args"`     // the instruction, fully expanded
	Env      []string      `json:"env,omitempty"`
	WorkDir  string        `json:"workdir,omitempty"`
	User     string        `json:"user,omitempty"`
	Network  string        `json:"network,omitempty"`
	Inputs   []Input       `json:"inputs,omitempty"`
	Mounts   []Mount       `json:"mounts,omitempty"`
	Options  []string      `json:"options,omitempty"` // container settings: --add-host, --shm-size, --ulimit
	// Epoch is an explicit SOURCE_DATE_EPOCH (seconds): committed layers'
	// mtimes are clamped to it, so a layer made under another one differs.
	Epoch string `json:"epoch,omitempty"`
}

type envelope struct {
	Version int  `json:"v"`
	Step    Step `json:"step"`
}

// Digest is the key: sha256 of the canonical JSON encoding (struct fields in
// declaration order, no maps).
func (s Step) Digest() digest.Digest {
	data, err := json.Marshal(envelope{Version: version, Step: s})
	if err != nil {
		panic("encoding cache key: " + err.Error()) // only plain types: cannot fail
	}
	return digest.FromBytes(data)
}

// Base is the key of a stage's starting point: an image (by manifest digest)
// or scratch, on a platform.
func Base(manifest digest.Digest, platform string) digest.Digest {
	return Step{Parent: manifest, Platform: platform, Op: "base"}.Digest()
}
