package fshash

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"testing"
)

func sampleEntries(n int) map[string]cacheEntry {
	m := map[string]cacheEntry{}
	for i := range n {
		e := cacheEntry{
			Key: statKey{Size: int64(i) << 33, MtimeNs: -int64(i), CtimeNs: int64(i) * 7, Ino: uint64(i) + 1<<40,
				Dev: 66, Mode: 0o100644 + uint32(i), UID: uint32(i), GID: 1<<31 + uint32(i)},
			Written: int64(i) * 1e9, Used: int64(i)*1e9 + 5,
		}
		e.Sum[0], e.Sum[31] = byte(i), byte(i>>8)
		m[fmt.Sprintf("/ctx/dir%d/%s", i%7, bytes.Repeat([]byte{'f'}, i%300))] = e
	}
	return m
}

func TestCacheFileRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 1000} {
		want := sampleEntries(n)
		var buf bytes.Buffer
		if err := writeEntries(&buf, want); err != nil {
			t.Fatal(err)
		}
		got, err := readEntries(bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatalf("%d entries: %v", n, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%d entries: the loaded cache differs from the saved one", n)
		}
	}
}

func TestCacheFileDamageIsRejected(t *testing.T) {
	var buf bytes.Buffer
	if err := writeEntries(&buf, sampleEntries(50)); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	cases := map[string][]byte{
		"empty":          {},
		"gob of before":  []byte("\x1f\xff\x81\x03\x01\x01\tcacheFile\x01\xff\x82"),
		"truncated":      good[:len(good)/2],
		"no checksum":    good[:len(good)-4],
		"trailing bytes": append(bytes.Clone(good), 0),
	}
	for _, at := range []int{len(cacheMagic) + 3, len(good) / 2, len(good) - 1} {
		b := bytes.Clone(good)
		b[at] ^= 0x10
		cases[fmt.Sprintf("bit flipped at %d", at)] = b
	}
	for name, b := range cases {
		if _, err := readEntries(bytes.NewReader(b)); !errors.Is(err, errBadCache) {
			t.Errorf("%s: err = %v, want errBadCache", name, err)
		}
	}
}
