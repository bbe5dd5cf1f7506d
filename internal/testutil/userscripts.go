package testutil

// adduserScript stands in for BusyBox's adduser applet, which Debian's
// busybox-static lacks. It follows BusyBox's flags and id choices: system users
// get the first free uid from 100 and the nogroup group, others from 1000 and
// a group of their own with gid = uid.
const adduserScript = `#!/bin/sh
set -e
home= gecos='Linux User,,,' shell=/bin/sh shellset= group= system= nohome= uid= any=
while getopts h:g:s:G:DSHu:k: o; do
	any=1
	case $o in
	h) home=$OPTARG ;;
	g) gecos=$OPTARG ;;
	s) shell=$OPTARG shellset=1 ;;
	G) group=$OPTARG ;;
	S) system=1 ;;
	H) nohome=1 ;;
	u) uid=$OPTARG ;;
	D|k) ;;
	*) echo "usage: adduser [-h DIR] [-g GECOS] [-s SHELL] [-G GRP] [-S] [-D] [-H] [-u UID] USER [GROUP]" >&2; exit 1 ;;
	esac
done
shift $((OPTIND - 1))
name=$1
[ -n "$name" ] || { echo "adduser: missing user name" >&2; exit 1; }
if [ -z "$any" ] && [ $# -eq 2 ]; then exec addgroup "$1" "$2"; fi
field() { awk -F: -v k="$2" -v c="$3" '$c == k { print $0; exit }' "$1"; }
[ -z "$(field /etc/passwd "$name" 1)" ] || { echo "adduser: user '$name' in use" >&2; exit 1; }
[ -n "$home" ] || home=/home/$name
if [ -n "$system" ]; then
	[ -n "$group" ] || group=nogroup
	[ -n "$shellset" ] || shell=/bin/false
fi
gid=
if [ -n "$group" ]; then
	gid=$(field /etc/group "$group" 1 | cut -d: -f3)
	if [ -z "$gid" ]; then
		case $group in *[!0-9]*|'') echo "adduser: unknown group $group" >&2; exit 1 ;; esac
		gid=$group
	fi
fi
if [ -z "$uid" ]; then
	if [ -n "$system" ]; then uid=100; else uid=1000; fi
	while [ -n "$(field /etc/passwd "$uid" 3)" ] || { [ -z "$gid" ] && [ -n "$(field /etc/group "$uid" 3)" ]; }; do
		uid=$((uid + 1))
	done
elif [ -n "$(field /etc/passwd "$uid" 3)" ]; then
	echo "adduser: uid '$uid' in use" >&2; exit 1
fi
if [ -z "$gid" ]; then
	gid=$uid
	[ -z "$(field /etc/group "$name" 1)" ] || { echo "adduser: group '$name' in use" >&2; exit 1; }
fi
echo "$name:x:$uid:$gid:$gecos:$home:$shell" >> /etc/passwd
if [ -f /etc/shadow ]; then echo "$name:!:$(($(date +%s) / 86400)):0:99999:7:::" >> /etc/shadow; fi
if [ -n "$group" ]; then addgroup "$name" "$group"; else addgroup -g "$gid" "$name"; fi
if [ -z "$nohome" ]; then
	mkdir -p "$home"
	chown "$uid:$gid" "$home"
	chmod 2755 "$home"
fi
`

// addgroupScript stands in for BusyBox's addgroup applet: "addgroup [-g GID]
// [-S] GROUP" creates a group, "addgroup USER GROUP" adds a member.
const addgroupScript = `#!/bin/sh
set -e
gid= system=
while getopts g:S o; do
	case $o in
	g) gid=$OPTARG ;;
	S) system=1 ;;
	*) echo "usage: addgroup [-g GID] [-S] [USER] GROUP" >&2; exit 1 ;;
	esac
done
shift $((OPTIND - 1))
field() { awk -F: -v k="$2" -v c="$3" '$c == k { print $0; exit }' "$1"; }
if [ $# -eq 2 ]; then
	user=$1 group=$2
	[ -n "$(field /etc/passwd "$user" 1)" ] || { echo "addgroup: unknown user $user" >&2; exit 1; }
	[ -n "$(field /etc/group "$group" 1)" ] || { echo "addgroup: unknown group $group" >&2; exit 1; }
	awk -F: -v OFS=: -v g="$group" -v u="$user" '$1 == g { if ($4 == "") $4 = u; else $4 = $4 "," u } { print }' /etc/group > /etc/group.new
	cat /etc/group.new > /etc/group
	rm -f /etc/group.new
	exit 0
fi
name=$1
[ -n "$name" ] || { echo "addgroup: missing group name" >&2; exit 1; }
[ -z "$(field /etc/group "$name" 1)" ] || { echo "addgroup: group '$name' in use" >&2; exit 1; }
if [ -z "$gid" ]; then
	if [ -n "$system" ]; then gid=100; else gid=1000; fi
	while [ -n "$(field /etc/group "$gid" 3)" ]; do gid=$((gid + 1)); done
elif [ -n "$(field /etc/group "$gid" 3)" ]; then
	echo "addgroup: gid '$gid' in use" >&2; exit 1
fi
echo "$name:x:$gid:" >> /etc/group
`
