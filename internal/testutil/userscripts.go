package testutil

import _ "embed" // the stand-in scripts are shared with scripts/mkrootfs.sh

// adduserScript stands in for BusyBox's adduser applet, which Debian's
// busybox-static lacks. It follows BusyBox's flags and id choices: system users
// get the first free uid from 100 and the nogroup group, others from 1000 and
// a group of their own with gid = uid.
//
//go:embed rootfs/adduser
var adduserScript string

// addgroupScript stands in for BusyBox's addgroup applet: "addgroup [-g GID]
// [-S] GROUP" creates a group, "addgroup USER GROUP" adds a member.
//
//go:embed rootfs/addgroup
var addgroupScript string
