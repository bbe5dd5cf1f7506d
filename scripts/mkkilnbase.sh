#!/usr/bin/env bash
# mkkilnbase.sh DIR — the root filesystem of kiln-base, the base of kiln's own
# image (the Dockerfile at the repository's root), made from this machine's
# Debian 12 packages, so building kiln's image needs no registry:
#   busybox   busybox-static, an applet link each (a shell for RUN and for CI
#             scripts)
#   runc      Debian's runc (dynamically linked: it and the libraries ldd names
#             are copied, with the dynamic loader)
#   uidmap    newuidmap and newgidmap, setuid root, with their libraries: what
#             --isolation=rootless needs when kiln runs as a plain user
#   etc       passwd and group with root and the build user (uid and gid 1000),
#             /etc/subuid and /etc/subgid giving build 100000-165535,
#             /etc/nsswitch.conf
# Import it with `kiln import DIR -t kiln-base` (docs/recipes.md). Needs the
# packages busybox-static, runc and uidmap installed.
set -euo pipefail
dir=${1:?usage: mkkilnbase.sh DIR}

need() { command -v "$1" >/dev/null || { echo "mkkilnbase.sh: $1 not found: apt-get install $2" >&2; exit 1; }; }
need runc runc
need newuidmap uidmap
need newgidmap uidmap
[ -x /bin/busybox ] || { echo "mkkilnbase.sh: /bin/busybox not found: apt-get install busybox-static" >&2; exit 1; }

mkdir -p "$dir"/{bin,etc,root,tmp,usr/bin,usr/sbin,usr/local/bin,home/build,var/lib/kiln}
chmod 1777 "$dir/tmp"
chmod 700 "$dir/root"
cp /bin/busybox "$dir/bin/busybox"
for applet in $(/bin/busybox --list); do
  [ -e "$dir/bin/$applet" ] || ln -s busybox "$dir/bin/$applet"
done

# copy_with_libs BINARY DEST MODE: the binary and every library ldd resolves
# for it, at the same paths, so the loader finds them without a cache.
copy_with_libs() {
  install -m "$3" "$1" "$dir$2"
  ldd "$1" | awk '/=> \//{print $3} /^\t\//{print $1}' | while read -r lib; do
    mkdir -p "$dir$(dirname "$lib")"
    cp -L "$lib" "$dir$lib"
  done
}
copy_with_libs "$(command -v runc)" /usr/sbin/runc 755
copy_with_libs "$(command -v newuidmap)" /usr/bin/newuidmap 4755
copy_with_libs "$(command -v newgidmap)" /usr/bin/newgidmap 4755

cat >"$dir/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
build:x:1000:1000:kiln build user:/home/build:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat >"$dir/etc/group" <<'EOF'
root:x:0:
build:x:1000:
nogroup:x:65533:
nobody:x:65534:
EOF
echo 'build:100000:65536' >"$dir/etc/subuid"
echo 'build:100000:65536' >"$dir/etc/subgid"
echo 'passwd: files
group: files' >"$dir/etc/nsswitch.conf"
chmod 644 "$dir"/etc/*
chown 1000:1000 "$dir/home/build"
chmod 755 "$dir/home/build"
