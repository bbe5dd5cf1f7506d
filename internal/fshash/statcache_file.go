package fshash

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// The stat cache file is streamed entry by entry, in both directions. gob,
// used before, builds the whole message in memory before writing it: on a
// 50,000-file context that was ~37 MB allocated at the end of every build
// that changed the cache, the largest step of the build's peak RSS.
//
// Layout: cacheMagic, uvarint entry count, the entries, then the CRC-32C
// of everything before it. An entry is uvarint path length, the path, then
// entryFixedSize bytes of little-endian fixed-width fields.
const cacheMagic = "kiln-statcache\x00\x03"

// entryFixedSize is statKey (5×8 + 3×4), the sum and two times.
const entryFixedSize = 5*8 + 3*4 + 32 + 2*8

// maxCachePath bounds a path's length on load, so a damaged length cannot
// make the loader allocate without limit.
const maxCachePath = 1 << 16

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// writeEntries streams the cache to w. A bufio.Writer keeps its first
// error and Flush returns it, so the writes are not checked one by one.
func writeEntries(w io.Writer, entries map[string]cacheEntry) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	crc := crc32.New(castagnoli)
	cw := io.MultiWriter(bw, crc)
	var buf [binary.MaxVarintLen64 + entryFixedSize]byte
	io.WriteString(cw, cacheMagic)
	cw.Write(binary.AppendUvarint(buf[:0], uint64(len(entries))))
	for path, e := range entries {
		cw.Write(binary.AppendUvarint(buf[:0], uint64(len(path))))
		io.WriteString(cw, path)
		cw.Write(appendFixed(buf[:0], &e))
	}
	bw.Write(binary.LittleEndian.AppendUint32(buf[:0], crc.Sum32()))
	return bw.Flush()
}

func appendFixed(b []byte, e *cacheEntry) []byte {
	le := binary.LittleEndian
	b = le.AppendUint64(b, uint64(e.Key.Size))
	b = le.AppendUint64(b, uint64(e.Key.MtimeNs))
	b = le.AppendUint64(b, uint64(e.Key.CtimeNs))
	b = le.AppendUint64(b, e.Key.Ino)
	b = le.AppendUint64(b, e.Key.Dev)
	b = le.AppendUint32(b, e.Key.Mode)
	b = le.AppendUint32(b, e.Key.UID)
	b = le.AppendUint32(b, e.Key.GID)
	b = append(b, e.Sum[:]...)
	b = le.AppendUint64(b, uint64(e.Written))
	return le.AppendUint64(b, uint64(e.Used))
}

func parseFixed(b []byte) cacheEntry {
	le := binary.LittleEndian
	var e cacheEntry
	e.Key.Size = int64(le.Uint64(b[0:]))
	e.Key.MtimeNs = int64(le.Uint64(b[8:]))
	e.Key.CtimeNs = int64(le.Uint64(b[16:]))
	e.Key.Ino = le.Uint64(b[24:])
	e.Key.Dev = le.Uint64(b[32:])
	e.Key.Mode = le.Uint32(b[40:])
	e.Key.UID = le.Uint32(b[44:])
	e.Key.GID = le.Uint32(b[48:])
	copy(e.Sum[:], b[52:84])
	e.Written = int64(le.Uint64(b[84:]))
	e.Used = int64(le.Uint64(b[92:]))
	return e
}

// errBadCache is any file that is not a whole cache of this format.
var errBadCache = errors.New("not a kiln stat cache of this format")

// crcReader checksums what is read through it.
type crcReader struct {
	r   *bufio.Reader
	crc uint32
}

func (c *crcReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.crc = crc32.Update(c.crc, castagnoli, p[:n])
	return n, err
}

func (c *crcReader) ReadByte() (byte, error) {
	b, err := c.r.ReadByte()
	if err == nil {
		c.crc = crc32.Update(c.crc, castagnoli, []byte{b})
	}
	return b, err
}

// readEntries loads a file written by writeEntries; anything else, a
// truncated file or a checksum mismatch, is errBadCache.
func readEntries(r io.Reader) (map[string]cacheEntry, error) {
	cr := &crcReader{r: bufio.NewReaderSize(r, 64<<10)}
	magic := make([]byte, len(cacheMagic))
	if _, err := io.ReadFull(cr, magic); err != nil || string(magic) != cacheMagic {
		return nil, errBadCache
	}
	n, err := binary.ReadUvarint(cr)
	if err != nil {
		return nil, errBadCache
	}
	entries := make(map[string]cacheEntry, min(n, 1<<20))
	var fixed [entryFixedSize]byte
	path := make([]byte, 0, 256)
	for i := uint64(0); i < n; i++ {
		l, err := binary.ReadUvarint(cr)
		if err != nil || l == 0 || l > maxCachePath {
			return nil, errBadCache
		}
		if uint64(cap(path)) < l {
			path = make([]byte, l)
		}
		path = path[:l]
		if _, err := io.ReadFull(cr, path); err != nil {
			return nil, errBadCache
		}
		if _, err := io.ReadFull(cr, fixed[:]); err != nil {
			return nil, errBadCache
		}
		entries[string(path)] = parseFixed(fixed[:])
	}
	want := cr.crc
	var sum [4]byte
	if _, err := io.ReadFull(cr.r, sum[:]); err != nil || binary.LittleEndian.Uint32(sum[:]) != want {
		return nil, errBadCache
	}
	if _, err := cr.r.ReadByte(); err != io.EOF {
		return nil, fmt.Errorf("%w: trailing data", errBadCache)
	}
	return entries, nil
}
