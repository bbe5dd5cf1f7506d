package isolation

import (
	"os"
	"testing"
)

// OwnersInside shows a host owner as the namespace Enter maps: the user's
// own ids as 0, its subordinate ranges back to back from 1, anything else
// as the overflow id.
func TestOwnersInside(t *testing.T) {
	f := Facts{
		SubUIDs: []IDRange{{Start: 100000, Count: 10}, {Start: 200000, Count: 5}},
		SubGIDs: []IDRange{{Start: 300000, Count: 3}},
	}
	owners := f.OwnersInside()
	uid, gid := uint32(os.Geteuid()), uint32(os.Getegid())
	for _, c := range []struct{ uid, gid, wantUID, wantGID uint32 }{
		{uid, gid, 0, 0},
		{100000, 300000, 1, 1},
		{100009, 300002, 10, 3},
		{200000, 300003, 11, overflowID},
		{200004, gid, 15, 0},
		{200005, 299999, overflowID, overflowID},
	} {
		u, g := owners(c.uid, c.gid)
		if u != c.wantUID || g != c.wantGID {
			t.Errorf("owners(%d, %d) = %d, %d; want %d, %d", c.uid, c.gid, u, g, c.wantUID, c.wantGID)
		}
	}
}
