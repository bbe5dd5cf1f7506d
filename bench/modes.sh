#!/usr/bin/env bash
# bench/modes.sh — the same builds in each isolation mode kiln has: root,
# rootless (a plain user with subordinate ids, as docs/security.md
# describes), rootless-noproc (the same user, no pid namespace) and
# container (root without CAP_SYS_ADMIN, as in a container with Docker's
# default capabilities: here setpriv drops it from the bounding set, so
# Docker's seccomp filter is not applied; it costs nothing that shows in
# these rows). On a host's root filesystem container mode chroots RUN into
# a copy of the step's tree (it lends / only to steps in a container), so
# that is the variant this column measures. Run as root; it creates the user kilnbench (with a
# subuid/subgid range) when missing. Rows run interleaved (root, rootless,
# rootless-noproc, container, root, …), BENCH_RUNS times each (default 5);
# it prints medians with min–max and each mode's ratio to root, and writes
# bench/MODES.md.
#
# Rows: 10 × `RUN true` with --no-cache (per-step cost), a cold COPY of a
# 5,000-file context with --no-cache, and a cached no-op of the step build.
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

(cd "$repo" && go build -o "$WORK/kiln" ./cmd/kiln)
"$repo/scripts/mkrootfs.sh" busybox "$WORK/rootfs" >/dev/null
mkdir -p "$WORK/ctx-steps" "$WORK/ctx-copy/files" "$WORK/user"
{ echo "FROM bb:1"; for i in $(seq 10); do echo "RUN true # $i"; done; } >"$WORK/ctx-steps/Dockerfile"
printf 'FROM bb:1\nCOPY files /files\n' >"$WORK/ctx-copy/Dockerfile"
for i in $(seq 5000); do echo "$i" >"$WORK/ctx-copy/files/f$i"; done
chown -R "$USER_NAME:" "$WORK/user"
cp -a "$WORK/ctx-steps" "$WORK/ctx-copy" "$WORK/user/"
chown -R "$USER_NAME:" "$WORK/user"

root_store=$WORK/root-store
container_store=$WORK/container-store
user_store=$WORK/user/store
# One tar for both stores (the user cannot read root's /root in the tree).
tar -C "$WORK/rootfs" --numeric-owner -cf "$WORK/rootfs.tar" .
chmod 644 "$WORK/rootfs.tar"
"$WORK/kiln" --root "$root_store" import "$WORK/rootfs.tar" -t bb:1 >/dev/null
"$WORK/kiln" --root "$container_store" import "$WORK/rootfs.tar" -t bb:1 >/dev/null
runuser -u "$USER_NAME" -- "$WORK/kiln" --root "$user_store" import "$WORK/rootfs.tar" -t bb:1 >/dev/null

# kiln_in MODE ARGS…: kiln build in MODE, as root or as the user.
kiln_in() {
  local mode=$1
  shift
  case $mode in
  root) "$WORK/kiln" --isolation root --root "$root_store" build --progress plain "$@" ;;
  container) setpriv --bounding-set=-sys_admin "$WORK/kiln" --isolation container --root "$container_store" build --progress plain "$@" ;;
  *)
    runuser -u "$USER_NAME" -- env HOME="$WORK/user" XDG_RUNTIME_DIR="$WORK/user" \
      "$WORK/kiln" --isolation "$mode" --root "$user_store" build --progress plain "$@"
    ;;
  esac
}
ctx() { case $1 in root | container) echo "$WORK/$2" ;; *) echo "$WORK/user/$2" ;; esac; }

modes=(root rootless rootless-noproc container)
rows=(steps copy noop)
declare -A label=([steps]="10 × RUN true, --no-cache (per step: /10)" [copy]="COPY of 5,000 files, --no-cache" [noop]="no-op rebuild of the step build")
declare -A times=()
for mode in "${modes[@]}"; do kiln_in "$mode" "$(ctx "$mode" ctx-steps)" >/dev/null 2>&1 || { echo "warm-up build in $mode failed" >&2; exit 1; }; done
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for run in $(seq "$RUNS"); do
  for row in "${rows[@]}"; do
    for mode in "${modes[@]}"; do
      case $row in
      steps) args=(--no-cache "$(ctx "$mode" ctx-steps)") ;;
      copy) args=(--no-cache "$(ctx "$mode" ctx-copy)") ;;
      noop) args=("$(ctx "$mode" ctx-steps)") ;;
      esac
      s=$(date +%s%N)
      kiln_in "$mode" "${args[@]}" >"$WORK/last.log" 2>&1 || { echo "$row in $mode failed:" >&2; tail -20 "$WORK/last.log" >&2; exit 1; }
      e=$(date +%s%N)
      ms=$(((e - s) / 1000000))
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
  echo "container: root without CAP_SYS_ADMIN (setpriv), layers copied into a tree per step and RUN chrooted into it (docs/security.md)."
  echo
  echo "| row | root | rootless | rootless-noproc | container | rootless/root | noproc/root | container/root |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|"
  for row in "${rows[@]}"; do
    read -r rm rmin rmax <<<"$(stats "${times[$row/root]}")"
    read -r um umin umax <<<"$(stats "${times[$row/rootless]}")"
    read -r nm nmin nmax <<<"$(stats "${times[$row/rootless-noproc]}")"
    read -r cm cmin cmax <<<"$(stats "${times[$row/container]}")"
    printf '| %s | %s (%s–%s) | %s (%s–%s) | %s (%s–%s) | %s (%s–%s) | %.2f | %.2f | %.2f |\n' "${label[$row]}" \
      "$rm" "$rmin" "$rmax" "$um" "$umin" "$umax" "$nm" "$nmin" "$nmax" "$cm" "$cmin" "$cmax" \
      "$(awk "BEGIN {print $um / $rm}")" "$(awk "BEGIN {print $nm / $rm}")" "$(awk "BEGIN {print $cm / $rm}")"
  done
  echo
  echo "Every run (ms), in the order they ran:"
  echo
  for row in "${rows[@]}"; do
    for mode in "${modes[@]}"; do echo "- $row, $mode: ${times[$row/$mode]}"; done
  done
} | tee "$here/MODES.md"
