package isolation

import (
	"os"
	"strings"
	"sync"
)

var idMap struct {
	once sync.Once
	key  string
}

// IDMapKey names the id mapping of this process's user namespace: "host"
// for the host's, else its uid and gid maps. Files written under one
// mapping have other owners under another, so unpacked layers record it.
func IDMapKey() string {
	idMap.once.Do(func() {
		uid, _ := os.ReadFile("/proc/self/uid_map")
		gid, _ := os.ReadFile("/proc/self/gid_map")
		idMap.key = idMapKey(string(uid), string(gid))
	})
	return idMap.key
}

func idMapKey(uid, gid string) string {
	if isIdentityMap(uid) && isIdentityMap(gid) {
		return "host"
	}
	return "uid " + strings.Join(strings.Fields(uid), ",") + " gid " + strings.Join(strings.Fields(gid), ",")
}
