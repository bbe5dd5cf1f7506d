# bench/lib.sh — setup shared by bench/run.sh and bench/profile.sh (sourced,
# not run). It expects $here (bench/), $repo and $WORK, and defines:
#   need_tools            install what is missing (runc busybox-static docker-registry buildah time)
#   build_binaries        $WORK/bin/{kiln,benchtool} (and kilnprof with PROFILE=1); BENCH_KILN=path: that kiln
#   start_registry NAME   a docker-registry on a free loopback port; sets REG_<NAME>=127.0.0.1:PORT
#   restart_registry NAME the same registry, port and config, with its storage emptied
#   make_bases            busybox and golang rootfs → kiln import → pushed to $REG_BASE
#                         (TIMED_SH=1: their /bin/sh is bench/runtimer, see run.sh)
#   make_seed_bases       node:20-alpine, curlimages/curl, busybox:uclibc stand-ins → $REG_BASE
#   find_buildkit         BK_DIR: BENCH_BUILDKIT, else what test/oracle/build.sh prints
#   start_buildkitd / stop_buildkitd / bk_prune   one warm buildkitd on a private socket
#   render SRC DST        a Dockerfile template with @REGISTRY@ (and @LAYER_MB@) filled in
#   fresh_kiln DIR / fresh_buildah DIR   an empty store
#   cleanup               stop the registries, unmount and remove $WORK (unless BENCH_KEEP=1)

# shellcheck shell=bash disable=SC2154 # $here, $repo, $WORK: set by the script that sources this
LOG=${LOG:-$WORK/bench.log}
declare -A REG_PID=()

say() { printf '%s\n' "$*"; }
die() {
  say "bench: $*" >&2
  if [ -f "$LOG" ]; then
    say "--- last lines of $LOG:" >&2
    tail -n 40 "$LOG" >&2
  fi
  BENCH_KEEP=1
  exit 1
}

need_tools() {
  local missing=()
  command -v runc >/dev/null || missing+=(runc)
  [ -x /bin/busybox ] || missing+=(busybox-static)
  command -v docker-registry >/dev/null || missing+=(docker-registry)
  command -v buildah >/dev/null || missing+=(buildah)
  [ -x /usr/bin/time ] || missing+=(time)
  command -v curl >/dev/null || missing+=(curl)
  command -v go >/dev/null || die "go is not installed"
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]} with apt-get"
    apt-get update -qq >>"$LOG" 2>&1
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >>"$LOG" 2>&1 ||
      die "apt-get install ${missing[*]} failed"
  fi
}

build_binaries() {
  mkdir -p "$WORK/bin"
  if [ -n "${BENCH_KILN:-}" ]; then
    cp "$BENCH_KILN" "$WORK/bin/kiln" || die "BENCH_KILN=$BENCH_KILN: cannot copy it"
  else
    (cd "$repo" && go build -o "$WORK/bin/kiln" ./cmd/kiln) >>"$LOG" 2>&1 ||
      die "go build ./cmd/kiln failed (the working tree does not build? BENCH_KILN=path uses a kiln binary you built)"
  fi
  (cd "$repo" && go build -o "$WORK/bin/benchtool" ./bench/benchtool) >>"$LOG" 2>&1 || die "go build ./bench/benchtool failed"
  if [ "${TIMED_SH:-0}" = 1 ]; then
    (cd "$repo" && CGO_ENABLED=0 go build -o "$WORK/bin/runtimer" ./bench/runtimer) >>"$LOG" 2>&1 || die "go build runtimer failed"
  fi
  if [ "${PROFILE:-0}" = 1 ]; then
    (cd "$repo" && go build -o "$WORK/bin/kilnprof" ./bench/kilnprof) >>"$LOG" 2>&1 || die "go build kilnprof failed"
  fi
}

start_registry() {
  local name=$1 port dir
  dir="$WORK/registry-$name"
  if [ ! -f "$dir/config.yml" ]; then
    port=$("$WORK/bin/benchtool" freeport)
    mkdir -p "$dir"
    cat >"$dir/config.yml" <<EOF
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
EOF
    printf -v "REG_${name^^}" '127.0.0.1:%s' "$port"
  fi
  local addr
  addr=$(awk '/addr:/ {print $2}' "$dir/config.yml")
  docker-registry serve "$dir/config.yml" >>"$dir/log" 2>&1 &
  REG_PID[$name]=$!
  for _ in $(seq 1 150); do
    curl -sf "http://$addr/v2/" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  die "docker-registry $name did not answer on $addr"
}

stop_registry() {
  local name=$1 pid=${REG_PID[$1]:-}
  [ -n "$pid" ] || return 0
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  unset "REG_PID[$name]"
}

restart_registry() {
  stop_registry "$1"
  rm -rf "$WORK/registry-$1/data"
  start_registry "$1"
}

write_config() {
  # kiln.toml: docker.io through the loopback mirror (unused by the full
  # names the Dockerfiles carry, but what a user would write) and plain HTTP
  # for both loopback registries.
  cat >"$WORK/kiln.toml" <<EOF
[registry."docker.io"]
  mirrors = ["$REG_BASE"]
[registry."$REG_BASE"]
  http = true
EOF
  if [ -n "${REG_PUSH:-}" ]; then
    printf '[registry."%s"]\n  http = true\n' "$REG_PUSH" >>"$WORK/kiln.toml"
  fi
}

make_bases() {
  local seed="$WORK/seed-store"
  local k=("$WORK/bin/kiln" --config "$WORK/kiln.toml" --root "$seed")
  "$repo/scripts/mkrootfs.sh" busybox "$WORK/rootfs/busybox" >>"$LOG" 2>&1 || die "mkrootfs busybox failed"
  "$repo/scripts/mkrootfs.sh" golang "$WORK/rootfs/golang" >>"$LOG" 2>&1 || die "mkrootfs golang failed"
  if [ "${TIMED_SH:-0}" = 1 ]; then
    timed_sh "$WORK/rootfs/busybox"
    timed_sh "$WORK/rootfs/golang"
  fi
  {
    "${k[@]}" import "$WORK/rootfs/busybox" -t busybox:latest &&
      "${k[@]}" import "$WORK/rootfs/golang" -t golang:1.22-alpine &&
      "${k[@]}" push busybox:latest "$REG_BASE/library/busybox:latest" &&
      "${k[@]}" push golang:1.22-alpine "$REG_BASE/library/golang:1.22-alpine"
  } >>"$LOG" 2>&1 || die "importing or pushing the base images failed"
  rm -rf "$WORK/rootfs" "$seed"
}

# timed_sh ROOTFS: bench/runtimer as /bin/sh (it runs /bin/busybox sh and
# logs how long that took).
timed_sh() {
  rm -f "$1/bin/sh"
  install -m 755 "$WORK/bin/runtimer" "$1/bin/sh"
}

# make_seed_bases: the other base images the seed's patterns name, made from
# this machine: node:20-alpine (busybox, the host's node and npm with the
# shared libraries ldd lists, the CA bundle, an npmrc naming the host's npm
# registry), and stand-ins for curlimages/curl (a /usr/bin/curl script) and
# busybox:uclibc (sh and wget as hard links of busybox, as on Docker Hub).
make_seed_bases() {
  local seed="$WORK/seed-store" r="$WORK/rootfs" f
  local k=("$WORK/bin/kiln" --config "$WORK/kiln.toml" --root "$seed")
  local registry
  registry=$(npm config get registry 2>/dev/null) || registry=https://registry.npmjs.org/
  "$repo/scripts/mkrootfs.sh" busybox "$r/node" >>"$LOG" 2>&1 || die "mkrootfs node failed"
  [ "${TIMED_SH:-0}" = 1 ] && timed_sh "$r/node"
  for f in /usr/bin/node /etc/ssl/certs/ca-certificates.crt $(ldd /usr/bin/node | grep -o '/[^ ]* (0x' | cut -d' ' -f1); do
    mkdir -p "$r/node$(dirname "$f")"
    cp -L --preserve=mode "$f" "$r/node$f"
  done
  mkdir -p "$r/node/usr/lib/node_modules" "$r/node/usr/etc"
  cp -a "$(readlink -f /usr/lib/node_modules/npm)" "$r/node/usr/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$r/node/usr/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$r/node/usr/bin/npx"
  ln -s /bin/busybox "$r/node/usr/bin/env"
  printf 'registry=%s\ncafile=/etc/ssl/certs/ca-certificates.crt\naudit=false\nfund=false\nupdate-notifier=false\n' \
    "$registry" >"$r/node/usr/etc/npmrc"
  "$repo/scripts/mkrootfs.sh" busybox "$r/curl" >>"$LOG" 2>&1 || die "mkrootfs curl failed"
  mkdir -p "$r/curl/usr/bin"
  printf '#!/bin/sh\necho "curl 8.0.0 (kiln bench stand-in)"\n' >"$r/curl/usr/bin/curl"
  chmod 755 "$r/curl/usr/bin/curl"
  "$repo/scripts/mkrootfs.sh" busybox "$r/uclibc" >>"$LOG" 2>&1 || die "mkrootfs uclibc failed"
  ln -f "$r/uclibc/bin/busybox" "$r/uclibc/bin/sh"
  ln -f "$r/uclibc/bin/busybox" "$r/uclibc/bin/wget"
  {
    "${k[@]}" import "$r/node" -t node:20-alpine &&
      "${k[@]}" import "$r/curl" -t curl:latest &&
      "${k[@]}" import "$r/uclibc" -t busybox:uclibc &&
      "${k[@]}" push node:20-alpine "$REG_BASE/library/node:20-alpine" &&
      "${k[@]}" push curl:latest "$REG_BASE/curlimages/curl:latest" &&
      "${k[@]}" push busybox:uclibc "$REG_BASE/library/busybox:uclibc"
  } >>"$LOG" 2>&1 || die "importing or pushing the seed's base images failed"
  rm -rf "$r" "$seed"
}

render() {
  sed -e "s#@REGISTRY@#$REG_BASE#g" -e "s#@LAYER_MB@#${LAYER_MB:-256}#g" "$1" >"$2"
}

# Rewrite a seed Dockerfile's FROM golang:/busybox: lines to the loopback registry.
render_seed() {
  sed -E "s#^(FROM[[:space:]]+)(golang|busybox):#\\1$REG_BASE/library/\\2:#I" "$1" >"$2"
}

umount_under() {
  local m
  findmnt -rn -o TARGET | awk -v d="$1/" 'index($0 "/", d) == 1' | sort -r | while read -r m; do
    umount -l "$m" 2>/dev/null || true
  done
}

fresh_kiln() {
  umount_under "$1"
  rm -rf "$1"
}

fresh_buildah() {
  umount_under "$1"
  rm -rf "$1"
  mkdir -p "$1/tmp"
}

find_buildkit() {
  BK_DIR=${BENCH_BUILDKIT:-${KILN_TEST_BUILDKIT:-}}
  if [ -z "$BK_DIR" ]; then
    say "building (or finding cached) buildkitd and buildctl with test/oracle/build.sh"
    BK_DIR=$("$repo/test/oracle/build.sh" 2>>"$LOG") || die "test/oracle/build.sh failed"
  fi
  if [ ! -x "$BK_DIR/buildkitd" ] || [ ! -x "$BK_DIR/buildctl" ]; then
    die "no buildkitd and buildctl in $BK_DIR"
  fi
}

BK_PID=
# start_buildkitd: buildkitd on a private socket (and OTEL socket: its default
# is one path for the whole machine) with the OCI worker on overlayfs (runc,
# as kiln and buildah), no containerd worker, no automatic garbage collection
# during the rows, and the loopback registries over plain HTTP.
start_buildkitd() {
  local d="$WORK/buildkit" name
  mkdir -p "$d/tmp"
  {
    printf '[worker.oci]\n  enabled = true\n  snapshotter = "overlayfs"\n  gc = false\n[worker.containerd]\n  enabled = false\n'
    for name in "${REG_BASE:-}" "${REG_PUSH:-}"; do
      [ -n "$name" ] && printf '[registry."%s"]\n  http = true\n  insecure = true\n' "$name"
    done
  } >"$d/buildkitd.toml"
  BK_ADDR="unix://$d/buildkitd.sock"
  TMPDIR="$d/tmp" "$BK_DIR/buildkitd" --root "$d/root" --addr "$BK_ADDR" --otel-socket-path "$d/otel.sock" \
    --config "$d/buildkitd.toml" >>"$d/log" 2>&1 &
  BK_PID=$!
  for _ in $(seq 1 300); do
    "$BK_DIR/buildctl" --addr "$BK_ADDR" debug workers >/dev/null 2>&1 && return 0
    kill -0 "$BK_PID" 2>/dev/null || die "buildkitd exited: $(tail -n 20 "$d/log")"
    sleep 0.2
  done
  die "buildkitd did not answer within a minute: $(tail -n 20 "$d/log")"
}

stop_buildkitd() {
  [ -n "$BK_PID" ] || return 0
  kill "$BK_PID" 2>/dev/null || true
  for _ in $(seq 1 50); do
    kill -0 "$BK_PID" 2>/dev/null || break
    sleep 0.2
  done
  kill -9 "$BK_PID" 2>/dev/null || true
  wait "$BK_PID" 2>/dev/null || true
  BK_PID=
}

# bk_prune: BuildKit's whole build cache and the content it referenced gone
# (buildctl prune --all, then buildctl du must list nothing).
bk_prune() {
  "$BK_DIR/buildctl" --addr "$BK_ADDR" prune --all >>"$LOG" 2>&1 || die "buildctl prune --all failed"
  local left
  left=$("$BK_DIR/buildctl" --addr "$BK_ADDR" du 2>>"$LOG" | awk 'NR > 1 && $1 !~ /^(Reclaimable|Total|Shared|Private):/' | wc -l)
  [ "$left" = 0 ] || die "buildctl prune --all left $left cache records (buildctl du)"
}

cleanup() {
  stop_buildkitd
  local name
  for name in "${!REG_PID[@]}"; do
    stop_registry "$name"
  done
  if [ -n "${WORK:-}" ] && [ -d "$WORK" ]; then
    umount_under "$WORK"
    if [ "${BENCH_KEEP:-0}" = 1 ]; then
      say "bench: kept $WORK (log: $LOG)"
    else
      rm -rf "$WORK"
    fi
  fi
}
