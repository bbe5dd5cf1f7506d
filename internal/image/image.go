// Package image assembles image configs and manifests and moves images
// between kiln's store and the outside world (OCI layouts, tars).
package image

import (
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/moby/buildkit/util/system"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Layer is one filesystem layer of an image.
type Layer struct {
	Digest    digest.Digest `json:"digest"` // compressed blob
	DiffID    digest.Digest `json:"diffID"` // uncompressed tar
	Size      int64         `json:"size"`
	MediaType string        `json:"mediaType"`
}

// Image is an image being built or read: its config and its layers, bottom first.
type Image struct {
	Config dockerspec.DockerOCIImage
	Layers []Layer
	// Annotations go into the manifest (kiln build --annotation).
	Annotations map[string]string
}

// New returns an empty image (FROM scratch) for a platform, configured as
// BuildKit's empty image: the default PATH and working directory "/". A
// Windows image gets no PATH (BuildKit leaves it to the OS) and a backslash.
func New(p ocispec.Platform) *Image {
	img := &Image{}
	img.Config.Platform = p
	img.Config.RootFS.Type = "layers"
	img.Config.RootFS.DiffIDs = []digest.Digest{}
	img.Config.Config.WorkingDir = "/"
	if p.OS == "windows" {
		img.Config.Config.WorkingDir = `\`
		return img
	}
	img.Config.Config.Env = []string{"PATH=" + system.DefaultPathEnvUnix}
	return img
}

// Clone returns a deep copy, annotations included, so steps never alias
// each other's slices, maps and pointers.
func (img *Image) Clone() *Image {
	return &Image{
		Config:      cloneConfig(img.Config),
		Layers:      slices.Clone(img.Layers),
		Annotations: maps.Clone(img.Annotations),
	}
}

func cloneConfig(c dockerspec.DockerOCIImage) dockerspec.DockerOCIImage {
	c.Created = cloneTime(c.Created)
	c.OSFeatures = slices.Clone(c.OSFeatures)
	c.Image.Config = cloneImageConfig(c.Image.Config) // shadowed by c.Config, copied all the same
	c.Config.ImageConfig = cloneImageConfig(c.Config.ImageConfig)
	if h := c.Config.Healthcheck; h != nil {
		hc := *h
		hc.Test = slices.Clone(h.Test)
		c.Config.Healthcheck = &hc
	}
	c.Config.OnBuild = slices.Clone(c.Config.OnBuild)
	c.Config.Shell = slices.Clone(c.Config.Shell)
	c.RootFS.DiffIDs = slices.Clone(c.RootFS.DiffIDs)
	c.History = slices.Clone(c.History)
	for i := range c.History {
		c.History[i].Created = cloneTime(c.History[i].Created)
	}
	return c
}

func cloneImageConfig(c ocispec.ImageConfig) ocispec.ImageConfig {
	c.ExposedPorts = maps.Clone(c.ExposedPorts)
	c.Env = slices.Clone(c.Env)
	c.Entrypoint = slices.Clone(c.Entrypoint)
	c.Cmd = slices.Clone(c.Cmd)
	c.Volumes = maps.Clone(c.Volumes)
	c.Labels = maps.Clone(c.Labels)
	return c
}

func cloneTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	c := *t
	return &c
}

// AddHistory records an instruction that made no layer.
func (img *Image) AddHistory(createdBy string, created time.Time) {
	img.Config.History = append(img.Config.History, ocispec.History{
		Created:    &created,
		CreatedBy:  createdBy,
		Comment:    "kiln",
		EmptyLayer: true,
	})
}

// AddLayer appends a layer made by an instruction; a nil layer (the step
// changed nothing) is recorded as an empty-layer history entry, as BuildKit does.
func (img *Image) AddLayer(l *Layer, createdBy string, created time.Time) {
	if l == nil {
		img.AddHistory(createdBy, created)
		return
	}
	img.Layers = append(img.Layers, *l)
	img.Config.RootFS.DiffIDs = append(img.Config.RootFS.DiffIDs, l.DiffID)
	img.Config.History = append(img.Config.History, ocispec.History{
		Created:   &created,
		CreatedBy: createdBy,
		Comment:   "kiln",
	})
}

// Env returns the config's environment as KEY=VALUE.
func (img *Image) Env() []string { return img.Config.Config.Env }

// SetEnv sets or replaces one variable, keeping the order of first definition.
func (img *Image) SetEnv(key, value string) {
	kv := key + "=" + value
	for i, e := range img.Config.Config.Env {
		if k, _, _ := strings.Cut(e, "="); k == key {
			img.Config.Config.Env[i] = kv
			return
		}
	}
	img.Config.Config.Env = append(img.Config.Config.Env, kv)
}
