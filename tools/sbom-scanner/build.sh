#!/usr/bin/env bash
# Builds the SBOM scanner (a static binary, syft inside) and its image (an
# OCI layout tar, FROM scratch + the binary) and prints the directory that
# holds them: sbom-scanner and image.tar. Cached on the machine, keyed by
# this module's sources and go.sum, like test/oracle/build.sh:
# KILN_TOOL_CACHE, default /var/cache/kiln-test/tools.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
version=$(awk '$1=="github.com/anchore/syft" {print $2; exit}' "$here/go.mod")
key=$(cd "$here" && find . -name '*.go' -o -name go.mod -o -name go.sum -o -name build.sh | LC_ALL=C sort | xargs cat | sha256sum | cut -c1-12)
dir="${KILN_TOOL_CACHE:-/var/cache/kiln-test/tools}/sbom-scanner-syft-$version-$key"
if [ ! -x "$dir/sbom-scanner" ] || [ ! -f "$dir/image.tar" ]; then
  tmp="$dir.tmp.$$"
  rm -rf "$tmp" && mkdir -p "$tmp"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$here" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$tmp/sbom-scanner" . &&
    go run ./mkimage -binary "$tmp/sbom-scanner" -out "$tmp/image.tar" -name "kiln-sbom-scanner:syft-$version") >&2
  rm -rf "$dir" && mv "$tmp" "$dir"
fi
echo "$dir"
