package build

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"

	"github.com/kiln-build/kiln/internal/image"
	"github.com/kiln-build/kiln/internal/instr"
)

// writeMetadata writes --metadata-file with buildx's keys.
func writeMetadata(path string, tags []string, b built) error {
	m := map[string]any{
		"containerimage.digest":     b.desc.Digest.String(),
		"containerimage.descriptor": b.desc,
	}
	if len(tags) > 0 {
		m["image.name"] = tags[0]
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("writing --metadata-file: %w", err)
	}
	return nil
}

// dockerLoad pipes the image in docker-archive form into `docker load`.
func dockerLoad(ctx context.Context, env *instr.Env, tags []string, b built) error {
	if len(b.images) > 1 {
		return fmt.Errorf("--load takes one platform; this build made %d (use --push or -o type=oci)", len(b.images))
	}
	docker, err := exec.LookPath("docker")
	if err != nil {
		return fmt.Errorf("--load needs the docker CLI and a reachable daemon: %w", err)
	}
	pr, pw := io.Pipe()
	go func() {
		named := image.Named{Name: nameOf(tags, nil), Descriptor: b.desc}
		pw.CloseWithError(image.WriteDockerTar(pw, env.Store, named, dockerTags(tags, nil), env.Epoch))
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
