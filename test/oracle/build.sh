#!/usr/bin/env bash
# Builds the BuildKit oracle (buildkitd, buildctl) from this directory's tool
# module and prints the directory holding the binaries. The binaries are
# cached on the machine, keyed by the module's go.sum, so a second run (or a
# second CI run on the same machine) reuses them: KILN_TOOL_CACHE, default
# /var/cache/kiln-test/tools.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
version=$(awk '$1=="github.com/moby/buildkit" {print $2; exit}' "$here/go.mod")
key=$(cat "$here/go.mod" "$here/go.sum" | sha256sum | cut -c1-12)
dir="${KILN_TOOL_CACHE:-/var/cache/kiln-test/tools}/buildkit-$version-$key"
if [ ! -x "$dir/buildkitd" ] || [ ! -x "$dir/buildctl" ]; then
  tmp="$dir.tmp.$$"
  rm -rf "$tmp" && mkdir -p "$tmp"
  (cd "$here" && go build -trimpath -ldflags "-X github.com/moby/buildkit/version.Version=$version" \
    -o "$tmp/" github.com/moby/buildkit/cmd/buildkitd github.com/moby/buildkit/cmd/buildctl) >&2
  rm -rf "$dir" && mv "$tmp" "$dir"
fi
echo "$dir"
