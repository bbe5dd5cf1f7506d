package session

import (
	"sort"

	"github.com/docker/go-units"

	"github.com/kiln-build/kiln/internal/image"
	"github.com/kiln-build/kiln/internal/plan"
	"github.com/kiln-build/kiln/internal/progress"
)

func imageSize(img *image.Image) int64 {
	var n int64
	for _, l := range img.Layers {
		n += l.Size
	}
	return n
}

// report prints the final image's size next to the size of each stage it
// copies from: what the multi-stage build saved (the seed's "Image Size
// Comparison", for the user's own build). Sizes are compressed layer sizes.
func report(rep *progress.Reporter, p *plan.Plan, final *image.Image, stages map[*plan.Stage]*image.Image) {
	finalSize := imageSize(final)
	var from []*plan.Stage
	seen := map[*plan.Stage]bool{}
	for _, ref := range p.Target.Refs {
		if ref.Stage != nil && !seen[ref.Stage] {
			seen[ref.Stage] = true
			from = append(from, ref.Stage)
		}
	}
	sort.Slice(from, func(i, j int) bool { return from[i].Index < from[j].Index })
	rep.Note("report: final image %s: %s", p.Target.DisplayName(), units.HumanSize(float64(finalSize)))
	var largest int64
	for _, st := range from {
		n := imageSize(stages[st])
		rep.Note("report:   copies from stage %s: %s", st.DisplayName(), units.HumanSize(float64(n)))
		largest = max(largest, n)
	}
	if largest > finalSize {
		rep.Note("report: multi-stage saved %s (compared with shipping the largest stage it copies from)", units.HumanSize(float64(largest-finalSize)))
	}
}
