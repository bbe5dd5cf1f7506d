#!/usr/bin/env bash
# Builds buildx (the oracle's client, as users run it) from this directory's
# tool module and prints the directory holding the binary. The binary is
# cached on the machine, keyed by the module's go.mod and go.sum, so a second
# run reuses it: KILN_TOOL_CACHE, default /var/cache/kiln-test/tools.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
version=$(awk '$1=="github.com/docker/buildx" {print $2; exit}' "$here/go.mod")
key=$(cat "$here/go.mod" "$here/go.sum" | sha256sum | cut -c1-12)
dir="${KILN_TOOL_CACHE:-/var/cache/kiln-test/tools}/buildx-$version-$key"
if [ ! -x "$dir/buildx" ]; then
  tmp="$dir.tmp.$$"
  rm -rf "$tmp" && mkdir -p "$tmp"
  (cd "$here" && go build -trimpath -ldflags "-X github.com/docker/buildx/version.Version=$version" \
    -o "$tmp/buildx" github.com/docker/buildx/cmd/buildx) >&2
  rm -rf "$dir" && mv "$tmp" "$dir"
fi
echo "$dir"
