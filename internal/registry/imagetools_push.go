package registry

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// PushCombined puts a combined index (or manifest) at every tag. Into each
// tag's repository it first copies, by digest, the manifests that live in
// another repository, with their blobs: mounted across repositories of one
// registry (no bytes move), streamed registry to registry otherwise; the
// store is never involved. The tags are written last, so a failure leaves
// them as they were.
func (c *Client) PushCombined(ctx context.Context, comb *Combined, tags []string) error {
	byRepo := map[string][]name.Reference{}
	var order []string
	for _, t := range tags {
		ref, err := c.parse(t)
		if err != nil {
			return err
		}
		if _, ok := ref.(name.Tag); !ok {
			return fmt.Errorf("imagetools create: -t %s: want a tag, not a digest", t)
		}
		repo := ref.Context().Name()
		if byRepo[repo] == nil {
			order = append(order, repo)
		}
		byRepo[repo] = append(byRepo[repo], ref)
	}
	for _, repo := range order {
		if err := c.pushToRepo(ctx, comb, byRepo[repo]); err != nil {
			return err
		}
	}
	return nil
}

func (c *Client) pushToRepo(ctx context.Context, comb *Combined, tags []name.Reference) error {
	target := tags[0].Context()
	opts, err := c.options(ctx, target.RegistryStr())
	if err != nil {
		return fmt.Errorf("pushing %s: %w", tags[0], err)
	}
	p, err := remote.NewPusher(opts...)
	if err != nil {
		return err
	}
	for _, m := range comb.Manifests {
		if m.Repo.Name() == target.Name() {
			continue
		}
		if err := c.copyManifest(ctx, p, m, target); err != nil {
			return err
		}
	}
	for _, t := range tags {
		if err := p.Push(ctx, t, rawManifest{raw: comb.Raw, mediaType: types.MediaType(comb.Desc.MediaType)}); err != nil {
			return classify("pushing", t.String(), err)
		}
	}
	return nil
}

// copyManifest copies one manifest (an image with its config and layers,
// or an index with its children) from its repository into target, by
// digest. go-containerregistry offers a remote image's blobs as mountable
// from their repository, so on one registry each is a cross-repository
// mount.
func (c *Client) copyManifest(ctx context.Context, p *remote.Pusher, m Placed, target name.Repository) error {
	from := m.Repo.Digest(m.Desc.Digest.String())
	opts, err := c.options(ctx, m.Repo.RegistryStr())
	if err != nil {
		return err
	}
	rd, err := remote.Get(from, opts...)
	if err != nil {
		return classify("copying", from.String(), err)
	}
	if err := p.Push(ctx, target.Digest(m.Desc.Digest.String()), rd); err != nil {
		return fmt.Errorf("copying %s to %s: %w", from, target, classify("pushing", target.String(), err))
	}
	return nil
}

// rawManifest is manifest bytes to put as they are.
type rawManifest struct {
	raw       []byte
	mediaType types.MediaType
}

func (r rawManifest) RawManifest() ([]byte, error)        { return r.raw, nil }
func (r rawManifest) MediaType() (types.MediaType, error) { return r.mediaType, nil }
