package exporter

import (
	"context"
	"fmt"
	"io"
	"os/exec"

	"github.com/kiln-build/kiln/internal/image"
)

// dockerLoad is --load: the image in docker-archive form piped into
// `docker load`.
type dockerLoad struct{}

func (dockerLoad) Name() string { return "" }

func (dockerLoad) Export(ctx context.Context, s Session, r Result) error {
	if len(r.Images) > 1 {
		return fmt.Errorf("--load takes one platform; this build made %d (use --push or -o type=oci)", len(r.Images))
	}
	docker, err := exec.LookPath("docker")
	if err != nil {
		return fmt.Errorf("--load needs the docker CLI and a reachable daemon: %w", err)
	}
	r.warnDropped(s, Form{Type: "docker"})
	pr, pw := io.Pipe()
	go func() {
		named := image.Named{Name: nameOf(r.Tags, nil), Descriptor: r.Desc}
		pw.CloseWithError(image.WriteDockerTar(pw, s.Store, named, dockerTags(r.Tags, nil), s.Epoch))
	}()
	cmd := exec.CommandContext(ctx, docker, "load")
	cmd.Stdin = pr
	out, err := cmd.CombinedOutput()
	pr.Close()
	if err != nil {
		return fmt.Errorf("docker load: %v: %s", err, out)
	}
	return nil
}
