#!/usr/bin/env bash
# mkrootfs.sh busybox|golang DIR — make a base root filesystem from this
# machine's packages, so nothing needs Docker Hub:
#   busybox  Debian's busybox-static with an applet link each, /etc/passwd,
#            /etc/group and adduser/addgroup stand-ins (Debian's build lacks them)
#   golang   busybox plus this machine's Go toolchain at /usr/local/go
# BUSYBOX=path picks another busybox binary (e.g. one for arm64 unpacked from
# busybox-static:arm64); its applet list is taken from the host's busybox.
set -euo pipefail
kind=${1:?usage: mkrootfs.sh busybox|golang DIR}
dir=${2:?usage: mkrootfs.sh busybox|golang DIR}
here=$(cd "$(dirname "$0")" && pwd)

mkdir -p "$dir"/{bin,etc,root,tmp,usr/local/bin}
chmod 1777 "$dir/tmp"; chmod 700 "$dir/root"
cp "${BUSYBOX:-/bin/busybox}" "$dir/bin/busybox"
for applet in $(/bin/busybox --list); do
  [ -e "$dir/bin/$applet" ] || ln -s busybox "$dir/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$dir/etc/passwd"
printf 'root:x:0:\nnogroup:x:65533:\nnobody:x:65534:\n' > "$dir/etc/group"
for tool in adduser addgroup; do
  [ -e "$dir/bin/$tool" ] && [ ! -L "$dir/bin/$tool" ] && continue
  rm -f "$dir/bin/$tool"
  install -m 755 "$here/../internal/testutil/rootfs/$tool" "$dir/bin/$tool"
done

if [ "$kind" = golang ]; then
  goroot=$(go env GOROOT)
  mkdir -p "$dir/usr/local/go"
  (cd "$goroot" && tar --exclude=./test --exclude=./doc --exclude=./api -cf - .) | tar -xf - -C "$dir/usr/local/go"
  ln -sf /usr/local/go/bin/go "$dir/usr/local/bin/go"
  ln -sf /usr/local/go/bin/gofmt "$dir/usr/local/bin/gofmt"
fi
