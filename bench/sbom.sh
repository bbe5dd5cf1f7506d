#!/usr/bin/env bash
# bench/sbom.sh — what an SBOM costs a kiln build (issue 19): the seed images
# (busybox, golang = busybox + this machine's Go toolchain) built FROM the
# loopback registry with -o type=oci, without and with
# --sbom=generator=<kiln's syft scanner image>, wall time and peak RSS (of
# kiln and everything it waits for: runc and the scanner), BENCH_RUNS runs
# each (default 3), medians written to bench/SBOM.md. Run as root:
#
#   bench/sbom.sh          # builds tools/sbom-scanner first (30 minutes cold, cached after)
#
# Knobs: BENCH_RUNS, BENCH_SBOM_OUT (default bench/SBOM.md), BENCH_WORK,
# BENCH_KEEP=1, BENCH_KILN=PATH (see bench/README.md).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
RUNS=${BENCH_RUNS:-3}
OUT=${BENCH_SBOM_OUT:-$here/SBOM.md}
[ "$(id -u)" = 0 ] || { echo "bench/sbom.sh must run as root" >&2; exit 2; }
WORK=${BENCH_WORK:-$(mktemp -d /var/tmp/kiln-bench-sbom.XXXXXX)}
mkdir -p "$WORK"
. "$here/lib.sh"
trap cleanup EXIT

need_tools
command -v skopeo >/dev/null || die "skopeo is needed to push the scanner image (apt-get install skopeo)"
build_binaries
scanner=$("$repo/tools/sbom-scanner/build.sh" 2>>"$LOG") || die "tools/sbom-scanner/build.sh failed"
start_registry base
write_config
make_bases
gen="$REG_BASE/kiln-sbom-scanner:1"
skopeo copy -q --dest-tls-verify=false "oci-archive:$scanner/image.tar" "docker://$gen" >>"$LOG" 2>&1 ||
  die "pushing the scanner image failed"

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

rows=()
for seed in busybox:latest golang:1.22-alpine; do
  ctx="$WORK/ctx-${seed%%:*}"
  mkdir -p "$ctx"
  printf 'FROM %s/library/%s\n' "$REG_BASE" "$seed" >"$ctx/Dockerfile"
  for mode in none sbom; do
    flags=(--sbom=false)
    [ "$mode" = sbom ] && flags=("--sbom=generator=$gen")
    : >"$WORK/times"
    for _ in $(seq 1 "$RUNS"); do
      store="$WORK/store-$mode"
      fresh_kiln "$store"
      # The base is pulled into the store first: the row times the build
      # and its SBOM, not the pull.
      "$WORK/bin/kiln" --config "$WORK/kiln.toml" --root "$store" pull "$REG_BASE/library/$seed" >>"$LOG" 2>&1
      [ "$mode" = sbom ] && "$WORK/bin/kiln" --config "$WORK/kiln.toml" --root "$store" pull "$gen" >>"$LOG" 2>&1
      /usr/bin/time -f '%e %M' -o "$WORK/t" "$WORK/bin/kiln" --config "$WORK/kiln.toml" --root "$store" build \
        --progress plain "${flags[@]}" --provenance=false -o "type=oci,dest=$WORK/out.tar" "$ctx" >>"$LOG" 2>&1 ||
        die "kiln build ($seed, $mode) failed"
      cat "$WORK/t" >>"$WORK/times"
    done
    wall=$(awk '{print $1}' "$WORK/times" | median)
    rss=$(awk '{print $2}' "$WORK/times" | median)
    rows+=("| $seed | $mode | $wall | $((rss / 1024)) |")
    say "$seed $mode: ${wall}s, $((rss / 1024)) MiB"
  done
done

{
  echo "# SBOM cost (bench/sbom.sh)"
  echo
  echo "$(uname -m), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), kiln $(cd "$repo" && git rev-parse --short HEAD), $(date -u +%F), $RUNS runs each, medians."
  echo "Peak RSS is the largest process kiln waited for (kiln, runc or the scanner)."
  echo
  echo "| seed image | SBOM | wall s | peak RSS MiB |"
  echo "|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
} >"$OUT"
say "wrote $OUT"
