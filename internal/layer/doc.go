// Package layer converts between OCI layer blobs and directories.
//
// kiln runs every RUN/COPY step on an overlayfs mount; the step's layer is the
// overlay upperdir written as a tar, and unpacked layers are kept in overlay
// lower-dir format so they can be mounted as lowerdirs directly.
//
//	WriteDiff(ctx, w, upperDir, opts) (image.Layer, error) // upperdir -> layer blob
//	WriteDir(ctx, w, dir, opts) (image.Layer, error)       // plain tree -> layer blob
//	Unpack(ctx, r, dir) (digest.Digest, error)            // layer blob -> lower dir
//
// # Written tars are reproducible
//
// The same tree and Options always give byte-identical blobs (for a given
// version of github.com/klauspost/compress):
//
//   - Entries come depth-first, siblings sorted byte-wise by their emitted
//     name (".wh.x" sorts as such), so a directory directly precedes its
//     subtree. This is filepath.WalkDir's order, which containerd's and
//     BuildKit's differs also use; it differs from sorting whole paths only
//     for names with bytes below '/' ("a/x" comes before "a-b"). Names are
//     relative, without "./" or "/"; directories end in "/". The root
//     directory itself is not emitted, so changes to its metadata are lost.
//   - mtime is min(mtime, Epoch) truncated to whole seconds; atime, ctime,
//     uname and gname are never written. uid, gid and the permission bits
//     including setuid, setgid and sticky are kept.
//   - The tar format is the one archive/tar picks from the header alone (USTAR
//     when it can, PAX when a field needs it, e.g. an xattr or a long name).
//   - Files sharing an inode are written once; later paths are hardlinks to
//     the first path in walk order. Sockets are skipped, as containerd does.
//   - Only the security.capability xattr is kept (as SCHILY.xattr.*).
//   - gzip is single-stream with a fixed header (no name, zero ModTime, OS 255);
//     zstd uses one goroutine and no concurrent blocks.
//
// # Overlay special files
//
// In an upperdir (WriteDiff) a 0/0 character device is a whiteout and becomes
// an empty regular entry ".wh.<name>"; a directory with trusted.overlay.opaque=y
// is followed by "<dir>/.wh..wh..opq". Both markers have mode 0, uid/gid 0 and
// mtime Epoch: containerd writes ".wh." entries this way (with BuildKit's
// rewrite-timestamp clamping their time), and kiln uses the same for the
// opaque marker. kiln mounts with redirect_dir=off and metacopy=off, so no
// other overlay xattrs need translating. WriteDir writes every file literally.
//
// Unpack does the reverse into overlay format: ".wh.<name>" becomes a 0/0
// character device, ".wh..wh..opq" sets trusted.overlay.opaque=y on its
// directory, and other ".wh..wh." names are rejected. Unpack treats the input
// as hostile: every parent is resolved inside dir with filepath-securejoin
// (absolute symlinks are re-rooted at dir), the final component is never
// followed, and hardlink targets are resolved the same way.
package layer
