#!/usr/bin/env bash
# bench/profile.sh — where kiln spends its time on bench rows 1 and 2 (cold
# build and warm no-op rebuild of examples/go-hello), the per-step row (kiln's
# RUN against runc's own floor) and 6 (the big context: cold, first no-op,
# second no-op). Run as root; takes ~4 minutes.
#
# It builds bench/kilnprof (kiln's own CLI plus pprof/trace hooks switched on
# by KILN_CPUPROFILE, KILN_TRACE, KILN_MEMPROFILE; kiln itself is unchanged)
# and writes, under BENCH_PROFILE_OUT (default /var/tmp/kiln-profiles):
#   *.cpu.pprof        CPU profiles (row 1: cold.*; row 2: NOOP_RUNS runs, merged by pprof)
#   *.trace            execution traces; *.syscall.pprof is the time blocked
#                      in system calls by stack (go tool trace -pprof=syscall)
#   *.strace.txt       strace -f -c -w: wall time by system call, kiln and children
#   *.progress.txt     kiln's --progress plain output
#   *.txt              the top functions of each profile
#   noop.inittrace.txt package init times of one start (GODEBUG=inittrace=1)
#   step.txt           runc run /bin/true with runc spec's default config and
#                      with kiln's (caught from a build), and kiln's RUN true
#   ctx-cold.peak.pprof  the heap when it was largest (KILN_HEAPPEAK)
# and prints the summaries. Knobs: BENCH_CTX_FILES, BENCH_CTX_MB (as run.sh),
# NOOP_RUNS=20, STEP_RUNS=11.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
CTX_FILES=${BENCH_CTX_FILES:-50000}
CTX_MB=${BENCH_CTX_MB:-500}
NOOP_RUNS=${NOOP_RUNS:-20}
STEP_RUNS=${STEP_RUNS:-11}
P=${BENCH_PROFILE_OUT:-/var/tmp/kiln-profiles}

[ "$(id -u)" = 0 ] || { echo "bench/profile.sh must run as root" >&2; exit 2; }
WORK=$(mktemp -d /var/tmp/kiln-profile.XXXXXX)
LOG=$WORK/profile.log
: >"$LOG"
. "$here/lib.sh"
trap cleanup EXIT
trap 'exit 130' INT TERM
rm -rf "$P"
mkdir -p "$P"

need_tools
command -v strace >/dev/null || { apt-get install -y -qq strace >>"$LOG" 2>&1 || die "apt-get install strace failed"; }
command -v python3 >/dev/null || { apt-get install -y -qq python3 >>"$LOG" 2>&1 || die "apt-get install python3 failed"; }
PROFILE=1 build_binaries
start_registry base
write_config
say "making the base images"
make_bases

KP=$WORK/bin/kilnprof
KSTORE=$WORK/kiln-store
KB=("$KP" --config "$WORK/kiln.toml" --root "$KSTORE" build --progress plain)

top() { # top NAME PROFILE... — flat and cumulative top lists
  local name=$1
  shift
  {
    echo "### $name: flat"
    go tool pprof -top -nodecount=25 "$KP" "$@" 2>/dev/null | sed -n '1,32p'
    echo
    echo "### $name: cumulative"
    go tool pprof -top -cum -nodecount=40 "$KP" "$@" 2>/dev/null | sed -n '6,46p'
  } >"$P/$name.txt"
  cat "$P/$name.txt"
}

syscalls() { # syscalls NAME TRACE — time blocked in syscalls, by stack
  local name=$1
  if go tool trace -pprof=syscall "$2" >"$P/$name.syscall.pprof" 2>>"$LOG"; then
    {
      echo "### $name: time blocked in system calls (go tool trace -pprof=syscall), cumulative"
      go tool pprof -top -cum -nodecount=30 "$KP" "$P/$name.syscall.pprof" 2>/dev/null | sed -n '1,36p'
    } >"$P/$name.syscall.txt"
    cat "$P/$name.syscall.txt"
  fi
}

timed() { # timed NAME CMD... — run CMD, print its wall time, keep its output
  local name=$1 t0 t1
  shift
  t0=$(date +%s%N)
  "$@" >"$P/$name.progress.txt" 2>&1 || die "$name failed (see $P/$name.progress.txt)"
  t1=$(date +%s%N)
  say "$name: $(( (t1 - t0) / 1000000 )) ms"
}

# ---- row 2: warm no-op rebuild of examples/go-hello -------------------------
APP=$WORK/go-hello
cp -r "$repo/examples/go-hello" "$APP"
render_seed "$repo/examples/go-hello/Dockerfile" "$APP/Dockerfile"
say "row 1: a cold build of examples/go-hello (it also warms the store for row 2)"
KILN_CPUPROFILE=$P/cold.cpu.pprof KILN_TRACE=$P/cold.trace timed cold "${KB[@]}" -t hello "$APP"
grep -E 'DONE|CACHED' "$P/cold.progress.txt"
top cold.cpu "$P/cold.cpu.pprof"
syscalls cold "$P/cold.trace"
say "row 2: $NOOP_RUNS no-op rebuilds with CPU profiles"
for i in $(seq 1 "$NOOP_RUNS"); do
  KILN_CPUPROFILE=$P/noop.$i.cpu.pprof timed "noop.$i" "${KB[@]}" -t hello "$APP"
done
KILN_TRACE=$P/noop.trace KILN_MEMPROFILE=$P/noop.mem.pprof timed noop.traced "${KB[@]}" -t hello "$APP"
strace -f -c -w -o "$P/noop.strace.txt" "${KB[@]}" -t hello "$APP" >>"$LOG" 2>&1 || die "strace failed"
top noop.cpu "$P"/noop.*.cpu.pprof
syscalls noop "$P/noop.trace"
say "### noop: strace -f -c -w (top 15)"
head -n 17 "$P/noop.strace.txt"
GODEBUG=inittrace=1 "${KB[@]}" -t hello "$APP" 2>&1 >/dev/null | grep '^init ' >"$P/noop.inittrace.txt" || true
say "### noop: package init, slowest 5 (ms), and the total"
sort -k5 -rn "$P/noop.inittrace.txt" | head -5 | awk '{print $5, $2}'
awk '{t += $5} END {printf "total %.1f ms in %d packages\n", t, NR}' "$P/noop.inittrace.txt"

# ---- per step: kiln's RUN against runc's floor -------------------------------
# The floor is `runc run /bin/true` in a busybox rootfs, with runc spec's
# default config and with the config kiln generates (caught by a runc
# wrapper on PATH): the difference between those two is the spec (seccomp,
# mounts), the rest of a kiln step is kiln's. Runs interleaved.
say "per step: runc's floor and kiln's RUN true ($STEP_RUNS runs each, interleaved)"
FL=$WORK/floor
mkdir -p "$FL/wrap" "$FL/default" "$FL/kiln" "$FL/steps1" "$FL/steps11"
"$repo/scripts/mkrootfs.sh" busybox "$FL/rootfs" >>"$LOG" 2>&1 || die "mkrootfs busybox failed"
realrunc=$(command -v runc)
cat >"$FL/wrap/runc" <<WRAP
#!/bin/sh
prev=
for a in "\$@"; do
  [ "\$prev" = --bundle ] && cp "\$a/config.json" "\$a/hosts" "\$a/resolv.conf" "$FL/kiln/" 2>/dev/null
  prev=\$a
done
exec "$realrunc" "\$@"
WRAP
chmod +x "$FL/wrap/runc"
printf 'FROM %s/library/busybox:latest\nRUN true\n' "$REG_BASE" >"$FL/steps1/Dockerfile"
{ printf 'FROM %s/library/busybox:latest\n' "$REG_BASE"; for i in $(seq 11); do echo 'RUN true'; done; } >"$FL/steps11/Dockerfile"
PATH=$FL/wrap:$PATH "${KB[@]}" --no-cache -t steps "$FL/steps1" >>"$LOG" 2>&1 || die "the one-step build failed"
(cd "$FL/default" && "$realrunc" spec) || die "runc spec failed"
python3 - "$FL" <<'PY' || die "rewriting the captured spec failed"
import json, sys
fl = sys.argv[1]
for name in ("default", "kiln"):
    p = f"{fl}/{name}/config.json"
    c = json.load(open(p))
    c["root"] = {"path": f"{fl}/rootfs", "readonly": name == "default"}
    c["process"]["args"] = ["/bin/true"]
    c["process"]["terminal"] = False
    for m in c.get("mounts", []):
        if m.get("type") == "bind" and m["source"].endswith(("/hosts", "/resolv.conf")):
            m["source"] = f"{fl}/{name}/" + m["source"].rsplit("/", 1)[1]
    json.dump(c, open(p, "w"))
PY
ms() { # ms CMD... — wall time of CMD in tenths of a ms
  local t0 t1
  t0=$(date +%s%N)
  "$@" >/dev/null 2>&1 </dev/null || die "$* failed"
  t1=$(date +%s%N)
  echo $(((t1 - t0) / 100000))
}
: >"$P/step.raw"
for i in $(seq 1 "$STEP_RUNS"); do
  echo "runc-default $(ms "$realrunc" run --bundle "$FL/default" "floor-d-$i")" >>"$P/step.raw"
  echo "runc-kiln-spec $(ms "$realrunc" run --bundle "$FL/kiln" "floor-k-$i")" >>"$P/step.raw"
  echo "kiln-1-step $(ms "${KB[@]}" --no-cache -t steps "$FL/steps1")" >>"$P/step.raw"
  echo "kiln-11-steps $(ms "${KB[@]}" --no-cache -t steps "$FL/steps11")" >>"$P/step.raw"
done
python3 - "$P/step.raw" <<'PY' | tee "$P/step.txt"
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    k, v = line.split()
    runs.setdefault(k, []).append(int(v) / 10)
def show(k, v):
    v = sorted(v)
    print(f"{k:30s} median {statistics.median(v):7.1f} ms  min-max {v[0]:7.1f}-{v[-1]:7.1f}  n={len(v)}")
for k, v in runs.items():
    show(k, v)
show("kiln per RUN ((11-1 steps)/10)", [(a - b) / 10 for a, b in zip(runs["kiln-11-steps"], runs["kiln-1-step"])])
PY

# ---- row 6: the big context ---------------------------------------------------
say "row 6: generating a $CTX_FILES-file, $CTX_MB MiB context"
CTX=$WORK/context
"$WORK/bin/benchtool" genctx "$CTX" "$CTX_FILES" "$CTX_MB" || die "genctx failed"
render "$here/dockerfiles/context.Dockerfile" "$WORK/context.Dockerfile"
fresh_kiln "$KSTORE"
# Pull the base first, so the cold profile is the context and the layer only.
"$KP" --config "$WORK/kiln.toml" --root "$KSTORE" pull "$REG_BASE/library/busybox:latest" >>"$LOG" 2>&1 || die "pull failed"
CB=("${KB[@]}" -t ctx -f "$WORK/context.Dockerfile" "$CTX")
KILN_CPUPROFILE=$P/ctx-cold.cpu.pprof KILN_TRACE=$P/ctx-cold.trace KILN_MEMPROFILE=$P/ctx-cold.mem.pprof KILN_HEAPPEAK=$P/ctx-cold.peak.pprof timed ctx-cold "${CB[@]}"
KILN_CPUPROFILE=$P/ctx-noop1.cpu.pprof KILN_TRACE=$P/ctx-noop1.trace timed ctx-noop1 "${CB[@]}"
KILN_CPUPROFILE=$P/ctx-noop2.cpu.pprof KILN_TRACE=$P/ctx-noop2.trace timed ctx-noop2 "${CB[@]}"
strace -f -c -w -o "$P/ctx-noop3.strace.txt" "${CB[@]}" >>"$LOG" 2>&1 || die "strace failed"
top ctx-cold.cpu "$P/ctx-cold.cpu.pprof"
syscalls ctx-cold "$P/ctx-cold.trace"
{
  echo "### ctx-cold: allocations (alloc_space)"
  go tool pprof -sample_index=alloc_space -top -nodecount=15 "$KP" "$P/ctx-cold.mem.pprof" 2>/dev/null | sed -n '1,22p'
  echo "### ctx-cold: live heap at its largest (inuse_space)"
  go tool pprof -sample_index=inuse_space -top -nodecount=12 "$KP" "$P/ctx-cold.peak.pprof" 2>/dev/null | sed -n '1,18p'
} | tee "$P/ctx-cold.mem.txt"
top ctx-noop1.cpu "$P/ctx-noop1.cpu.pprof"
syscalls ctx-noop1 "$P/ctx-noop1.trace"
top ctx-noop2.cpu "$P/ctx-noop2.cpu.pprof"
say "### ctx no-op: strace -f -c -w (top 15)"
head -n 17 "$P/ctx-noop3.strace.txt"
say "profiles and summaries are in $P"
