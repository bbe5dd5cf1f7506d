#!/usr/bin/env bash
# bench/bake.sh — baking a dev/test/prod group against three separate
# builds of the same targets, cold (empty store / empty BuildKit cache each
# run), for kiln and, when the oracle binaries are there, BuildKit driven by
# buildx. The Dockerfile's base and deps stages are shared by all three
# targets. Run as root; needs runc, busybox-static, docker-registry; about
# two minutes. BENCH_RUNS (default 3) runs, the best is printed.
#
# BuildKit column: BENCH_BUILDKIT=dir of buildkitd and buildctl, default what
# test/oracle/build.sh prints, and BENCH_BUILDX=buildx binary, default the
# one in the directory test/buildx/build.sh prints (both build the tool once
# and cache it); BENCH_BUILDKIT=none skips the column (n/a).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
WORK=${WORK:-$(mktemp -d /var/tmp/kiln-bake-bench.XXXXXX)}
RUNS=${BENCH_RUNS:-3}
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ "${BENCH_KEEP:-}" = 1 ] || rm -rf "$WORK"
}
trap cleanup EXIT
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
best() { sort -n | head -1; }
since() { echo "$(now) - $1" | bc; }

(cd "$repo" && go build -o "$WORK/kiln" ./cmd/kiln)
mkdir -p "$WORK/rootfs/bin" "$WORK/proj" "$WORK/reg"
cp /bin/busybox "$WORK/rootfs/bin/"
for c in sh echo dd sha256sum cat; do ln -sf busybox "$WORK/rootfs/bin/$c"; done

REG=127.0.0.1:$(freeport)
cat >"$WORK/reg/config.yml" <<YML
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $WORK/reg/data
http:
  addr: $REG
YML
docker-registry serve "$WORK/reg/config.yml" >"$WORK/reg/log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do curl -fs "http://$REG/v2/" >/dev/null && break; sleep 0.1; done
printf '[registry."%s"]\n  http = true\n' "$REG" >"$WORK/kiln.toml"
k() { "$WORK/kiln" --config "$WORK/kiln.toml" --root "$WORK/store" "$@"; }
k import "$WORK/rootfs" -t busybox:bench >/dev/null
k push busybox:bench "$REG/bench/busybox:1" >/dev/null

cat >"$WORK/proj/Dockerfile" <<DF
FROM $REG/bench/busybox:1 AS base
RUN dd if=/dev/zero of=/base.bin bs=1M count=64 2>/dev/null && sha256sum /base.bin > /base.sum

FROM base AS deps
RUN dd if=/dev/urandom of=/deps.bin bs=1M count=32 2>/dev/null && sha256sum /deps.bin > /deps.sum

FROM deps AS dev
RUN echo dev > /marker

FROM deps AS test
RUN sha256sum -c /deps.sum && echo test > /marker

FROM $REG/bench/busybox:1 AS prod
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
cd "$WORK/proj"
# Every target is exported as an OCI tar, by both builders: BuildKit
# without an output leaves its layers uncompressed in its cache.
outs=(--set "dev.output=type=oci,dest=$WORK/dev.tar" --set "test.output=type=oci,dest=$WORK/test.tar" --set "prod.output=type=oci,dest=$WORK/prod.tar")
allow=(--allow "fs.write=$WORK")

kiln_bake=() kiln_builds=()
for _ in $(seq "$RUNS"); do
  rm -rf "$WORK/store"; s=$(now)
  k bake --progress quiet "${outs[@]}" "${allow[@]}"
  kiln_bake+=("$(since "$s")")
  rm -rf "$WORK/store"; s=$(now)
  for t in dev test prod; do k build --progress quiet --target "$t" -o "type=oci,dest=$WORK/$t.tar" . >/dev/null; done
  kiln_builds+=("$(since "$s")")
done

bk_bake="n/a" bk_builds="n/a"
if [ "${BENCH_BUILDKIT:-}" != none ]; then
  BENCH_BUILDKIT=${BENCH_BUILDKIT:-$("$repo/test/oracle/build.sh")}
  BENCH_BUILDX=${BENCH_BUILDX:-$("$repo/test/buildx/build.sh")/buildx}
fi
if [ "${BENCH_BUILDKIT:-}" != none ] && [ -n "${BENCH_BUILDKIT:-}" ] && [ -n "${BENCH_BUILDX:-}" ]; then
  printf '[registry."%s"]\n  http = true\n  insecure = true\n' "$REG" >"$WORK/buildkitd.toml"
  "$BENCH_BUILDKIT/buildkitd" --root "$WORK/bk" --addr "unix://$WORK/bk.sock" --otel-socket-path "$WORK/bk-otel.sock" \
    --config "$WORK/buildkitd.toml" >"$WORK/bk.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do [ -S "$WORK/bk.sock" ] && break; sleep 0.1; done
  export DOCKER_CONFIG="$WORK/docker"
  "$BENCH_BUILDX" create --name kilnbench --driver remote "unix://$WORK/bk.sock" >/dev/null
  bx() { "$BENCH_BUILDX" --builder kilnbench "$@"; }
  prune() { "$BENCH_BUILDKIT/buildctl" --addr "unix://$WORK/bk.sock" prune --all >/dev/null; }
  b1=() b3=()
  for _ in $(seq "$RUNS"); do
    prune; s=$(now)
    bx bake --progress quiet "${outs[@]}" "${allow[@]}" >/dev/null 2>>"$WORK/buildx.log" || { tail -20 "$WORK/buildx.log" >&2; exit 1; }
    b1+=("$(since "$s")")
    prune; s=$(now)
    for t in dev test prod; do bx build --progress quiet --target "$t" -o "type=oci,dest=$WORK/$t.tar" . >/dev/null 2>>"$WORK/buildx.log" || { tail -20 "$WORK/buildx.log" >&2; exit 1; }; done
    b3+=("$(since "$s")")
  done
  bk_bake="$(printf '%s\n' "${b1[@]}" | best)s" bk_builds="$(printf '%s\n' "${b3[@]}" | best)s"
fi
printf 'cold, best of %s runs; base (64 MiB) and deps (32 MiB) shared by dev, test, prod\n' "$RUNS"
printf '%-28s %-14s %s\n' "" "kiln" "BuildKit (buildx)"
printf '%-28s %-14s %s\n' "bake dev test prod" "$(printf '%s\n' "${kiln_bake[@]}" | best)s" "$bk_bake"
printf '%-28s %-14s %s\n' "3 builds, one per target" "$(printf '%s\n' "${kiln_builds[@]}" | best)s" "$bk_builds"
