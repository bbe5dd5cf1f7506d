#!/usr/bin/env bash
# bench/modes.sh — the same builds in each isolation mode kiln has: root,
# rootless (a plain user with subordinate ids, as docs/security.md
# describes), rootless-noproc (the same user, no pid namespace), container
# (root without CAP_SYS_ADMIN: setpriv drops it from the bounding set; on a
# host's root filesystem RUN is chrooted into a copy of the step's tree)
# and own-root (kiln inside a runc container with Docker's default
# capabilities and seccomp profile, as docs/recipes' kubernetes-job-container
# runs it: container mode lends the container's own / to each RUN). Run as
# root; it creates the user kilnbench (with a subuid/subgid range) when
# missing. Rows run interleaved (root, rootless, …, own-root, root, …),
# BENCH_RUNS times each (default 5); it prints medians with min–max and each
# mode's ratio to root, and writes bench/MODES.md.
#
# Rows: 10 × `RUN true` (per-step cost) and a COPY of a 5,000-file context,
# each in a new store with the base imported (ext4 slows file creation
# for 30 s after a deletion, so nothing is deleted until the end), a
# cached no-op of the step build; then the seed's builds as bench/run.sh
# runs them (bench/seed over examples/go-hello and bench/seed/node-app, the
# base images in a loopback registry, bench/lib.sh's make_bases and
# make_seed_bases): each cold in a new empty store, a no-op rebuild, and
# a rebuild after a one-line source edit. Every build is timed by
# `benchtool timeit` around kiln itself, so neither runuser (15–20 ms)
# nor own-root's runc start is counted. BENCH_MODE_ROWS=p1-go,p6 limits the
# seed builds (default: all twelve); BENCH_SYNTHETIC=0 leaves out the
# synthetic rows. A cold build waits until 31 s (BENCH_SETTLE) have passed
# since a container or own-root build, which delete files (see settle).
# Issue 21's goal for this table: rootless ≤ 1.3× root.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
RUNS=${BENCH_RUNS:-5}
USER_NAME=${BENCH_USER:-kilnbench}
[ "$(id -u)" = 0 ] || { echo "bench/modes.sh: run as root (it creates the user and the root-mode store)" >&2; exit 1; }
for tool in newuidmap newgidmap runc useradd runuser setpriv; do
  command -v "$tool" >/dev/null || { echo "bench/modes.sh: $tool is missing (apt-get install uidmap runc passwd util-linux)" >&2; exit 1; }
done

SYNTHETIC=${BENCH_SYNTHETIC:-1}
SEED_ALL="p1-node p1-go p2-dev p2-prod p3-test p3-prod p4-node p4-go p5 p6 p7 p8"
SEED=${BENCH_MODE_ROWS:-$SEED_ALL}
SEED=${SEED//,/ }
for g in $SEED; do
  [[ " $SEED_ALL " == *" $g "* ]] || { echo "BENCH_MODE_ROWS: unknown seed build $g (builds: $SEED_ALL)" >&2; exit 2; }
done
command -v docker-registry >/dev/null || { echo "bench/modes.sh: docker-registry is missing (apt-get install docker-registry)" >&2; exit 1; }
command -v npm >/dev/null || { echo "bench/modes.sh: npm is missing (the node:20-alpine stand-in is made from the host's node and npm)" >&2; exit 1; }

WORK=$(mktemp -d /var/tmp/kiln-modes-XXXXXX)
chmod 755 "$WORK"
LOG=$WORK/modes.log
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
trap cleanup EXIT
trap 'exit 130' INT TERM

id "$USER_NAME" >/dev/null 2>&1 || useradd --no-create-home --user-group --shell /bin/sh "$USER_NAME"
if ! grep -q "^$USER_NAME:" /etc/subuid || ! grep -q "^$USER_NAME:" /etc/subgid; then
  usermod --add-subuids 300000-365535 --add-subgids 300000-365535 "$USER_NAME"
fi

# Static binaries: own-root's container holds only busybox.
mkdir -p "$WORK/bin"
(cd "$repo" && CGO_ENABLED=0 go build -o "$WORK/bin/kiln" ./cmd/kiln && CGO_ENABLED=0 go build -o "$WORK/bin/benchtool" ./bench/benchtool)
kiln=$WORK/bin/kiln benchtool=$WORK/bin/benchtool
# What every mode reads sits under $IN, mounted at the same path in
# own-root's container: the Dockerfiles, kiln.toml, the secret, and root's
# copies of the projects (the user builds its own copies, under $WORK/user).
IN=$WORK/in
mkdir -p "$IN/df" "$WORK/user/stores" "$WORK/stores" "$WORK/box/runc"
"$repo/scripts/mkrootfs.sh" busybox "$WORK/bbroot" >/dev/null
if [ "$SYNTHETIC" = 1 ]; then
  mkdir -p "$IN/ctx-steps" "$IN/ctx-copy/files"
  { echo "FROM bb:1"; for i in $(seq 10); do echo "RUN true # $i"; done; } >"$IN/ctx-steps/Dockerfile"
  printf 'FROM bb:1\nCOPY files /files\n' >"$IN/ctx-copy/Dockerfile"
  for i in $(seq 5000); do echo "$i" >"$IN/ctx-copy/files/f$i"; done
  # One tar for every store (the user cannot read root's /root in the tree).
  tar -C "$WORK/bbroot" --numeric-owner -cf "$WORK/bb.tar" .
  chmod 644 "$WORK/bb.tar"
fi
# The seed's base images in a loopback registry, as bench/run.sh has them.
start_registry base
write_config
cp "$WORK/kiln.toml" "$IN/kiln.toml"
make_bases
make_seed_bases
for f in "$here"/seed/*.Dockerfile; do render "$f" "$IN/df/$(basename "$f")"; done
# The projects, with the line the edit rows rewrite (as bench/run.sh).
cp -r "$repo/examples/go-hello" "$IN/go-app"
rm -f "$IN/go-app/Dockerfile"
printf '\n// benchRev is the line bench/modes.sh edits for its "one-line source edit" rows.\nvar benchRev = "0"\n' >>"$IN/go-app/main.go"
cp -r "$here/seed/node-app" "$IN/node-app"
printf 'bench-token\n' >"$IN/npm_token"
chmod -R a+rX "$IN"
cp -a "$IN/go-app" "$IN/node-app" "$WORK/user/"
[ "$SYNTHETIC" = 0 ] || cp -a "$IN/ctx-steps" "$IN/ctx-copy" "$WORK/user/"
chown -R "$USER_NAME:" "$WORK/user"
# own-root's container: busybox, kiln and benchtool, and the host's name
# service files for npm's registry.
cp -a "$WORK/bbroot" "$WORK/box/rootfs"
cp "$kiln" "$benchtool" "$WORK/box/rootfs/usr/local/bin/"
cp /etc/resolv.conf /etc/hosts "$WORK/box/rootfs/etc/" 2>/dev/null || true

# new_store MODE [TAR NAME]: a new store for MODE, with TAR imported as NAME
# when given; prints its path.
new_store() {
  local dir k
  case $1 in
  rootless | rootless-noproc)
    dir=$(mktemp -d "$WORK/user/stores/s-XXXXXX")
    chown "$USER_NAME:" "$dir"
    k=(runuser -u "$USER_NAME" -- "$kiln")
    ;;
  *)
    dir=$(mktemp -d "$WORK/stores/s-XXXXXX")
    k=("$kiln")
    ;;
  esac
  [ -z "${2:-}" ] || "${k[@]}" --root "$dir" import "$2" -t "$3" >/dev/null
  echo "$dir"
}
n=0 # own-root's bundles and container ids

# kiln_in MODE STORE CTX ARGS…: kiln build of CTX (a directory under $IN
# or the user's copy) in MODE on STORE, as root, as the user or in
# own-root's container; prints the milliseconds kiln took.
kiln_in() {
  local mode=$1 store=$2 ctx=$3
  shift 3
  local k=(kiln --config "$IN/kiln.toml" --isolation "$mode" --root "$store" build --progress plain "$@" "$ctx")
  case $mode in
  own-root)
    n=$((n + 1))
    mkdir "$WORK/box/bundle$n"
    k[4]=container k[6]=/var/lib/kiln
    "$benchtool" sandbox-spec "$WORK/box/bundle$n" "$WORK/box/rootfs" "$store:/var/lib/kiln" "$IN:$IN" -- benchtool timeit "${k[@]}"
    runc --root "$WORK/box/runc" run --bundle "$WORK/box/bundle$n" "kiln-modes-$$-$n" | tail -1
    ;;
  root) "$benchtool" timeit "$kiln" "${k[@]:1}" ;;
  container) setpriv --bounding-set=-sys_admin "$benchtool" timeit "$kiln" "${k[@]:1}" ;;
  *) runuser -u "$USER_NAME" -- env HOME="$WORK/user" XDG_RUNTIME_DIR="$WORK/user" "$benchtool" timeit "$kiln" "${k[@]:1}" ;;
  esac
}

# ctx MODE DIR: the project DIR as MODE reads it.
ctx() { case $1 in rootless | rootless-noproc) echo "$WORK/user/$2" ;; *) echo "$IN/$2" ;; esac; }

# set_rev APP REV: the one-line edit, in every copy of the project.
set_rev() {
  local f
  case $1 in
  go-app) for f in "$IN/go-app/main.go" "$WORK/user/go-app/main.go"; do sed -i "s/^var benchRev = .*/var benchRev = \"$2\"/" "$f"; done ;;
  node-app) for f in "$IN/node-app/src/index.js" "$WORK/user/node-app/src/index.js"; do sed -i "s/^const benchRev = .*/const benchRev = \"$2\";/" "$f"; done ;;
  esac
}

# The seed builds: Dockerfile, project and options, as bench/run.sh's rows.
declare -A seed_df=() seed_app=() seed_args=() seed_desc=()
seed_build() { seed_df[$1]=$2 seed_app[$1]=$3 seed_desc[$1]=$4 seed_args[$1]=${5:-}; }
seed_build p1-node p1-node.Dockerfile node-app "Pattern 1 Node"
seed_build p1-go p1-go.Dockerfile go-app "Pattern 1 Go → scratch"
seed_build p2-dev p2.Dockerfile node-app "Pattern 2, --target development" "--target development"
seed_build p2-prod p2.Dockerfile node-app "Pattern 2, --target production" "--target production"
seed_build p3-test p3.Dockerfile node-app "Pattern 3, --target test" "--target test"
seed_build p3-prod p3.Dockerfile node-app "Pattern 3, --target production" "--target production"
seed_build p4-node p4-node.Dockerfile node-app "Pattern 4 Node, npm cache mount"
seed_build p4-go p4-go.Dockerfile go-app "Pattern 4 Go, module and build cache mounts"
seed_build p5 p5.Dockerfile go-app "Pattern 5, Go cross-compiled to linux/arm64" "--platform linux/arm64"
seed_build p6 p6.Dockerfile node-app "Pattern 6, dependency-only stages"
seed_build p7 p7.Dockerfile node-app "Pattern 7, binaries from other images"
seed_build p8 p8.Dockerfile node-app "Pattern 8, npm token as a secret mount" "--secret id=npm_token,src=$IN/npm_token"

# skip MODE ROW: why MODE cannot build ROW, or nothing.
skip() {
  case $1/$2 in
  container/p1-go* | container/p4-go* | container/p5*) echo "the chroot variant gives RUN no /proc, and the go command needs /proc/self/exe" ;;
  esac
}

modes=(root rootless rootless-noproc container own-root)
rows=()
declare -A label=()
if [ "$SYNTHETIC" = 1 ]; then
  rows+=(steps copy noop)
  label=([steps]="10 × RUN true, new store (per step: /10)" [copy]="COPY of 5,000 files, new store" [noop]="no-op rebuild of the step build")
fi
for g in $SEED; do
  rows+=("$g cold" "$g no-op" "$g edit")
  label["$g cold"]="${seed_desc[$g]}: cold, new store"
  label["$g no-op"]="${seed_desc[$g]}: no-op rebuild"
  label["$g edit"]="${seed_desc[$g]}: after a one-line source edit"
done
declare -A times=() warm=()

# Container mode deletes a tree per step and own-root gives its root back
# (deleting the base it copied) after each build; ext4 skips inodes freed
# in the last 30 s, so a cold build right after either pays for their
# deletions. A cold build waits until SETTLE seconds have passed since one.
SETTLE=${BENCH_SETTLE:-31}
deleted_at=0
settle() {
  local left=$((deleted_at + SETTLE - $(date +%s)))
  [ "$left" -le 0 ] || sleep "$left"
}

# measure ROW MODE STORE CTX ARGS…: one timed build, added to the row.
measure() {
  local row=$1 mode=$2 ms
  shift 2
  case $row in steps | copy | *cold) settle ;; esac
  kiln_in "$mode" "$@" >"$WORK/last.out" 2>"$WORK/last.log" || { echo "$row in $mode failed:" >&2; tail -20 "$WORK/last.log" >&2; exit 1; }
  case $mode in container | own-root) deleted_at=$(date +%s) ;; esac
  ms=$(tail -1 "$WORK/last.out")
  [[ $ms =~ ^[0-9]+$ ]] || { echo "$row in $mode printed no time:" >&2; tail -20 "$WORK/last.out" "$WORK/last.log" >&2; exit 1; }
  [ "$row" = steps ] && ms=$((ms / 10))
  times[$row/$mode]+="$ms "
}

if [ "$SYNTHETIC" = 1 ]; then
  for mode in "${modes[@]}"; do
    warm[$mode]=$(new_store "$mode" "$WORK/bb.tar" bb:1)
    kiln_in "$mode" "${warm[$mode]}" "$(ctx "$mode" ctx-steps)" >"$WORK/last.log" 2>&1 || { echo "warm-up build in $mode failed:" >&2; tail -20 "$WORK/last.log" >&2; exit 1; }
  done
fi
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
started=$(date +%s)
for run in $(seq "$RUNS"); do
  if [ "$SYNTHETIC" = 1 ]; then
    for mode in "${modes[@]}"; do measure steps "$mode" "$(new_store "$mode" "$WORK/bb.tar" bb:1)" "$(ctx "$mode" ctx-steps)"; done
    for mode in "${modes[@]}"; do measure copy "$mode" "$(new_store "$mode" "$WORK/bb.tar" bb:1)" "$(ctx "$mode" ctx-copy)"; done
    for mode in "${modes[@]}"; do measure noop "$mode" "${warm[$mode]}" "$(ctx "$mode" ctx-steps)"; done
  fi
  for g in $SEED; do
    app=${seed_app[$g]}
    # shellcheck disable=SC2206 # the options are words
    args=(-t "bench/$g" -f "$IN/df/${seed_df[$g]}" ${seed_args[$g]})
    for mode in "${modes[@]}"; do
      [ -z "$(skip "$mode" "$g")" ] || continue
      set_rev "$app" "$mode-$run-base"
      store=$(new_store "$mode")
      measure "$g cold" "$mode" "$store" "$(ctx "$mode" "$app")" "${args[@]}"
      measure "$g no-op" "$mode" "$store" "$(ctx "$mode" "$app")" "${args[@]}"
      set_rev "$app" "$mode-$run-edit"
      measure "$g edit" "$mode" "$store" "$(ctx "$mode" "$app")" "${args[@]}"
    done
  done
  echo "run $run of $RUNS done ($(($(date +%s) - started)) s)" >&2
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# stats "a b c" → "median min max"
stats() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{v[NR]=$1} END {m=(NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2; printf "%g %g %g", m, v[1], v[NR]}'; }
# row_skip MODE ROW: skip's reason for the row's seed build.
row_skip() { skip "$1" "${2%% *}"; }
{
  echo "# kiln's isolation modes on one host (bench/modes.sh)"
  echo
  echo "Made on $(date -u '+%Y-%m-%d %H:%M UTC'), kiln $(git -C "$repo" rev-parse --short HEAD), $(nproc) CPUs, kernel $(uname -r);"
  echo "$RUNS runs a row, the modes interleaved; load average before: $load_before, after: $load_after; $(($(date +%s) - started)) s in all."
  echo "Milliseconds, median (min–max); the ratio is the median's to root's. Goal (issue 21): rootless ≤ 1.3× root."
  echo "Each build is timed around kiln itself (benchtool timeit): runuser's and runc's starts are not counted."
  echo "container: root without CAP_SYS_ADMIN (setpriv), layers copied into a tree per step and RUN chrooted into it."
  echo "own-root: kiln in a runc container with Docker's defaults, each RUN on the container's own / (docs/security.md)."
  echo "The seed builds are bench/run.sh's: cold is a new empty store with the base images in a loopback registry."
  echo
  header="| row |" rule="|---|"
  for mode in "${modes[@]}"; do header+=" $mode |" rule+="---:|"; done
  for mode in "${modes[@]:1}"; do header+=" $mode/root |" rule+="---:|"; done
  echo "$header"
  echo "$rule"
  declare -A within=() measured=()
  for row in "${rows[@]}"; do
    line="| ${label[$row]} |" ratios=""
    read -r root_median _ _ <<<"$(stats "${times[$row/root]}")"
    for mode in "${modes[@]}"; do
      if [ -n "$(row_skip "$mode" "$row")" ]; then
        line+=" — |"
        [ "$mode" = root ] || ratios+=" — |"
        continue
      fi
      read -r m lo hi <<<"$(stats "${times[$row/$mode]}")"
      line+=" $m ($lo–$hi) |"
      [ "$mode" = root ] && continue
      r=$(awk "BEGIN {printf \"%.2f\", $m / $root_median}")
      ratios+=" $r |"
      measured[$mode]=$((${measured[$mode]:-0} + 1))
      awk "BEGIN {exit !($r <= 1.3)}" && within[$mode]=$((${within[$mode]:-0} + 1))
    done
    echo "$line$ratios"
  done
  echo
  for mode in "${modes[@]:1}"; do
    echo "- $mode: ${within[$mode]:-0} of ${measured[$mode]:-0} rows at or below 1.3× root."
  done
  echo
  for row in "${rows[@]}"; do
    for mode in "${modes[@]}"; do
      why=$(row_skip "$mode" "$row")
      [ -z "$why" ] || echo "— $mode, ${row%% *}: not measured: $why."
    done
  done | sort -u
  echo
  echo "Every run (ms), in the order they ran:"
  echo
  for row in "${rows[@]}"; do
    for mode in "${modes[@]}"; do [ -n "$(row_skip "$mode" "$row")" ] || echo "- $row, $mode: ${times[$row/$mode]}"; done
  done
} | tee "${BENCH_OUT:-$here/MODES.md}"
