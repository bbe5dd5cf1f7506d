#!/usr/bin/env bash
# Builds SeaweedFS's `weed` (the S3 server of kiln's s3 cache tests) from this
# directory's tool module and prints the directory holding the binary. The
# binary is cached on the machine, keyed by the module's go.mod and go.sum, so
# a second run reuses it: KILN_TOOL_CACHE, default /var/cache/kiln-test/tools.
# A cold build takes about ten minutes.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
version=$(awk '$1=="github.com/seaweedfs/seaweedfs" {print $2; exit}' "$here/go.mod")
key=$(cat "$here/go.mod" "$here/go.sum" | sha256sum | cut -c1-12)
dir="${KILN_TOOL_CACHE:-/var/cache/kiln-test/tools}/seaweedfs-$version-$key"
if [ ! -x "$dir/weed" ]; then
  tmp="$dir.tmp.$$"
  rm -rf "$tmp" && mkdir -p "$tmp"
  (cd "$here" && go build -trimpath -o "$tmp/weed" github.com/seaweedfs/seaweedfs/weed) >&2
  rm -rf "$dir" && mv "$tmp" "$dir"
fi
echo "$dir"
