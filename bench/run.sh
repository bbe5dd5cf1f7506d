#!/usr/bin/env bash
# bench/run.sh — kiln against `buildah build --layers`, side by side, on the
# seed's patterns (issue 12). Run as root from anywhere:
#
#   bench/run.sh                      # everything, ~10 minutes on an idle 2-core machine
#   BENCH_RUNS=5 bench/run.sh         # more runs a row
#
# Knobs (environment):
#   BENCH_RUNS=3          runs of each tool per row (they alternate: kiln, buildah, kiln, …)
#   BENCH_BIG_RUNS=RUNS   runs of rows 6 and 7 (the slow ones; see BENCH_BUDGET)
#   BENCH_BUDGET=840      seconds: rows 6 and 7 stop after fewer runs (at least one)
#                         when another would end the script past this; 0 = no limit
#   BENCH_CTX_FILES=50000 BENCH_CTX_MB=500   row 6's generated context
#   BENCH_BIG_MB=1024     row 7's image size (four incompressible layers)
#   BENCH_OUT=bench/RESULTS.md   where the report goes
#   BENCH_WORK=DIR        work directory (default: a new one under /var/tmp)
#   BENCH_KEEP=1          keep the work directory (stores, logs) afterwards
#   BENCH_KILN=PATH       benchmark this kiln binary instead of building the working tree
#
# See bench/README.md for what every row measures.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)

RUNS=${BENCH_RUNS:-3}
BIG_RUNS=${BENCH_BIG_RUNS:-$RUNS}
CTX_FILES=${BENCH_CTX_FILES:-50000}
CTX_MB=${BENCH_CTX_MB:-500}
BIG_MB=${BENCH_BIG_MB:-1024}
OUT=${BENCH_OUT:-$here/RESULTS.md}
LAYER_MB=$((BIG_MB / 4))
BUDGET=${BENCH_BUDGET:-840}

[ "$(id -u)" = 0 ] || { echo "bench/run.sh must run as root (kiln and buildah run runc containers on overlayfs)" >&2; exit 2; }

if [ -n "${BENCH_WORK:-}" ]; then
  WORK=$BENCH_WORK
  mkdir -p "$WORK"
else
  WORK=$(mktemp -d /var/tmp/kiln-bench.XXXXXX)
fi
LOG=$WORK/bench.log
RES=$WORK/results.tsv
: >"$LOG"
: >"$RES"
. "$here/lib.sh"
trap cleanup EXIT
trap 'exit 130' INT TERM

start_all=$(date +%s)
# The commit kiln is built from (read now: the repo may move during the run).
commit=$(git -C "$repo" rev-parse --short HEAD)
dirty=$(git --no-optional-locks -C "$repo" status --porcelain -- . ':!bench' 2>/dev/null | head -1)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
elapsed() { echo $(($(date +%s) - start_all)); }
# fits SECONDS: whether SECONDS more keep the script within BENCH_BUDGET.
fits() { [ "$BUDGET" = 0 ] || [ $(($(elapsed) + $1)) -le "$BUDGET" ]; }
say "kiln bench: work dir $WORK, log $LOG"
need_tools
if [ -n "${BENCH_KILN:-}" ]; then
  say "using kiln binary $BENCH_KILN"
else
  say "building kiln (commit $(git -C "$repo" rev-parse --short HEAD))"
fi
build_binaries
start_registry base
start_registry push
write_config
say "making the base images (busybox, golang) and pushing them to $REG_BASE"
make_bases

KSTORE=$WORK/kiln-store
BSTORE=$WORK/buildah-store
# kiln, with the loopback registries' config, plain progress (logged).
K=("$WORK/bin/kiln" --config "$WORK/kiln.toml" --root "$KSTORE")
KB=("${K[@]}" build --progress plain)
# buildah, its own storage under the work dir. TMPDIR holds its cache mounts
# (buildah-cache-0) and temporary files. --pull=false pulls a base image only
# when it is missing (kiln's behaviour; buildah's default, true, asks the
# registry for a newer one on every build). --jobs 4 lets it build up to four
# independent stages at once (its default is 1; kiln's is parallel).
BH=(env TMPDIR="$BSTORE/tmp" buildah --storage-driver overlay --root "$BSTORE/root" --runroot "$BSTORE/run")
BB=(env TMPDIR="$BSTORE/tmp" buildah build --layers --storage-driver overlay --root "$BSTORE/root" --runroot "$BSTORE/run"
  --tls-verify=false --isolation oci --pull=false --jobs 4)

# ---- measurement ---------------------------------------------------------

label() { printf 'L\t%s\t%s\t%s\n' "$1" "$2" "${3:-}" >>"$RES"; }

# measure ROW TOOL RUN BYTES CMD... — wall time (date, ns) and peak RSS
# (/usr/bin/time) of CMD; BYTES is a number or @FILE (the file's size after).
measure() {
  local row=$1 tool=$2 run=$3 bytes=$4
  shift 4
  printf '\n=== row %s, %s, run %s: %s\n' "$row" "$tool" "$run" "$*" >>"$LOG"
  local t0 t1
  t0=$(date +%s%N)
  /usr/bin/time -f '%M' -o "$WORK/rss" "$@" >>"$LOG" 2>&1 || die "row $row, $tool, run $run failed: $*"
  t1=$(date +%s%N)
  local rss secs
  rss=$(tail -n 1 "$WORK/rss")
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", (b - a) / 1e9 }')
  if [[ $bytes == @* ]]; then
    bytes=$(stat -c %s "${bytes#@}")
  fi
  printf 'M\t%s\t%s\t%s\t%s\t%s\t%s\n' "$row" "$tool" "$run" "$secs" "$rss" "$bytes" >>"$RES"
  printf '  %-9s %-8s run %s  %9.3f s   max RSS %5d MiB\n' "$row" "$tool" "$run" "$secs" $((rss / 1024))
}

log() { printf '\n--- %s\n' "$*" >>"$LOG"; }
untimed() { log "untimed: $*"; "$@" >>"$LOG" 2>&1 || die "failed: $*"; }

# ---- the projects ----------------------------------------------------------

DF=$WORK/dockerfiles
mkdir -p "$DF" "$WORK/empty" "$WORK/out"

# Rows 1-3: the seed's Go example (examples/go-hello, Pattern 1), its FROM
# pointed at the loopback registry, plus one line run.sh rewrites for row 3.
APP=$WORK/go-hello
cp -r "$repo/examples/go-hello" "$APP"
render_seed "$repo/examples/go-hello/Dockerfile" "$APP/Dockerfile"
printf '\n// benchRev is the line bench/run.sh edits for its "one-line source change" row.\nvar benchRev = "0"\n' >>"$APP/main.go"
set_rev() { sed -i "s/^var benchRev = .*/var benchRev = \"$1\"/" "$APP/main.go"; }

# Row 4: the same program, built with cache mounts.
CAPP=$WORK/go-cache
cp -r "$repo/examples/go-hello" "$CAPP"
render "$here/dockerfiles/gocache.Dockerfile" "$CAPP/Dockerfile"
set_go_version() { sed -i "s/^go [0-9.]*\$/go $1/" "$CAPP/go.mod"; }

for f in parallel steps context big; do
  render "$here/dockerfiles/$f.Dockerfile" "$DF/$f.Dockerfile"
done

# ---- 1. cold build -----------------------------------------------------------
say "row 1: cold build of examples/go-hello (empty stores, base image in the loopback registry)"
label 1 "cold build, examples/go-hello (Pattern 1 Go; pull + build, empty store)"
for i in $(seq 1 "$RUNS"); do
  fresh_kiln "$KSTORE"
  measure 1 kiln "$i" 0 "${KB[@]}" -t hello "$APP"
  fresh_buildah "$BSTORE"
  measure 1 buildah "$i" 0 "${BB[@]}" -t hello "$APP"
done

# ---- 2. warm no-op -----------------------------------------------------------
say "row 2: warm no-op rebuild"
label 2 "warm no-op rebuild, examples/go-hello"
for i in $(seq 1 "$RUNS"); do
  measure 2 kiln "$i" 0 "${KB[@]}" -t hello "$APP"
  measure 2 buildah "$i" 0 "${BB[@]}" -t hello "$APP"
done

# ---- 3. one-line source change -----------------------------------------------
say "row 3: rebuild after a one-line source change"
label 3 "rebuild after a one-line change of main.go"
for i in $(seq 1 "$RUNS"); do
  set_rev "kiln-$i"
  measure 3 kiln "$i" 0 "${KB[@]}" -t hello "$APP"
  set_rev "buildah-$i"
  measure 3 buildah "$i" 0 "${BB[@]}" -t hello "$APP"
done

# ---- 4. dependency change with cache mounts ----------------------------------
say "row 4: rebuild after a go.mod change, with cache mounts (one untimed build first)"
label 4 "rebuild after a go.mod change, RUN --mount=type=cache (Go build and module caches)"
untimed "${KB[@]}" -t hello-cache "$CAPP"
untimed "${BB[@]}" -t hello-cache "$CAPP"
patch=0
for i in $(seq 1 "$RUNS"); do
  patch=$((patch + 1)); set_go_version "1.22.$patch"
  measure 4 kiln "$i" 0 "${KB[@]}" -t hello-cache "$CAPP"
  patch=$((patch + 1)); set_go_version "1.22.$patch"
  measure 4 buildah "$i" 0 "${BB[@]}" -t hello-cache "$CAPP"
done

# ---- 5. four independent stages ----------------------------------------------
say "row 5: four independent stages (sleep 1 + 20 MB each), --no-cache, base image local"
label 5 "4 independent stages (\`sleep 1 && dd … 20 MB\` each) + final COPY from all, --no-cache"
untimed "${KB[@]}" -f "$DF/parallel.Dockerfile" "$WORK/empty"
untimed "${BB[@]}" -f "$DF/parallel.Dockerfile" "$WORK/empty"
for i in $(seq 1 "$RUNS"); do
  measure 5 kiln "$i" 0 "${KB[@]}" --no-cache -f "$DF/parallel.Dockerfile" "$WORK/empty"
  measure 5 buildah "$i" 0 "${BB[@]}" --no-cache -f "$DF/parallel.Dockerfile" "$WORK/empty"
done

# ---- per-step overhead ---------------------------------------------------------
say "per-step overhead: 10 x RUN true, --no-cache"
label step "per-step overhead: (10 × \`RUN true\`, --no-cache) wall time / 10" "div=10"
for i in $(seq 1 "$RUNS"); do
  measure step kiln "$i" 0 "${KB[@]}" --no-cache -f "$DF/steps.Dockerfile" "$WORK/empty"
  measure step buildah "$i" 0 "${BB[@]}" --no-cache -f "$DF/steps.Dockerfile" "$WORK/empty"
done

# ---- 6. big context ------------------------------------------------------------
say "row 6: generating a $CTX_FILES-file, $CTX_MB MiB context"
CTX=$WORK/context
t0=$(date +%s)
"$WORK/bin/benchtool" genctx "$CTX" "$CTX_FILES" "$CTX_MB" || die "genctx failed"
log "context generated in $(($(date +%s) - t0)) s: $(du -sh "$CTX" | cut -f1)"
ctxdesc="$CTX_FILES files, $CTX_MB MiB"
label 6a "$ctxdesc context, \`COPY . /ctx\`: cold (empty store)" rss
label 6b "$ctxdesc context: no-op rebuild right after" rss
label 6c "$ctxdesc context: a second no-op rebuild (kiln only: buildah has no stat cache, its 6b is its steady state)" rss
# Keep time for row 7: its build and at least one export and push.
reserve7=$(((60 + 30) * BIG_MB / 1024 + 20))
runs6=0
for i in $(seq 1 "$BIG_RUNS"); do
  if [ "$i" -gt 1 ] && ! fits $((iter + reserve7)); then
    say "  (row 6 stops after $runs6 run(s): another would pass the ${BUDGET} s budget)"
    break
  fi
  t_iter=$(date +%s)
  fresh_kiln "$KSTORE"
  fresh_buildah "$BSTORE"
  measure 6a kiln "$i" 0 "${KB[@]}" -t ctx -f "$DF/context.Dockerfile" "$CTX"
  measure 6a buildah "$i" 0 "${BB[@]}" -t ctx -f "$DF/context.Dockerfile" "$CTX"
  measure 6b kiln "$i" 0 "${KB[@]}" -t ctx -f "$DF/context.Dockerfile" "$CTX"
  measure 6b buildah "$i" 0 "${BB[@]}" -t ctx -f "$DF/context.Dockerfile" "$CTX"
  measure 6c kiln "$i" 0 "${KB[@]}" -t ctx -f "$DF/context.Dockerfile" "$CTX"
  iter=$(($(date +%s) - t_iter))
  runs6=$i
done
rm -rf "$CTX"
fresh_kiln "$KSTORE"
fresh_buildah "$BSTORE"

# ---- 7. export and push of a big image ----------------------------------------
say "row 7: a $BIG_MB MiB image: build once, then export to an OCI tar and push"
label 7a "build the $BIG_MB MiB image (4 × \`RUN dd\` of random data), once"
label 7b "export the $BIG_MB MiB image to an OCI tar" rss,mbps
label 7c "push the $BIG_MB MiB image to a fresh loopback registry" rss,mbps
measure 7a kiln 1 0 "${KB[@]}" -t big -f "$DF/big.Dockerfile" "$WORK/empty"
measure 7a buildah 1 0 "${BB[@]}" -t big -f "$DF/big.Dockerfile" "$WORK/empty"
runs7=0
for i in $(seq 1 "$BIG_RUNS"); do
  if [ "$i" -gt 1 ] && ! fits $((iter + 10)); then
    say "  (row 7 stops after $runs7 run(s): another would pass the ${BUDGET} s budget)"
    break
  fi
  t_iter=$(date +%s)
  ktar=$WORK/out/kiln.tar btar=$WORK/out/buildah.tar
  measure 7b kiln "$i" "@$ktar" "${KB[@]}" -o "type=oci,dest=$ktar" -f "$DF/big.Dockerfile" "$WORK/empty"
  measure 7b buildah "$i" "@$btar" "${BH[@]}" push -q big "oci-archive:$btar"
  kbytes=$(stat -c %s "$ktar") bbytes=$(stat -c %s "$btar")
  rm -f "$ktar" "$btar"
  restart_registry push
  measure 7c kiln "$i" "$kbytes" "${K[@]}" push big "$REG_PUSH/bench/big:kiln"
  restart_registry push
  measure 7c buildah "$i" "$bbytes" "${BH[@]}" push -q --tls-verify=false big "docker://$REG_PUSH/bench/big:buildah"
  iter=$(($(date +%s) - t_iter))
  runs7=$i
done

# ---- report -----------------------------------------------------------------------
elapsed=$(elapsed)
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
table=$("$WORK/bin/benchtool" table "$RES") || die "benchtool table failed"
scaled=""
if [ "$CTX_FILES" != 50000 ] || [ "$CTX_MB" != 500 ] || [ "$BIG_MB" != 1024 ] || [ "$runs6" != "$RUNS" ] || [ "$runs7" != "$RUNS" ]; then
  scaled="**Scaled down** to keep the script short (the issue: a 50,000-file / 500 MiB context, a 1 GiB image; $RUNS runs a row): "
  scaled+="context $CTX_FILES files / $CTX_MB MiB, image $BIG_MB MiB, $runs6 run(s) of row 6 and $runs7 of row 7"
  scaled+=" (BENCH_BIG_RUNS=$BIG_RUNS, BENCH_BUDGET=$BUDGET s)."
fi
{
  echo "# kiln vs buildah — benchmark results"
  echo
  echo "Made by \`bench/run.sh\` (see bench/README.md for what each row measures) on $(date -u '+%Y-%m-%d %H:%M UTC')."
  echo
  echo "- machine: $(nproc) CPUs ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo) RAM, kernel $(uname -r), $(. /etc/os-release && echo "$PRETTY_NAME")"
  echo "- work dir filesystem: $(findmnt -n -o FSTYPE -T "$WORK") ($(findmnt -n -o SOURCE -T "$WORK"))"
  if [ -n "${BENCH_KILN:-}" ]; then
    echo "- kiln: the binary $BENCH_KILN (BENCH_KILN; the repo is at commit $commit)"
  else
    echo "- kiln: commit $commit${dirty:+ (with uncommitted changes)}, built with $(go version | awk '{print $3}')"
  fi
  echo "- buildah: $(buildah --version | awk '{print $3}') (Debian package), runc $(runc --version | awk 'NR==1 {print $3}'), docker-registry $(dpkg-query -W -f '${Version}' docker-registry 2>/dev/null)"
  echo "- runs: $RUNS a row (row 6: $runs6, row 7: $runs7), kiln and buildah alternating; the table shows medians"
  echo "- load average (1, 5, 15 min) before: $load_before; after: $load_after"
  echo "- buildah flags: \`buildah build --layers --storage-driver overlay --root/--runroot <temp> --tls-verify=false --isolation oci --pull=false --jobs 4\`"
  echo "- whole script: $((elapsed / 60)) min $((elapsed % 60)) s"
  [ -n "$scaled" ] && { echo; echo "$scaled"; }
  echo
  echo "$table"
  echo
  echo "Ratios below 1 mean kiln is faster (or smaller). Where kiln's time goes on these rows: bench/PROFILE.md (made with bench/profile.sh)."
} >"$OUT"
say ""
say "$table"
say ""
[ -n "$scaled" ] && say "$scaled"
say "results written to $OUT (whole script: $((elapsed / 60)) min $((elapsed % 60)) s)"
