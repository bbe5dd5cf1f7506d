#!/usr/bin/env bash
# bench/bake.sh — `kiln bake` of a dev/test/prod group against three
# `kiln build --target` runs, cold (fresh store each time), on a Dockerfile
# whose base and deps stages all three targets share. Run as root; needs
# runc and busybox-static; takes about a minute. BENCH_RUNS (default 3).
#
# A BuildKit column (`buildx bake`) needs a buildx binary and a builder:
# set BENCH_BUILDX=/path/to/buildx with a running builder (BENCH_BUILDER);
# without it the column says n/a.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
WORK=${WORK:-$(mktemp -d /var/tmp/kiln-bake-bench.XXXXXX)}
RUNS=${BENCH_RUNS:-3}
trap '[ "${BENCH_KEEP:-}" = 1 ] || rm -rf "$WORK"' EXIT

(cd "$repo" && go build -o "$WORK/kiln" ./cmd/kiln)
mkdir -p "$WORK/rootfs/bin" "$WORK/proj"
cp /bin/busybox "$WORK/rootfs/bin/"
for c in sh echo dd sha256sum sleep cat; do ln -sf busybox "$WORK/rootfs/bin/$c"; done

cat >"$WORK/proj/Dockerfile" <<'DF'
FROM busybox:bench AS base
RUN dd if=/dev/zero of=/base.bin bs=1M count=64 2>/dev/null && sha256sum /base.bin > /base.sum

FROM base AS deps
RUN dd if=/dev/urandom of=/deps.bin bs=1M count=32 2>/dev/null && sha256sum /deps.bin > /deps.sum

FROM deps AS dev
RUN echo dev > /marker

FROM deps AS test
RUN sha256sum -c /deps.sum && echo test > /marker

FROM busybox:bench AS prod
COPY --from=deps /deps.sum /deps.sum
RUN echo prod > /marker
DF
cat >"$WORK/proj/docker-bake.hcl" <<'HCL'
group "default" {
  targets = ["dev", "test", "prod"]
}
target "dev" {
  target = "dev"
}
target "test" {
  target = "test"
}
target "prod" {
  target = "prod"
}
HCL

fresh() { rm -rf "$WORK/store" && "$WORK/kiln" --root "$WORK/store" import "$WORK/rootfs" -t busybox:bench >/dev/null; }
now() { date +%s.%N; }
best() { sort -n | head -1; }

bake_times=() build_times=()
cd "$WORK/proj"
for _ in $(seq "$RUNS"); do
  fresh; s=$(now)
  "$WORK/kiln" --root "$WORK/store" bake --progress quiet
  bake_times+=("$(echo "$(now) - $s" | bc)")
  fresh; s=$(now)
  for t in dev test prod; do "$WORK/kiln" --root "$WORK/store" build --progress quiet --target "$t" . >/dev/null; done
  build_times+=("$(echo "$(now) - $s" | bc)")
done
buildx="n/a (set BENCH_BUILDX)"
if [ -n "${BENCH_BUILDX:-}" ]; then
  s=$(now)
  "$BENCH_BUILDX" bake ${BENCH_BUILDER:+--builder "$BENCH_BUILDER"} --no-cache --progress quiet >/dev/null
  buildx="$(echo "$(now) - $s" | bc)s"
fi
printf 'cold, best of %s runs (2 shared stages: 64 MiB + 32 MiB written once)\n' "$RUNS"
printf '  kiln bake dev test prod:        %ss\n' "$(printf '%s\n' "${bake_times[@]}" | best)"
printf '  3 × kiln build --target:        %ss\n' "$(printf '%s\n' "${build_times[@]}" | best)"
printf '  buildx bake (BuildKit):         %s\n' "$buildx"
