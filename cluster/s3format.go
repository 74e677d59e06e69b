package cluster

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"sort"
)

// Write is one key's final value, or its tombstone, in a partition's
// state. Keys are relative to the partition's state prefix (the engine
// strips its object id), so that the node restoring a partition may give
// it another id; to this package both are opaque bytes.
type Write struct {
	Key    []byte
	Value  []byte
	Delete bool
}

// The state object format, version 1. An epoch object (d/...) holds one
// section per partition the node committed in that epoch; a base object
// (b/...) holds one section, a partition's whole state. Both are:
//
//	header  (16 bytes)  magic "SSQS" | version 1 | kind 'd' or 'b' | 0 0 |
//	                    index length (uint32 BE) | CRC32-C of the index (uint32 BE)
//	index               uvarint epoch | uvarint count | count entries, sorted by partition:
//	                    uvarint len | partition | uvarint offset | uvarint length |
//	                    uvarint writes | CRC32-C of the section (uint32 BE)
//	sections            per partition, at offset (from the end of the index):
//	                    writes, each uvarint len | key | 1 (tombstone), or
//	                    uvarint len | key | 0 | uvarint len | value
//
// The index comes first so that a reader takes one ranged GET of an
// object's head and then only its partition's bytes. The checksums are
// checked before a single write is applied: a corrupt or truncated object
// is an error, never half a partition. The write encoding is the one of the
// redo chunks in state/epoch.go.
const (
	formatMagic   = "SSQS"
	formatVersion = 1
	kindEpoch     = 'd'
	kindBase      = 'b'
	headerLen     = 16
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errCorrupt marks a state object that does not decode; the caller names
// the object and the partition.
var errCorrupt = errors.New("corrupt state object")

// indexEntry locates one partition's section in an object.
type indexEntry struct {
	partition string
	offset    uint64
	length    uint64
	writes    uint64
	crc       uint32
}

// objectIndex is a decoded object head.
type objectIndex struct {
	kind    byte
	epoch   uint64
	entries []indexEntry
	// dataStart is where sections begin: offsets are relative to it.
	dataStart uint64
}

func (x *objectIndex) find(partition string) (indexEntry, bool) {
	i := sort.Search(len(x.entries), func(i int) bool { return x.entries[i].partition >= partition })
	if i < len(x.entries) && x.entries[i].partition == partition {
		return x.entries[i], true
	}
	return indexEntry{}, false
}

// appendWrite appends one write in the section encoding.
func appendWrite(b []byte, w Write) []byte {
	b = binary.AppendUvarint(b, uint64(len(w.Key)))
	b = append(b, w.Key...)
	if w.Delete {
		return append(b, 1)
	}
	b = append(b, 0)
	b = binary.AppendUvarint(b, uint64(len(w.Value)))
	return append(b, w.Value...)
}

// sectionSize is the encoded size of writes, so that an object is built in
// one allocation.
func sectionSize(writes []Write) int {
	n := 0
	for _, w := range writes {
		n += uvarintLen(uint64(len(w.Key))) + len(w.Key) + 1
		if !w.Delete {
			n += uvarintLen(uint64(len(w.Value))) + len(w.Value)
		}
	}
	return n
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// encodeObject builds an object of kind for epoch from each partition's
// writes, in the order given (a partition with no writes still gets an
// entry: its lease committed the epoch).
func encodeObject(kind byte, epoch uint64, parts map[string][]Write) []byte {
	names := make([]string, 0, len(parts))
	for p := range parts {
		names = append(names, p)
	}
	sort.Strings(names)
	var idx []byte
	idx = binary.AppendUvarint(idx, epoch)
	idx = binary.AppendUvarint(idx, uint64(len(names)))
	// Each section's CRC is known only once it is written: leave its slot
	// zero and remember where it is.
	crcAt := make([]int, len(names))
	var off uint64
	for i, p := range names {
		size := uint64(sectionSize(parts[p]))
		idx = binary.AppendUvarint(idx, uint64(len(p)))
		idx = append(idx, p...)
		idx = binary.AppendUvarint(idx, off)
		idx = binary.AppendUvarint(idx, size)
		idx = binary.AppendUvarint(idx, uint64(len(parts[p])))
		crcAt[i] = headerLen + len(idx)
		idx = append(idx, 0, 0, 0, 0)
		off += size
	}
	out := make([]byte, headerLen, headerLen+len(idx)+int(off))
	copy(out, formatMagic)
	out[4], out[5] = formatVersion, kind
	binary.BigEndian.PutUint32(out[8:], uint32(len(idx)))
	out = append(out, idx...)
	for i, p := range names {
		start := len(out)
		for _, w := range parts[p] {
			out = appendWrite(out, w)
		}
		binary.BigEndian.PutUint32(out[crcAt[i]:], crc32.Checksum(out[start:], castagnoli))
	}
	binary.BigEndian.PutUint32(out[12:], crc32.Checksum(out[headerLen:headerLen+len(idx)], castagnoli))
	return out
}

// headLen reads the length of the head (header and index) from the
// header, so that a reader knows how much to fetch.
func headLen(head []byte) (uint64, error) {
	if len(head) < headerLen {
		return 0, fmt.Errorf("%w: %d bytes, shorter than the %d-byte header", errCorrupt, len(head), headerLen)
	}
	if string(head[:4]) != formatMagic {
		return 0, fmt.Errorf("%w: bad magic %q", errCorrupt, head[:4])
	}
	if head[4] != formatVersion {
		return 0, fmt.Errorf("%w: format version %d, this build reads %d", errCorrupt, head[4], formatVersion)
	}
	if head[6] != 0 || head[7] != 0 {
		return 0, fmt.Errorf("%w: reserved header bytes are not zero", errCorrupt)
	}
	return headerLen + uint64(binary.BigEndian.Uint32(head[8:])), nil
}

// decodeIndex decodes an object's head; head holds at least headLen bytes
// of the object.
func decodeIndex(head []byte) (*objectIndex, error) {
	n, err := headLen(head)
	if err != nil {
		return nil, err
	}
	if uint64(len(head)) < n {
		return nil, fmt.Errorf("%w: truncated index (%d of %d bytes)", errCorrupt, len(head), n)
	}
	idx := head[headerLen:n]
	if crc32.Checksum(idx, castagnoli) != binary.BigEndian.Uint32(head[12:]) {
		return nil, fmt.Errorf("%w: index checksum mismatch", errCorrupt)
	}
	x := &objectIndex{kind: head[5], dataStart: n}
	if x.kind != kindEpoch && x.kind != kindBase {
		return nil, fmt.Errorf("%w: unknown object kind %q", errCorrupt, x.kind)
	}
	r := reader{b: idx}
	x.epoch = r.uvarint()
	count := r.uvarint()
	if r.err == nil && count > uint64(len(idx)) {
		r.err = errCorrupt
	}
	var prev string
	for i := uint64(0); i < count && r.err == nil; i++ {
		e := indexEntry{partition: string(r.bytes())}
		e.offset, e.length, e.writes = r.uvarint(), r.uvarint(), r.uvarint()
		e.crc = r.uint32()
		if r.err == nil && i > 0 && e.partition <= prev {
			r.err = fmt.Errorf("%w: index not sorted at %q", errCorrupt, e.partition)
		}
		prev = e.partition
		x.entries = append(x.entries, e)
	}
	if r.err == nil && len(r.b) != 0 {
		r.err = fmt.Errorf("%w: %d stray bytes after the index", errCorrupt, len(r.b))
	}
	if r.err != nil {
		return nil, fmt.Errorf("index: %w", r.err)
	}
	return x, nil
}

// decodeSection checks a partition's section against its index entry and
// only then applies its writes in order. The slices given to apply alias
// b: apply must copy what it keeps.
func decodeSection(b []byte, e indexEntry, apply func(Write) error) error {
	if uint64(len(b)) != e.length {
		return fmt.Errorf("%w: section truncated (%d of %d bytes)", errCorrupt, len(b), e.length)
	}
	if crc32.Checksum(b, castagnoli) != e.crc {
		return fmt.Errorf("%w: section checksum mismatch", errCorrupt)
	}
	// A first pass proves the section decodes to exactly e.writes writes,
	// so that nothing of a malformed section is applied.
	if err := walkSection(b, e.writes, nil); err != nil {
		return err
	}
	return walkSection(b, e.writes, apply)
}

func walkSection(b []byte, want uint64, apply func(Write) error) error {
	r := reader{b: b}
	var n uint64
	for len(r.b) > 0 && r.err == nil {
		w := Write{Key: r.bytes()}
		switch r.byte() {
		case 0:
			w.Value = r.bytes()
		case 1:
			w.Delete = true
		default:
			if r.err == nil {
				r.err = fmt.Errorf("%w: bad write flag", errCorrupt)
			}
		}
		if r.err != nil {
			break
		}
		n++
		if apply != nil {
			if err := apply(w); err != nil {
				return err
			}
		}
	}
	if r.err != nil {
		return fmt.Errorf("section: %w", r.err)
	}
	if n != want {
		return fmt.Errorf("%w: section holds %d writes, its index says %d", errCorrupt, n, want)
	}
	return nil
}

// reader decodes length-prefixed fields, remembering the first error.
type reader struct {
	b   []byte
	err error
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = fmt.Errorf("%w: bad varint", errCorrupt)
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) bytes() []byte {
	n := r.uvarint()
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.err = fmt.Errorf("%w: field of %d bytes past the end", errCorrupt, n)
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) byte() byte {
	if r.err != nil {
		return 0
	}
	if len(r.b) == 0 {
		r.err = fmt.Errorf("%w: unexpected end", errCorrupt)
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *reader) uint32() uint32 {
	if r.err != nil {
		return 0
	}
	if len(r.b) < 4 {
		r.err = fmt.Errorf("%w: unexpected end", errCorrupt)
		return 0
	}
	v := binary.BigEndian.Uint32(r.b)
	r.b = r.b[4:]
	return v
}
