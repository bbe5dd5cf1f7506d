#!/usr/bin/env bash
# bench/run.sh — kiln against BuildKit (warm buildkitd, buildctl) and
# `buildah build --layers`, side by side and interleaved run by run, on the
# seed's patterns and the synthetic rows (issues 12, 20, 21). Run as root:
#
#   bench/run.sh                                 # everything, BENCH_RUNS=5
#   BENCH_RUNS=1 bench/run.sh                    # a smoke run
#   BENCH_ROWS=p1-go,step bench/run.sh           # only these groups of rows
#
# Knobs (environment):
#   BENCH_RUNS=5          runs of each builder per row (in each run: kiln, BuildKit, buildah)
#   BENCH_BIG_RUNS=RUNS   runs of the context and big-image rows (the slow ones)
#   BENCH_ROWS=all        comma-separated groups (bench/README.md lists them); all = every one
#   BENCH_TOOLS=kiln,buildkit,buildah   the columns to run
#   BENCH_CACHE_BUILDS=p1-node,p1-go,p3-prod,p6,fifty   the builds of the cache rows
#   BENCH_CTX_FILES=50000 BENCH_CTX_MB=500   the context row's generated context
#   BENCH_BIG_MB=1024     the big-image rows' image (four incompressible layers)
#   BENCH_OUT=bench/RESULTS.md   where the report goes
#   BENCH_NOTE=TEXT       a sentence put at the top of the report (e.g. "smoke run on a loaded machine")
#   BENCH_WORK=DIR        work directory (default: a new one under /var/tmp)
#   BENCH_KEEP=1          keep the work directory (stores, logs) afterwards
#   BENCH_KILN=PATH       benchmark this kiln binary instead of building the working tree
#   BENCH_BUILDKIT=DIR    buildkitd and buildctl from DIR (default: test/oracle/build.sh)
#
# See bench/README.md for what every row measures.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)

RUNS=${BENCH_RUNS:-5}
BIG_RUNS=${BENCH_BIG_RUNS:-$RUNS}
ROWS=${BENCH_ROWS:-all}
TOOLS=${BENCH_TOOLS:-kiln,buildkit,buildah}
CTX_FILES=${BENCH_CTX_FILES:-50000}
CTX_MB=${BENCH_CTX_MB:-500}
BIG_MB=${BENCH_BIG_MB:-1024}
OUT=${BENCH_OUT:-$here/RESULTS.md}
LAYER_MB=$((BIG_MB / 4))
CACHE_BUILDS=${BENCH_CACHE_BUILDS:-p1-node,p1-go,p3-prod,p6,fifty}
GROUPS_ALL="p1-node p1-go p2-dev p2-prod p3-test p3-prod p4-node p4-go p5 p6 p7 p8 step parallel context big cache"

[ "$(id -u)" = 0 ] || { echo "bench/run.sh must run as root (the builders run runc containers on overlayfs)" >&2; exit 2; }
for g in ${ROWS//,/ }; do
  [ "$g" = all ] || [[ " $GROUPS_ALL " == *" $g "* ]] || { echo "BENCH_ROWS: unknown group $g (groups: all $GROUPS_ALL)" >&2; exit 2; }
done
for t in ${TOOLS//,/ }; do
  [[ " kiln buildkit buildah " == *" $t "* ]] || { echo "BENCH_TOOLS: unknown builder $t (kiln, buildkit, buildah)" >&2; exit 2; }
done
want() { [ "$ROWS" = all ] || [[ ",$ROWS," == *",$1,"* ]]; }
TOOL_LIST=${TOOLS//,/ }
has_tool() { [[ " $TOOL_LIST " == *" $1 "* ]]; }

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
TIMED_SH=1
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
trap cleanup EXIT
trap 'exit 130' INT TERM

start_all=$(date +%s)
# The commit kiln is built from (read now: the repo may move during the run).
commit=$(git -C "$repo" rev-parse --short HEAD)
dirty=$(git --no-optional-locks -C "$repo" status --porcelain -- . ':!bench' 2>/dev/null | head -1)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
say "kiln bench: work dir $WORK, log $LOG; rows: $ROWS; builders: $TOOLS; $RUNS run(s)"
need_tools
command -v npm >/dev/null || die "npm is not installed (the node:20-alpine stand-in is made from the host's node and npm)"
if [ -n "${BENCH_KILN:-}" ]; then
  say "using kiln binary $BENCH_KILN"
else
  say "building kiln (commit $commit)"
fi
build_binaries
has_tool buildkit && find_buildkit
start_registry base
start_registry push
write_config
say "making the base images and pushing them to $REG_BASE"
make_bases
make_seed_bases
has_tool buildkit && start_buildkitd

# kiln_store N / buildah_store N: the builder's store is WORK/stores/TOOL-N.
kiln_store() {
  KSTORE=$WORK/stores/kiln-$1
  # kiln, with the loopback registries' config, plain progress (logged).
  K=("$WORK/bin/kiln" --config "$WORK/kiln.toml" --root "$KSTORE")
  KB=("${K[@]}" build --progress plain)
}
buildah_store() {
  BSTORE=$WORK/stores/buildah-$1
  # buildah, its own storage under the work dir. TMPDIR holds its cache mounts
  # (buildah-cache-0) and temporary files. --pull=false pulls a base image only
  # when it is missing (kiln's behaviour; buildah's default, true, asks the
  # registry for a newer one on every build). --jobs 4 lets it build up to four
  # independent stages at once (its default is 1; kiln's is parallel).
  BH=(env TMPDIR="$BSTORE/tmp" buildah --storage-driver overlay --root "$BSTORE/root" --runroot "$BSTORE/run")
  BB=("${BH[@]}" build --layers --tls-verify=false --isolation oci --pull=false --jobs 4)
  mkdir -p "$BSTORE/tmp"
}
STORE_N=0
kiln_store 0
buildah_store 0
# buildctl against the warm daemon, the Dockerfile frontend built into it.
BC=("${BK_DIR:-/nonexistent}/buildctl" --addr "${BK_ADDR:-}")
BCB=("${BC[@]}" build --progress plain --frontend dockerfile.v0)

# ---- measurement ---------------------------------------------------------

label() { printf 'L\t%s\t%s\t%s\n' "$1" "$2" "${3:-}" >>"$RES"; }

# measure ROW TOOL RUN BYTES CMD... — wall time (date, ns), peak RSS
# (/usr/bin/time; for BuildKit plus buildkitd's peak during the command) and
# RUN time (benchtool runtime on the command's output) of CMD; BYTES is a
# number or @FILE (the file's size after). A failing command is recorded as
# failed (its output is in the log) and the script goes on: returns 1.
measure() {
  local row=$1 tool=$2 run=$3 bytes=$4
  shift 4
  local out=$WORK/cmd.out
  printf '\n=== row %s, %s, run %s: %s\n' "$row" "$tool" "$run" "$*" >>"$LOG"
  if [ "$tool" = buildkit ]; then
    echo 5 >"/proc/$BK_PID/clear_refs" # resets buildkitd's VmHWM to its RSS now
  fi
  local t0 t1 rc=0
  t0=$(date +%s%N)
  /usr/bin/time -f '%M' -o "$WORK/rss" "$@" >"$out" 2>&1 || rc=$?
  t1=$(date +%s%N)
  cat "$out" >>"$LOG"
  if [ "$rc" != 0 ]; then
    printf 'F\t%s\t%s\t%s\t%s\n' "$row" "$tool" "$run" "exit status $rc (see the log)" >>"$RES"
    printf '  %-14s %-8s run %s  FAILED (exit status %s; the log has its output)\n' "$row" "$tool" "$run" "$rc"
    return 1
  fi
  local rss secs runsecs
  rss=$(tail -n 1 "$WORK/rss")
  if [ "$tool" = buildkit ]; then
    rss=$((rss + $(awk '/^VmHWM:/ {print $2}' "/proc/$BK_PID/status")))
  fi
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", (b - a) / 1e9 }')
  runsecs=$("$WORK/bin/benchtool" runtime "$out")
  if [[ $bytes == @* ]]; then
    bytes=$(stat -c %s "${bytes#@}")
  fi
  printf 'M\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$row" "$tool" "$run" "$secs" "$rss" "$bytes" "$runsecs" >>"$RES"
  printf '  %-14s %-8s run %s  %9.3f s  (RUN %7.3f s)  max RSS %5d MiB\n' "$row" "$tool" "$run" "$secs" "$runsecs" $((rss / 1024))
}

log() { printf '\n--- %s\n' "$*" >>"$LOG"; }
untimed() { log "untimed: $*"; "$@" >>"$LOG" 2>&1; }

# fresh TOOL: an empty store or cache for a cold build. kiln and buildah
# get a new directory, never one just emptied; BuildKit's warm daemon is
# pruned (buildctl prune --all). Then every cold build waits until 31 s
# have passed since the last deletion: ext4 skips inodes freed in the last
# 30 s (recently_deleted), and unpacking a base image right after `rm -rf`
# of a store took 2-3x as long (bench/PROFILE.md). Old stores are unmounted
# and stay until the end (or until less than 10 GiB is free).
LAST_DELETE=0
fresh() {
  case $1 in
  kiln | buildah)
    if [ "$1" = kiln ]; then umount_under "$KSTORE"; else umount_under "$BSTORE"; fi
    if [ "$(df --output=avail -k "$WORK" | tail -1)" -lt $((10 * 1024 * 1024)) ]; then
      rm -rf "$WORK/stores"
      LAST_DELETE=$(date +%s)
    fi
    STORE_N=$((STORE_N + 1))
    "$1_store" $STORE_N
    ;;
  buildkit)
    bk_prune
    LAST_DELETE=$(date +%s)
    ;;
  esac
  settle
}

# settle waits out ext4's recently-deleted window (see fresh).
settle() {
  local left=$((LAST_DELETE + 31 - $(date +%s)))
  if [ "$left" -gt 0 ]; then
    log "settle: ${left}s after the last deletion"
    sleep "$left"
  fi
}

# build_cmd TOOL TAG DOCKERFILE CONTEXT [OPTION...] sets CMD to TOOL's build
# command. Options, one vocabulary for the three: target=STAGE
# platform=P secret=ID:FILE nocache oci=DEST (export an OCI tar)
# cache-to=REF cache-from=REF (registry cache, mode=max; not buildah)
# push=NAME (BuildKit: build and push in one, as buildx build --push).
build_cmd() {
  local tool=$1 tag=$2 df=$3 ctx=$4 o
  shift 4
  local args=() out=""
  for o in "$@"; do
    case $tool:$o in
    buildkit:target=*) args+=(--opt "$o") ;;
    buildkit:platform=*) args+=(--opt "$o") ;;
    buildkit:secret=*) o=${o#secret=}; args+=(--secret "id=${o%%:*},src=${o#*:}") ;;
    buildkit:nocache) args+=(--no-cache) ;;
    buildkit:oci=*) out="type=oci,dest=${o#oci=}" ;;
    buildkit:push=*) out="type=image,name=${o#push=},push=true,registry.insecure=true" ;;
    buildkit:cache-to=*) args+=(--export-cache "type=registry,ref=${o#cache-to=},mode=max,registry.insecure=true") ;;
    buildkit:cache-from=*) args+=(--import-cache "type=registry,ref=${o#cache-from=},registry.insecure=true") ;;
    *:target=*) args+=(--target "${o#target=}") ;;
    *:platform=*) args+=(--platform "${o#platform=}") ;;
    *:secret=*) o=${o#secret=}; args+=(--secret "id=${o%%:*},src=${o#*:}") ;;
    *:nocache) args+=(--no-cache) ;;
    kiln:oci=*) args+=(-o "type=oci,dest=${o#oci=}") ;;
    kiln:cache-to=*) args+=(--cache-to "type=registry,ref=${o#cache-to=},mode=max") ;;
    kiln:cache-from=*) args+=(--cache-from "type=registry,ref=${o#cache-from=}") ;;
    *) die "build_cmd: option $o is not defined for $tool" ;;
    esac
  done
  case $tool in
  kiln) CMD=("${KB[@]}" -t "$tag" -f "$df" "${args[@]}" "$ctx") ;;
  buildah) CMD=("${BB[@]}" -t "$tag" -f "$df" "${args[@]}" "$ctx") ;;
  buildkit)
    # The image exporter without push: layers compressed, manifest and
    # config written to buildkitd's content store, the name in its image
    # store: what kiln -t does (kiln compresses at build time too).
    CMD=("${BCB[@]}" --local "context=$ctx" --local "dockerfile=$(dirname "$df")" --opt "filename=$(basename "$df")"
      "${args[@]}" --output "${out:-type=image,name=bench/$tag}")
    ;;
  esac
}

# ---- the projects ----------------------------------------------------------

DF=$WORK/dockerfiles
mkdir -p "$DF" "$WORK/empty" "$WORK/out"
for f in "$here"/seed/*.Dockerfile; do
  render "$f" "$DF/$(basename "$f")"
done
for f in parallel steps context big; do
  render "$here/dockerfiles/$f.Dockerfile" "$DF/$f.Dockerfile"
done
# The Go app: examples/go-hello plus the line the edit rows rewrite.
GOAPP=$WORK/go-app
cp -r "$repo/examples/go-hello" "$GOAPP"
rm -f "$GOAPP/Dockerfile"
printf '\n// benchRev is the line bench/run.sh edits for its "one-line source edit" rows.\nvar benchRev = "0"\n' >>"$GOAPP/main.go"
# The Node app: bench/seed/node-app (a dependency and a devDependency from
# the host's npm registry).
NODEAPP=$WORK/node-app
cp -r "$here/seed/node-app" "$NODEAPP"
printf 'bench-token\n' >"$WORK/npm_token"
set_rev() {
  case $1 in
  go) sed -i "s/^var benchRev = .*/var benchRev = \"$2\"/" "$GOAPP/main.go" ;;
  node) sed -i "s/^const benchRev = .*/const benchRev = \"$2\";/" "$NODEAPP/src/index.js" ;;
  esac
}

# seed GROUP DOCKERFILE APP DESCRIPTION [OPTION...]: the cold, no-op and
# one-line-edit rows of one seed pattern. In each run every builder starts
# cold (a new store or a pruned cache), then rebuilds unchanged, then after
# rewriting one line of the app's source.
seed() {
  local g=$1 df=$DF/$2 app=$3 desc=$4
  shift 4
  want "$g" || return 0
  local ctx=$GOAPP
  [ "$app" = node ] && ctx=$NODEAPP
  say "$g: $desc — cold, no-op, one-line edit"
  label "$g cold" "$desc: cold (empty store, base images in the loopback registry)" over
  label "$g no-op" "$desc: no-op rebuild" over
  label "$g edit" "$desc: after a one-line source edit" over
  local i t
  for i in $(seq 1 "$RUNS"); do
    for t in $TOOL_LIST; do
      set_rev "$app" "$t-$i-base"
      fresh "$t"
      build_cmd "$t" "$g" "$df" "$ctx" "$@"
      measure "$g cold" "$t" "$i" 0 "${CMD[@]}" || continue
      measure "$g no-op" "$t" "$i" 0 "${CMD[@]}" || true
      set_rev "$app" "$t-$i-edit"
      measure "$g edit" "$t" "$i" 0 "${CMD[@]}" || true
    done
  done
}

NODE="node app (ms + is-number from npm)"
seed p1-node p1-node.Dockerfile node "Pattern 1 Node ($NODE)"
seed p1-go p1-go.Dockerfile go "Pattern 1 Go → scratch"
seed p2-dev p2.Dockerfile node "Pattern 2, --target development" target=development
seed p2-prod p2.Dockerfile node "Pattern 2, --target production" target=production
seed p3-test p3.Dockerfile node "Pattern 3, --target test (lint, test, type-check)" target=test
seed p3-prod p3.Dockerfile node "Pattern 3, --target production" target=production
seed p4-node p4-node.Dockerfile node "Pattern 4 Node, npm cache mount"
seed p4-go p4-go.Dockerfile go "Pattern 4 Go, module and build cache mounts"
seed p5 p5.Dockerfile go "Pattern 5, Go cross-compiled to linux/arm64" platform=linux/arm64
seed p6 p6.Dockerfile node "Pattern 6, dependency-only stages"
seed p7 p7.Dockerfile node "Pattern 7, binaries from other images"
seed p8 p8.Dockerfile node "Pattern 8, npm token as a secret mount" "secret=npm_token:$WORK/npm_token"

# ---- synthetic rows ------------------------------------------------------------

# warm_base: every builder, from an empty store, has the busybox base image
# (an untimed build).
warm_base() {
  local t
  for t in $TOOL_LIST; do
    fresh "$t"
    build_cmd "$t" warm "$DF/steps.Dockerfile" "$WORK/empty"
    untimed "${CMD[@]}" || die "$t: the untimed build that pulls busybox failed"
  done
}

if want step; then
  say "step: per-step overhead, 10 x RUN true, --no-cache"
  label step "per-step overhead: (10 × \`RUN true\`, --no-cache) wall time / 10" div=10,over
  warm_base
  for i in $(seq 1 "$RUNS"); do
    for t in $TOOL_LIST; do
      build_cmd "$t" steps "$DF/steps.Dockerfile" "$WORK/empty" nocache
      measure step "$t" "$i" 0 "${CMD[@]}" || true
    done
  done
fi

if want parallel; then
  say "parallel: four independent stages (sleep 1 + 20 MB each), --no-cache, base image local"
  label parallel "4 independent stages (\`sleep 1 && dd … 20 MB\` each) + final COPY from all, --no-cache" over
  warm_base
  for i in $(seq 1 "$RUNS"); do
    for t in $TOOL_LIST; do
      build_cmd "$t" parallel "$DF/parallel.Dockerfile" "$WORK/empty" nocache
      measure parallel "$t" "$i" 0 "${CMD[@]}" || true
    done
  done
fi

if want context; then
  say "context: generating a $CTX_FILES-file, $CTX_MB MiB context"
  CTX=$WORK/context
  t0=$(date +%s)
  "$WORK/bin/benchtool" genctx "$CTX" "$CTX_FILES" "$CTX_MB" || die "genctx failed"
  log "context generated in $(($(date +%s) - t0)) s: $(du -sh "$CTX" | cut -f1)"
  ctxdesc="$CTX_FILES files, $CTX_MB MiB"
  label "ctx cold" "$ctxdesc context, \`COPY . /ctx\`: cold (empty store)" rss
  label "ctx no-op" "$ctxdesc context: no-op rebuild right after" rss
  label "ctx no-op 2" "$ctxdesc context: a second no-op rebuild (kiln's first no-op re-hashes; this is its steady state)" rss
  for i in $(seq 1 "$BIG_RUNS"); do
    for t in $TOOL_LIST; do
      fresh "$t"
      build_cmd "$t" ctx "$DF/context.Dockerfile" "$CTX"
      measure "ctx cold" "$t" "$i" 0 "${CMD[@]}" || continue
      measure "ctx no-op" "$t" "$i" 0 "${CMD[@]}" || true
      measure "ctx no-op 2" "$t" "$i" 0 "${CMD[@]}" || true
    done
  done
  rm -rf "$CTX"
fi

if want big; then
  say "big: a $BIG_MB MiB image: build once, then export to an OCI tar and push"
  label "big build" "build the $BIG_MB MiB image (4 × \`RUN dd\` of random data), once" over
  label "big oci" "export the $BIG_MB MiB image to an OCI tar (kiln, BuildKit: a cached build with -o type=oci; buildah push oci-archive:)" mbps
  label "big push" "push the $BIG_MB MiB image to an empty loopback registry (BuildKit: a cached build with push=true)" mbps
  for t in $TOOL_LIST; do
    fresh "$t"
    build_cmd "$t" big "$DF/big.Dockerfile" "$WORK/empty"
    measure "big build" "$t" 1 0 "${CMD[@]}" || true
  done
  for i in $(seq 1 "$BIG_RUNS"); do
    for t in $TOOL_LIST; do
      tar=$WORK/out/$t.tar
      case $t in
      buildah) CMD=("${BH[@]}" push -q big "oci-archive:$tar") ;;
      *) build_cmd "$t" big "$DF/big.Dockerfile" "$WORK/empty" "oci=$tar" ;;
      esac
      measure "big oci" "$t" "$i" "@$tar" "${CMD[@]}" || continue
      bytes=$(stat -c %s "$tar")
      rm -f "$tar"
      restart_registry push
      case $t in
      kiln) CMD=("${K[@]}" push big "$REG_PUSH/bench/big:kiln") ;;
      buildah) CMD=("${BH[@]}" push -q --tls-verify=false big "docker://$REG_PUSH/bench/big:buildah") ;;
      buildkit) build_cmd "$t" big "$DF/big.Dockerfile" "$WORK/empty" "push=$REG_PUSH/bench/big:buildkit" ;;
      esac
      measure "big push" "$t" "$i" "$bytes" "${CMD[@]}" || true
    done
  done
fi

# ---- issue 20: registry cache, mode=max ------------------------------------------

if want cache; then
  # A generated 50-stage Dockerfile: each stage writes 256 KiB of its own;
  # stages 10-49 also copy from the stage ten before, the last copies from all.
  {
    for n in $(seq 0 49); do
      printf 'FROM %s/library/busybox:latest AS s%d\n' "$REG_BASE" "$n"
      [ "$n" -ge 10 ] && printf 'COPY --from=s%d /n /prev\n' $((n - 10))
      printf 'RUN echo %d > /n && dd if=/dev/urandom of=/blob bs=64k count=4 2>/dev/null\n\n' "$n"
    done
    printf 'FROM %s/library/busybox:latest\n' "$REG_BASE"
    for n in $(seq 0 49); do printf 'COPY --from=s%d /n /n%d\n' "$n" "$n"; done
  } >"$DF/fifty.Dockerfile"
  for spec in "p1-node:p1-node.Dockerfile:node" "p1-go:p1-go.Dockerfile:go" "p3-prod:p3.Dockerfile:node:target=production" \
    "p6:p6.Dockerfile:node" "fifty:fifty.Dockerfile:empty"; do
    IFS=: read -r g df app opt <<<"$spec"
    [[ ",$CACHE_BUILDS," == *",$g,"* ]] || continue
    ctx=$WORK/empty
    [ "$app" = go ] && ctx=$GOAPP
    [ "$app" = node ] && ctx=$NODEAPP
    opts=()
    [ -n "$opt" ] && opts=("$opt")
    say "cache: $g — export of a mode=max registry cache after a cold build, import into an empty store"
    label "$g cache-to" "$g: a cached rebuild exporting its mode=max registry cache (--cache-to / --export-cache) to an empty loopback registry"
    label "$g cache-from" "$g: build in an empty store from that cache (--cache-from / --import-cache)"
    for i in $(seq 1 "$RUNS"); do
      for t in $TOOL_LIST; do
        [ "$t" = buildah ] && continue # buildah 1.28 has no mode=max cache export
        ref=$REG_PUSH/cache/$g:$t
        fresh "$t"
        build_cmd "$t" "$g" "$DF/$df" "$ctx" "${opts[@]}"
        untimed "${CMD[@]}" || { printf 'F\t%s\t%s\t%s\t%s\n' "$g cache-to" "$t" "$i" "the cold build failed" >>"$RES"; continue; }
        restart_registry push
        build_cmd "$t" "$g" "$DF/$df" "$ctx" "${opts[@]}" "cache-to=$ref"
        measure "$g cache-to" "$t" "$i" 0 "${CMD[@]}" || continue
        fresh "$t"
        build_cmd "$t" "$g" "$DF/$df" "$ctx" "${opts[@]}" "cache-from=$ref"
        measure "$g cache-from" "$t" "$i" 0 "${CMD[@]}" || true
      done
    done
  done
fi

# ---- report -----------------------------------------------------------------------
elapsed=$(($(date +%s) - start_all))
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
table=$("$WORK/bin/benchtool" table "$RES") || die "benchtool table failed"
scaled=""
if [ "$CTX_FILES" != 50000 ] || [ "$CTX_MB" != 500 ] || [ "$BIG_MB" != 1024 ] || [ "$BIG_RUNS" != "$RUNS" ] || [ "$RUNS" -lt 5 ] || [ "$ROWS" != all ]; then
  scaled="**Not the issue's full run** (that is 5 runs a row, a 50,000-file / 500 MiB context, a 1 GiB image, every row): "
  scaled+="$RUNS run(s) a row, $BIG_RUNS of the context and big-image rows, context $CTX_FILES files / $CTX_MB MiB, image $BIG_MB MiB, rows: $ROWS."
fi
bkver=""
has_tool buildkit && bkver=$("${BC[@]}" --version | awk '{print $3}')
{
  echo "# kiln vs BuildKit vs buildah — benchmark results"
  echo
  [ -n "${BENCH_NOTE:-}" ] && { echo "**$BENCH_NOTE**"; echo; }
  echo "Made by \`$(printf 'BENCH_RUNS=%s ' "$RUNS")${BENCH_ROWS:+BENCH_ROWS=$ROWS }bench/run.sh\` (see bench/README.md for what each row measures) on $(date -u '+%Y-%m-%d %H:%M UTC')."
  echo
  echo "- machine: $(nproc) CPUs ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo) RAM, kernel $(uname -r), $(. /etc/os-release && echo "$PRETTY_NAME")"
  echo "- work dir filesystem: $(findmnt -n -o FSTYPE -T "$WORK") ($(findmnt -n -o SOURCE -T "$WORK"))"
  if [ -n "${BENCH_KILN:-}" ]; then
    echo "- kiln: the binary $BENCH_KILN (BENCH_KILN; the repo is at commit $commit)"
  else
    echo "- kiln: commit $commit${dirty:+ (with uncommitted changes)}, built with $(go version | awk '{print $3}')"
  fi
  [ -n "$bkver" ] && echo "- BuildKit: buildkitd/buildctl $bkver (built from its Go module by test/oracle/build.sh), one warm daemon, OCI worker (runc, overlayfs), \`buildctl build --frontend dockerfile.v0 --output type=image,name=…\`"
  echo "- buildah: $(buildah --version | awk '{print $3}') (Debian package), \`buildah build --layers --storage-driver overlay --tls-verify=false --isolation oci --pull=false --jobs 4\`"
  echo "- runc $(runc --version | awk 'NR==1 {print $3}'), docker-registry $(dpkg-query -W -f '${Version}' docker-registry 2>/dev/null), node $(node --version), npm $(npm --version) (registry $(npm config get registry))"
  echo "- runs: $RUNS a row ($BIG_RUNS of the context and big-image rows); in each run kiln, BuildKit and buildah follow one another"
  echo "- load average (1, 5, 15 min) before: $load_before; after: $load_after"
  echo "- whole script: $((elapsed / 60)) min $((elapsed % 60)) s"
  [ -n "$scaled" ] && { echo; echo "$scaled"; }
  echo
  echo "$table"
  echo
  echo "Where kiln's time goes on these rows: bench/PROFILE.md (made with bench/profile.sh)."
} >"$OUT"
say ""
say "$table"
say ""
[ -n "$scaled" ] && say "$scaled"
say "results written to $OUT (whole script: $((elapsed / 60)) min $((elapsed % 60)) s)"
