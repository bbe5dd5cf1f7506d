package isolation

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// FSType is a filesystem's statfs magic number.
type FSType int64

// Filesystems the probe names; upperdirs cannot live on the first two.
const (
	FSOverlay FSType = unix.OVERLAYFS_SUPER_MAGIC
	FSNFS     FSType = unix.NFS_SUPER_MAGIC
	FSFuse    FSType = unix.FUSE_SUPER_MAGIC
	FSExt4    FSType = unix.EXT4_SUPER_MAGIC
	FSXFS     FSType = unix.XFS_SUPER_MAGIC
	FSBtrfs   FSType = unix.BTRFS_SUPER_MAGIC
	FSTmpfs   FSType = unix.TMPFS_MAGIC
	FSZFS     FSType = 0x2fc12fc1
)

var fsNames = map[FSType]string{
	FSOverlay: "overlayfs", FSNFS: "nfs", FSFuse: "fuse", FSExt4: "ext4",
	FSXFS: "xfs", FSBtrfs: "btrfs", FSTmpfs: "tmpfs", FSZFS: "zfs",
}

func (t FSType) String() string {
	if n, ok := fsNames[t]; ok {
		return n
	}
	return fmt.Sprintf("0x%x", int64(t))
}

// upperdirProblem says why overlayfs cannot keep upper dirs on t ("" if it can).
func (t FSType) upperdirProblem() string {
	switch t {
	case FSOverlay:
		return "overlayfs cannot use an upper dir on overlayfs; put the store on a volume (an emptyDir in Kubernetes, -v in docker)"
	case FSNFS:
		return "overlayfs cannot use an upper dir on NFS; put the store on a local filesystem"
	}
	return ""
}

// StoreFS is the filesystem of dir, or of its nearest existing ancestor
// when the store does not exist yet.
func StoreFS(dir string) (FSType, error) {
	p, err := filepath.Abs(dir)
	if err != nil {
		return 0, err
	}
	for {
		var st unix.Statfs_t
		err := unix.Statfs(p, &st)
		if err == nil {
			return FSType(st.Type), nil
		}
		if !os.IsNotExist(err) || p == "/" {
			return 0, fmt.Errorf("checking the store's filesystem: %w", err)
		}
		p = filepath.Dir(p)
	}
}
