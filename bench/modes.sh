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
# cached no-op of the step build, and the seed's Pattern 1 Go
# (bench/seed/p1-go.Dockerfile over examples/go-hello, as bench/run.sh
# builds it): cold in a new store with golang:1.22-alpine imported, no-op,
# and after a one-line source edit. own-root is timed inside its container
# (benchtool timeit), without runc's start.
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

WORK=$(mktemp -d /var/tmp/kiln-modes-XXXXXX)
chmod 755 "$WORK"
trap 'umount_all; rm -rf "$WORK"' EXIT
umount_all() { grep " $WORK/" /proc/mounts | awk '{print $2}' | sort -r | xargs -r -n1 umount -l 2>/dev/null || true; }

id "$USER_NAME" >/dev/null 2>&1 || useradd --no-create-home --user-group --shell /bin/sh "$USER_NAME"
if ! grep -q "^$USER_NAME:" /etc/subuid || ! grep -q "^$USER_NAME:" /etc/subgid; then
  usermod --add-subuids 300000-365535 --add-subgids 300000-365535 "$USER_NAME"
fi

# Static binaries: own-root's container holds only busybox.
(cd "$repo" && CGO_ENABLED=0 go build -o "$WORK/kiln" ./cmd/kiln && CGO_ENABLED=0 go build -o "$WORK/benchtool" ./bench/benchtool)
"$repo/scripts/mkrootfs.sh" busybox "$WORK/rootfs" >/dev/null
mkdir -p "$WORK/ctx-steps" "$WORK/ctx-copy/files" "$WORK/user/stores" "$WORK/stores" "$WORK/box/runc"
{ echo "FROM bb:1"; for i in $(seq 10); do echo "RUN true # $i"; done; } >"$WORK/ctx-steps/Dockerfile"
printf 'FROM bb:1\nCOPY files /files\n' >"$WORK/ctx-copy/Dockerfile"
for i in $(seq 5000); do echo "$i" >"$WORK/ctx-copy/files/f$i"; done
# The seed's Pattern 1 Go over examples/go-hello, with the line the edit
# row rewrites (as bench/run.sh).
mkdir -p "$WORK/goapp"
cp -r "$repo/examples/go-hello/." "$WORK/goapp/"
sed 's#@REGISTRY@/library/##' "$here/seed/p1-go.Dockerfile" >"$WORK/goapp/Dockerfile"
printf '\nvar benchRev = "0"\n' >>"$WORK/goapp/main.go"
cp -a "$WORK/ctx-steps" "$WORK/ctx-copy" "$WORK/goapp" "$WORK/user/"
chown -R "$USER_NAME:" "$WORK/user"
"$repo/scripts/mkrootfs.sh" golang "$WORK/golang" >/dev/null
# One tar for every store (the user cannot read root's /root in the tree).
tar -C "$WORK/rootfs" --numeric-owner -cf "$WORK/rootfs.tar" .
tar -C "$WORK/golang" --numeric-owner -cf "$WORK/golang.tar" .
chmod 644 "$WORK/rootfs.tar" "$WORK/golang.tar"
# own-root's container: busybox, kiln and benchtool.
cp -a "$WORK/rootfs" "$WORK/box/rootfs"
cp "$WORK/kiln" "$WORK/benchtool" "$WORK/box/rootfs/usr/local/bin/"

# new_store MODE [TAR NAME]: a new store for MODE with bb:1 (or TAR as
# NAME) imported; prints its path.
new_store() {
  local dir tar=${2:-$WORK/rootfs.tar} name=${3:-bb:1}
  case $1 in
  rootless | rootless-noproc)
    dir=$(mktemp -d "$WORK/user/stores/s-XXXXXX")
    chown "$USER_NAME:" "$dir"
    runuser -u "$USER_NAME" -- "$WORK/kiln" --root "$dir" import "$tar" -t "$name" >/dev/null
    ;;
  *)
    dir=$(mktemp -d "$WORK/stores/s-XXXXXX")
    "$WORK/kiln" --root "$dir" import "$tar" -t "$name" >/dev/null
    ;;
  esac
  echo "$dir"
}
n=0 # own-root's bundles and container ids

# kiln_in MODE STORE CTX ARGS…: kiln build of CTX in MODE on STORE, as root,
# as the user or in own-root's container; prints the milliseconds it took.
kiln_in() {
  local mode=$1 store=$2 ctx=$3 s e
  shift 3
  case $mode in
  own-root)
    n=$((n + 1))
    mkdir "$WORK/box/bundle$n"
    "$WORK/benchtool" sandbox-spec "$WORK/box/bundle$n" "$WORK/box/rootfs" "$store:/var/lib/kiln" "$ctx:/ctx" -- \
      benchtool timeit kiln --isolation container --root /var/lib/kiln build --progress plain "$@" /ctx
    runc --root "$WORK/box/runc" run --bundle "$WORK/box/bundle$n" "kiln-modes-$$-$n" | tail -1
    return
    ;;
  esac
  s=$(date +%s%N)
  case $mode in
  root) "$WORK/kiln" --isolation root --root "$store" build --progress plain "$@" "$ctx" ;;
  container) setpriv --bounding-set=-sys_admin "$WORK/kiln" --isolation container --root "$store" build --progress plain "$@" "$ctx" ;;
  *)
    runuser -u "$USER_NAME" -- env HOME="$WORK/user" XDG_RUNTIME_DIR="$WORK/user" \
      "$WORK/kiln" --isolation "$mode" --root "$store" build --progress plain "$@" "$ctx"
    ;;
  esac || return
  e=$(date +%s%N)
  echo $(((e - s) / 1000000))
}

# skip MODE ROW: why MODE cannot build ROW, or nothing.
skip() {
  case $1/$2 in
  container/p1*) echo "the chroot variant gives RUN no /proc, and the go command needs /proc/self/exe" ;;
  esac
}
ctx() { case $1 in rootless | rootless-noproc) echo "$WORK/user/$2" ;; *) echo "$WORK/$2" ;; esac; }

modes=(root rootless rootless-noproc container own-root)
rows=(steps copy noop p1cold p1noop p1edit)
declare -A label=([steps]="10 × RUN true, new store (per step: /10)" [copy]="COPY of 5,000 files, new store" [noop]="no-op rebuild of the step build"
  [p1cold]="Pattern 1 Go → scratch: cold, new store" [p1noop]="Pattern 1 Go: no-op rebuild" [p1edit]="Pattern 1 Go: after a one-line source edit")
declare -A times=() warm=() p1store=()
for mode in "${modes[@]}"; do
  warm[$mode]=$(new_store "$mode")
  kiln_in "$mode" "${warm[$mode]}" "$(ctx "$mode" ctx-steps)" >"$WORK/last.log" 2>&1 || { echo "warm-up build in $mode failed:" >&2; tail -20 "$WORK/last.log" >&2; exit 1; }
done
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for run in $(seq "$RUNS"); do
  for row in "${rows[@]}"; do
    for mode in "${modes[@]}"; do
      [ -z "$(skip "$mode" "$row")" ] || continue
      case $row in
      steps) store=$(new_store "$mode") dir=ctx-steps ;;
      copy) store=$(new_store "$mode") dir=ctx-copy ;;
      noop) store=${warm[$mode]} dir=ctx-steps ;;
      p1cold)
        store=$(new_store "$mode" "$WORK/golang.tar" golang:1.22-alpine) dir=goapp
        p1store[$mode]=$store
        ;;
      p1noop) store=${p1store[$mode]} dir=goapp ;;
      p1edit)
        store=${p1store[$mode]} dir=goapp
        sed -i "s/^var benchRev = .*/var benchRev = \"$run\"/" "$(ctx "$mode" goapp)/main.go"
        ;;
      esac
      kiln_in "$mode" "$store" "$(ctx "$mode" "$dir")" >"$WORK/last.out" 2>"$WORK/last.log" || { echo "$row in $mode failed:" >&2; tail -20 "$WORK/last.log" >&2; exit 1; }
      ms=$(tail -1 "$WORK/last.out")
      [[ $ms =~ ^[0-9]+$ ]] || { echo "$row in $mode printed no time:" >&2; tail -20 "$WORK/last.out" "$WORK/last.log" >&2; exit 1; }
      [ "$row" = steps ] && ms=$((ms / 10))
      times[$row/$mode]+="$ms "
    done
  done
  echo "run $run of $RUNS done" >&2
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# stats "a b c" → "median min max"
stats() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{v[NR]=$1} END {m=(NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2; printf "%g %g %g", m, v[1], v[NR]}'; }
{
  echo "# kiln's isolation modes on one host (bench/modes.sh)"
  echo
  echo "Made on $(date -u '+%Y-%m-%d %H:%M UTC'), kiln $(git -C "$repo" rev-parse --short HEAD), $(nproc) CPUs, kernel $(uname -r);"
  echo "$RUNS runs a row, the modes interleaved; load average before: $load_before, after: $load_after."
  echo "Milliseconds, median (min–max); the ratio is the median's to root's. Goal (issue 21): rootless ≤ 1.3× root."
  echo "container: root without CAP_SYS_ADMIN (setpriv), layers copied into a tree per step and RUN chrooted into it."
  echo "own-root: kiln in a runc container with Docker's defaults, each RUN on the container's own / (docs/security.md), timed inside it."
  echo
  header="| row |" rule="|---|" ratios=""
  for mode in "${modes[@]}"; do header+=" $mode |" rule+="---:|"; done
  for mode in "${modes[@]:1}"; do header+=" $mode/root |" rule+="---:|"; done
  echo "$header"
  echo "$rule"
  for row in "${rows[@]}"; do
    line="| ${label[$row]} |" ratios=""
    read -r root_median _ _ <<<"$(stats "${times[$row/root]}")"
    for mode in "${modes[@]}"; do
      if [ -n "$(skip "$mode" "$row")" ]; then
        line+=" — |" ratios+=" — |"
        continue
      fi
      read -r m lo hi <<<"$(stats "${times[$row/$mode]}")"
      line+=" $m ($lo–$hi) |"
      [ "$mode" = root ] || ratios+=" $(awk "BEGIN {printf \"%.2f\", $m / $root_median}") |"
    done
    echo "$line$ratios"
  done
  echo
  for row in "${rows[@]}"; do
    for mode in "${modes[@]}"; do
      why=$(skip "$mode" "$row")
      [ -z "$why" ] || echo "— $mode: not measured where the table says —: $why."
    done
  done | sort -u
  echo
  echo "Every run (ms), in the order they ran:"
  echo
  for row in "${rows[@]}"; do
    for mode in "${modes[@]}"; do [ -n "$(skip "$mode" "$row")" ] || echo "- $row, $mode: ${times[$row/$mode]}"; done
  done
} | tee "$here/MODES.md"
