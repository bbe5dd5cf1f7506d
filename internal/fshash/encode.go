package fshash

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
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

// sumPrefix starts a content digest's string form, "sha256:" and hex.
const sumPrefix = "sha256:"

// sumText is sum's string form, "sha256:<hex>", in an array: the hot path
// hashes it without making a string.
func sumText(sum *[sha256.Size]byte) (b [len(sumPrefix) + 2*sha256.Size]byte) {
	copy(b[:], sumPrefix)
	hex.Encode(b[len(sumPrefix):], sum[:])
	return b
}

// digest writes sum as str would write its string form.
func (e *encoder) digest(sum *[sha256.Size]byte) {
	b := sumText(sum)
	e.u64(uint64(len(b)))
	e.w.Write(b[:])
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

// entry is everything hashed about one path. The stat key, which must not
// enter the digest, lives next to it for the content pass. A 50,000-file
// context holds every entry at once, so the host path is not kept (it is
// the match's path joined with rel) and the sum is its 32 bytes.
type entry struct {
	rel  string // slash path relative to the match; "." for the match
	typ  byte
	mode uint32 // permission bits plus setuid, setgid, sticky
	uid  uint32
	gid  uint32
	rdev uint64
	link string
	sum  [sha256.Size]byte // regular files only
	stat statKey           // not hashed
}

func (en *entry) encode(e *encoder) {
	e.str(en.rel)
	e.u64(uint64(en.typ))
	e.u64(uint64(en.mode))
	e.u64(uint64(en.uid))
	e.u64(uint64(en.gid))
	e.u64(en.rdev)
	e.str(en.link)
	if en.typ == typeFile {
		e.digest(&en.sum)
	} else {
		e.str("")
	}
}

// sumString is the content digest as hashed: "sha256:<hex>" for a regular
// file, empty for anything else.
func (en *entry) sumString() string {
	if en.typ != typeFile {
		return ""
	}
	b := sumText(&en.sum)
	return string(b[:])
}

// summary is one entry's hashed fields in a short comparable form, for
// saying which file changed between two builds (--explain-cache).
func (e *entry) summary() string {
	return fmt.Sprintf("%c %o %d:%d %s %s", e.typ, e.mode, e.uid, e.gid, e.link, e.sumString())
}
