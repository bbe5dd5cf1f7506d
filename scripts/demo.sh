#!/usr/bin/env bash
# demo.sh — set up and run kiln's main job on the bundled example, offline:
# install what kiln needs, build kiln, make a golang base image from this
# machine's Go toolchain with `kiln import`, build examples/go-hello (the
# seed's Pattern 1: builder stage → FROM scratch) and run the result.
set -euo pipefail
cd "$(dirname "$0")/.."
sudo=; [ "$(id -u)" = 0 ] || sudo=sudo

if ! command -v runc >/dev/null || [ ! -x /bin/busybox ]; then
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq runc busybox-static >/dev/null
fi
go build -o bin/ ./cmd/kiln ./cmd/kiln-compose

work=$(mktemp -d)
trap '$sudo rm -rf "$work"' EXIT
$sudo scripts/mkrootfs.sh golang "$work/golang"
$sudo bin/kiln import "$work/golang" -t golang:1.22-alpine
$sudo bin/kiln build --progress plain -t hello:latest -o type=local,dest="$work/out" examples/go-hello
$sudo bin/kiln images
"$work/out/server"
