package fshash

import (
	"encoding/binary"
	"fmt"
	"hash"

	digest "github.com/opencontainers/go-digest"
)

// encoder writes length-prefixed fields, so no two different entry lists can
// produce the same byte stream (unlike joined strings).
type encoder struct {
	w   hash.Hash
	buf [binary.MaxVarintLen64]byte
}

func (e *encoder) u64(v uint64) {
	n := binary.PutUvarint(e.buf[:], v)
	e.w.Write(e.buf[:n])
}

func (e *encoder) str(s string) {
	e.u64(uint64(len(s)))
	e.w.Write([]byte(s))
}

// Entry types, hashed as one byte.
const (
	typeFile    = 'f'
	typeDir     = 'd'
	typeSymlink = 'l'
	typeFifo    = 'p'
	typeChar    = 'c'
	typeBlock   = 'b'
	typeSocket  = 's'
)

// entry is everything hashed about one path. Fields that must not enter the
// digest (host path, stat key) live next to it for the content pass.
type entry struct {
	rel  string // slash path relative to the match; "." for the match
	typ  byte
	mode uint32 // permission bits plus setuid, setgid, sticky
	uid  uint32
	gid  uint32
	rdev uint64
	link string
	sum  digest.Digest // regular files only
	abs  string        // host path, not hashed
	stat statKey       // not hashed
}

func (en *entry) encode(e *encoder) {
	e.str(en.rel)
	e.u64(uint64(en.typ))
	e.u64(uint64(en.mode))
	e.u64(uint64(en.uid))
	e.u64(uint64(en.gid))
	e.u64(en.rdev)
	e.str(en.link)
	e.str(string(en.sum))
}

// summary is one entry's hashed fields in a short comparable form, for
// saying which file changed between two builds (--explain-cache).
func (e *entry) summary() string {
	return fmt.Sprintf("%c %o %d:%d %s %s", e.typ, e.mode, e.uid, e.gid, e.link, e.sum)
}
