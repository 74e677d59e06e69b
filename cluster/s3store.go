package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Run is a stretch of consecutive epochs of one partition committed by
// one node incarnation, each in that node's epoch object
// d/<node>/<incarnation>/<epoch> (docs/cluster.md section 5).
type Run struct {
	Node        string `json:"node"`
	Incarnation string `json:"inc"`
	First       uint64 `json:"first"`
	Last        uint64 `json:"last"`
}

// Location is where a partition's committed state is in the store: a base
// (the whole state at BaseEpoch, none before the first compaction) and the
// runs of epochs committed since. It is part of the lease's checkpoint, so
// it changes exactly when a commit of the lease succeeds.
type Location struct {
	// Base is the base object's key under the store's prefix; empty when
	// the partition was never compacted.
	Base      string `json:"base,omitempty"`
	BaseEpoch uint64 `json:"base_epoch,omitempty"`
	Runs      []Run  `json:"runs,omitempty"`
}

// Extend returns loc with epoch, committed by node's incarnation, added:
// the last run grows in place when it is the same incarnation's previous
// epoch, so that a lease's item stays small while one owner keeps it. loc
// itself is not changed (it is the checkpoint of the last commit, still
// current if this one is fenced).
func Extend(loc Location, node, incarnation string, epoch uint64) Location {
	runs := make([]Run, len(loc.Runs), len(loc.Runs)+1)
	copy(runs, loc.Runs)
	if n := len(runs); n > 0 {
		last := &runs[n-1]
		if last.Node == node && last.Incarnation == incarnation && last.Last+1 == epoch {
			last.Last = epoch
			loc.Runs = runs
			return loc
		}
	}
	loc.Runs = append(runs, Run{Node: node, Incarnation: incarnation, First: epoch, Last: epoch})
	return loc
}

// Validate checks that the runs are in increasing epoch order after the
// base and that the last one ends at lastEpoch, the lease's committed
// epoch: anything else means epochs are missing (a gap), and restoring
// would give a state that never existed.
func (loc Location) Validate(lastEpoch uint64) error {
	prev := loc.BaseEpoch
	if loc.Base == "" && loc.BaseEpoch != 0 {
		return fmt.Errorf("state location: base epoch %d without a base object", loc.BaseEpoch)
	}
	for i, r := range loc.Runs {
		if r.Node == "" || r.Incarnation == "" {
			return fmt.Errorf("state location: run %d has no node or incarnation", i)
		}
		if r.First > r.Last {
			return fmt.Errorf("state location: run %d (%s/%s) goes from epoch %d back to %d", i, r.Node, r.Incarnation, r.First, r.Last)
		}
		if r.First <= prev {
			return fmt.Errorf("state location: run %d (%s/%s) starts at epoch %d, not after epoch %d", i, r.Node, r.Incarnation, r.First, prev)
		}
		prev = r.Last
	}
	if prev != lastEpoch {
		return fmt.Errorf("state location: its epochs end at %d but the lease committed epoch %d (a gap)", prev, lastEpoch)
	}
	return nil
}

// StoreOptions configures OpenStore.
type StoreOptions struct {
	// URL is s3://bucket/prefix (the prefix may be empty).
	URL string
	// Endpoint overrides S3's endpoint (an emulator on loopback); empty
	// means AWS. Addressing is path-style either way.
	Endpoint string
	// Region defaults to us-east-1.
	Region string
	// AccessKeyID and SecretAccessKey are static credentials; when both
	// are empty the SDK's default chain (environment, shared files, instance
	// role) is used.
	AccessKeyID     string
	SecretAccessKey string
	// Timeout bounds each S3 request (default 30s), so that a stuck
	// connection is an error naming the object instead of a hang.
	Timeout time.Duration
}

// Validate reports a malformed URL or half a credential pair.
func (o StoreOptions) Validate() error {
	if _, _, err := ParseStateURL(o.URL); err != nil {
		return err
	}
	if (o.AccessKeyID == "") != (o.SecretAccessKey == "") {
		return errors.New("state store: give both an access key id and a secret access key, or neither")
	}
	if o.Timeout < 0 {
		return fmt.Errorf("state store: negative timeout %v", o.Timeout)
	}
	return nil
}

// ParseStateURL splits s3://bucket/prefix into the bucket and the prefix,
// which is returned with a trailing slash unless empty.
func ParseStateURL(s string) (bucket, prefix string, err error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", "", fmt.Errorf("state store URL %q: %w", s, err)
	}
	switch {
	case u.Scheme != "s3":
		return "", "", fmt.Errorf("state store URL %q: scheme must be s3 (s3://bucket/prefix), not %q", s, u.Scheme)
	case u.Host == "":
		return "", "", fmt.Errorf("state store URL %q: no bucket (s3://bucket/prefix)", s)
	case u.User != nil || u.Port() != "":
		return "", "", fmt.Errorf("state store URL %q: the bucket %q is not a bucket name", s, u.Host)
	case u.RawQuery != "" || u.Fragment != "":
		return "", "", fmt.Errorf("state store URL %q: no query or fragment allowed", s)
	}
	if err := checkBucket(u.Host); err != nil {
		return "", "", fmt.Errorf("state store URL %q: %w", s, err)
	}
	prefix = strings.Trim(u.Path, "/")
	for _, seg := range strings.Split(prefix, "/") {
		if prefix != "" && (seg == "" || seg == "." || seg == "..") {
			return "", "", fmt.Errorf("state store URL %q: the prefix has an empty, . or .. segment", s)
		}
	}
	if prefix != "" {
		prefix += "/"
	}
	return u.Host, prefix, nil
}

// checkBucket applies S3's rules for bucket names (3 to 63 lower-case
// letters, digits, dots and hyphens, beginning and ending with a letter or
// digit), so that a typo fails here rather than as a signature error.
func checkBucket(b string) error {
	if len(b) < 3 || len(b) > 63 {
		return fmt.Errorf("bucket name %q must be 3 to 63 characters", b)
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-'
		if !ok {
			return fmt.Errorf("bucket name %q may hold only lower-case letters, digits, dots and hyphens", b)
		}
	}
	if b[0] == '.' || b[0] == '-' || b[len(b)-1] == '.' || b[len(b)-1] == '-' {
		return fmt.Errorf("bucket name %q must begin and end with a letter or digit", b)
	}
	return nil
}

// checkSegment refuses names that would make an object key ambiguous.
func checkSegment(what, s string) error {
	if s == "" || s == "." || s == ".." || strings.Contains(s, "/") || !utf8.ValidString(s) {
		return fmt.Errorf("%s %q: must be non-empty UTF-8 without '/'", what, s)
	}
	return nil
}

// checkPartition allows '/' (lease ids contain it) but not segments that
// a file-backed store would read as directories.
func checkPartition(p string) error {
	if p == "" || !utf8.ValidString(p) {
		return fmt.Errorf("partition %q: must be non-empty UTF-8", p)
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("partition %q: has an empty, . or .. path segment", p)
		}
	}
	return nil
}

// EpochKey is the key, under the store's prefix, of node's epoch object.
func EpochKey(node, incarnation string, epoch uint64) string {
	return "d/" + node + "/" + incarnation + "/" + strconv.FormatUint(epoch, 10)
}

// errNotFound is what a blob store returns for a missing object.
var errNotFound = errors.New("no such object")

// blobs is the little of S3 the store needs; the S3 client implements it
// (s3client.go), and a map does for the format's unit tests.
type blobs interface {
	put(ctx context.Context, key string, body []byte) error
	// get returns up to n bytes from off (all of the rest when n < 0)
	// and the object's total size.
	get(ctx context.Context, key string, off, n int64) ([]byte, int64, error)
	del(ctx context.Context, keys []string) error
	list(ctx context.Context, prefix string, fn func(key string, modified time.Time) error) error
	// name is how errors show a key: s3://bucket/prefix/key.
	name(key string) string
}

// Store keeps partitions' state in S3 as docs/cluster.md section 5 lays
// out: one object per node per epoch, and a base per partition written at
// compaction. Its methods are safe for concurrent use.
type Store struct {
	b blobs
}

// headGuess is how much of an epoch object the first GET asks for: the
// whole object when it is small (most epochs), else at least the index.
const headGuess = 64 << 10

// PutEpoch writes the epoch object of node's incarnation for epoch,
// holding each partition's writes, and returns its key. Every partition
// whose lease will commit epoch must be in parts, with no writes if
// nothing changed, so that Restore can tell an empty epoch from a missing
// one. The object is the same bytes if written twice, so a retried PUT is
// harmless.
func (s *Store) PutEpoch(ctx context.Context, node, incarnation string, epoch uint64, parts map[string][]Write) (string, error) {
	if err := checkSegment("node", node); err != nil {
		return "", err
	}
	if err := checkSegment("incarnation", incarnation); err != nil {
		return "", err
	}
	for p := range parts {
		if err := checkPartition(p); err != nil {
			return "", err
		}
	}
	key := EpochKey(node, incarnation, epoch)
	if err := s.b.put(ctx, key, encodeObject(kindEpoch, epoch, parts)); err != nil {
		return "", fmt.Errorf("write epoch object %s: %w", s.b.name(key), err)
	}
	return key, nil
}

// Restore applies partition's state at lastEpoch, the epoch its lease
// committed: the base, then each epoch of each run in order. The writes are
// final values, so applying them over a partly restored partition is
// harmless; the caller clears the partition's local keys first all the
// same, as a base is the whole state. The slices given to apply are only
// valid during the call.
func (s *Store) Restore(ctx context.Context, loc Location, partition string, lastEpoch uint64, apply func(Write) error) error {
	if err := loc.Validate(lastEpoch); err != nil {
		return fmt.Errorf("restore %s: %w", partition, err)
	}
	type object struct {
		key   string
		kind  byte
		epoch uint64
	}
	var objs []object
	if loc.Base != "" {
		objs = append(objs, object{loc.Base, kindBase, loc.BaseEpoch})
	}
	for _, r := range loc.Runs {
		for e := r.First; ; e++ {
			objs = append(objs, object{EpochKey(r.Node, r.Incarnation, e), kindEpoch, e})
			if e == r.Last {
				break
			}
		}
	}
	// The objects are read restoreAhead at a time and applied in order:
	// a restore is mostly waiting for S3, one small GET per epoch.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type fetched struct {
		sec []byte
		e   indexEntry
		err error
	}
	results := make([]chan fetched, len(objs))
	var wg sync.WaitGroup
	defer wg.Wait()
	start := func(i int) {
		results[i] = make(chan fetched, 1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := objs[i]
			sec, e, err := s.fetchSection(ctx, o.key, o.kind, o.epoch, partition)
			results[i] <- fetched{sec, e, err}
		}()
	}
	for i := range min(restoreAhead, len(objs)) {
		start(i)
	}
	for i, o := range objs {
		f := <-results[i]
		if f.err != nil {
			return f.err
		}
		if next := i + restoreAhead; next < len(objs) {
			start(next)
		}
		if err := decodeSection(f.sec, f.e, apply); err != nil {
			return fmt.Errorf("restore %s from %s: %w", partition, s.b.name(o.key), err)
		}
	}
	return nil
}

// restoreAhead is how many objects a restore reads at once.
const restoreAhead = 8

// fetchSection reads partition's section of one object, which must be of
// kind and epoch, and its index entry.
func (s *Store) fetchSection(ctx context.Context, key string, kind byte, epoch uint64, partition string) ([]byte, indexEntry, error) {
	fail := func(err error) ([]byte, indexEntry, error) {
		return nil, indexEntry{}, fmt.Errorf("restore %s from %s: %w", partition, s.b.name(key), err)
	}
	head, size, err := s.b.get(ctx, key, 0, headGuess)
	if err != nil {
		return fail(err)
	}
	n, err := headLen(head)
	if err != nil {
		return fail(err)
	}
	if n > uint64(size) {
		return fail(fmt.Errorf("%w: truncated index (object of %d bytes, index to byte %d)", errCorrupt, size, n))
	}
	if n > uint64(len(head)) {
		rest, _, err := s.b.get(ctx, key, int64(len(head)), int64(n)-int64(len(head)))
		if err != nil {
			return fail(err)
		}
		head = append(head, rest...)
	}
	x, err := decodeIndex(head)
	if err != nil {
		return fail(err)
	}
	if x.kind != kind || x.epoch != epoch {
		return fail(fmt.Errorf("%w: holds kind %q epoch %d, expected kind %q epoch %d", errCorrupt, x.kind, x.epoch, kind, epoch))
	}
	e, ok := x.find(partition)
	if !ok {
		return fail(fmt.Errorf("%w: partition not in the object's index", errCorrupt))
	}
	start, end := x.dataStart+e.offset, x.dataStart+e.offset+e.length
	if end < start || end > uint64(size) {
		return fail(fmt.Errorf("%w: truncated (object of %d bytes, section to byte %d)", errCorrupt, size, end))
	}
	var sec []byte
	if end <= uint64(len(head)) {
		sec = head[start:end]
	} else if e.length > 0 {
		if sec, _, err = s.b.get(ctx, key, int64(start), int64(e.length)); err != nil {
			return fail(err)
		}
	}
	return sec, e, nil
}

// Compact writes partition's whole state at epoch, which scan yields in
// strictly increasing key order and without tombstones, as a new base,
// and returns the location that holds just it. The key carries a random
// token, so that a fenced owner compacting the same epoch cannot overwrite
// its successor's base. The caller commits the location with its lease
// and then deletes the old base (DeleteBase); if the commit is fenced, it
// deletes the new one instead.
func (s *Store) Compact(ctx context.Context, partition string, epoch uint64, scan func(yield func(Write) error) error) (Location, error) {
	if err := checkPartition(partition); err != nil {
		return Location{}, err
	}
	var writes []Write
	var prev []byte
	err := scan(func(w Write) error {
		if w.Delete {
			return fmt.Errorf("a tombstone for key %x in a whole state", w.Key)
		}
		if len(writes) > 0 && string(w.Key) <= string(prev) {
			return fmt.Errorf("key %x after %x: a base must be in increasing key order", w.Key, prev)
		}
		// scan's slices may be reused by its iterator: keep copies.
		w = Write{Key: append([]byte(nil), w.Key...), Value: append([]byte(nil), w.Value...)}
		writes = append(writes, w)
		prev = w.Key
		return nil
	})
	if err != nil {
		return Location{}, fmt.Errorf("compact %s at epoch %d: %w", partition, epoch, err)
	}
	var tok [6]byte
	if _, err := rand.Read(tok[:]); err != nil {
		return Location{}, fmt.Errorf("compact %s: token: %w", partition, err)
	}
	key := path.Join("b", partition, strconv.FormatUint(epoch, 10)+"-"+hex.EncodeToString(tok[:]))
	if err := s.b.put(ctx, key, encodeObject(kindBase, epoch, map[string][]Write{partition: writes})); err != nil {
		return Location{}, fmt.Errorf("compact %s: write base %s: %w", partition, s.b.name(key), err)
	}
	return Location{Base: key, BaseEpoch: epoch}, nil
}

// DeleteBase deletes loc's base, if it has one; runs are left to Sweep, as
// another lease may share their objects.
func (s *Store) DeleteBase(ctx context.Context, loc Location) error {
	if loc.Base == "" {
		return nil
	}
	if err := s.b.del(ctx, []string{loc.Base}); err != nil {
		return fmt.Errorf("delete base %s: %w", s.b.name(loc.Base), err)
	}
	return nil
}

// Sweep deletes the epoch objects and bases that no location in keep
// references and that were last written before olderThan, and returns how
// many it deleted. keep must be every lease's committed location, read
// after olderThan: an object younger than that may belong to a commit
// still under way.
func (s *Store) Sweep(ctx context.Context, keep []Location, olderThan time.Time) (int, error) {
	type incarnation struct{ node, inc string }
	runs := map[incarnation][]Run{}
	bases := map[string]bool{}
	for _, l := range keep {
		if l.Base != "" {
			bases[l.Base] = true
		}
		for _, r := range l.Runs {
			k := incarnation{r.Node, r.Incarnation}
			runs[k] = append(runs[k], r)
		}
	}
	referenced := func(key string) bool {
		if strings.HasPrefix(key, "b/") {
			return bases[key]
		}
		f := strings.Split(key, "/")
		if len(f) != 4 {
			return true // not ours: leave it
		}
		e, err := strconv.ParseUint(f[3], 10, 64)
		if err != nil {
			return true
		}
		for _, r := range runs[incarnation{f[1], f[2]}] {
			if r.First <= e && e <= r.Last {
				return true
			}
		}
		return false
	}
	var doomed []string
	for _, p := range []string{"d/", "b/"} {
		err := s.b.list(ctx, p, func(key string, modified time.Time) error {
			if modified.Before(olderThan) && !referenced(key) {
				doomed = append(doomed, key)
			}
			return nil
		})
		if err != nil {
			return 0, fmt.Errorf("sweep: list %s: %w", s.b.name(p), err)
		}
	}
	deleted := 0
	for deleted < len(doomed) {
		n := min(len(doomed)-deleted, 1000) // DeleteObjects takes at most 1000 keys
		if err := s.b.del(ctx, doomed[deleted:deleted+n]); err != nil {
			return deleted, fmt.Errorf("sweep: %w", err)
		}
		deleted += n
	}
	return deleted, nil
}
