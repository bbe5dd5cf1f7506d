# bench/lib.sh — setup shared by bench/run.sh and bench/profile.sh (sourced,
# not run). It expects $here (bench/), $repo and $WORK, and defines:
#   need_tools            install what is missing (runc busybox-static docker-registry buildah time)
#   build_binaries        $WORK/bin/{kiln,benchtool} (and kilnprof with PROFILE=1); BENCH_KILN=path: that kiln
#   start_registry NAME   a docker-registry on a free loopback port; sets REG_<NAME>=127.0.0.1:PORT
#   restart_registry NAME the same registry, port and config, with its storage emptied
#   make_bases            busybox and golang rootfs → kiln import → pushed to $REG_BASE
#   render SRC DST        a Dockerfile template with @REGISTRY@ (and @LAYER_MB@) filled in
#   fresh_kiln DIR / fresh_buildah DIR   an empty store
#   cleanup               stop the registries, unmount and remove $WORK (unless BENCH_KEEP=1)

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
  local i
  for i in $(seq 1 150); do
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
  {
    "${k[@]}" import "$WORK/rootfs/busybox" -t busybox:latest &&
      "${k[@]}" import "$WORK/rootfs/golang" -t golang:1.22-alpine &&
      "${k[@]}" push busybox:latest "$REG_BASE/library/busybox:latest" &&
      "${k[@]}" push golang:1.22-alpine "$REG_BASE/library/golang:1.22-alpine"
  } >>"$LOG" 2>&1 || die "importing or pushing the base images failed"
  rm -rf "$WORK/rootfs" "$seed"
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

cleanup() {
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
